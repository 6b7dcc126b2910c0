"""Pieces of a message: tinted boxes, notices, icon buttons that show on hover or focus.

Tints are painted here from the palette (light or dark alike), so a message reads
right before any style sheet; every box also has an object name and a ``kind``
property for the application style sheet to refine. A tint never carries meaning
alone: each kind has its icon and its words.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPaintEvent, QPalette
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

ICON_SIZE = 16
# Hues of the kinds that are not the palette's own (0 red .. 1 red again).
_HUES = {"error": 0.0, "warning": 0.09, "max-tokens": 0.09, "retrying": 0.09, "refusal": 0.78}
# How strongly a box is tinted with its tone, light and dark themes.
_TINT_ALPHA = {False: 0.10, True: 0.20}
_BUBBLE_ALPHA = {False: 0.14, True: 0.30}

NOTICE_ICONS = {
    "info": "info",
    "stopped": "square",
    "warning": "triangle-alert",
    "max-tokens": "scissors",
    "retrying": "refresh-cw",
    "error": "circle-alert",
    "refusal": "shield-alert",
}
NOTICE_SPOKEN = {
    "info": "",
    "stopped": "",
    "warning": "Warning: ",
    "max-tokens": "Cut short: ",
    "retrying": "",
    "error": "Error: ",
    "refusal": "Declined: ",
}


def palette_is_dark(palette: QPalette) -> bool:
    """True when a palette is a dark theme.

    A style sheet's ``background: transparent`` leaves the Window role fully
    transparent (black with alpha 0), which would read as dark; the text colour
    is opaque in both themes, so it decides then.
    """
    window = palette.color(QPalette.ColorRole.Window)
    if window.alpha() == 255:
        return window.lightnessF() < 0.5
    return palette.color(QPalette.ColorRole.WindowText).lightnessF() > 0.5


def is_dark(widget: QWidget) -> bool:
    """True when the widget's palette is dark (follows the system theme)."""
    return palette_is_dark(widget.palette())


def tone(palette: QPalette, kind: str) -> QColor:
    """The colour of a kind of box: strong enough for an icon or a stripe on the window."""
    hue = _HUES.get(kind)
    if hue is not None:
        dark = palette_is_dark(palette)
        return QColor.fromHslF(hue, 0.75, 0.65 if dark else 0.42)
    if kind in ("user", "info"):
        return palette.color(QPalette.ColorRole.Highlight)
    return palette.color(QPalette.ColorRole.WindowText)  # thinking, stopped: neutral


class Tinted(QFrame):
    """A box with rounded corners filled with a soft tint of its kind's tone.

    With ``stripe`` a bar of the full tone marks its leading edge (notices).
    """

    def __init__(
        self, kind: str, parent: QWidget | None = None, *, stripe: bool = False, radius: int = 8
    ) -> None:
        """Build an empty box of ``kind``."""
        super().__init__(parent)
        self._kind = kind
        self._stripe = stripe
        self._radius = radius
        self.setProperty("kind", kind)

    @property
    def kind(self) -> str:
        """The kind of box (``user``, ``error``, ``thinking`` ...)."""
        return self._kind

    def set_kind(self, kind: str) -> None:
        """Change the kind: its tint, and its ``kind`` property for the style sheet."""
        if kind == self._kind:
            return
        self._kind = kind
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the tint (and stripe) under whatever the style draws."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        colour = tone(self.palette(), self._kind)
        dark = is_dark(self)
        fill = QColor(colour)
        fill.setAlphaF((_BUBBLE_ALPHA if self._kind == "user" else _TINT_ALPHA)[dark])
        painter.setBrush(fill)
        painter.drawRoundedRect(QRectF(self.rect()), self._radius, self._radius)
        if self._stripe:
            painter.setBrush(colour)
            painter.drawRoundedRect(QRectF(0, 0, 3, self.height()), 1.5, 1.5)
        painter.end()
        super().paintEvent(event)


def icon_button(
    object_name: str, icon_name: str, accessible: str, tip: str, *, text: str = ""
) -> QToolButton:
    """A small flat button with an icon (and ``text`` beside it, if given)."""
    button = QToolButton()
    button.setObjectName(object_name)
    button.setProperty("iconName", icon_name)
    button.setIcon(icons.icon_for(button, icon_name))
    button.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
    button.setAutoRaise(True)
    button.setAccessibleName(accessible)
    button.setToolTip(tip)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    # Reached with Tab through the message (MessageWidget.focusNextPrevChild), not
    # through the window's chain; and a click never takes the focus from the editor.
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    if text:
        button.setText(text)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return button


def retint(widget: QWidget) -> None:
    """Draw the icons of ``widget``'s icon buttons again, in its current palette.

    Called on ``widget``'s palette change, which comes before its children's: their
    own palettes may still be the old one, so ``widget``'s colours are used.
    """
    for button in widget.findChildren(QToolButton):
        name = button.property("iconName")
        if isinstance(name, str) and name and not button.property("inActionBar"):
            button.setIcon(icons.icon_for(widget, name))


