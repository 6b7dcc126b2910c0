"""Start the window on one qasync loop; also ``--smoke-test``."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from desktop_app.core.paths import AppPaths

log = logging.getLogger("iris")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the window's own options."""
    parser = argparse.ArgumentParser(
        prog="iris", description="Iris: a desktop chat and vision client for Claude."
    )
    parser.add_argument("--demo", action="store_true", help="use the built-in offline server")
    parser.add_argument(
        "--verbose", action="store_true", help="write debug details to the log file"
    )
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="build and show the window, wait until idle, print startup_ms and exit",
    )
    return parser.parse_args(list(argv))


def run_gui(argv: Sequence[str], started: float) -> int:
    """Open the main window and run until it closes; return the exit code."""
    args = parse_args(argv)
    problem = _display_problem()
    if problem:
        sys.stderr.write(f"iris: {problem}\n")
        return 2

    from desktop_app.core import logs
    from desktop_app.core.paths import app_paths

    paths = app_paths()
    logging_setup = logs.configure(paths.logs, verbose=args.verbose)
    try:
        return _run_window(args, started, paths, logging_setup.path)
    finally:
        logging_setup.close()


def _run_window(
    args: argparse.Namespace, started: float, paths: AppPaths, log_file: Path | None
) -> int:
    """Run the window on its loop, with the excepthooks logging to ``log_file``."""
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    # Reuse an application that already exists (tests, embedding).
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Iris")
    app.setOrganizationName("Iris")
    app.setApplicationVersion(_version())
    app.setQuitOnLastWindowClosed(False)
    _set_icon(app)

    _route_qt_messages()
    # Workers (rendering, Pillow, imports) run Python too: a 1 ms switch interval
    # lets the UI thread take the GIL back within a millisecond, not five.
    sys.setswitchinterval(0.001)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    from desktop_app.ui import excepthook, style
    from desktop_app.ui.app_context import AppContext
    from desktop_app.ui.main_window import MainWindow

    # From here on a bug is logged, and the person told once where the details are.
    hooks = excepthook.install(loop, log_file)
    # Before any widget exists, so each is polished once; it follows the theme after.
    follower = style.install(app)
    log.info("Iris %s on Python %s, %s", _version(), sys.version.split()[0], sys.platform)
    context = AppContext(paths.ensure(), demo=args.demo)
    window = MainWindow(context)
    window.show()
    # Everything built so far lives as long as the app: keep it out of the cyclic
    # collector's full passes, which otherwise stall the window for tens of ms.
    gc.freeze()

    background: list[asyncio.Future[None]] = []

    async def main() -> None:
        # The last conversation first: it is what the user looks at. The keychain
        # read runs in a worker thread and would compete with it for the GIL.
        restoring = asyncio.ensure_future(window.restore())
        background.append(restoring)
        await restoring
        await _idle()
        if args.smoke_test:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            print(f"startup_ms={elapsed_ms:.0f}", flush=True)
        starting = asyncio.ensure_future(context.start())
        background.append(starting)

        async def warm() -> None:
            # Once the key is known: the demo server is loaded only for the demo.
            await context.key_loaded.wait()
            await asyncio.to_thread(_warm_up, context.demo)

        warming = asyncio.ensure_future(warm())
        background.append(warming)
        if args.smoke_test:
            # Not timed, but checked: a keychain may wait for the user to unlock it
            # (the window works before it answers), and the warm-up proves that an
            # installed build carries everything the first request needs.
            await starting
            await warming
            window.close()
        else:
            await window.closed.wait()

    code = 0
    try:
        with loop:
            loop.run_until_complete(main())
            # Cancel in-flight requests and close HTTP clients before the loop stops.
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(window.aclose())
    except KeyboardInterrupt:
        code = 130
    finally:
        QTimer.singleShot(0, window.deleteLater)
        asyncio.set_event_loop(None)
        hooks.uninstall()
        follower.uninstall()
    return code


async def _idle() -> None:
    """Return once the loop has drained the show, layout and paint events.

    A zero timer fires only after the events already posted; events posted while
    handling those (the expose after show, the paint it asks for) need more passes.
    """
    from PySide6.QtCore import QTimer

    loop = asyncio.get_running_loop()
    for _ in range(3):
        turned: asyncio.Future[None] = loop.create_future()
        QTimer.singleShot(0, lambda f=turned: f.done() or f.set_result(None))
        await turned


def _set_icon(app: QApplication) -> None:
    from PySide6.QtGui import QIcon

    from desktop_app.core.resources import resource_path

    icon = resource_path("icons/iris-256.png")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    app.setDesktopFileName("io.github.iris_desktop.Iris")  # matches the .desktop entry


def _display_problem() -> str | None:
    """Why no window can open here, or None; Qt itself would abort the process."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set). "
        'Try the command line instead: iris ask --demo "hello"'
    )


def _route_qt_messages() -> None:
    """Send Qt's own messages to logging instead of stderr."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    qt_log = logging.getLogger("iris.qt")
    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }

    # Qt speaks of itself (fonts, plugins, widgets), never of what people write.
    def handler(kind: QtMsgType, _context: object, text: str) -> None:
        # Headless platforms cannot resize windows on request; nothing is wrong.
        if "does not support propagateSizeHints" in text:
            return
        qt_log.log(levels.get(kind, logging.WARNING), "%s", text)

    qInstallMessageHandler(handler)


def _warm_up(demo: bool = True) -> None:
    """Load what the first request and reply need; runs in a worker thread.

    None of it is needed to show the window, so it loads after the window is
    idle. A module first imported on the UI thread during a reply (the HTTP
    backend, IDNA, Pillow, the Markdown renderer) would stall the window.
    """
    import anyio._backends._asyncio  # noqa: F401  # loaded by the first HTTP request
    import idna  # noqa: F401  # httpx loads it when it first builds a URL
    from httpcore._backends import anyio as _anyio_backend  # noqa: F401

    import desktop_app.core.api.client
    import desktop_app.core.images
    from desktop_app.core.render.turn_html import warm_up_renderer

    if demo:
        import desktop_app.offline.server  # noqa: F401

    warm_up_renderer()


def _version() -> str:
    from desktop_app import __version__

    return __version__
