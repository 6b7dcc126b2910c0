"""``ChatPanel``: the transcript above the composer, wired to the conversation engine.

Layout and wiring only: the conversation's state and its branch operations live
in the core's :class:`ConversationSession`, runs in :class:`RunController`, and
the editor, attachments and drafts in :class:`Composer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.conversation.model import Turn, user_turn
from desktop_app.core.conversation.options import RequestOptions
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.conversation.usage import (
    conversation_usage,
    format_usage,
    summarise_usage,
)
from desktop_app.core.errors import ConfigurationError, StoreError
from desktop_app.core.wire.blocks import Base64Source
from desktop_app.ui import appearance, icons, notify
from desktop_app.ui.asyncslot import async_slot
from desktop_app.ui.attachments.image_drop_pane import ImageDropPane
from desktop_app.ui.chat.composer import Composer, PromptEdit
from desktop_app.ui.chat.conversation_model import ConversationModel
from desktop_app.ui.chat.conversation_view import ConversationView
from desktop_app.ui.chat.run_controller import RunController
from desktop_app.ui.settings.conversation_settings import overrides_summary

if TYPE_CHECKING:
    from desktop_app.ui.app_context import AppContext


class ChatPanel(QWidget):
    """Conversation, attachments and composer.

    Signals:
        reply_finished: A run ended, whatever the outcome (its last Turn).
        busy_changed: True while a reply is being requested or streamed.
        usage_changed: The conversation's token totals changed.
        conversation_opened: Another conversation is shown (its id, or None for a new one).
        conversation_settings_requested: The conversation settings button was pressed.
    """

    reply_finished = Signal(object)
    busy_changed = Signal(bool)
    usage_changed = Signal()
    conversation_opened = Signal(object)
    conversation_settings_requested = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        """Build the panel on ``context``."""
        super().__init__(parent)
        self.setObjectName("chatPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)  # the style sheet's surface
        self._context = context
        settings = context.settings.settings
        self.session = ConversationSession(context.history)
        self.session.new(model=settings.model, system=settings.system_prompt)
        self.model = ConversationModel(self.session, self)
        self._thumbnails: dict[int, list[QImage]] = {}
        self._editing: Turn | None = None
        catalog = context.catalog
        self.view = ConversationView(
            self.model,
            lambda t: self._thumbnails.get(t.id, []),
            versions=self.session.versions,
            model_name=lambda model_id: catalog.get(model_id).display_name,
        )
        self.composer = Composer(self.session, context.settings, context.catalog)
        self.view.empty_state.follow(context, self.composer.prompt)
        self.runs = RunController(self.session, self.view, context.runner, self.options, self)
        self.usage_label = QLabel()
        self.usage_label.setObjectName("conversationUsageLabel")
        self.usage_label.setAccessibleName("Conversation token usage")
        self.usage_label.setTextFormat(Qt.TextFormat.PlainText)
        # It wraps rather than widen the window: the settings button shares its row.
        self.usage_label.setWordWrap(True)
        self.settings_button = QToolButton()
        self.settings_button.setObjectName("conversationSettingsButton")
        self.settings_button.setAccessibleName("Conversation settings")
        self.settings_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.settings_button.setIcon(icons.icon_for(self.settings_button, "sliders-horizontal"))
        self.settings_button.clicked.connect(self.conversation_settings_requested)

        # The transcript takes the room the composer leaves: the composer is as tall
        # as its text and attachments need (capped), so no splitter.
        usage_row = QHBoxLayout()
        usage_row.setContentsMargins(12, 0, 12, 6)
        usage_row.addWidget(self.usage_label, 1)
        usage_row.addWidget(self.settings_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.composer)
        layout.addLayout(usage_row)

        self.view.retry_requested.connect(self.runs.retry)
        self.view.continue_requested.connect(self.runs.continue_reply)
        self.view.regenerate_requested.connect(self.runs.regenerate)
        self.view.edit_requested.connect(self._on_edit_requested)
        self.view.version_requested.connect(self.runs.switch_version)
        self.view.remove_requested.connect(self.runs.remove)
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.stop)
        self.composer.editing_changed.connect(self._on_editing_changed)
        context.catalog_refreshed.connect(self.composer.refresh_models)
        self.runs.busy_changed.connect(self.composer.set_busy)
        self.runs.busy_changed.connect(self.busy_changed)
        self.runs.reply_finished.connect(self._on_reply_finished)
        self.runs.usage_changed.connect(self._update_usage)
        self.runs.turns_replaced.connect(self._on_turns_replaced)
        self.session.versions_changed.connect(self._on_versions_changed)
        self.session.stored.connect(self.conversation_opened.emit)
        self.session.overrides_changed.connect(self._on_options_changed)
        context.settings.changed.connect(self._on_setting_changed)
        context.catalog_refreshed.connect(self._on_options_changed)
        appearance.apply_text_scale(self.view, settings.text_scale)
        self._on_options_changed()
        self._update_usage()

    # -- parts, for the window and for tests -------------------------------------------

    @property
    def prompt(self) -> PromptEdit:
        """The prompt editor."""
        return self.composer.prompt

    @property
    def send_button(self) -> QAbstractButton:
        """The Send button; it is Stop while a reply streams."""
        return self.composer.send_button

    @property
    def image_pane(self) -> ImageDropPane:
        """The image attachments."""
        return self.composer.image_pane

    @property
    def conversation_id(self) -> int | None:
        """The stored id of the conversation shown, or None before its first message."""
        return self.session.conversation_id

    @property
    def busy(self) -> bool:
        """True while a reply is in flight."""
        return self.runs.busy

    def options(self) -> RequestOptions:
        """What the next request of the conversation shown asks for (its overrides applied)."""
        return self._context.options(self.session.overrides)

    # -- conversations -------------------------------------------------------------------

    @async_slot()
    async def new_conversation(self) -> None:
        """Start over (the current reply, if any, is stopped first)."""
        await self._leave()
        settings = self._context.settings.settings
        self.session.new(model=settings.model, system=settings.system_prompt)
        await self._after_switch(None)

    async def open_conversation(
        self, conversation_id: int, message_id: int | None = None, *, reload: bool = False
    ) -> bool:
        """Show a stored conversation with its draft; False when it no longer exists."""
        if conversation_id == self.conversation_id and message_id is None and not reload:
            return True
        await self._leave()
        try:
            found = await self.session.open(conversation_id)
        except StoreError as exc:
            notify.error(f"That conversation could not be opened: {exc}")
            return False
        if not found:
            return False
        await self._after_switch(conversation_id)
        target = next(
            (t for t in self.session.turns if self.session.message_id(t) == message_id), None
        )
        if target is not None:
            self.view.show_turn(target)
        return True

    @async_slot(int, object)
    async def show_conversation(self, conversation_id: int, message_id: object) -> None:
        """Open a conversation picked in the sidebar (at ``message_id``, a search hit)."""
        found = await self.open_conversation(
            conversation_id, message_id if isinstance(message_id, int) else None
        )
        if not found:
            notify.warning("That conversation no longer exists.")

    async def restore_last(self) -> None:
        """Reopen the conversation that was open when the app closed, with its draft."""
        history = self._context.history
        message = await history.open()
        if message:
            notify.warning(message)
        last = await history.last_conversation()
        if last is None or not await self.open_conversation(last):
            await self.composer.restore_draft()
            self.conversation_opened.emit(None)

    async def flush_draft(self) -> None:
        """Save a draft whose save is still waiting (before the app quits)."""
        await self.composer.flush_draft()

    async def _leave(self) -> None:
        self.stop()
        await self.composer.flush_draft()

    async def _after_switch(self, conversation_id: int | None) -> None:
        self._editing = None
        self._thumbnails.clear()
        self._count_images()
        self._update_usage()
        self.prompt.setFocus()
        await self.composer.restore_draft()
        await self._context.history.remember_conversation(conversation_id)
        self.conversation_opened.emit(conversation_id)

    # -- actions -------------------------------------------------------------------------

    @async_slot()
    async def send(self) -> None:
        """Send the composer's text and attachments (a new version of a message being edited)."""
        if not self.runs.begin():
            return
        editing = self._editing if self.composer.editing else None
        try:
            text = self.composer.text()
            images = await self.composer.ready_images()
            if (self._editing if self.composer.editing else None) is not editing:
                self.runs.end()  # editing began or ended while images were prepared
                return
            if not text.strip() and not images:
                notify.info("Type a message or attach an image first.")
                self.runs.end()
                return
            self._context.check_configuration()  # a missing key is said before anything changes
        except ConfigurationError as exc:
            notify.error(str(exc))  # the draft stays where it is
            self.runs.end()
            return
        except BaseException:  # Stop while images were still being prepared
            self.runs.end()
            raise
        prompt = user_turn(
            text, [img.to_content_block() for img in images], [img.summary() for img in images]
        )
        if editing is not None and self.session.row_of(editing) < 0:
            self.runs.end()
            self._editing_gone()
            return
        self._thumbnails[prompt.id] = self.composer.thumbnails()
        self._editing = None
        self.session.add_prompt(prompt, editing=editing)
        self.composer.clear()  # after an edit, the draft put aside comes back
        self._count_images()
        self.view.scroll_to_bottom()
        await self.runs.run(prompt)

    def stop(self) -> None:
        """Stop the reply at once; what arrived is kept."""
        self.runs.stop()

    def escape(self) -> None:
        """Esc: cancel editing a message when one is being edited, else stop the reply."""
        if self.composer.editing:
            self.composer.cancel_editing()
        else:
            self.stop()

    def _on_edit_requested(self, turn: Turn) -> None:
        if self.runs.busy:
            return
        self._editing = turn
        images: list[tuple[str, bytes]] = []
        for number, block in enumerate(turn.image_blocks, start=1):
            if isinstance(block.source, Base64Source):
                data = block.source.decoded()
                if data:
                    extension = block.source.media_type.rpartition("/")[2].replace("jpeg", "jpg")
                    images.append((f"Image {number}.{extension}", data))
        # The draft in the composer is put aside and comes back afterwards.
        self.composer.begin_editing(turn.text, images)

    def _on_editing_changed(self, editing: bool) -> None:
        if not editing:
            self._editing = None

    def _editing_gone(self) -> None:
        self.composer.cancel_editing()
        notify.info("The message being edited is no longer shown, so editing stopped.")

    # -- reactions -----------------------------------------------------------------------

    def _on_reply_finished(self, turn: Turn) -> None:
        self._context.publish_rate_limits(self.options().model.family)
        self.reply_finished.emit(turn)

    def _on_setting_changed(self, name: str) -> None:
        if name == "text_scale":
            appearance.apply_text_scale(self.view, self._context.settings.settings.text_scale)
        elif name in ("model", "system_prompt", "max_tokens", "temperature", "top_p"):
            self._on_options_changed()

    def _on_options_changed(self) -> None:
        """Say whether the conversation shown has settings of its own."""
        model = self.options().model
        own = overrides_summary(self.session.overrides)
        # The model picker shows the model; this button says whether anything is the
        # conversation's own, and opens its settings.
        self.settings_button.setText("Own settings" if own else "Defaults")
        self.settings_button.setToolTip(
            f"Conversation settings (Ctrl+Shift+,). {own or 'The defaults'}."
        )
        self.settings_button.setAccessibleDescription(
            f"{model.display_name}. {own or 'The defaults'}."
        )
        # The stylesheet may mark a conversation with settings of its own.
        if self.settings_button.property("overridden") != bool(own):
            self.settings_button.setProperty("overridden", bool(own))
            self.settings_button.style().unpolish(self.settings_button)
            self.settings_button.style().polish(self.settings_button)

    def _on_turns_replaced(self) -> None:
        """Another path of the same conversation is shown, or a turn was removed."""
        if self._editing is not None and self.session.row_of(self._editing) < 0:
            self._editing_gone()
        self._thumbnails = {
            t.id: self._thumbnails[t.id] for t in self.session.turns if t.id in self._thumbnails
        }
        self._count_images()
        self._update_usage()
        if self.session.conversation_id is not None:
            self.conversation_opened.emit(self.conversation_id)

    def _on_versions_changed(self, turn: Turn) -> None:
        versions = self.session.versions(turn)
        widget = self.view.widget_for(turn)
        if widget is not None and versions is not None:
            widget.set_versions(*versions)

    def _count_images(self) -> None:
        # The 2000 px many-image rule counts every image in the request, not just new ones.
        self.image_pane.model.set_other_images(self.session.conversation.image_count())

    def _update_usage(self) -> None:
        figures = conversation_usage(self.session.turns)
        summary = summarise_usage(figures)
        text = f"This conversation: {summary}" if summary else "No replies yet"
        parts = format_usage(figures)
        details = f"This conversation: {parts}." if parts else ""
        self.usage_label.setText(text)
        # The parts (input, output, cache) for whoever wants them, spoken too.
        self.usage_label.setToolTip(details)
        self.usage_label.setAccessibleDescription(f"{text}. {details}" if details else text)
        self.usage_changed.emit()
