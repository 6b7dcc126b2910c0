"""``RunController``: drives the core's runner for the window and shows what it reports.

It holds the task of the run in progress (Stop cancels it), repaints the
streaming reply at most about 30 times a second, shows the retry countdown on
the turn, reports what could not be saved, and announces the end of a reply to
screen readers. Everything about *what* happens in a run lives in the core
(:mod:`desktop_app.core.conversation.runner`); this class only adapts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QWidget

from desktop_app.core.api.retry import RetryNotice
from desktop_app.core.conversation.model import Turn
from desktop_app.core.conversation.notices import announcement, is_setback
from desktop_app.core.conversation.options import RequestOptions
from desktop_app.core.conversation.runner import (
    ReplyProgress,
    ReplyStarted,
    ReplyStreaming,
    RetryScheduled,
    RoundLimitReached,
    RunEvent,
    RunFinished,
    StoreFailed,
    TurnRunner,
)
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.errors import StoreError
from desktop_app.core.wire.blocks import Role
from desktop_app.ui import notify
from desktop_app.ui.asyncslot import async_slot
from desktop_app.ui.chat.conversation_view import ConversationView
from desktop_app.ui.throttle import Throttle

FRAME_MS = 33  # streaming repaints are coalesced to about 30 per second
COUNTDOWN_TICK_MS = 250


class RunController(QObject):
    """Runs one exchange at a time for a session and keeps the window in step.

    Signals:
        busy_changed: True while a run is in progress.
        reply_finished: A run ended, whatever the outcome (its last reply Turn, or the
            prompt when no reply was kept).
        usage_changed: A reply's token figures may have changed.
        turns_replaced: Turns were removed, or another version of the path is shown.
    """

    busy_changed = Signal(bool)
    reply_finished = Signal(object)
    usage_changed = Signal()
    turns_replaced = Signal()

    def __init__(
        self,
        session: ConversationSession,
        view: ConversationView,
        runner: Callable[[], TurnRunner],
        options: Callable[[], RequestOptions],
        parent: QObject | None = None,
    ) -> None:
        """Run for ``session``, showing progress in ``view``.

        Args:
            session: The conversation the runs change.
            view: Where the turns are shown (for countdowns and announcements).
            runner: Returns the runner to use (it follows the current key and settings).
            options: Returns the request options for the current settings.
            parent: The Qt parent.
        """
        super().__init__(parent)
        self._session = session
        self._view = view
        self._runner = runner
        self._options = options
        self._task: asyncio.Task[None] | None = None
        self._countdown: tuple[Turn, RetryNotice] | None = None
        self._countdown_timer = QTimer(self)
        self._countdown_timer.setInterval(COUNTDOWN_TICK_MS)
        self._countdown_timer.timeout.connect(self._on_countdown_tick)
        self._streaming: Turn | None = None
        self._repaint = Throttle(self._on_repaint, FRAME_MS, self)

    @property
    def busy(self) -> bool:
        """True while a run is in progress."""
        return self._task is not None

    def begin(self) -> bool:
        """Claim the controller for the calling task; False when a run is already going.

        Called before anything of the run is shown, so Stop works from the start.
        """
        if self._task is not None:
            return False
        self._task = asyncio.current_task()
        self.busy_changed.emit(True)
        return True

    def end(self) -> None:
        """Release the controller (the run, or what came before it, is over)."""
        self._task = None
        self.busy_changed.emit(False)

    def stop(self) -> None:
        """Stop the run at once; what arrived is kept."""
        if self._task is not None:
            self._task.cancel()

    async def run(self, prompt: Turn) -> None:
        """Answer ``prompt`` (already in the session); call between :meth:`begin` and end.

        Never raises: the runner ends every run with a status and a message.
        """
        started = time.monotonic()
        try:
            finished = await self._runner().run(
                self._session, prompt, self._options(), self._on_event
            )
        finally:
            self._repaint.cancel()
            self._clear_countdown()
            self._streaming = None
            self.end()
            self.usage_changed.emit()
        turn = finished.reply or finished.prompt
        self._announce(announcement(turn, time.monotonic() - started), urgent=is_setback(turn))
        self.reply_finished.emit(turn)

    # -- what the buttons on a turn ask for -------------------------------------------

    @async_slot(object)
    async def retry(self, turn: Turn) -> None:
        """Send a failed prompt again, or ask again for the prompt of a broken reply."""
        if not self.begin():
            return
        prompt: Turn | None = turn
        if turn.role is Role.ASSISTANT:
            prompt = self._session.prompt_before(turn)
            self._session.remove(turn)
            await self._forget(turn)
        if prompt is None:
            self.end()
            return
        await self.run(prompt)

    @async_slot(object)
    async def continue_reply(self, _turn: Turn) -> None:
        """Ask the model to go on after a reply that was cut at its limit or paused."""
        if self.begin():
            await self.run(self._session.add_continue_prompt())

    @async_slot(object)
    async def regenerate(self, reply: Turn) -> None:
        """Ask again; the new reply is another version, the old one stays stored."""
        if not self.begin():
            return
        prompt = self._session.prompt_before(reply)
        if prompt is None:
            self.end()
            return
        self._session.truncate(self._session.row_of(reply))
        await self.run(prompt)

    @async_slot(object)
    async def remove(self, turn: Turn) -> None:
        """Take a failed turn away, from the screen and from the history."""
        if self.busy:
            return
        self._session.remove(turn)
        await self._forget(turn)
        self.turns_replaced.emit()

    @async_slot(object, int)
    async def switch_version(self, turn: Turn, step: int) -> None:
        """Show the previous (-1) or next (+1) version of ``turn``."""
        if self.busy:
            return
        try:
            switched = await self._session.switch_version(turn, step)
        except StoreError as exc:
            notify.error(f"That version could not be shown: {exc}")
            return
        if switched:
            self.turns_replaced.emit()

    async def _forget(self, turn: Turn) -> None:
        try:
            await self._session.forget(turn)
        except StoreError as exc:
            notify.error(f"The message was removed here but not from the history: {exc}")

    # -- events --------------------------------------------------------------------------

    def _on_event(self, event: RunEvent) -> None:
        if isinstance(event, ReplyProgress):
            self._streaming = event.reply
            self._repaint()
        elif isinstance(event, ReplyStarted):
            self._view.scroll_to_bottom()
        elif isinstance(event, RetryScheduled):
            self._countdown = (event.reply, event.notice)
            self._on_countdown_tick()
            self._countdown_timer.start()
        elif isinstance(event, ReplyStreaming):
            self._clear_countdown()
        elif isinstance(event, StoreFailed):
            notify.error(event.message)
        elif isinstance(event, RoundLimitReached):
            notify.warning(
                f"Claude kept asking for tools; Iris stopped after {event.rounds} rounds."
            )
        elif isinstance(event, RunFinished) and self._streaming is not None:
            self._on_repaint()

    def _on_repaint(self) -> None:
        if self._streaming is not None:
            self._session.touch(self._streaming)

    # -- retry countdown -----------------------------------------------------------------

    def _on_countdown_tick(self) -> None:
        if self._countdown is None:
            self._countdown_timer.stop()
            return
        turn, notice = self._countdown
        widget = self._view.widget_for(turn)
        left = notice.seconds_left()
        if widget is not None:
            widget.set_countdown(left, f"{notice.error.kind}.")
        if left <= 0:
            self._countdown_timer.stop()

    def _clear_countdown(self) -> None:
        if self._countdown is not None:
            turn, _notice = self._countdown
            self._countdown = None
            widget = self._view.widget_for(turn)
            if widget is not None:
                widget.set_countdown(None)
        self._countdown_timer.stop()

    def _announce(self, text: str, *, urgent: bool = False) -> None:
        """Have screen readers say ``text``; ``urgent`` (an error, a refusal) interrupts."""
        target: QWidget = self._view
        event = QAccessibleAnnouncementEvent(target, text)
        if urgent:
            event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive)
        with contextlib.suppress(RuntimeError):
            QAccessible.updateAccessibility(event)
