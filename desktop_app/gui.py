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
    from PySide6.QtWidgets import QApplication

log = logging.getLogger("iris")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the window's own options."""
    parser = argparse.ArgumentParser(
        prog="iris", description="Iris: a desktop chat and vision client for Claude."
    )
    parser.add_argument("--demo", action="store_true", help="use the built-in offline server")
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
    _preload()

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
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    from desktop_app.app import AppContext
    from desktop_app.core.paths import app_paths
    from desktop_app.ui.main_window import MainWindow

    context = AppContext(app_paths().ensure(), demo=args.demo)
    window = MainWindow(context)
    window.show()
    # Everything built so far lives as long as the app: keep it out of the cyclic
    # collector's full passes, which otherwise stall the window for tens of ms.
    gc.freeze()

    background: list[asyncio.Future[None]] = []

    async def main() -> None:
        starting = asyncio.ensure_future(context.start())
        background.append(starting)
        restoring = asyncio.ensure_future(window.restore())
        background.append(restoring)
        if not args.smoke_test:
            from desktop_app.ui.message_widget import warm_up_renderer

            # Load the Markdown and highlighting libraries before the first reply.
            background.append(asyncio.ensure_future(asyncio.to_thread(warm_up_renderer)))
        if args.smoke_test:
            # Start-up includes reopening the last conversation.
            await starting
            await restoring
            # "Idle" = the loop has drained the show/layout/paint events.
            await asyncio.sleep(0)
            app.processEvents()
            await asyncio.sleep(0.05)
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            print(f"startup_ms={elapsed_ms:.0f}", flush=True)
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
    return code


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

    def handler(kind: QtMsgType, _context: object, text: str) -> None:
        # Headless platforms cannot resize windows on request; nothing is wrong.
        if "does not support propagateSizeHints" in text:
            return
        qt_log.log(levels.get(kind, logging.WARNING), "%s", text)

    qInstallMessageHandler(handler)


def _preload() -> None:
    """Import the engine's modules before Qt, and the ones it would load mid-reply.

    Once PySide6 is imported it inspects the source of every module imported after
    it, which makes each later import several times slower; and a module first
    imported during a reply (the HTTP backend, IDNA, Pillow) stalls the window.
    """
    import anyio._backends._asyncio  # noqa: F401  # loaded by the first HTTP request
    import idna  # noqa: F401  # httpx loads it when it first builds a URL
    from httpcore._backends import anyio as _anyio_backend  # noqa: F401
    from PIL import Image  # noqa: F401

    import desktop_app.core.api
    import desktop_app.core.catalog
    import desktop_app.core.conversation
    import desktop_app.core.images
    import desktop_app.core.settings  # noqa: F401


def _version() -> str:
    from desktop_app import __version__

    return __version__
