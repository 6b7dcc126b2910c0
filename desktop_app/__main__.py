"""Entry point for ``iris`` and ``python -m desktop_app``."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run Iris with ``argv`` (without the program name) and return the exit code."""
    from desktop_app.cli.main import run

    return run(list(sys.argv[1:] if argv is None else argv))


def console_main() -> None:
    """Console-script wrapper: exit with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":
    console_main()
