"""Entry point for ``iris`` and ``python -m desktop_app``."""

from __future__ import annotations

import time

# Taken before anything heavy is imported: --smoke-test reports start-up from here.
_STARTED = time.perf_counter()

import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402

SUBCOMMANDS = ("ask", "image", "history")


def main(argv: Sequence[str] | None = None) -> int:
    """Run Iris with ``argv`` (without the program name) and return the exit code.

    A subcommand runs the Qt-free command line; anything else opens the window.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    first = args[1:2] if args[:1] == ["--verbose"] else args[:1]  # iris --verbose ask ...
    if first and (first[0] in SUBCOMMANDS or first[0] in ("-h", "--help", "--version")):
        from desktop_app.cli.main import run

        return run(args)
    from desktop_app.ui.launch import run_gui

    return run_gui(args, _STARTED)


def console_main() -> None:
    """Console-script wrapper: exit with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":
    console_main()
