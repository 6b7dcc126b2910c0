"""``Composer``: the rounded field where a message is written, with its attachments and Send.

Inside the field: the attachments as chips, the text (it grows with what is typed
up to about 40% of the window's height, then scrolls), and a row with Attach, the
model picker and one button that is Send, or Stop while a reply streams.

The draft (text and prepared images) is saved through the session a moment
after typing stops, and whenever the conversation changes, so nothing typed is
ever lost; the composer never touches the history itself. Editing a sent message
puts the draft aside until the edit is sent or cancelled, then brings it back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QEvent, QMimeData, QObject, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAccessible,
    QAccessibleAnnouncementEvent,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QShowEvent,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.catalog import Catalog
from desktop_app.core.conversation.ports import Draft
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.errors import StoreClosedError, StoreError
from desktop_app.core.wire.blocks import Base64Source, ImageBlock
from desktop_app.ui import icons, notify
from desktop_app.ui.asyncslot import async_slot
from desktop_app.ui.attachments.attachment_model import AttachmentStatus, Shelf, plain_tooltip
from desktop_app.ui.attachments.drop_overlay import DropOverlay
from desktop_app.ui.attachments.image_drop_pane import ATTACH_SHORTCUT, ImageDropPane
from desktop_app.ui.settings.settings_store import SettingsStore

if TYPE_CHECKING:
    # Pillow loads on first use, not when the window is built.
    from desktop_app.core.images import PreparedImage

DRAFT_DELAY_MS = 500  # a draft is saved this long after the last keystroke
MAX_HEIGHT_SHARE = 0.4  # the text grows up to this share of the window's height
EDITING_TEXT = "Editing a message. Send makes a new version of it; the original is kept."
_RADIUS = 12


def _uses_stylesheet(widget: QWidget) -> bool:
    """True when a stylesheet styles ``widget`` (it then draws the rounded look)."""
    return widget.style().metaObject().className() == "QStyleSheetStyle"


def _announce(widget: QWidget, text: str) -> None:
    with contextlib.suppress(RuntimeError):
        QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(widget, text))


class PromptEdit(QPlainTextEdit):
    """The prompt editor: Enter sends, Shift+Enter adds a line, pasted images become attachments.

    Its height follows its text, from one line up to :meth:`set_height_cap`, then it
    scrolls.

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
        self.setToolTip("Enter sends; Shift+Enter starts a new line; pasted images are attached")
        self.setTabChangesFocus(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.viewport().setAutoFillBackground(False)
        self._cap = 10_000
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    # -- height ----------------------------------------------------------------------------

    def set_height_cap(self, pixels: int) -> None:
        """Grow no taller than ``pixels`` (at least one line); scroll beyond."""
        self._cap = pixels
        self._fit()

    def height_cap(self) -> int:
        """The tallest the editor grows."""
        return max(self.minimum_height(), self._cap)

    def minimum_height(self) -> int:
        """One line of text."""
        return self._height_for_lines(1)

    def ideal_height(self) -> int:
        """The height that shows every line of the text (or of the placeholder) at once."""
        lines = max(1, round(self.document().documentLayout().documentSize().height()))
        if not self.document().isEmpty() or not self.placeholderText():
            return self._height_for_lines(lines)
        width = max(1, self.viewport().width() - 2 * round(self.document().documentMargin()))
        wrapped = QFontMetrics(self.font()).boundingRect(
            0, 0, width, 10_000, int(Qt.TextFlag.TextWordWrap), self.placeholderText()
        )
        placeholder = max(1, -(-wrapped.height() // self.fontMetrics().lineSpacing()))
        return self._height_for_lines(max(lines, placeholder))

    def _height_for_lines(self, lines: int) -> int:
        margins = self.contentsMargins()
        viewport = self.viewportMargins()
        # QPlainTextEdit scrolls unless the viewport has a pixel or so to spare.
        return (
            lines * self.fontMetrics().lineSpacing()
            + 2 * round(self.document().documentMargin())
            + 2
            + margins.top()
            + margins.bottom()
            + viewport.top()
            + viewport.bottom()
        )

    def _fit(self, *_: object) -> None:
        height = min(self.ideal_height(), self.height_cap())
        if height != self.height() or self.minimumHeight() != height:
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A new width wraps the text (or the placeholder) differently."""
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()

    # -- keys and pasting ------------------------------------------------------------------

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


class ComposerFrame(QFrame):
    """The rounded field holding the attachments, the text and the button row.

    Object name ``composerFrame``; dynamic properties ``focused`` (the keyboard is
    inside) and ``editing`` (a sent message is being edited). With no application
    stylesheet it paints itself: a rounded field in the palette's Base colour with a
    Mid border, Highlight while focused.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build an empty frame."""
        super().__init__(parent)
        self.setObjectName("composerFrame")
        self.setProperty("focused", False)
        self.setProperty("editing", False)

    def set_state(self, name: str, value: bool) -> None:
        """Set the dynamic property ``name`` and restyle."""
        if self.property(name) == value:
            return
        self.setProperty(name, value)
        self.style().unpolish(self)
        self.style().polish(self)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """A rounded field, unless a stylesheet draws one."""
        if _uses_stylesheet(self):
            super().paintEvent(event)
            return
        palette = self.palette()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        focused = bool(self.property("focused"))
        border = palette.color(QPalette.ColorRole.Highlight if focused else QPalette.ColorRole.Mid)
        painter.setPen(QPen(border, 2 if focused else 1))
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(1, 1, -1, -1), _RADIUS, _RADIUS)
        painter.end()


class EditingBar(QFrame):
    """Says that a sent message is being edited, with Cancel.

    Object names: ``editingBar``, ``editingIcon``, ``editingLabel``, ``cancelEditButton``.

    Signals:
        cancel_requested: Cancel was pressed.
    """

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build the bar (hidden)."""
        super().__init__(parent)
        self.icon = QLabel(self)
        self.icon.setObjectName("editingIcon")
        self.setObjectName("editingBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.setAutoFillBackground(True)
        self.setAccessibleName("Editing a message")
        self.label = QLabel(EDITING_TEXT, self)
        self.label.setObjectName("editingLabel")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setAccessibleName(EDITING_TEXT)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancelEditButton")
        self.cancel_button.setAccessibleName("Cancel editing")
        self.cancel_button.setToolTip("Cancel editing and bring back your draft (Esc)")
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._tint()
        self.hide()

    def changeEvent(self, event: QEvent) -> None:
        """Tint the icon again for a new palette."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._tint()

    def _tint(self) -> None:
        self.icon.setPixmap(
            icons.icon_for(self, "pencil", QPalette.ColorRole.WindowText).pixmap(
                QSize(16, 16), self.devicePixelRatioF()
            )
        )


def short_model_name(display_name: str) -> str:
    """``Claude Opus 4.7`` as ``Opus 4.7``: the picker is small; every model is Claude."""
    rest = display_name.removeprefix("Claude ").strip()
    return rest or display_name


class ModelPicker(QComboBox):
    """The catalog's models, showing the one the conversation shown uses.

    Picking a model changes what that conversation uses. A conversation that
    follows the defaults changes the default (the ``model`` setting, the same one
    as in Settings), so new conversations use it too, as people expect from a
    picker beside the text field. A conversation with its own model (set in its
    settings) changes only its own, and the defaults stay as they are.

    Object name ``modelPicker``.
    """

    def __init__(
        self,
        store: SettingsStore,
        catalog: Catalog,
        session: ConversationSession,
        parent: QWidget | None = None,
    ) -> None:
        """List ``catalog``'s models and show the one ``session`` uses."""
        super().__init__(parent)
        self.setObjectName("modelPicker")
        self.setAccessibleName("Model")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._store = store
        self._catalog = catalog
        self._session = session
        self.refresh_models()
        self.activated.connect(self._on_activated)
        store.changed.connect(self._on_setting_changed)
        session.overrides_changed.connect(self._on_overrides_changed)

    def effective_model(self) -> str:
        """The id of the model the conversation shown asks for."""
        return self._session.overrides.model or self._store.settings.model

    def refresh_models(self) -> None:
        """List the catalog's models again (after it was refreshed from the service)."""
        self.blockSignals(True)
        try:
            self.clear()
            for model in self._catalog.models:
                self._add(model.id, model.display_name)
        finally:
            self.blockSignals(False)
        self.sync()

    def sync(self) -> None:
        """Show the model the conversation uses, and say whose setting it is."""
        model = self._catalog.get(self.effective_model())
        index = self.findData(model.id)
        self.blockSignals(True)
        try:
            if index < 0:
                # A model the catalog does not list (typed into the file, say) stays shown.
                self._add(model.id, model.display_name)
                index = self.count() - 1
            self.setCurrentIndex(index)
        finally:
            self.blockSignals(False)
        if self._session.overrides.model is not None:
            whose = "This conversation's own model; the default stays as it is."
        else:
            whose = "The default model, the same setting as in Settings."
        self.setToolTip(plain_tooltip(f"{model.display_name}. {whose}"))
        # On Linux a combo box is named by the item it shows, not by its
        # accessible name: the description says what it picks.
        self.setAccessibleDescription(f"Model. {whose}")

    def _add(self, model_id: str, display_name: str) -> None:
        self.addItem(short_model_name(display_name), model_id)
        row = self.count() - 1
        self.setItemData(row, plain_tooltip(display_name), Qt.ItemDataRole.ToolTipRole)
        self.setItemData(row, display_name, Qt.ItemDataRole.AccessibleTextRole)

    def _on_activated(self, index: int) -> None:
        model_id = self.itemData(index)
        if not isinstance(model_id, str) or model_id == self.effective_model():
            return
        model = self._catalog.get(model_id)
        overrides = self._session.overrides
        if overrides.model is not None:
            own_limit = overrides.max_tokens
            changed = dataclasses.replace(
                overrides,
                model=model_id,
                max_tokens=None if own_limit is None else model.clamp_max_tokens(own_limit),
            )
            self._save(self._session.set_overrides(changed))
            return
        settings = self._store.settings
        # One update, so the model and its clamped max_tokens are saved together.
        self._store.update(model=model_id, max_tokens=model.clamp_max_tokens(settings.max_tokens))

    @async_slot(object)
    async def _save(self, storing: Coroutine[Any, Any, None]) -> None:
        await notify.saved_or_said(
            storing, "The conversation's model applies for now, but it could not be saved"
        )

    def _on_setting_changed(self, name: str) -> None:
        if name == "model" and shiboken6.isValid(self):
            self.sync()

    def _on_overrides_changed(self) -> None:
        if shiboken6.isValid(self):
            self.sync()


@dataclasses.dataclass
class _KeptDraft:
    """The draft put aside while a sent message is edited."""

    text: str
    attachments: Shelf | None = None

    def blocks(self) -> list[ImageBlock]:
        if self.attachments is None:
            return []
        return [
            a.prepared.to_content_block()
            for a in self.attachments.attachments
            if a.status is AttachmentStatus.READY and a.prepared is not None
        ]


class Composer(QWidget):
    """The editing bar above the rounded field: attachments, text, Attach, model, Send/Stop.

    Signals:
        send_requested: Send was pressed (or Enter).
        stop_requested: Stop was pressed.
        draft_saved: The draft reached the history.
        editing_changed: Editing a sent message began (True) or ended (False).
    """

    send_requested = Signal()
    stop_requested = Signal()
    draft_saved = Signal()
    editing_changed = Signal(bool)

    def __init__(
        self,
        session: ConversationSession,
        settings: SettingsStore,
        catalog: Catalog,
        parent: QWidget | None = None,
    ) -> None:
        """Build the composer for ``session``, preparing images for the chosen model."""
        super().__init__(parent)
        self.setObjectName("composer")
        self._session = session
        self._settings = settings
        self._catalog = catalog
        self._busy = False
        self._kept: _KeptDraft | None = None
        self._window: QWidget | None = None
        self._overlay: DropOverlay | None = None
        self._chain: list[QWidget] = []

        self.editing_bar = EditingBar()
        self.editing_bar.cancel_requested.connect(self.cancel_editing)
        self.frame = ComposerFrame()
        self.image_pane = ImageDropPane(
            catalog.get(session.overrides.model or settings.settings.model)
        )
        self.image_pane.hide()
        self.prompt = PromptEdit()
        self.prompt.submitted.connect(self.send_requested)
        self.prompt.image_pasted.connect(self._on_image_pasted)

        attach_keys = ATTACH_SHORTCUT.toString(ATTACH_SHORTCUT.SequenceFormat.NativeText)
        self.attach_button = QToolButton()
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setAccessibleName("Attach images")
        self.attach_button.setToolTip(
            f"Attach images ({attach_keys}). They can also be pasted, or dropped anywhere."
        )
        self.attach_button.setAutoRaise(True)
        self.attach_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.attach_button.clicked.connect(self.image_pane.attach_action.trigger)
        # Ctrl+Shift+A works wherever the keyboard is in the composer.
        self.addAction(self.image_pane.attach_action)
        self.model_picker = ModelPicker(settings, catalog, session)
        self.send_button = QToolButton()
        self.send_button.setObjectName("sendButton")
        self.send_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.send_button.clicked.connect(self._on_send_clicked)
        for button in (self.attach_button, self.send_button):
            button.setIconSize(QSize(18, 18))
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self._on_draft_timer)

        tools = QHBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        tools.setSpacing(4)
        tools.addWidget(self.attach_button)
        tools.addWidget(self.model_picker)
        tools.addStretch(1)
        tools.addWidget(self.send_button)
        inside = QVBoxLayout(self.frame)
        inside.setContentsMargins(10, 8, 8, 6)
        inside.setSpacing(4)
        inside.addWidget(self.image_pane)
        inside.addWidget(self.prompt)
        inside.addLayout(tools)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(4)
        layout.addWidget(self.editing_bar)
        layout.addWidget(self.frame)

        self.prompt.textChanged.connect(self._on_content_changed)
        self.image_pane.changed.connect(self._on_content_changed)
        self.image_pane.changed.connect(self._on_attachments_changed)
        settings.changed.connect(self._on_setting_changed)
        session.overrides_changed.connect(self._size_images_for_model)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus_changed)
        self._tint()
        self._show_busy()
        self._update_tab_order()

    # -- state ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while a reply is in flight (the button is Stop)."""
        return self._busy

    def set_busy(self, busy: bool) -> None:
        """Turn the Send button into Stop while a reply streams, and back."""
        self._busy = busy
        self._show_busy()

    @property
    def editing(self) -> bool:
        """True while a sent message is being edited."""
        return self._kept is not None

    def text(self) -> str:
        """The text typed."""
        return self.prompt.toPlainText()

    def set_text(self, text: str) -> None:
        """Replace the text without counting it as typing (no draft save)."""
        self.prompt.blockSignals(True)
        self.prompt.setPlainText(text)
        self.prompt.blockSignals(False)
        self.prompt.moveCursor(QTextCursor.MoveOperation.End)

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
        """Empty the composer after a send; after an edit, the draft kept aside comes back."""
        if self._kept is not None:
            self._end_editing()
            _announce(self.prompt, "Message sent. Your draft is back.")
        else:
            self.set_text("")
            self.image_pane.clear()
        # The stored draft must follow: an empty one, or the one brought back.
        self._draft_timer.start()

    def refresh_models(self) -> None:
        """List the catalog's models again (after it was refreshed from the service)."""
        self.model_picker.refresh_models()

    # -- editing a sent message ----------------------------------------------------------

    def begin_editing(self, text: str, images: Sequence[tuple[str, bytes]] = ()) -> None:
        """Put a sent message's text and images here, to send a new version of it.

        The draft that was here (text and attachments) is put aside, untouched, and
        comes back when the edit is cancelled or sent. Editing another message while
        editing replaces the edit, never the draft.
        """
        if self._kept is None:
            self._kept = _KeptDraft(self.text())
            self._kept.attachments = self.image_pane.model.shelve()
        else:
            self.image_pane.clear()
        self.set_text(text)
        for name, data in images:
            self.image_pane.add_bytes(name, data)
        self.editing_bar.show()
        self.frame.set_state("editing", True)
        self._update_tab_order()
        self.prompt.setFocus(Qt.FocusReason.OtherFocusReason)
        _announce(self.editing_bar, f"{EDITING_TEXT} Escape cancels.")
        self.editing_changed.emit(True)

    def cancel_editing(self) -> None:
        """Drop the edit; the draft put aside comes back."""
        if self._kept is None:
            return
        self._end_editing()
        self.prompt.setFocus(Qt.FocusReason.OtherFocusReason)
        _announce(self.prompt, "Editing cancelled. Your draft is back.")

    def _end_editing(self) -> None:
        kept, self._kept = self._kept, None
        assert kept is not None
        self.image_pane.clear()
        self.set_text(kept.text)
        if kept.attachments is not None:
            self.image_pane.model.unshelve(kept.attachments)
        self._hide_editing()

    def _hide_editing(self) -> None:
        self.editing_bar.hide()
        self.frame.set_state("editing", False)
        self._update_tab_order()
        self.editing_changed.emit(False)

    # -- drafts --------------------------------------------------------------------------

    @async_slot()
    async def _on_draft_timer(self) -> None:
        await self.save_draft()

    async def save_draft(self) -> None:
        """Save the text and prepared images now; a failure is reported, never raised.

        While a sent message is being edited, the draft put aside is what is saved.
        """
        self._draft_timer.stop()
        if self._kept is not None:
            text = self._kept.text
            attachments = self._kept.blocks()
        else:
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
        """Show the session's conversation's draft, replacing what is in the composer.

        An edit under way ends: it belonged to the conversation left behind, whose
        draft was saved before.
        """
        if self._kept is not None:
            self._kept = None
            self._hide_editing()
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

    # -- reactions -----------------------------------------------------------------------

    def _on_send_clicked(self) -> None:
        if self._busy:
            self.stop_requested.emit()
        else:
            self.send_requested.emit()

    def _on_content_changed(self) -> None:
        if self._kept is None:  # an edit is not a draft
            self._draft_timer.start()

    def _on_attachments_changed(self) -> None:
        self.image_pane.setVisible(self.image_pane.model.rowCount() > 0)
        self._update_tab_order()

    def _on_image_pasted(self, mime: QMimeData) -> None:
        self.image_pane.add_mime_data(mime, stem="Pasted image")

    def _on_setting_changed(self, name: str) -> None:
        if name == "model":
            self._size_images_for_model()

    def _size_images_for_model(self) -> None:
        """Prepare images for the model the conversation uses (its own, or the default)."""
        if shiboken6.isValid(self):
            self.image_pane.set_model(self._catalog.get(self.model_picker.effective_model()))

    def _on_focus_changed(self, _old: QWidget | None, now: QWidget | None) -> None:
        if shiboken6.isValid(self) and shiboken6.isValid(self.frame):
            self.frame.set_state("focused", now is not None and self.frame.isAncestorOf(now))

    # -- looks and keyboard --------------------------------------------------------------

    def _show_busy(self) -> None:
        button = self.send_button
        if self._busy:
            button.setIcon(icons.icon_for(button, "square"))
            button.setAccessibleName("Stop the reply")
            button.setToolTip("Stop the reply (Esc)")
        else:
            button.setIcon(icons.icon_for(button, "arrow-up"))
            button.setAccessibleName("Send message")
            button.setToolTip("Send (Enter)")
        mode = "stop" if self._busy else "send"
        if button.property("mode") != mode:
            button.setProperty("mode", mode)
            button.style().unpolish(button)
            button.style().polish(button)

    def _tint(self) -> None:
        self.attach_button.setIcon(icons.icon_for(self.attach_button, "paperclip"))
        self._show_busy()

    def changeEvent(self, event: QEvent) -> None:
        """Tint the icons again for a new palette."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._tint()

    def _update_tab_order(self) -> None:
        """Tab follows the screen: Cancel (when editing), chips, text, Attach, model, Send.

        The chain starts at Cancel, shown or not (Tab passes over hidden widgets):
        made with the composer, it sits where the composer's stops begin, so the
        chips' buttons, made later, come there too rather than after the controls
        that follow the composer.
        """
        chain: list[QWidget] = [self.editing_bar.cancel_button]
        chain += self.image_pane.focus_chain()
        chain += [self.prompt, self.attach_button, self.model_picker, self.send_button]
        if chain == self._chain:
            return
        self._chain = chain
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    # -- the window around it ------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        """Follow the window's height (the text's cap), and cover it for drops."""
        super().showEvent(event)
        window = self.window()
        if window is self or window is self._window:
            return
        if self._window is not None and shiboken6.isValid(self._window):
            self._window.removeEventFilter(self)
        self._window = window
        window.installEventFilter(self)
        if self._overlay is not None and shiboken6.isValid(self._overlay):
            self._overlay.deleteLater()
        self._overlay = DropOverlay(self.image_pane, window)
        self._update_height_cap()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A taller or shorter window lets the text grow more or less."""
        if watched is self._window and event.type() == QEvent.Type.Resize:
            self._update_height_cap()
        return False

    @property
    def drop_overlay(self) -> DropOverlay | None:
        """The veil over the window during a drag of images, once the composer was shown."""
        return self._overlay

    def _update_height_cap(self) -> None:
        window = self._window if self._window is not None else self.window()
        self.prompt.set_height_cap(int(window.height() * MAX_HEIGHT_SHARE))
