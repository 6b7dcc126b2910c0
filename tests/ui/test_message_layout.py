"""Messages in the whole window at every width: nothing cut off, every action reachable."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.wire.blocks import Role, TextBlock, ThinkingBlock, ToolUseBlock
from desktop_app.core.wire.message import Message, Usage
from desktop_app.ui.chat.conversation_view import READING_WIDTH, ConversationView
from desktop_app.ui.chat.message_body import AutoHeightBrowser
from desktop_app.ui.chat.message_widget import BUBBLE_SHARE, MessageWidget
from desktop_app.ui.main_window import MainWindow
from tests.support.offline import Fault, FaultyServer
from tests.support.qt import arm, wait
from tests.support.qt import send_prompt as send
from tests.support.windows import Windows
from tests.ui.test_conversation_view import settle

TABLE = (
    "| " + " | ".join(f"Column {i}" for i in range(12)) + " |\n|" + "---|" * 12 + "\n"
    "| " + " | ".join(f"value_{i}_with_a_long_name" for i in range(12)) + " |\n"
)
CODE = (
    "```python\nx = '" + "0123456789" * 30 + "'\nprint(x)  # " + "and a long comment " * 12
) + "\n```\n"
TOKEN = "sha256:" + "0123456789abcdef" * 40


def regenerated(window: MainWindow, loop: asyncio.AbstractEventLoop) -> Turn:
    """Ask once, then regenerate the reply: the new reply has versions ‹2/2›."""
    first = send(window, loop, "hello")
    widget = window.chat.view.widget_for(first)
    assert widget is not None
    assert widget.regenerate_button is not None
    done = arm(window.chat.reply_finished)
    widget.regenerate_button.click()
    (second,) = wait(loop, done, 20)
    return second  # type: ignore[no-any-return]


def add_everything(window: MainWindow) -> None:
    """Turns of every kind, each with something wide in it."""
    session = window.chat.session
    session.append(Turn(Role.USER, [TextBlock("A table, code and a token, please. " + TOKEN)]))
    session.append(
        Turn(
            Role.ASSISTANT,
            message=Message(
                content=[
                    ThinkingBlock("Thinking about wide things. " * 20, "sig"),
                    TextBlock(f"A table:\n\n{TABLE}\n\nCode:\n\n{CODE}\n\nA token: {TOKEN}"),
                    ToolUseBlock("toolu_1", "lookup_something", {"query": TOKEN}),
                ],
                usage=Usage(1234, 5678, 9, 10),
                stop_reason="tool_use",
            ),
            status=TurnStatus.DONE,
            model="claude-opus-4-7-with-a-long-model-name",
        )
    )
    session.append(Turn(Role.USER, [TextBlock("Something declined")], status=TurnStatus.REFUSED))
    session.append(
        Turn(
            Role.ASSISTANT,
            message=Message(content=[], stop_reason="refusal"),
            status=TurnStatus.REFUSED,
            model="claude-haiku-4-5",
        )
    )
    session.append(Turn(Role.USER, [TextBlock("Write a lot")]))
    session.append(
        Turn(
            Role.ASSISTANT,
            message=Message(
                content=[TextBlock("Words " * 300)], stop_reason="max_tokens", usage=Usage(5, 900)
            ),
            status=TurnStatus.DONE,
            model="claude-haiku-4-5",
        )
    )
    session.append(
        Turn(
            Role.USER,
            [TextBlock("This one failed")],
            status=TurnStatus.FAILED,
            error="The service rejected the request: " + TOKEN,
        )
    )


def problems(window: MainWindow) -> list[str]:
    """Everything in the conversation that is cut off or out of reach, in words."""
    view = window.chat.view
    viewport = view.viewport()
    column = view.widget()
    assert column is not None
    found: list[str] = []
    if column.width() > viewport.width():
        found.append(f"column {column.width()} px in a view {viewport.width()} px wide")
    for message in view.findChildren(MessageWidget):
        if not message.isVisibleTo(view):
            continue
        where = f"{message.objectName()} {message.turn.text[:16]!r} at {window.width()} px"
        if message.width() < message.minimumSizeHint().width():
            found.append(f"{where}: squeezed below its minimum width")
        for child in message.findChildren(QWidget):
            if not child.isVisibleTo(message) or child.isWindow():
                continue
            parent = child.parentWidget()
            assert parent is not None
            name = child.objectName() or type(child).__name__
            geometry = child.geometry()
            if geometry.left() < 0 or geometry.right() >= parent.width():
                found.append(f"{where}: {name} sticks out of {parent.objectName() or parent}")
            wraps = isinstance(child, QLabel) and child.wordWrap()
            fixed_text = isinstance(child, QAbstractButton | QLabel) and not wraps
            if fixed_text and child.width() < child.minimumSizeHint().width():
                found.append(f"{where}: {name} is cut ({child.width()} px)")
        for text in message.findChildren(AutoHeightBrowser):
            if not text.isVisibleTo(message):
                continue
            size = text.document().size()
            shown = text.viewport().size()
            # Wider than its view only with a scroll bar to reach the rest (a table
            # with more columns than fit), and never cut at the bottom.
            if size.width() > shown.width() + 0.5 and not (
                text.scrolls_sideways and text.horizontalScrollBar().isVisibleTo(text)
            ):
                found.append(f"{where}: text {size.width():.0f} px in a view {shown.width()}")
            if size.height() > shown.height() + 0.5:
                found.append(f"{where}: text {size.height():.0f} px tall in {shown.height()}")
        for button in message.findChildren(QAbstractButton):
            if not button.isVisibleTo(message):
                continue
            place = QRect(button.mapTo(viewport, QPoint(0, 0)), button.size())
            if place.left() < 0 or place.right() >= viewport.width():
                found.append(f"{where}: {button.objectName()} outside the view {place}")
    return found


def revealed(message: MessageWidget) -> bool:
    """True while ``message`` draws its actions."""
    return message.actions_revealed


@pytest.fixture
def window(windows: Windows) -> MainWindow:
    return windows.start()


@pytest.fixture(params=["plain", "styled"])
def looks(request: pytest.FixtureRequest) -> str:
    """Both Qt's plain style and the app's style sheet (whose padding takes room)."""
    if request.param == "styled":
        request.getfixturevalue("styled")
    return str(request.param)


def test_nothing_is_cut_off_at_any_width_from_640_to_1600(
    looks: str, window: MainWindow, qloop: asyncio.AbstractEventLoop
) -> None:
    newest = regenerated(window, qloop)
    add_everything(window)
    view = window.chat.view
    reply = view.widget_for(newest)
    assert reply is not None
    assert reply.version_text == "2/2"
    seen_widths: set[int] = set()
    for width in range(640, 1601, 64):
        window.resize(width, 780)
        settle(qloop, view)
        seen_widths.add(window.width())
        assert problems(window) == []
        column = view.widget()
        assert column is not None
        # The column keeps a reading width: never past it, and centred in the view.
        assert column.width() <= view.column_width
        left = column.x()
        right = view.viewport().width() - column.x() - column.width()
        assert abs(left - right) <= 1
        if width == 640:
            # The wide table does not fit a narrow column: it scrolls in its message.
            assert any(t.scrolls_sideways for t in view.findChildren(AutoHeightBrowser))
    assert min(seen_widths) <= 700
    assert max(seen_widths) >= 1600
    column = view.widget()
    assert column is not None
    assert column.x() > 100  # a wide window: room either side of the reading width
    # The same with the conversations list hidden.
    window.set_sidebar_visible(False)
    for width in (640, 1000, 1600):
        window.resize(width, 780)
        settle(qloop, view)
        assert problems(window) == []


def test_the_column_width_follows_the_font(qloop: asyncio.AbstractEventLoop, qtbot: Any) -> None:
    from desktop_app.core.conversation.memory import MemoryHistory
    from desktop_app.core.conversation.session import ConversationSession
    from desktop_app.ui.chat.conversation_model import ConversationModel

    view = ConversationView(ConversationModel(ConversationSession(MemoryHistory())))
    qtbot.addWidget(view)
    font = view.font()
    font.setPixelSize(10)
    view.setFont(font)
    narrow = view.column_width
    font.setPixelSize(20)
    view.setFont(font)
    wide = view.column_width
    assert wide - narrow == READING_WIDTH * 10


def test_actions_stay_after_regenerate_and_copy_is_whole(
    window: MainWindow, qloop: asyncio.AbstractEventLoop
) -> None:
    window.resize(1180, 780)  # the default size, on a screen that has room for it
    newest = regenerated(window, qloop)
    view = window.chat.view
    prompt = view.widget_for(window.chat.model.conversation.turns[0])
    widget = view.widget_for(newest)
    assert prompt is not None
    assert widget is not None
    assert widget.version_text == "2/2"
    for size in ((1180, 780), (800, 600)):
        window.resize(*size)
        settle(qloop, view)
        assert problems(window) == []
        for message, buttons in (
            (widget, (widget.copy_button, widget.regenerate_button, widget.info_button)),
            (prompt, (prompt.copy_button, prompt.edit_button)),
        ):
            for button in buttons:
                assert button is not None
                assert button.isVisibleTo(message)
                assert button.width() >= button.sizeHint().width()  # no "Co" for "Copy"
    # The newest message shows its actions; pressing Copy copies the reply.
    assert widget.actions_revealed
    widget.copy_button.click()
    assert QGuiApplication.clipboard().text() == newest.text


def test_actions_are_reached_with_tab_and_shown_on_focus(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, qtbot: Any, server: FaultyServer
) -> None:
    send(window, qloop, "first")
    send(window, qloop, "second")
    view = window.chat.view
    settle(qloop, view)
    older = view.widget_for(window.chat.model.conversation.turns[1])
    assert older is not None
    assert not revealed(older)  # only on hover or focus: it is not the newest
    # The buttons are there all the same: drawn or not, Tab reaches them.
    assert older.copy_button.isVisible()
    older.body.parts[0].setFocus(Qt.FocusReason.TabFocusReason)
    reached: list[QWidget] = []
    for _ in range(12):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focus = QApplication.focusWidget()
        assert focus is not None
        reached.append(focus)
        if focus is older.copy_button:
            break
    assert reached[-1] is older.copy_button
    assert revealed(older)  # drawn while the focus is on it
    shown = QRect(older.copy_button.mapTo(view.viewport(), QPoint(0, 0)), older.copy_button.size())
    assert view.viewport().rect().contains(shown)
    # Then Regenerate; then on to the next message, where this one hides its actions.
    qtbot.keyClick(older.copy_button, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is older.regenerate_button
    for _ in range(6):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focus = QApplication.focusWidget()
        if focus is not None and not older.isAncestorOf(focus):
            break
    newer = view.widget_for(window.chat.model.conversation.turns[2])
    assert newer is not None
    focus = QApplication.focusWidget()
    assert focus is not None
    assert newer.isAncestorOf(focus)  # Tab order follows the screen
    assert not revealed(older)
    # A failed request: Retry is in the notice, always drawn, and reached by Tab too.
    server.push(Fault.status(400, "invalid_request_error", message="bad image"))
    send(window, qloop, "third")
    failed = view.widget_for(window.chat.model.conversation.turns[-1])
    assert failed is not None
    assert failed.retry_button.isVisible()
    failed.body.parts[0].setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.keyClick(failed.body.parts[0], Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is failed.retry_button  # right after the text
    qtbot.keyClick(failed.retry_button, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is failed.remove_button


def test_a_prompt_bubble_fits_its_text_up_to_its_share_of_the_column(
    window: MainWindow, qloop: asyncio.AbstractEventLoop
) -> None:
    session = window.chat.session
    short = session.append(Turn(Role.USER, [TextBlock("Hi")]))
    long = session.append(Turn(Role.USER, [TextBlock("many words " * 100)]))
    view = window.chat.view
    settle(qloop, view)
    for turn in (short, long):
        widget = view.widget_for(turn)
        assert widget is not None
        bubble = widget.findChild(QWidget, "userBubble")
        assert bubble is not None
        # Right-aligned, and one line of text stays one line.
        assert bubble.geometry().right() == widget.width() - 1
        assert bubble.width() <= BUBBLE_SHARE * widget.width() + 1
    short_widget = view.widget_for(short)
    long_widget = view.widget_for(long)
    assert short_widget is not None
    assert long_widget is not None
    short_bubble = short_widget.findChild(QWidget, "userBubble")
    long_bubble = long_widget.findChild(QWidget, "userBubble")
    assert short_bubble is not None
    assert long_bubble is not None
    assert short_bubble.width() < 100
    # A long text fills its share, less what a wrapped word leaves at a line's end.
    word = long_widget.body.parts[0].fontMetrics().horizontalAdvance("words many ")
    assert long_bubble.width() >= BUBBLE_SHARE * long_widget.width() - word
    line = short_widget.body.parts[0].fontMetrics().lineSpacing()
    assert short_widget.body.parts[0].document().size().height() < 2 * line
