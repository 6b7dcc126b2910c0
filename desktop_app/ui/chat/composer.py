"""``Composer``: the prompt editor, its attachments, Send and Stop, and the draft it keeps.

The draft (text and prepared images) is saved through the session a moment
after typing stops, and whenever the conversation changes, so nothing typed is
ever lost; the composer never touches the history itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from desktop_app.core.catalog import ModelInfo
from desktop_app.core.conversation.ports import Draft
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.errors import StoreClosedError, StoreError
from desktop_app.core.wire.blocks import Base64Source, ImageBlock
from desktop_app.ui import notify
from desktop_app.ui.asyncslot import async_slot
from desktop_app.ui.attachments.image_drop_pane import ImageDropPane

if TYPE_CHECKING:
    # Pillow loads on first use, not when the window is built.
    from desktop_app.core.images import PreparedImage

DRAFT_DELAY_MS = 500  # a draft is saved this long after the last keystroke


class PromptEdit(QPlainTextEdit):
    """The prompt editor: Enter sends, Shift+Enter adds a line, pasted images become attachments.

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


class Composer(QWidget):
    """Attachments above the editor, with Send and Stop beside it.

    Signals:
        send_requested: Send was pressed (or Enter).
        stop_requested: Stop was pressed.
        draft_saved: The draft reached the history.
    """

    send_requested = Signal()
    stop_requested = Signal()
    draft_saved = Signal()

    def __init__(
        self, session: ConversationSession, model: ModelInfo, parent: QWidget | None = None
    ) -> None:
        """Build the composer for ``session``, preparing images for ``model``."""
        super().__init__(parent)
        self.setObjectName("composer")
        self._session = session
        self.image_pane = ImageDropPane(model)
        self.prompt = PromptEdit()
        self.prompt.submitted.connect(self.send_requested)
        self.prompt.image_pasted.connect(self._on_image_pasted)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setAccessibleName("Send message")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.clicked.connect(self.send_requested)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setAccessibleName("Stop the reply")
        self.stop_button.setToolTip("Stop (Esc)")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_requested)
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self._on_draft_timer)

        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.prompt, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.image_pane)
        layout.addLayout(row)
        # The transcript gets the room; attachments and the editor stay compact.
        self.image_pane.setMaximumHeight(150)
        self.prompt.setMinimumHeight(56)
        self.prompt.setMaximumHeight(220)
        self.prompt.textChanged.connect(self._draft_timer.start)
        self.image_pane.changed.connect(self._draft_timer.start)
        self.setTabOrder(self.prompt, self.send_button)
        self.setTabOrder(self.send_button, self.stop_button)

    # -- state ---------------------------------------------------------------------------

    def set_busy(self, busy: bool) -> None:
        """Swap which of Send and Stop can be pressed."""
        self.stop_button.setEnabled(busy)
        self.send_button.setEnabled(not busy)

    def text(self) -> str:
        """The text typed."""
        return self.prompt.toPlainText()

    def set_text(self, text: str) -> None:
        """Replace the text without counting it as typing (no draft save)."""
        self.prompt.blockSignals(True)
        self.prompt.setPlainText(text)
        self.prompt.blockSignals(False)

    async def ready_images(self) -> list[PreparedImage]:
        """The prepared images, once every image still preparing is done."""
        if self.image_pane.is_busy():
            await self.image_pane.wait_idle()
        return self.image_pane.attachments_ready()

    def thumbnails(self) -> list[QImage]:
        """Thumbnails of the prepared images, in order."""
        return [
            att.thumbnail
            for att in self.image_pane.model.attachments()
            if att.prepared is not None and att.thumbnail is not None
        ]

    def clear(self) -> None:
        """Empty the editor and the attachments (after a send); the draft is cleared too."""
        self._draft_timer.stop()
        self.set_text("")
        self.image_pane.clear()

    # -- drafts --------------------------------------------------------------------------

    @async_slot()
    async def _on_draft_timer(self) -> None:
        await self.save_draft()

    async def save_draft(self) -> None:
        """Save the text and prepared images now; a failure is reported, never raised."""
        self._draft_timer.stop()
        text = self.text()
        attachments = [img.to_content_block() for img in self.image_pane.attachments_ready()]
        try:
            await self._session.save_draft(text, attachments)
        except StoreClosedError:
            return  # the app is closing
        except StoreError as exc:
            notify.error(f"The draft could not be saved: {exc}")
            return
        if shiboken6.isValid(self):
            self.draft_saved.emit()

    async def flush_draft(self) -> None:
        """Save a draft whose save is still waiting (before leaving or quitting)."""
        if not shiboken6.isValid(self._draft_timer):  # the window is already gone
            return
        if self._draft_timer.isActive():
            await self.save_draft()

    async def restore_draft(self) -> None:
        """Show the session's conversation's draft, replacing what is in the composer."""
        try:
            draft = await self._session.load_draft()
        except StoreError as exc:
            notify.error(f"The draft could not be read: {exc}")
            draft = Draft("", [])
        self.set_text(draft.text)
        self.image_pane.clear()
        for number, block in enumerate(draft.attachments, start=1):
            if isinstance(block, ImageBlock) and isinstance(block.source, Base64Source):
                data = block.source.decoded()
                if data:
                    self.image_pane.add_bytes(f"Draft image {number}", data)

    def _on_image_pasted(self, mime: QMimeData) -> None:
        self.image_pane.add_mime_data(mime, stem="Pasted image")
