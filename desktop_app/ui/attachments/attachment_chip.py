"""``AttachmentChip``: one attachment in the composer: thumbnail, name, size or error, remove."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui import icons
from desktop_app.ui.attachments.attachment_model import (
    Attachment,
    AttachmentStatus,
    describe,
    format_size,
    plain_tooltip,
)

THUMB_SIZE = 36  # px, the picture's box in the chip
_CHIP_CHARS = 24  # the chip's width, in average characters of its font


def error_colour(palette: QPalette) -> QColor:
    """A red that reads well on the palette's base colour, light or dark."""
    dark = palette.color(QPalette.ColorRole.Base).lightnessF() < 0.5
    return QColor.fromHslF(0.0, 0.75, 0.72 if dark else 0.4)


def chip_detail(attachment: Attachment) -> str:
    """The chip's second line: size and tokens once ready, the reason once failed."""
    if attachment.status is AttachmentStatus.FAILED:
        return attachment.error or f"{attachment.name} cannot be used."
    prepared = attachment.prepared
    if attachment.status is AttachmentStatus.READY and prepared is not None:
        tokens = prepared.estimated_tokens
        return f"{format_size(prepared.byte_size)} \u00b7 \u2248{tokens:,} tokens"
    if attachment.data:
        return f"{format_size(len(attachment.data))} \u00b7 Preparing\u2026"
    return "Preparing\u2026"


class ElidedLabel(QLabel):
    """A one-line plain-text label that shows an ellipsis when its text is too long.

    ``text()`` keeps the whole text (for screen readers and tests); only the drawing
    is shortened.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build an empty label."""
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QSize:
        """One line high, and as narrow as an ellipsis."""
        metrics = self.fontMetrics()
        return QSize(metrics.horizontalAdvance("\u2026"), metrics.height())

    def paintEvent(self, _event: QPaintEvent) -> None:
        """Draw the text, cut in the middle when it does not fit."""
        painter = QPainter(self)
        rect = self.contentsRect()
        shown = QFontMetrics(self.font()).elidedText(
            self.text(), Qt.TextElideMode.ElideMiddle, rect.width()
        )
        self.style().drawItemText(
            painter,
            rect,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            self.palette(),
            self.isEnabled(),
            shown,
            self.foregroundRole(),
        )
        painter.end()


