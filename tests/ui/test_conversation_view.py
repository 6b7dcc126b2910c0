"""The transcript view: lazy older messages, pages, and a scroll position that holds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLineEdit, QMainWindow, QVBoxLayout, QWidget

from desktop_app.core.conversation.memory import MemoryHistory
from desktop_app.core.conversation.model import Turn, TurnStatus, user_turn
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.wire.blocks import Role, TextBlock
from desktop_app.core.wire.message import Message
from desktop_app.ui.chat.conversation_model import ConversationModel
from desktop_app.ui.chat.conversation_view import BATCH, OLDER_BATCH, PAGE, ConversationView
from desktop_app.ui.chat.message_widget import MessageWidget
from tests.support.qt import arm

ANSWER = (
    "## Answer {i}\n\nSome *Markdown* with `code` and a list:\n\n- one\n- two\n\n"
    "```python\ndef f(x):\n    return x * {i}\n```\n"
)


def conversation(messages: int, long_at: int | None = None) -> ConversationSession:
    result = ConversationSession(MemoryHistory())
    for i in range(messages):
        if i % 2 == 0:
            result.append(Turn(Role.USER, [TextBlock(f"Question {i}")]))
            continue
        text = ANSWER.format(i=i)
        if i == long_at:
            text = "".join(ANSWER.format(i=n) for n in range(200))
        result.append(
            Turn(
                Role.ASSISTANT, message=Message(content=[TextBlock(text)]), status=TurnStatus.DONE
            )
        )
    return result


@pytest.fixture
def window(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> Iterator[QMainWindow]:
    win = QMainWindow()
    qtbot.addWidget(win)
    win.resize(900, 600)
    yield win
    win.close()


def show(
    window: QMainWindow, loop: asyncio.AbstractEventLoop, model: ConversationModel
) -> ConversationView:
    async def build() -> ConversationView:
        return ConversationView(model)

    view = loop.run_until_complete(build())
    window.setCentralWidget(view)
    window.show()
    settle(loop, view)
    return view


class GeometryWatch(QObject):
    """Counts the events that move things on screen inside one widget."""

    KINDS = frozenset(
        {
            QEvent.Type.LayoutRequest,
            QEvent.Type.Resize,
            QEvent.Type.Move,
            QEvent.Type.Show,
            QEvent.Type.Hide,
        }
    )

    def __init__(self, root: QWidget) -> None:
        super().__init__()
        self.root = root
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() in self.KINDS
            and isinstance(watched, QWidget)
            and (watched is self.root or self.root.isAncestorOf(watched))
        ):
            self.count += 1
        return False


async def next_turn() -> None:
    """Return after one pass of the loop: the events posted so far have been handled."""
    turned: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def turn() -> None:
        if not turned.done():
            turned.set_result(None)

    QTimer.singleShot(0, turn)
    await turned


def settle(loop: asyncio.AbstractEventLoop, view: ConversationView) -> None:
    """Run the loop until the view is at rest.

    At rest: no older rows or restyled messages queued (:attr:`ConversationView.busy`),
    no message still rendering, and two whole loop turns in which nothing in the view
    was laid out, resized, moved, shown or hidden. A layout change posts the next
    one, so a turn without any means none is pending.
    """
    watch = GeometryWatch(view)
    app = QApplication.instance()
    assert app is not None
    app.installEventFilter(watch)

    async def rest() -> None:
        quiet = 0
        while quiet < 2:
            if view.busy:
                await arm(view.idle)
            rendering = [w for w in view.findChildren(MessageWidget) if w.rendering]
            if rendering:
                await arm(rendering[0].rendered)
            watch.count = 0
            await next_turn()
            at_rest = watch.count == 0 and not view.busy
            quiet = quiet + 1 if at_rest else 0

    try:
        loop.run_until_complete(asyncio.wait_for(rest(), 30))
    finally:
        app.removeEventFilter(watch)


def offset_in_viewport(view: ConversationView, widget: MessageWidget) -> int:
    return widget.mapTo(view.viewport(), widget.rect().topLeft()).y()


def test_opens_at_the_bottom_with_the_newest_rows_only(
    window: QMainWindow, qloop: asyncio.AbstractEventLoop
) -> None:
    model = ConversationModel(conversation(200))
    view = show(window, qloop, model)
    assert view.loaded_rows == BATCH
    bar = view.verticalScrollBar()
    assert bar.value() == bar.maximum() > 0
    assert view.widget_for(model.turn(199)) is not None
    assert view.widget_for(model.turn(0)) is None


def test_older_rows_are_built_one_per_turn_and_the_view_stays_put(
    window: QMainWindow, qloop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ConversationModel(conversation(200))
    view = show(window, qloop, model)
    bar = view.verticalScrollBar()
    built: list[int] = []
    make = view._make

    def counting_make(row: int) -> MessageWidget:
        built.append(row)
        return make(row)

    monkeypatch.setattr(view, "_make", counting_make)
    # Scroll up to near the top of what is built: less than a screen is left above.
    bar.setValue(bar.minimum() + 30)
    assert view._anchor is not None
    anchor, offset = view._anchor
    assert offset_in_viewport(view, anchor) == offset
    # Rows are built in later turns, one per turn, newest first, just above the built ones.
    assert built == []
    QApplication.processEvents()
    assert built == [183]
    QApplication.processEvents()
    assert built == [183, 182]
    settle(qloop, view)
    assert built[:OLDER_BATCH] == [183, 182, 181]
    # However many rows went in above, the message on screen did not move.
    assert offset_in_viewport(view, anchor) == offset
    assert bar.value() > bar.minimum() + 30


def test_reaching_the_top_loads_everything_in_pages(
    window: QMainWindow, qloop: asyncio.AbstractEventLoop
) -> None:
    model = ConversationModel(conversation(120))
    view = show(window, qloop, model)
    bar = view.verticalScrollBar()
    for _ in range(120):
        if view.loaded_rows == 120:
            break
        bar.setValue(bar.minimum())
        settle(qloop, view)
    assert view.loaded_rows == 120
    pages = view._pages
    assert len(pages) >= 120 // PAGE
    assert all(view._page_layout(page).count() <= PAGE for page in pages)
    # The messages are in model order, top to bottom.
    tops = [view._top_of(widget) for widget in view._widgets]
    assert tops == sorted(tops)
    assert [w.turn for w in view._widgets] == model.conversation.turns


def test_a_long_older_message_filled_part_by_part_does_not_move_the_view(
    window: QMainWindow, qloop: asyncio.AbstractEventLoop
) -> None:
    model = ConversationModel(conversation(60, long_at=41))
    view = show(window, qloop, model)
    bar = view.verticalScrollBar()
    bar.setValue(bar.minimum() + 10)
    # Older rows come in until the long reply is built, above the viewport.
    settle(qloop, view)
    long_reply = view.widget_for(model.turn(41))
    assert long_reply is not None
    anchor = view._anchor
    assert anchor is not None
    widget, offset = anchor
    assert not long_reply.rendering  # settle waited for it, filled part by part
    assert len(long_reply.body.parts) > 2
    assert offset_in_viewport(view, widget) == offset


def test_rows_added_and_removed_keep_pages_and_order(
    window: QMainWindow, qloop: asyncio.AbstractEventLoop
) -> None:
    model = ConversationModel(conversation(2 * PAGE))
    view = show(window, qloop, model)
    for i in range(PAGE + 3):  # past the end of the newest page
        model.session.append(user_turn(f"more {i}"))
    settle(qloop, view)
    assert [w.turn for w in view._widgets] == model.conversation.turns[-view.loaded_rows :]
    assert len(view._pages) == 2
    for turn in list(model.conversation.turns[-PAGE - 3 :]):
        model.session.remove(turn)
    settle(qloop, view)
    assert len(view._pages) == 1
    assert [w.turn for w in view._widgets] == model.conversation.turns[-view.loaded_rows :]
    bar = view.verticalScrollBar()
    assert bar.value() == bar.maximum()  # still following the newest message


def test_messages_follow_the_theme_when_it_turns_dark_and_back(
    window: QMainWindow, qloop: asyncio.AbstractEventLoop
) -> None:
    model = ConversationModel(conversation(6))
    view = show(window, qloop, model)
    answer = view.widget_for(model.turn(5))
    assert answer is not None

    def html() -> str:
        return "".join(part.toHtml() for part in answer.body.parts)

    def icon_lightness() -> float:
        """How light the Copy icon's strokes are."""
        image = answer.copy_button.icon().pixmap(16, 16).toImage()
        strokes = [
            image.pixelColor(x, y)
            for x in range(image.width())
            for y in range(image.height())
            if image.pixelColor(x, y).alpha() > 200
        ]
        assert strokes
        return sum(colour.lightnessF() for colour in strokes) / len(strokes)

    light = html()
    text = answer.body.toPlainText()
    assert icon_lightness() < 0.5
    dark = QPalette()
    dark.setColor(QPalette.ColorRole.Window, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Base, QColor("#121212"))
    dark.setColor(QPalette.ColorRole.WindowText, QColor("#eeeeee"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#eeeeee"))
    dark.setColor(QPalette.ColorRole.ButtonText, QColor("#eeeeee"))
    window.setPalette(dark)
    assert view.busy  # restyled one message per loop turn, not all at once
    settle(qloop, view)
    assert html() != light
    assert answer.body.toPlainText() == text  # same words, new colours
    assert icon_lightness() > 0.5  # icons drawn again in the dark palette's colours
    window.setPalette(QPalette(QColor("#f4f4f4")))
    settle(qloop, view)
    assert html() == light


def test_tab_goes_through_the_messages_in_screen_order(
    qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    model = ConversationModel(conversation(40))

    async def build() -> ConversationView:
        return ConversationView(model)

    view = qloop.run_until_complete(build())
    after = QLineEdit()  # what follows the conversation in the window (the editor)
    after.setObjectName("after")
    frame = QWidget()
    qtbot.addWidget(frame)
    column = QVBoxLayout(frame)
    column.addWidget(view)
    column.addWidget(after)
    frame.resize(900, 600)
    frame.show()
    settle(qloop, view)
    bar = view.verticalScrollBar()
    for _ in range(40):
        if view.loaded_rows == 40:
            break
        bar.setValue(bar.minimum())
        settle(qloop, view)
    model.session.append(user_turn("one more at the end"))
    # Controls made after the message went on screen: versions, a notice's buttons.
    middle = view._widgets[20]
    middle.set_versions(2, 2)
    middle.turn.status = TurnStatus.FAILED
    middle.turn.error = "It failed."
    middle.refresh()
    settle(qloop, view)
    assert view.loaded_rows == 41
    expected = [
        control
        for message in view._widgets
        for control in message.tab_widgets()
        if control.isVisibleTo(message) and control.isEnabled()
    ]
    assert middle.retry_button in expected
    # From the view, Tab goes through the messages in the order they show, each
    # one's controls in order, then on to what follows: older rows built later
    # and controls made later are not sent to the end.
    view.setFocus(Qt.FocusReason.OtherFocusReason)
    seen: list[QWidget] = []
    for _ in range(2 * len(expected) + 20):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focus = QApplication.focusWidget()
        assert focus is not None
        if focus is after:
            break
        if not seen or seen[-1] is not focus:  # Tab also steps through a text's links
            seen.append(focus)
    assert seen == expected
    assert QApplication.focusWidget() is after
    # Shift+Tab from there comes back in at the last control, and back to the view.
    back: list[QWidget] = []
    for _ in range(2 * len(expected) + 20):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Backtab)
        focus = QApplication.focusWidget()
        assert focus is not None
        if focus is view:
            break
        if not back or back[-1] is not focus:
            back.append(focus)
    assert back == expected[::-1]
    assert QApplication.focusWidget() is view
