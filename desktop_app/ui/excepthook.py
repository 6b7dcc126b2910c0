"""The window's side of the excepthooks: the one notice goes through the message bridge.

:class:`desktop_app.core.logs.ExceptionHooks` logs each unhandled exception and
calls ``tell`` once. An exception in a worker thread is handled in that thread,
so ``tell`` here only posts the text to the UI thread, where the bridge shows it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot

from desktop_app.core.logs import ExceptionHooks
from desktop_app.ui import notify


class _NoticeRelay(QObject):
    """Lives on the UI thread; a queued connection carries the text over to it."""

    notice = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        # Queued even on the UI thread: an excepthook may run in the middle of
        # anything, and the notice is shown once that has unwound.
        self.notice.connect(self._show, Qt.ConnectionType.QueuedConnection)

    @Slot(str)
    def _show(self, text: str) -> None:
        notify.error(text)


def install(loop: asyncio.AbstractEventLoop, log_file: Path | None) -> ExceptionHooks:
    """Install the hooks for the window, with ``loop`` as its event loop.

    Call on the UI thread. Exceptions from Qt slots, ``async_slot`` tasks, worker
    threads and loop callbacks all end up in the log at ``log_file``; the first
    one also shows a message naming that file.
    """
    relay = _NoticeRelay()

    def tell(text: str) -> None:
        relay.notice.emit(text)  # the closure also keeps the relay alive

    hooks = ExceptionHooks(tell, log_file).install()
    hooks.attach(loop)
    return hooks
