"""Small builders the settings controls share: labels with buddies, named widgets, pages."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.appearance import conversation_font


def buddy_label(text: str, buddy: QWidget, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setBuddy(buddy)
    return label


class InfoLabel(QLabel):
    """A label that tells something: its words reach screen readers under its name.

    Qt gives screen readers a label's accessible name instead of its text once a
    name is set ("API key status"); the text then goes in the description, kept
    in step with every :meth:`setText`.
    """

    def setText(self, text: str) -> None:
        """Show ``text``, and describe the label with it unless it is the name."""
        super().setText(text)
        self.setAccessibleDescription("" if text == self.accessibleName() else text)


def info_label(object_name: str, accessible_name: str, parent: QWidget) -> QLabel:
    label = InfoLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)  # may show names from the service
    label.setObjectName(object_name)
    label.setAccessibleName(accessible_name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def note_label(object_name: str, text: str, parent: QWidget) -> QLabel:
    """A fixed explanation in plain text, read out with its own words."""
    label = info_label(object_name, text, parent)
    label.setText(text)
    return label


def set_note(label: QLabel, text: str) -> None:
    """Show ``text`` in a note label (hidden when empty); screen readers get it too."""
    label.setAccessibleName(text)
    label.setText(text)
    label.setVisible(bool(text))


def fit_to_screen(window: QWidget) -> None:
    """Make ``window`` no larger than the room on its screen (800×600, say), frame included."""
    owner = window.parentWidget()
    room = (owner or window).screen().availableGeometry()
    # Before a window is first shown its frame is unknown: allow for a title bar.
    title = window.style().pixelMetric(QStyle.PixelMetric.PM_TitleBarHeight)
    frame_width = max(window.frameGeometry().width() - window.width(), 8)
    frame_height = max(window.frameGeometry().height() - window.height(), title + 8)
    width = min(window.width(), room.width() - frame_width)
    height = min(window.height(), room.height() - frame_height)
    window.resize(max(width, window.minimumWidth()), max(height, window.minimumHeight()))


def named(widget: QWidget, object_name: str, accessible_name: str) -> None:
    widget.setObjectName(object_name)
    widget.setAccessibleName(accessible_name)


def form_for(group: QGroupBox | QWidget) -> QFormLayout:
    """A form that puts a label above its field when the window is too narrow for both."""
    form = QFormLayout(group)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return form


class SettingsPage(QScrollArea):
    """One page of Settings: a heading, then its groups, scrolling when the window is small.

    Attributes:
        content: The page itself (object name ``object_name``), inside the scroll area.
        column: Where the page's groups go, top to bottom.
        title: The page's name, as the list of pages shows it.
    """

    def __init__(self, object_name: str, title: str, parent: QWidget | None = None) -> None:
        """Build an empty page called ``title``."""
        super().__init__(parent)
        self.title = title
        self.setObjectName(f"{object_name}Scroll")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        # Nothing is ever cut off at the side: the page wraps to the width instead.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # The scroll area itself needs no Tab stop: the controls inside have them.
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.content = QWidget(self)
        named(self.content, object_name, title)
        self.column = QVBoxLayout(self.content)
        heading = QLabel(title, self.content)
        heading.setObjectName("settingsPageTitle")
        heading.setAccessibleName(title)
        heading.setTextFormat(Qt.TextFormat.PlainText)
        heading.setWordWrap(True)
        font = conversation_font(heading.font(), 1.25)
        font.setBold(True)
        heading.setFont(font)
        self.column.addWidget(heading)
        self.setWidget(self.content)

    @property
    def tab_order(self) -> list[QWidget]:
        """The page's controls, top to bottom; each page lists its own."""
        return []

    def minimumSizeHint(self) -> QSize:
        """Never narrower than the page can wrap to: a page scrolls down, never off the side."""
        hint = super().minimumSizeHint()
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        width = self.content.minimumSizeHint().width() + bar + 2 * self.frameWidth()
        return QSize(max(hint.width(), width), hint.height())

    def finish(self) -> None:
        """Close the column: what the page holds stays at the top."""
        self.column.addStretch(1)
