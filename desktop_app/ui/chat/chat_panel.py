"""``ChatPanel``: the transcript, the image drop pane and the composer; owns the reply task."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QImage, QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.api.retry import RetryNotice
from desktop_app.core.conversation.model import Conversation, Turn, TurnStatus
from desktop_app.core.errors import APIError, ConfigurationError, StreamInterruptedError
from desktop_app.core.history.reply_writer import ReplyWriter
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.wire.events import ContentBlockStopEvent
from desktop_app.core.wire.request import MessageRequest
from desktop_app.ui import notify
from desktop_app.ui.asyncslot import async_slot
from desktop_app.ui.attachments.image_drop_pane import ImageDropPane
from desktop_app.ui.chat.conversation_model import ConversationModel
from desktop_app.ui.chat.conversation_view import ConversationView
from desktop_app.ui.throttle import Throttle

if TYPE_CHECKING:
    from desktop_app.core.api.client import MessageStream
    from desktop_app.ui.app_context import AppContext

FRAME_MS = 33  # streaming repaints are coalesced to about 30 per second


class PromptEdit(QPlainTextEdit):
    """The composer: Enter sends, Shift+Enter adds a line, pasted images become attachments.

    Signals:
        submitted: Enter was pressed.
        image_pasted: The clipboard data held an image (the QMimeData).
    """

    submitted = Signal()
    image_pasted = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build the editor."""
        super().__init__(parent)
        self.setObjectName("promptEdit")
        self.setAccessibleName("Message to Claude")
        self.setPlaceholderText("Message Claude… (Enter to send, Shift+Enter for a new line)")
        self.setTabChangesFocus(True)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Send on Enter; keep Shift+Enter for new lines."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        """Accept images as well as text."""
        return source.hasImage() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        """Route pasted images to the image pane; text is inserted as usual."""
        if source.hasImage() or (source.hasUrls() and not source.hasText()):
            self.image_pasted.emit(source)
            return
        super().insertFromMimeData(source)


class ChatPanel(QWidget):
    """Conversation, attachments and composer, wired to the engine.

    Signals:
        reply_finished: A reply ended, whatever the outcome (the assistant Turn).
        busy_changed: True while a reply is being requested or streamed.
        usage_changed: The conversation's token totals changed.
        conversation_opened: Another conversation is shown (its id, or None for a new one).
    """

    reply_finished = Signal(object)
    busy_changed = Signal(bool)
    usage_changed = Signal()
    conversation_opened = Signal(object)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        """Build the panel on ``context``."""
        super().__init__(parent)
        self.setObjectName("chatPanel")
        self._context = context
        self._task: asyncio.Task[None] | None = None
        self._thumbnails: dict[int, list[QImage]] = {}
        self._countdown_timer = QTimer(self)
        self._countdown_timer.setInterval(250)
        self._countdown_timer.timeout.connect(self._on_countdown_tick)
        self._countdown: tuple[Turn, RetryNotice] | None = None
        self._history = context.history
        self.conversation_id: int | None = None
        self._message_ids: dict[int, int] = {}  # Turn.id -> stored message id
        self._versions: dict[int, tuple[int, int]] = {}  # Turn.id -> (version, versions)
        self._editing: Turn | None = None
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(500)
        self._draft_timer.timeout.connect(self._save_draft)

        self.model = ConversationModel(parent=self)
        self._pending_thumbnails: list[QImage] | None = None
        self.view = ConversationView(
            self.model, self._thumbnails_for, versions=lambda t: self._versions.get(t.id)
        )
        self.view.retry_requested.connect(self._on_retry_requested)
        self.view.continue_requested.connect(self._on_continue_requested)
        self.view.regenerate_requested.connect(self._on_regenerate_requested)
        self.view.edit_requested.connect(self._on_edit_requested)
        self.view.version_requested.connect(self._on_version_requested)
        self.view.remove_requested.connect(self._on_remove_requested)

        self.image_pane = ImageDropPane(context.catalog.get(context.settings.settings.model))
        self.prompt = PromptEdit()
        self.prompt.submitted.connect(self.send)
        self.prompt.image_pasted.connect(self._on_image_pasted)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setAccessibleName("Send message")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setAccessibleName("Stop the reply")
        self.stop_button.setToolTip("Stop (Esc)")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.usage_label = QLabel()
        self.usage_label.setObjectName("conversationUsageLabel")
        self.usage_label.setAccessibleName("Conversation token usage")

        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        composer_row = QHBoxLayout()
        composer_row.addWidget(self.prompt, 1)
        composer_row.addLayout(buttons)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(8, 4, 8, 8)
        bottom_layout.addWidget(self.image_pane)
        bottom_layout.addLayout(composer_row)
        bottom_layout.addWidget(self.usage_label)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([560, 200])
        # The transcript gets the room; attachments and composer stay compact.
        self.image_pane.setMaximumHeight(150)
        self.prompt.setMinimumHeight(56)
        self.prompt.setMaximumHeight(220)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self.prompt.textChanged.connect(self._draft_timer.start)
        self.image_pane.changed.connect(self._draft_timer.start)
        self.setTabOrder(self.prompt, self.send_button)
        self.setTabOrder(self.send_button, self.stop_button)
        self._update_usage()

    # -- state ---------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while a reply is in flight."""
        return self._task is not None

    def _set_busy(self, task: asyncio.Task[None] | None) -> None:
        self._task = task
        busy = task is not None
        self.stop_button.setEnabled(busy)
        self.send_button.setEnabled(not busy)
        self.busy_changed.emit(busy)

    @async_slot()
    async def new_conversation(self) -> None:
        """Start over (the current reply, if any, is stopped first)."""
        await self._leave_conversation()
        self.conversation_id = None
        self._editing = None
        self._message_ids = {}
        self._versions = {}
        self.model.reset()
        self._after_switch()
        await self._restore_draft(None)
        await self._history.remember_conversation(None)
        self.conversation_opened.emit(None)

    async def open_conversation(
        self, conversation_id: int, message_id: int | None = None, *, reload: bool = False
    ) -> bool:
        """Show a stored conversation with its draft; False when it no longer exists."""
        if conversation_id == self.conversation_id and message_id is None and not reload:
            return True
        await self._leave_conversation()
        try:
            info, path = await self._history.call(
                lambda s: (s.conversation(conversation_id), s.load_active_path(conversation_id))
            )
        except (KeyError, LookupError, ValueError):
            return False
        if info.deleted_at is not None:
            return False
        self.conversation_id = conversation_id
        self._editing = None
        self._message_ids = {stored.turn.id: stored.message_id for stored in path}
        self._versions = {stored.turn.id: (stored.version, stored.versions) for stored in path}
        self.model.reset(Conversation([stored.turn for stored in path], title=info.title))
        self._after_switch()
        await self._restore_draft(conversation_id)
        await self._history.remember_conversation(conversation_id)
        self.conversation_opened.emit(conversation_id)
        if message_id is not None:
            target = next((s.turn for s in path if s.message_id == message_id), None)
            if target is not None:
                self.view.show_turn(target)
        return True

    @async_slot(int, object)
    async def _on_open_requested(self, conversation_id: int, message_id: object) -> None:
        found = await self.open_conversation(
            conversation_id, message_id if isinstance(message_id, int) else None
        )
        if not found:
            notify.warning("That conversation no longer exists.")

    async def restore_last(self) -> None:
        """Reopen the conversation that was open when the app closed, with its draft."""
        message = await self._history.open()
        if message:
            notify.warning(message)
        last = await self._history.last_conversation()
        if last is None or not await self.open_conversation(last):
            await self._restore_draft(None)
            self.conversation_opened.emit(None)

    async def flush_draft(self) -> None:
        """Save a draft whose save is still waiting (before the app quits)."""
        if not shiboken6.isValid(self._draft_timer):  # the window is already gone
            return
        if self._draft_timer.isActive():
            self._draft_timer.stop()
            await self._write_draft()

    async def _leave_conversation(self) -> None:
        self.stop()
        if self._draft_timer.isActive():
            self._draft_timer.stop()
            await self._write_draft()

    def _after_switch(self) -> None:
        self._thumbnails.clear()
        self._count_conversation_images()
        self._update_usage()
        self.prompt.setFocus()

    # -- drafts --------------------------------------------------------------------------------

    @async_slot()
    async def _save_draft(self) -> None:
        await self._write_draft()

    async def _write_draft(self) -> None:
        conversation_id = self.conversation_id
        text = self.prompt.toPlainText()
        attachments = [img.to_content_block() for img in self.image_pane.attachments_ready()]
        await self._history.call(lambda s: s.save_draft(conversation_id, text, attachments))

    async def _restore_draft(self, conversation_id: int | None) -> None:
        draft = await self._history.call(lambda s: s.load_draft(conversation_id))
        self.prompt.blockSignals(True)
        self.prompt.setPlainText(draft.text)
        self.prompt.blockSignals(False)
        self.image_pane.clear()
        for number, block in enumerate(draft.attachments, start=1):
            data = block.get("source", {}).get("data")
            if isinstance(data, str):
                with contextlib.suppress(ValueError):
                    self.image_pane.add_bytes(f"Draft image {number}", base64.b64decode(data))

    # -- storing turns ---------------------------------------------------------------------------

    async def _store_turn(
        self, turn: Turn, parent: Turn | None = None, *, branch_of: Turn | None = None
    ) -> int:
        model = self._context.settings.settings.model
        if self.conversation_id is None:
            system = self._context.settings.settings.system_prompt
            self.conversation_id = await self._history.call(
                lambda s: s.create_conversation(model=model, system=system)
            )
            await self._history.remember_conversation(self.conversation_id)
            self.conversation_opened.emit(self.conversation_id)
        conversation_id = self.conversation_id
        if branch_of is not None and branch_of.id in self._message_ids:
            # A sibling of the edited prompt: same parent, a new version.
            edited = self._message_ids[branch_of.id]
            message_id = await self._history.call(
                lambda s: s.add_message(conversation_id, turn, s.message(edited).parent_id)
            )
        elif parent is None:
            message_id = await self._history.call(lambda s: s.add_message(conversation_id, turn))
        else:
            parent_id = self._message_ids.get(parent.id)
            message_id = await self._history.call(
                lambda s: s.add_message(conversation_id, turn, parent_id)
            )
        self._message_ids[turn.id] = message_id
        ids, index = await self._history.call(lambda s: s.siblings(message_id))
        self._versions[turn.id] = (index + 1, len(ids))
        widget = self.view.widget_for(turn)
        if widget is not None:
            widget.set_versions(index + 1, len(ids))
        self._history.conversations_changed.emit()
        return message_id

    async def _update_stored(self, turn: Turn) -> None:
        message_id = self._message_ids.get(turn.id)
        if message_id is not None:
            await self._history.call(lambda s: s.update_message(message_id, turn))

    async def _remove_stored(self, turn: Turn) -> None:
        message_id = self._message_ids.pop(turn.id, None)
        if message_id is not None:
            await self._history.call(lambda s: s.remove_message(message_id))

    # -- actions -------------------------------------------------------------------------------

    @async_slot()
    async def send(self) -> None:
        """Send the composer's text and attachments."""
        if self._task is not None:
            return
        text = self.prompt.toPlainText()
        if self.image_pane.is_busy():
            await self.image_pane.wait_idle()
        images = self.image_pane.attachments_ready()
        if not text.strip() and not images:
            notify.info("Type a message or attach an image first.")
            return
        try:
            self._context.client()
        except ConfigurationError as exc:
            notify.error(str(exc))  # the draft stays where it is
            return
        notes = [
            f"{img.original_width}×{img.original_height} → {img.width}×{img.height} "
            f"{img.media_type}, ≈{img.estimated_tokens:,} tokens"
            for img in images
        ]
        # Busy from here: Stop works and Send waits while the turn is stored.
        self._set_busy(asyncio.current_task())
        editing, self._editing = self._editing, None
        if editing is not None:
            # Later turns stay stored on the old branch; this branch starts here.
            row = self.model.row_of(editing)
            while row >= 0 and self.model.rowCount() > row:
                self.model.remove(self.model.turn(self.model.rowCount() - 1))
        thumbnails = [
            att.thumbnail
            for att in self.image_pane.model.attachments()
            if att.prepared is not None and att.thumbnail is not None
        ]
        # The view builds the turn's widget while it is added: hand the images over first.
        self._pending_thumbnails = thumbnails
        try:
            self.model.add_user(text, [img.to_content_block() for img in images], notes)
        finally:
            self._pending_thumbnails = None
        turn = self.model.conversation.turns[-1]
        self._draft_timer.stop()
        self.prompt.blockSignals(True)
        self.prompt.clear()
        self.prompt.blockSignals(False)
        self.image_pane.clear()
        self._count_conversation_images()
        self.view.scroll_to_bottom()
        try:
            await self._store_turn(turn, branch_of=editing)
            await self._write_draft()
        except asyncio.CancelledError:
            self.model.set_status(turn, TurnStatus.FAILED, "Stopped before a reply arrived.")
            self._set_busy(None)
            return
        await self._reply_to(turn)

    def stop(self) -> None:
        """Stop the reply at once; what arrived is kept."""
        if self._task is not None:
            self._task.cancel()

    @async_slot(object)
    async def _on_retry_requested(self, turn: Turn) -> None:
        if self._task is not None:
            return
        if turn.role == "assistant":
            # Drop the broken reply and ask again for the turn before it.
            row = self.model.row_of(turn)
            self.model.remove(turn)
            await self._remove_stored(turn)
            user = next(
                (t for t in reversed(self.model.conversation.turns[:row]) if t.role == "user"),
                None,
            )
            if user is None:
                return
            turn = user
        self.model.set_status(turn, TurnStatus.PENDING)
        await self._reply_to(turn)

    @async_slot(object)
    async def _on_continue_requested(self, turn: Turn) -> None:
        if self._task is not None:
            return
        user = self.model.add_user("Continue.", [], [])
        await self._store_turn(user)
        await self._reply_to(user)

    def _thumbnails_for(self, turn: Turn) -> list[QImage]:
        if turn.id not in self._thumbnails and self._pending_thumbnails and turn.role == "user":
            self._thumbnails[turn.id] = self._pending_thumbnails
            self._pending_thumbnails = None
        return self._thumbnails.get(turn.id, [])

    @async_slot(object)
    async def _on_regenerate_requested(self, reply: Turn) -> None:
        if self._task is not None:
            return
        row = self.model.row_of(reply)
        user = next(
            (t for t in reversed(self.model.conversation.turns[:row]) if t.role == "user"), None
        )
        if user is None:
            return
        # Later turns stay stored with the old version; the new one starts here.
        while self.model.rowCount() > row:
            self.model.remove(self.model.turn(self.model.rowCount() - 1))
        self.model.set_status(user, TurnStatus.PENDING)
        await self._reply_to(user)

    @async_slot(object)
    async def _on_remove_requested(self, turn: Turn) -> None:
        if self._task is not None:
            return
        self.model.remove(turn)
        await self._remove_stored(turn)
        self._count_conversation_images()

    def _on_edit_requested(self, turn: Turn) -> None:
        if self._task is not None:
            return
        self._editing = turn
        self.prompt.setPlainText(turn.text)
        self.prompt.setFocus()
        notify.info("Editing a message: Send makes a new branch; the old one is kept.")

    @async_slot(object, int)
    async def _on_version_requested(self, turn: Turn, step: int) -> None:
        message_id = self._message_ids.get(turn.id)
        conversation_id = self.conversation_id
        if self._task is not None or message_id is None or conversation_id is None:
            return

        def switch(store: HistoryStore) -> bool:
            ids, index = store.siblings(message_id)
            target = index + step
            if not 0 <= target < len(ids):
                return False
            store.set_active(ids[target])
            return True

        if await self._history.call(switch):
            await self.open_conversation(conversation_id, reload=True)

    def _count_conversation_images(self) -> None:
        # The 2000 px many-image rule counts every image in the request, not just new ones.
        count = sum(
            1
            for message in self.model.conversation.request_messages()
            for block in message["content"]
            if block.get("type") == "image"
        )
        self.image_pane.model.set_other_images(count)

    def _on_image_pasted(self, mime: QMimeData) -> None:
        self.image_pane.add_mime_data(mime, stem="Pasted image")

    # -- the reply -------------------------------------------------------------------------------

    async def _reply_to(self, user: Turn) -> None:
        context = self._context
        settings = context.settings.settings
        model = context.catalog.get(settings.model)
        try:
            client = context.client()
        except ConfigurationError as exc:
            self.model.set_status(user, TurnStatus.FAILED, str(exc))
            return
        request = MessageRequest(
            model=model.id,
            messages=self.model.conversation.request_messages(),
            max_tokens=settings.max_tokens,
            system=settings.system_prompt or None,
            temperature=settings.temperature,
            top_p=settings.top_p,
            stop_sequences=settings.stop_sequences,
            cache=settings.prompt_caching,
        )
        reply = self.model.start_reply(model.id)
        repaint = Throttle(lambda: self.model.touch(reply), FRAME_MS, self)
        self._set_busy(asyncio.current_task())
        stream: MessageStream | None = None
        started = time.monotonic()
        writer: ReplyWriter | None = None
        # A silent stream still gets its last pieces saved within a second.
        flusher = QTimer(self)
        flusher.setInterval(1000)
        try:
            reply_id = await self._store_turn(reply, parent=user)
            writer = await self._history.call(lambda s: s.reply_writer(reply_id))
            flusher.timeout.connect(writer.flush)
            flusher.start()
            async with client.stream(
                request, model, on_retry=self._retry_notifier(reply)
            ) as stream:
                self._clear_countdown()
                async for event in stream:
                    reply.message = stream.message
                    writer.update(stream.message)
                    if isinstance(event, ContentBlockStopEvent):
                        writer.block_stopped(stream.message)
                    repaint()
                reply.message = stream.message
            self.model.set_status(user, TurnStatus.DONE)
            self.model.set_status(reply, TurnStatus.DONE)
        except asyncio.CancelledError:
            if stream is None:
                # Stopped before anything arrived: nothing to keep but the question.
                self.model.remove(reply)
                self.model.set_status(user, TurnStatus.FAILED, "Stopped before a reply arrived.")
            else:
                reply.message = stream.message
                self.model.set_status(user, TurnStatus.DONE)
                self.model.set_status(reply, TurnStatus.STOPPED)
        except StreamInterruptedError as exc:
            if exc.partial is not None:
                reply.message = exc.partial
            self.model.set_status(user, TurnStatus.DONE)
            self.model.set_status(reply, TurnStatus.INTERRUPTED, str(exc))
        except APIError as exc:
            self.model.remove(reply)
            self.model.set_status(user, TurnStatus.FAILED, str(exc))
        finally:
            flusher.stop()
            flusher.deleteLater()
            repaint.cancel()
            repaint.deleteLater()
            await asyncio.shield(self._store_outcome(user, reply, writer))
            self._clear_countdown()
            self._set_busy(None)
            self._update_usage()
            self._context.rate_limits_changed(model.family)
        self._announce(reply, time.monotonic() - started)
        self.reply_finished.emit(reply)

    async def _store_outcome(self, user: Turn, reply: Turn, writer: ReplyWriter | None) -> None:
        try:
            if writer is not None:
                if self.model.row_of(reply) >= 0:
                    status, message, error = reply.status, reply.message, reply.error
                    await self._history.call(lambda _s: writer.finish(status, message, error))
                else:
                    await self._history.call(
                        lambda _s: writer.finish(TurnStatus.FAILED, None, user.error)
                    )
            if self.model.row_of(reply) < 0:
                await self._remove_stored(reply)
            await self._update_stored(user)
        except Exception as exc:  # the reply is on screen; saving it must not crash the app
            notify.error(f"Could not save the conversation: {exc}")

    def _retry_notifier(self, reply: Turn) -> Callable[[RetryNotice], None]:
        def notify(notice: RetryNotice) -> None:
            self._countdown = (reply, notice)
            self._on_countdown_tick()
            self._countdown_timer.start()

        return notify

    def _on_countdown_tick(self) -> None:
        if self._countdown is None:
            self._countdown_timer.stop()
            return
        turn, notice = self._countdown
        widget = self.view.widget_for(turn)
        left = notice.seconds_left()
        if widget is not None:
            widget.set_countdown(left, f"{notice.error.kind}.")
        if left <= 0:
            self._countdown_timer.stop()

    def _clear_countdown(self) -> None:
        if self._countdown is not None:
            turn, _notice = self._countdown
            self._countdown = None
            widget = self.view.widget_for(turn)
            if widget is not None:
                widget.set_countdown(None)
        self._countdown_timer.stop()

    def _announce(self, reply: Turn, seconds: float) -> None:
        if reply.status is TurnStatus.DONE:
            text = f"Claude replied in {seconds:.0f} seconds."
        elif reply.status is TurnStatus.STOPPED:
            text = "Reply stopped."
        elif reply.status is TurnStatus.INTERRUPTED:
            text = "The reply was interrupted."
        else:
            text = "The message could not be sent."
        with contextlib.suppress(RuntimeError):
            QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(self.view, text))

    def _update_usage(self) -> None:
        usage = self.model.conversation.total_usage()
        text = (
            f"Conversation: in {usage.input_tokens:,} · out {usage.output_tokens:,}"
            f" · cache write {usage.cache_creation_input_tokens:,}"
            f" · cache read {usage.cache_read_input_tokens:,}"
        )
        self.usage_label.setText(text)
        self.usage_changed.emit()
