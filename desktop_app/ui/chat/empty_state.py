"""``EmptyState``: what a new conversation shows before its first message.

A short welcome and a few example prompts as buttons. In the offline demo they
are the demo's commands, each saying what it shows; with an API key they are a
few everyday starters. A click puts the example in the message box and gives it
the keyboard, and nothing is sent: the person sees what would go, can change
it, and sends it with Enter. With a key a click never spends tokens by surprise,
and a starter such as "Describe this image" needs an image attached first.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QColor, QResizeEvent, QTextCursor
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui import icons, notify, style

if TYPE_CHECKING:
    from desktop_app.ui.app_context import AppContext

ICON_SIZE = 20
LOGO_SIZE = 44
CARD_MIN_WIDTH = 200  # below two of these side by side, the examples stack
TEXT_WIDTH = 520  # the welcome's lines stay short enough to read at a glance
LOGO_GAP = 12
MAX_WIDTH = 680  # the panel's widest, centred in wider windows
SPACING = 10
MARGIN = 16


@dataclasses.dataclass(frozen=True)
class Example:
    """One example prompt.

    Attributes:
        title: The button's first line.
        description: What it does, in a few words.
        prompt: The text it puts in the message box.
        icon: A Lucide icon name (see :mod:`desktop_app.ui.icons`).
    """

    title: str
    description: str
    prompt: str
    icon: str


#: The offline demo's commands (``desktop_app.offline.replies.COMMANDS``).
DEMO_EXAMPLES = (
    Example("/markdown", "Headings, lists, a table and code", "/markdown", "file-text"),
    Example(
        "/think", "A reply that thinks before it answers", "/think Why is the sky blue?", "brain"
    ),
    Example("/tool", "What a request to use a tool looks like", "/tool", "wrench"),
    Example("/refuse", "How a declined request is shown", "/refuse", "shield-alert"),
    Example("/cite", "A quote that names its source", "/cite", "quote"),
    Example("/long", "A long reply, to try scrolling and Stop", "/long", "scroll-text"),
)

#: Everyday starters, for when Iris talks to Claude.
STARTERS = (
    Example(
        "Explain something",
        "In plain words, with an everyday example",
        "Explain how vaccines train the immune system, in plain words, "
        "with an everyday comparison.",
        "lightbulb",
    ),
    Example(
        "Describe an image",
        "Attach a picture, then send",
        "Describe this image: what is in it, and what stands out?",
        "image",
    ),
    Example(
        "Help me write",
        "A short, friendly message",
        "Help me write a short, friendly note to thank a colleague for their help this week.",
        "pencil",
    ),
    Example(
        "Review code",
        "Paste the code after the request",
        "Review this code for bugs and readability, and suggest improvements:\n\n",
        "code",
    ),
)

_DEMO_TEXT = (
    "This is the offline demo: the replies are scripted, and nothing leaves this "
    "computer. Try a command to see what Iris can show, or type anything."
)
_KEY_TEXT = (
    "Ask Claude anything. Drop, paste or attach images to ask about them, "
    "or start from one of these."
)
_WAITING_TEXT = "Ask Claude anything. Drop, paste or attach images to ask about them."


class ExampleButton(QPushButton):
    """A card-like button: an icon, a title and a short description.

    Signals:
        chosen: The button was pressed (its prompt text).
    """

    chosen = Signal(str)

    def __init__(self, example: Example, parent: QWidget | None = None) -> None:
        """Show ``example``."""
        super().__init__(parent)
        self.example = example
        self.setObjectName("examplePrompt")
        self.setAccessibleName(example.title)
        self.setAccessibleDescription(
            f"{example.description}. Puts it in the message box without sending it."
        )
        self.setToolTip("Put this in the message box")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

        self.icon_label = QLabel(self)
        self.icon_label.setObjectName("examplePromptIcon")
        self.icon_label.setFixedSize(ICON_SIZE, ICON_SIZE)
        self.title_label = QLabel(example.title, self)
        self.title_label.setObjectName("examplePromptTitle")
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        self.description_label = QLabel(example.description, self)
        self.description_label.setObjectName("examplePromptDescription")
        self.description_label.setTextFormat(Qt.TextFormat.PlainText)
        self.description_label.setWordWrap(True)
        for label in (self.icon_label, self.title_label, self.description_label):
            # Presses, hover and focus belong to the button.
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        words = QVBoxLayout()
        words.setSpacing(2)
        words.addWidget(self.title_label)
        words.addWidget(self.description_label)
        words.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 10, 12, 10)
        row.setSpacing(10)
        row.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(words, 1)
        self._tint()
        self.clicked.connect(lambda: self.chosen.emit(self.example.prompt))

    def _tint(self) -> None:
        color = QColor(*style.theme_for().accent)
        self.icon_label.setPixmap(
            icons.icon(self.example.icon, color).pixmap(
                QSize(ICON_SIZE, ICON_SIZE), self.devicePixelRatioF()
            )
        )

    def changeEvent(self, event: QEvent) -> None:
        """Draw the icon again when the theme changes."""
        super().changeEvent(event)
        if event.type() is QEvent.Type.PaletteChange:
            self._tint()

    # The layout inside decides the size, as for a plain widget.

    def sizeHint(self) -> QSize:
        """The size the icon and text want."""
        layout = self.layout()
        assert layout is not None
        return layout.totalSizeHint()

    def minimumSizeHint(self) -> QSize:
        """The least size that shows the icon and the text, wrapped."""
        layout = self.layout()
        assert layout is not None
        return layout.totalMinimumSize()

    def hasHeightForWidth(self) -> bool:
        """The description wraps, so the height depends on the width."""
        return True

    def heightForWidth(self, width: int) -> int:
        """The height the wrapped text needs at ``width``."""
        layout = self.layout()
        assert layout is not None
        return layout.totalHeightForWidth(width)


class EmptyState(QWidget):
    """A welcome and example prompts, centred in an empty conversation.

    Signals:
        example_chosen: An example was pressed (its prompt text).
    """

    example_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build the panel, with no examples until :meth:`set_demo` says which."""
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self._demo: bool | None = None
        self._columns = 0
        self.buttons: list[ExampleButton] = []

        self._logo = style.app_logo()
        self.logo = QLabel()
        self.logo.setObjectName("emptyStateIcon")
        self.logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.logo.setAccessibleName("Iris")
        self.logo.setContentsMargins(0, 0, 0, LOGO_GAP)  # goes with it when it hides
        if not self._logo.isNull():
            self.logo.setPixmap(
                self._logo.pixmap(QSize(LOGO_SIZE, LOGO_SIZE), self.devicePixelRatioF())
            )
        self.title = QLabel("Start a conversation")
        self.title.setObjectName("emptyStateTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.title.setAccessibleName("Start a conversation")
        self.text = QLabel(_WAITING_TEXT)
        self.text.setObjectName("emptyStateText")
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        self.text.setAccessibleName(_WAITING_TEXT)

        self._cards = QWidget()
        self._cards.setObjectName("examplePrompts")
        self._grid = QGridLayout(self._cards)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(SPACING)

        # As wide as the view allows up to MAX_WIDTH, centred (see resizeEvent), and
        # a little above the middle, where the eye looks first.
        outer = QVBoxLayout(self)
        outer.setContentsMargins(MARGIN, MARGIN, MARGIN, MARGIN)
        outer.setSpacing(0)
        outer.addStretch(2)
        outer.addWidget(self.logo)
        outer.addWidget(self.title)
        outer.addSpacing(6)
        outer.addWidget(self.text)
        outer.addSpacing(20)
        outer.addWidget(self._cards)
        outer.addStretch(3)
        self._outer = outer

    # -- examples ------------------------------------------------------------------------

    @property
    def examples(self) -> tuple[Example, ...]:
        """The examples shown now."""
        return tuple(button.example for button in self.buttons)

    def set_demo(self, demo: bool | None) -> None:
        """Offer the demo's commands (True), everyday starters (False) or nothing yet (None)."""
        if demo == self._demo:
            return
        self._demo = demo
        for button in self.buttons:
            self._grid.removeWidget(button)
            button.hide()
            button.deleteLater()
        self.buttons = []
        examples: tuple[Example, ...] = ()
        if demo is None:
            words = _WAITING_TEXT
        elif demo:
            words, examples = _DEMO_TEXT, DEMO_EXAMPLES
        else:
            words, examples = _KEY_TEXT, STARTERS
        self.text.setText(words)
        self.text.setAccessibleName(words)
        # Tab reaches them where they are on screen (after the conversation, before
        # the composer), not after whatever was built last.
        previous = self._focus_before()
        for example in examples:
            button = ExampleButton(example, self._cards)
            button.chosen.connect(self.example_chosen)
            self.buttons.append(button)
            if previous is not None:
                QWidget.setTabOrder(previous, button)
            previous = button
        self._cards.setVisible(bool(examples))
        self._columns = 0
        self._arrange()

    def _focus_before(self) -> QWidget | None:
        """The last control Tab reaches before this panel, outside it."""
        widget = self.previousInFocusChain()
        while widget is not None and widget is not self:
            inside = self.isAncestorOf(widget)
            if not inside and widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
                return widget
            widget = widget.previousInFocusChain()
        return None

    def follow(self, context: AppContext, editor: QPlainTextEdit) -> None:
        """Offer the examples that suit ``context``'s mode, and put a chosen one in ``editor``."""

        def update() -> None:
            self.set_demo(context.demo if context.key_known else None)

        context.mode_changed.connect(update)
        self.example_chosen.connect(lambda text: put_in_editor(editor, text))
        update()

    # -- layout --------------------------------------------------------------------------

    def _arrange(self) -> None:
        side = max(MARGIN, (self.width() - MAX_WIDTH) // 2)
        if self._outer.contentsMargins().left() != side:
            self._outer.setContentsMargins(side, MARGIN, side, MARGIN)
        room = self.width() - 2 * side
        # Short lines for the welcome: its own margins, which its height allows for.
        inset = max(0, (room - TEXT_WIDTH) // 2)
        if self.text.contentsMargins().left() != inset:
            self.text.setContentsMargins(inset, 0, inset, 0)
        columns = 2 if room >= 2 * CARD_MIN_WIDTH + SPACING else 1
        if columns != self._columns:
            self._columns = columns
            for button in self.buttons:
                self._grid.removeWidget(button)
            for index, button in enumerate(self.buttons):
                self._grid.addWidget(button, index // columns, index % columns)
                button.show()
            for column in range(2):
                self._grid.setColumnStretch(column, 1 if column < columns else 0)
        self._fit_logo()

    def _fit_logo(self) -> None:
        """Show the logo only where it leaves room: in a short view the examples matter more."""
        if self._logo.isNull():
            self.logo.hide()
            return
        needed = self._outer.totalHeightForWidth(self.width())
        if needed < 0:
            needed = self._outer.totalMinimumSize().height()
        if self.logo.isVisibleTo(self):
            # Shown, the panel is never shorter than it needs: no room to spare means
            # it was made taller than the view, so the logo goes.
            if self.height() <= needed:
                self.logo.hide()
        elif self.height() >= needed + LOGO_SIZE + LOGO_GAP + 8:
            self.logo.show()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Lay the examples out in two columns when they fit, else in one."""
        super().resizeEvent(event)
        self._arrange()


def put_in_editor(editor: QPlainTextEdit, text: str) -> None:
    """Put ``text`` in ``editor``, replacing what it held, and give it the keyboard.

    The replacement is one undo step; when it replaces a draft the person is told
    and offered Undo, so nothing typed is lost.
    """
    before = editor.toPlainText()
    cursor = editor.textCursor()
    cursor.beginEditBlock()
    cursor.select(QTextCursor.SelectionType.Document)
    cursor.insertText(text)
    cursor.endEditBlock()
    editor.setTextCursor(cursor)
    editor.setFocus(Qt.FocusReason.OtherFocusReason)
    if before.strip() and before != text:
        notify.info(
            "The example replaced what you had typed.",
            action=notify.Action("Undo", editor.undo),
            key="example-replaced-draft",
        )
