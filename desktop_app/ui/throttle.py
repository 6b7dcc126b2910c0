"""Coalesce bursts of calls into at most one per interval (streaming repaints)."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


class Throttle(QObject):
    """Call ``func`` at most once per ``interval_ms``; the last request always runs.

    The first call in a quiet period runs at once; calls during the interval
    are folded into one that runs when the interval ends.
    """

    def __init__(
        self, func: Callable[[], None], interval_ms: int, parent: QObject | None = None
    ) -> None:
        """Wrap ``func``."""
        super().__init__(parent)
        self._func = func
        self._interval = interval_ms
        self._last = 0.0
        self._pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timeout)

    def __call__(self) -> None:
        """Request a call."""
        if self._timer.isActive():
            self._pending = True
            return
        elapsed_ms = (time.monotonic() - self._last) * 1000.0
        if elapsed_ms >= self._interval:
            self._run()
        else:
            self._pending = True
            self._timer.start(max(0, int(self._interval - elapsed_ms)))

    def flush(self) -> None:
        """Run a pending call now."""
        if self._pending:
            self._timer.stop()
            self._run()

    def cancel(self) -> None:
        """Drop a pending call."""
        self._timer.stop()
        self._pending = False

    def _run(self) -> None:
        self._pending = False
        self._last = time.monotonic()
        self._timer.start(self._interval)
        self._func()

    def _on_timeout(self) -> None:
        if self._pending:
            self._run()


def next_turn_timer(parent: QObject, slot: Callable[[], None]) -> QTimer:
    """A single-shot zero timer: each ``start()`` runs ``slot`` once, in the next loop turn.

    It fires after the events already posted (layout, paint), so work spread over
    such turns never holds the window for long.
    """
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(slot)
    return timer