class RemoveButton(QToolButton):
    """A small x that also answers Delete and Backspace while it has the keyboard."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build the button."""
        super().__init__(parent)
        self.setAutoRaise(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setIconSize(QSize(14, 14))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Delete or Backspace removes, like a click."""
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.click()
            return
        super().keyPressEvent(event)


class AttachmentChip(QFrame):
    """A small card for one attachment, with a button that removes it.

    Object names: ``attachmentChip`` (this frame, dynamic property ``state`` =
    ``preparing``/``ready``/``failed``), ``attachmentThumbnail``,
    ``attachmentChipName``, ``attachmentChipDetail`` (same ``state``) and
    ``removeAttachmentButton``.

    Signals:
        remove_requested: The remove button was pressed, or Delete on it (this chip).
    """

    remove_requested = Signal(object)

    def __init__(self, attachment: Attachment, parent: QWidget | None = None) -> None:
        """Build the chip for ``attachment``."""
        super().__init__(parent)
        self.setObjectName("attachmentChip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.attachment = attachment
        self._state = ""

        self.thumbnail = QLabel(self)
        self.thumbnail.setObjectName("attachmentThumbnail")
        self.thumbnail.setFixedSize(THUMB_SIZE, THUMB_SIZE)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name_label = ElidedLabel(self)
        self.name_label.setObjectName("attachmentChipName")
        font = self.name_label.font()
        font.setBold(True)
        self.name_label.setFont(font)
        self.detail_label = QLabel(self)
        self.detail_label.setObjectName("attachmentChipDetail")
        self.detail_label.setTextFormat(Qt.TextFormat.PlainText)
        self.detail_label.setWordWrap(True)
        self.detail_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.remove_button = RemoveButton(self)
        self.remove_button.setObjectName("removeAttachmentButton")
        self.remove_button.setIcon(icons.icon_for(self.remove_button, "x"))
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))

        text = QVBoxLayout()
        text.setContentsMargins(0, 0, 0, 0)
        text.setSpacing(0)
        text.addWidget(self.name_label)
        text.addWidget(self.detail_label)
        text.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 2, 4)
        layout.setSpacing(6)
        layout.addWidget(self.thumbnail, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(text, 1)
        layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        self.setFixedWidth(THUMB_SIZE + 48 + _CHIP_CHARS * self.fontMetrics().averageCharWidth())
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.refresh()

    @property
    def state(self) -> str:
        """``preparing``, ``ready`` or ``failed``."""
        return self._state

    def refresh(self) -> None:
        """Show the attachment's current status."""
        att = self.attachment
        state = att.status.value
        lines = describe(att)
        detail = chip_detail(att)
        self.name_label.setText(att.name)
        self.name_label.setAccessibleName(att.name)
        self.name_label.setToolTip(plain_tooltip("\n".join(lines)))
        self.detail_label.setText(detail)
        self.detail_label.setAccessibleName(detail)
        self.remove_button.setAccessibleName(f"Remove {att.name}")
        self.remove_button.setAccessibleDescription("\n".join(lines[1:]))
        self.remove_button.setToolTip(plain_tooltip(f"Remove {att.name} (Delete)"))
        self.setAccessibleName(f"{att.name}, {state}")
        self.setToolTip(plain_tooltip("\n".join(lines)))
        if state != self._state:
            self._state = state
            for widget in (self, self.detail_label):
                widget.setProperty("state", state)
                widget.style().unpolish(widget)
                widget.style().polish(widget)
            # Only a reason needs more than one line; sizes stay on one.
            self.detail_label.setWordWrap(att.status is AttachmentStatus.FAILED)
            self.detail_label.setForegroundRole(
                QPalette.ColorRole.WindowText
                if att.status is AttachmentStatus.FAILED
                else QPalette.ColorRole.PlaceholderText
            )
            self._colour_error()
        self._show_thumbnail()

    def changeEvent(self, event: QEvent) -> None:
        """Follow a change between light and dark palettes."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.remove_button.setIcon(icons.icon_for(self.remove_button, "x"))
            self._colour_error()
            self._show_thumbnail()

    def _colour_error(self) -> None:
        palette = QPalette(self.palette())
        if self.attachment.status is AttachmentStatus.FAILED:
            palette.setColor(QPalette.ColorRole.WindowText, error_colour(self.palette()))
        self.detail_label.setPalette(palette)

    def _show_thumbnail(self) -> None:
        att = self.attachment
        ratio = self.devicePixelRatioF()
        if att.thumbnail is not None and not att.thumbnail.isNull():
            pixmap = QPixmap.fromImage(att.thumbnail).scaled(
                round(THUMB_SIZE * ratio),
                round(THUMB_SIZE * ratio),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            pixmap.setDevicePixelRatio(ratio)
        else:
            name = "circle-alert" if att.status is AttachmentStatus.FAILED else "image"
            colour = (
                error_colour(self.palette())
                if att.status is AttachmentStatus.FAILED
                else self.palette().color(QPalette.ColorRole.PlaceholderText)
            )
            pixmap = icons.icon(name, colour).pixmap(QSize(20, 20), ratio)
        self.thumbnail.setPixmap(pixmap)

    def sizeHint(self) -> QSize:
        """Room for the thumbnail and the text at the chip's fixed width."""
        hint = super().sizeHint()
        layout = self.layout()
        if layout is not None and layout.hasHeightForWidth():
            hint.setHeight(max(hint.height(), layout.totalHeightForWidth(self.maximumWidth())))
        return hint
