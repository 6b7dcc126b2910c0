"""Argument parsing and dispatch for the ``iris`` command line.

Each subcommand module exposes ``add_parser(subparsers)`` and ``run(args) -> int``
and is imported only when it is used, so ``iris image`` never pays for the engine
and no subcommand ever loads Qt.

Every command writes warnings to the log file (``--verbose``: debug lines too,
echoed to stderr). A bug in a command, or in a thread it started, is logged with
its traceback; the person reads one line on stderr saying where, and the exit code
is 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, NoReturn

from desktop_app import __version__

SUBCOMMANDS = {
    "ask": "desktop_app.cli.ask",
    "image": "desktop_app.cli.image",
    "history": "desktop_app.cli.history",
}

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit code 2.

    Every parser, subcommands' included, takes ``--verbose``, so it may come
    anywhere on the line. It is absent from the result unless given.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Build the parser, with ``--verbose``."""
        super().__init__(*args, **kwargs)
        self.add_argument(
            "--verbose",
            action="store_true",
            default=argparse.SUPPRESS,
            help="write debug details to the log file, and echo them to stderr",
        )

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the full ``iris`` parser with every subcommand."""
    parser = _Parser(prog="iris", description="Iris: a desktop chat and vision client for Claude.")
    parser.add_argument("--version", action="version", version=f"iris {__version__}")
    # Handled by the window (desktop_app.ui.launch); listed here so --help shows them.
    parser.add_argument("--demo", action="store_true", help="open the window on the offline demo")
    parser.add_argument(
        "--smoke-test", action="store_true", help="open the window, print startup_ms, exit"
    )
    subparsers = parser.add_subparsers(dest="command", parser_class=_Parser)
    for module_name in SUBCOMMANDS.values():
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def run(argv: list[str]) -> int:
    """Parse ``argv`` and run the chosen subcommand."""
    if argv[:1] == ["--verbose"] and argv[1:2] and argv[1] in SUBCOMMANDS:
        argv = [argv[1], "--verbose", *argv[2:]]
    if argv and argv[0] in SUBCOMMANDS:
        # Import only the chosen subcommand: start-up time matters for scripts.
        module = importlib.import_module(SUBCOMMANDS[argv[0]])
        parser: argparse.ArgumentParser = _Parser(prog="iris")
        subparsers = parser.add_subparsers(dest="command", parser_class=_Parser)
        module.add_parser(subparsers)
    else:
        parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return _run_logged(args)


def _run_logged(args: argparse.Namespace) -> int:
    """Run the parsed command with the log file and the excepthooks in place."""
    from desktop_app.core import logs
    from desktop_app.core.paths import app_paths

    verbose = bool(getattr(args, "verbose", False))
    setup = logs.configure(app_paths().logs, verbose=verbose, echo=verbose)

    def tell(notice: str) -> None:
        sys.stderr.write(f"iris: {notice}\n")
        sys.stderr.flush()

    hooks = logs.ExceptionHooks(tell, setup.path).install()
    try:
        code: int = args.run(args)
    except Exception as exc:  # a bug: the log gets the traceback, the person one line
        hooks.report(exc, f"in iris {args.command}")
        code = EXIT_FAILURE
    finally:
        hooks.uninstall()
        setup.close()
    return code
