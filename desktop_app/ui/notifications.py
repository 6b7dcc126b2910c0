"""``NotificationArea``: the window's one place for messages to the person.

Each message from :mod:`desktop_app.ui.notify` becomes a row with an icon for its
level (never colour alone), its text as plain text, an optional action (Undo) and
a Close button, all reachable with Tab. Information goes after a few seconds,
warnings after longer, errors stay until dismissed. Every new row is announced to
screen readers. A message with a ``key`` replaces the row with the same key.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui import icons, notify, style

MAX_ROWS = 3
LIFETIME_MS = {notify.Level.INFO: 8_000, notify.Level.WARNING: 15_000}
_ICONS = {
    notify.Level.INFO: "info",
    notify.Level.WARNING: "triangle-alert",
    notify.Level.ERROR: "circle-alert",
}
_SPOKEN = {notify.Level.INFO: "", notify.Level.WARNING: "Warning: ", notify.Level.ERROR: "Error: "}


class Notice(QFrame):
    """One message: icon, text, an optional action, and Close.

    Signals:
        closed: The row went away (dismissed, acted on, or timed out).
    """

    closed = Signal()

    def __init__(self, message: notify.UserMessage, parent: QWidget | None = None) -> None:
        """Show ``message``."""
        super().__init__(parent)
        self.message = message
        self.setObjectName("notice")
        self.setProperty("level", message.level.value)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"{_SPOKEN[message.level]}{message.text}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.setSpacing(10)
        self.mark = QLabel(self)
        self.mark.setObjectName("noticeIcon")
        self.mark.setAccessibleName(message.level.value.capitalize())
        self._draw_mark()
        layout.addWidget(self.mark, 0, Qt.AlignmentFlag.AlignVCenter)
        self.text = QLabel(message.text, self)
        self.text.setObjectName("noticeText")
        self.text.setTextFormat(Qt.TextFormat.PlainText)  # messages may quote outside text
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAccessibleName(message.text)
        layout.addWidget(self.text, 1)
        self.action_button: QPushButton | None = None
        if message.action is not None:
            self.action_button = QPushButton(message.action.label, self)
            self.action_button.setObjectName("noticeActionButton")
            self.action_button.setAccessibleName(message.action.label)
            self.action_button.clicked.connect(self._on_action)
            layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("noticeCloseButton")
        self.close_button.setIcon(icons.icon_for(self, "x"))
        self.close_button.setAccessibleName("Dismiss")
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._timer: QTimer | None = None
        lifetime = (
            round(message.timeout * 1000)
            if message.timeout is not None
            else None
            if message.action is not None
            else LIFETIME_MS.get(message.level)
        )
        if lifetime is not None:
            self._timer = QTimer(self)
            self._timer.setSingleShot(True)
            self._timer.setInterval(lifetime)
            self._timer.timeout.connect(self.dismiss)
            self._timer.start()

    def _draw_mark(self) -> None:
        # The level's own colour, for a quicker read; the shape alone tells it too.
        color = style.tone_color(self.message.level.value)
        self.mark.setPixmap(
            icons.icon(_ICONS[self.message.level], color).pixmap(
                QSize(18, 18), self.devicePixelRatioF()
            )
        )

    def changeEvent(self, event: QEvent) -> None:
        """Draw the icon again when the theme turns light or dark."""
        super().changeEvent(event)
        if event.type() is QEvent.Type.PaletteChange and hasattr(self, "mark"):
            self._draw_mark()

    def dismiss(self) -> None:
        """Take the row away."""
        if self._timer is not None:
            self._timer.stop()
        self.hide()
        self.closed.emit()
        self.deleteLater()

    def _on_action(self) -> None:
        action = self.message.action
        self.dismiss()
        if action is not None:
            action.run()


class NotificationArea(QWidget):
    """The newest messages, above the conversation.

    Signals:
        changed: A row was added or went away (for tests and layout).
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        """Start empty (and hidden)."""
        super().__init__(parent)
        self.setObjectName("notificationArea")
        self.setAccessibleName("Notifications")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(12, 8, 12, 0)
        self._layout.setSpacing(6)
        self._rows: list[Notice] = []
        self.hide()

    @property
    def notices(self) -> list[Notice]:
        """The rows shown, oldest first."""
        return list(self._rows)

    def show_message(self, message: notify.UserMessage) -> Notice:
        """Add a row for ``message`` (replacing one with the same key) and announce it."""
        if message.key is not None:
            for row in list(self._rows):
                if row.message.key == message.key:
                    row.dismiss()
        while len(self._rows) >= MAX_ROWS:
            self._rows[0].dismiss()
        row = Notice(message, self)
        row.closed.connect(lambda row=row: self._on_closed(row))
        self._rows.append(row)
        self._layout.addWidget(row)
        self.show()
        self._announce(message)
        self.changed.emit()
        return row

    def _on_closed(self, row: Notice) -> None:
        if row in self._rows:
            self._rows.remove(row)
            self._layout.removeWidget(row)
        self.setVisible(bool(self._rows))
        self.changed.emit()

    def _announce(self, message: notify.UserMessage) -> None:
        event = QAccessibleAnnouncementEvent(self, f"{_SPOKEN[message.level]}{message.text}")
        if message.level is notify.Level.ERROR:
            event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive)
        with contextlib.suppress(RuntimeError):
            QAccessible.updateAccessibility(event)