class ActionBar(QWidget):
    """A message's actions: drawn only while revealed, yet always there.

    Hidden buttons would leave screen readers and keyboard reach; these stay, and
    only their icons go (flat buttons without an icon draw nothing), so the row
    keeps its place and nothing below it moves when they appear. Cheaper than an
    opacity effect on each of a thousand messages.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build an empty, unrevealed bar."""
        super().__init__(parent)
        self.setObjectName("messageActions")
        self.setProperty("revealed", False)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self._buttons: list[QToolButton] = []
        self._revealed = False

    @property
    def revealed(self) -> bool:
        """True while the actions are drawn."""
        return self._revealed

    def add(self, button: QToolButton) -> None:
        """Add ``button`` (made by :func:`icon_button`) at the end."""
        button.setProperty("inActionBar", True)
        self._layout.addWidget(button)
        self._buttons.append(button)
        self.draw(button)

    def set_revealed(self, revealed: bool) -> None:
        """Draw the actions, or stop drawing them."""
        if revealed == self._revealed:
            return
        self._revealed = revealed
        self.setProperty("revealed", revealed)
        for button in self._buttons:
            self.draw(button)

    def draw(self, button: QToolButton) -> None:
        """Give ``button`` its icon (its ``iconName``) while revealed, none otherwise."""
        name = button.property("iconName")
        shown = self._revealed and isinstance(name, str) and bool(name)
        button.setIcon(icons.icon_for(self, str(name)) if shown else QIcon())

    def changeEvent(self, event: QEvent) -> None:
        """Draw the icons again in a new palette."""
        super().changeEvent(event)
        if event.type() is QEvent.Type.PaletteChange:
            for button in self._buttons:
                self.draw(button)


class NoticeBox(Tinted):
    """What happened to a turn: an icon for its kind, the text, and what to do about it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build an empty notice."""
        super().__init__("info", parent, stripe=True, radius=6)
        self.setObjectName("turnNoticeBox")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 8, 6)
        layout.setSpacing(8)
        self.mark = QLabel()
        self.mark.setObjectName("turnNoticeIcon")
        self.mark.setFixedSize(ICON_SIZE, ICON_SIZE)
        layout.addWidget(self.mark, 0, Qt.AlignmentFlag.AlignTop)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        self.text = QLabel()
        self.text.setObjectName("turnNotice")
        self.text.setTextFormat(Qt.TextFormat.PlainText)  # the service's error text
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        column.addWidget(self.text)
        self._buttons = QHBoxLayout()
        self._buttons.setContentsMargins(0, 0, 0, 0)
        self._buttons.setSpacing(6)
        self._buttons.addStretch(1)
        column.addLayout(self._buttons)
        layout.addLayout(column, 1)
        self._icon_kind = ""

    def show_notice(self, kind: str, text: str) -> None:
        """Show ``text`` as a notice of ``kind`` (``error``, ``refusal`` ...)."""
        self.set_kind(kind)
        if self._icon_kind != kind:
            self._icon_kind = kind
            self._draw_mark()
            self.mark.setAccessibleName(kind.replace("-", " ").capitalize())
        if self.text.text() != text:
            self.text.setText(text)
            self.text.setAccessibleName(text)
        self.setAccessibleName(f"{NOTICE_SPOKEN.get(kind, '')}{text}")

    def add_button(self, button: QToolButton) -> None:
        """Offer ``button`` under the text, after the others."""
        self._buttons.insertWidget(self._buttons.count() - 1, button)

    def changeEvent(self, event: QEvent) -> None:
        """Draw the icon again when the palette changes."""
        super().changeEvent(event)
        if event.type() is QEvent.Type.PaletteChange and self._icon_kind:
            self._draw_mark()

    def _draw_mark(self) -> None:
        name = NOTICE_ICONS.get(self._icon_kind, "info")
        colour = tone(self.palette(), self._icon_kind)
        self.mark.setPixmap(icons.icon(name, colour).pixmap(ICON_SIZE, ICON_SIZE))


class FlowRow(QWidget):
    """Widgets side by side, wrapping onto more rows when the width runs out.

    The row sets its own height for its width, as the message text does, so it
    never asks for more width than one of its widgets.
    """

    def __init__(self, parent: QWidget | None = None, *, right: bool = False) -> None:
        """Build an empty row; ``right`` aligns the widgets to the right edge."""
        super().__init__(parent)
        self._items: list[QWidget] = []
        self._right = right
        self._spacing = 6
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def add(self, widget: QWidget) -> None:
        """Add ``widget`` at the end."""
        widget.setParent(self)
        self._items.append(widget)
        widget.show()
        self._place(self.width())

    @property
    def items(self) -> list[QWidget]:
        """The widgets, in order."""
        return list(self._items)

    def natural_width(self) -> int:
        """The width of all the widgets in one row."""
        widths = [w.sizeHint().width() for w in self._items]
        return sum(widths) + self._spacing * max(0, len(widths) - 1)

    def minimumSizeHint(self) -> QSize:
        """As narrow as the widest widget."""
        return QSize(max((w.sizeHint().width() for w in self._items), default=0), 0)

    def sizeHint(self) -> QSize:
        """All in one row."""
        return QSize(self.natural_width(), self.height())

    def resizeEvent(self, event: object) -> None:
        """Lay the widgets out again for the new width."""
        self._place(self.width())

    def relayout(self) -> None:
        """Lay the widgets out again (one changed its size)."""
        self._place(self.width())
        self.updateGeometry()

    def _place(self, width: int) -> None:
        rows: list[list[QWidget]] = [[]]
        used = 0
        for widget in self._items:
            w = widget.sizeHint().width()
            if rows[-1] and used + self._spacing + w > width:
                rows.append([])
                used = 0
            used += (self._spacing if rows[-1] else 0) + w
            rows[-1].append(widget)
        y = 0
        for row in rows:
            if not row:
                continue
            hints = [w.sizeHint() for w in row]
            total = sum(h.width() for h in hints) + self._spacing * (len(row) - 1)
            x = max(0, width - total) if self._right else 0
            height = max(h.height() for h in hints)
            for widget, hint in zip(row, hints, strict=True):
                widget.setGeometry(x, y, min(hint.width(), width), hint.height())
                x += hint.width() + self._spacing
            y += height + self._spacing
        self.setFixedHeight(max(0, y - self._spacing))
