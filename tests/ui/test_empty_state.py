"""The first minutes: the empty conversation's examples and the first-run welcome."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QPushButton, QWidget

from desktop_app.core.paths import AppPaths
from desktop_app.offline.replies import COMMANDS
from desktop_app.ui import notify
from desktop_app.ui.app_context import AppContext
from desktop_app.ui.chat.empty_state import (
    DEMO_EXAMPLES,
    STARTERS,
    EmptyState,
    ExampleButton,
    put_in_editor,
)
from desktop_app.ui.main_window import MainWindow
from tests.support.offline import FaultyServer
from tests.support.qt import send_prompt as send

KEY = "sk-ant-empty-state-test-0123456789"


def open_window(
    qtbot: Any, paths: AppPaths, server: FaultyServer | None = None, key: str | None = None
) -> MainWindow:
    notify.bridge.reset()
    context = AppContext(paths)
    if key is not None:
        context.api_key.use_for_session(key)
    if server is not None:
        context.settings.update(base_url=server.base_url, model="claude-haiku-4-5")
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    return window


def first_run_done(window: MainWindow) -> bool:
    return window.context.settings.settings.first_run_done


def close_window(window: MainWindow, loop: asyncio.AbstractEventLoop) -> None:
    window.close()
    loop.run_until_complete(window.aclose())
    notify.bridge.reset()


# -- the examples --------------------------------------------------------------------------


def test_the_demo_examples_are_the_demo_commands() -> None:
    assert [e.title for e in DEMO_EXAMPLES] == list(COMMANDS)
    for example in DEMO_EXAMPLES:
        assert example.prompt.split()[0] == example.title
        assert example.description
    assert STARTERS
    assert not {e.prompt for e in STARTERS} & set(COMMANDS)


def test_examples_follow_the_mode_and_wait_for_the_key(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, paths: AppPaths, server: FaultyServer
) -> None:
    window = open_window(qtbot, paths, server)
    empty = window.chat.view.empty_state
    try:
        # Until the keychain answers, the mode is not known: no examples yet.
        assert not empty.examples
        assert empty.isVisible()
        qloop.run_until_complete(window.context.start())
        assert list(empty.examples) == list(DEMO_EXAMPLES)  # no key: the demo runs
        window.context.api_key.use_for_session(KEY)
        assert list(empty.examples) == list(STARTERS)
        window.context.use_demo(True)
        assert list(empty.examples) == list(DEMO_EXAMPLES)
        # The starters' buttons are gone from view at once, not only later.
        buttons = empty.findChildren(ExampleButton)
        assert [b.example for b in buttons if b.isVisibleTo(empty)] == list(DEMO_EXAMPLES)
    finally:
        close_window(window, qloop)


def test_tab_reaches_the_examples_between_the_conversation_and_the_composer(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, paths: AppPaths, server: FaultyServer
) -> None:
    window = open_window(qtbot, paths, server)
    try:
        qloop.run_until_complete(window.context.start())  # the examples come after start
        buttons = window.chat.view.empty_state.buttons
        assert buttons
        assert next_tab_stop(window.chat.view) is buttons[0]
        for first, second in itertools.pairwise(buttons):
            assert next_tab_stop(first) is second
        after = next_tab_stop(buttons[-1])
        assert after is not None
        assert window.chat.composer.isAncestorOf(after)
    finally:
        close_window(window, qloop)


def test_an_example_goes_to_the_message_box_and_nothing_is_sent(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, paths: AppPaths, server: FaultyServer
) -> None:
    window = open_window(qtbot, paths, server, KEY)
    try:
        empty = window.chat.view.empty_state
        with qtbot.waitActive(window):
            window.activateWindow()
        button = empty.buttons[0]
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert window.chat.prompt.toPlainText() == STARTERS[0].prompt
        assert window.chat.prompt.hasFocus()
        assert window.chat.prompt.textCursor().position() == len(STARTERS[0].prompt)
        assert server.received == []
        assert window.chat.session.turns == []
        # With the keyboard too: Space on a focused example.
        second = empty.buttons[1]
        second.setFocus()
        qtbot.waitUntil(second.hasFocus)
        qtbot.keyClick(second, Qt.Key.Key_Space)
        assert window.chat.prompt.toPlainText() == STARTERS[1].prompt
        # Enter sends it, and the panel makes way for the conversation.
        reply = send(window, qloop, window.chat.prompt.toPlainText())
        assert reply.text
        assert not empty.isVisible()
        qloop.run_until_complete(window.chat.new_conversation())
        assert empty.isVisible()
    finally:
        close_window(window, qloop)


def test_an_example_never_loses_a_draft(qtbot: Any) -> None:
    notify.bridge.reset()
    shown: list[notify.UserMessage] = []
    notify.bridge.shown.connect(shown.append)
    notify.bridge.flush()
    try:
        editor = QPlainTextEdit()
        qtbot.addWidget(editor)
        put_in_editor(editor, "/markdown")
        assert editor.toPlainText() == "/markdown"
        assert shown == []  # nothing was typed, so nothing to say
        editor.setPlainText("my half-written question")
        put_in_editor(editor, "/long")
        assert editor.toPlainText() == "/long"
        (message,) = shown
        assert message.action is not None
        assert "replaced" in message.text
        message.action.run()
        assert editor.toPlainText() == "my half-written question"
    finally:
        notify.bridge.shown.disconnect(shown.append)
        notify.bridge.reset()


def test_examples_have_names_and_follow_each_other_in_tab_order(qtbot: Any) -> None:
    empty = EmptyState()
    qtbot.addWidget(empty)
    empty.set_demo(True)
    empty.resize(700, 600)
    empty.show()
    for button in empty.buttons:
        assert button.accessibleName() == button.example.title
        assert button.example.description in button.accessibleDescription()
        assert button.toolTip()
        assert button.focusPolicy() & Qt.FocusPolicy.TabFocus
    for first, second in itertools.pairwise(empty.buttons):
        assert next_tab_stop(first) is second
    for label in empty.findChildren(QLabel):
        assert label.focusPolicy() == Qt.FocusPolicy.NoFocus
        if label.text():
            assert label.textFormat() is Qt.TextFormat.PlainText
    assert empty.text.accessibleName() == empty.text.text()


def next_tab_stop(widget: QWidget) -> QWidget | None:
    """The next widget Tab would reach after ``widget``."""
    current = widget.nextInFocusChain()
    while current is not None and not (
        current.focusPolicy() & Qt.FocusPolicy.TabFocus and current.isVisible()
    ):
        current = current.nextInFocusChain()
    return current


def laid_out_fully(empty: EmptyState) -> list[str]:
    """What is cut off: buttons narrower or shorter than their text needs."""
    problems = []
    for button in empty.buttons:
        needed = button.heightForWidth(button.width())
        if button.height() < needed or button.width() < button.minimumSizeHint().width():
            problems.append(f"{button.example.title}: {button.size()} needs height {needed}")
        for label in (button.title_label, button.description_label):
            if label.geometry().right() > button.width() or label.height() < (
                label.heightForWidth(label.width())
                if label.wordWrap()
                else label.sizeHint().height()
            ):
                problems.append(f"{button.example.title}: {label.objectName()} cut")
    return problems


@pytest.mark.parametrize("width", [640, 800, 1180, 1600])
def test_nothing_is_cut_off_in_the_window_at_any_width(
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    paths: AppPaths,
    server: FaultyServer,
    styled: None,
    width: int,
) -> None:
    window = open_window(qtbot, paths, server)
    try:
        qloop.run_until_complete(window.context.start())  # no key: the welcome and the demo
        window.resize(width, 600)
        qtbot.waitUntil(lambda: window.width() == width)
        empty = window.chat.view.empty_state
        view = window.chat.view
        # Side by side when there is room for two, else one above the other.
        columns = 2 if width >= 800 else 1

        def settled() -> bool:
            shown = [b for b in empty.buttons if b.isVisible()]
            return (
                len(shown) == len(DEMO_EXAMPLES)
                and len({b.x() for b in shown}) == columns
                and not laid_out_fully(empty)
            )

        qtbot.waitUntil(settled)
        # The panel is never wider than the view: nothing hides past the right edge.
        assert empty.width() <= view.viewport().width()
        for button in window.banner.findChildren(QPushButton):
            assert button.width() >= button.sizeHint().width(), button.text()
            assert button.geometry().right() <= window.banner.contentsRect().right()
    finally:
        close_window(window, qloop)


def test_the_panel_is_centred_and_no_wider_than_it_reads_well(qtbot: Any, styled: None) -> None:
    empty = EmptyState()
    qtbot.addWidget(empty)
    empty.set_demo(False)
    empty.resize(1400, 800)
    empty.show()

    def span() -> tuple[int, int]:
        left = min(b.mapTo(empty, QPoint(0, 0)).x() for b in empty.buttons)
        right = max(b.mapTo(empty, QPoint(b.width(), 0)).x() for b in empty.buttons)
        return left, right

    # Once laid out (the layout runs after the resize is handled).
    qtbot.waitUntil(lambda: span()[1] - span()[0] <= 680)
    left, right = span()
    assert right - left >= 600  # as wide as it may be, not its smallest
    assert abs((left + right) / 2 - empty.width() / 2) <= 2
    assert empty.logo.isVisible()  # room to spare for it
    empty.resize(1400, 260)
    qtbot.waitUntil(lambda: not empty.logo.isVisible())  # the examples come first


# -- the first-run welcome -----------------------------------------------------------------


def test_the_welcome_goes_for_good_once_the_demo_is_chosen(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, paths: AppPaths
) -> None:
    window = open_window(qtbot, paths)
    try:
        assert not window.banner.isVisible()  # until the keychain has been read
        qloop.run_until_complete(window.context.start())
        assert window.banner.isVisible()
        assert not first_run_done(window)
        demo = window.banner.findChild(QPushButton, "tryDemoButton")
        assert demo is not None
        demo.click()
        assert not window.banner.isVisible()
        assert first_run_done(window)
    finally:
        close_window(window, qloop)
    # The next start, still without a key and without asking for the demo.
    again = open_window(qtbot, paths)
    try:
        qloop.run_until_complete(again.context.start())
        assert again.context.api_key.key() is None
        assert not again.context.demo_requested
        assert not again.banner.isVisible()
        assert again.context.demo  # the demo still answers
    finally:
        close_window(again, qloop)


def test_the_welcome_goes_once_the_demo_has_answered(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, paths: AppPaths
) -> None:
    window = open_window(qtbot, paths)
    try:
        qloop.run_until_complete(window.context.start())
        assert window.context.demo
        assert window.banner.isVisible()
        send(window, qloop, "hello")  # without choosing: the demo answers anyway
        assert not window.banner.isVisible()
        assert first_run_done(window)
    finally:
        close_window(window, qloop)


def test_the_welcome_goes_for_good_once_a_key_is_given(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, paths: AppPaths
) -> None:
    window = open_window(qtbot, paths)
    try:
        qloop.run_until_complete(window.context.start())
        assert window.banner.isVisible()
        enter = window.banner.findChild(QPushButton, "enterKeyButton")
        assert enter is not None
        enter.click()
        assert window.settings_dialog.isVisible()
        assert window.banner.isVisible()  # opening Settings is not yet a choice
        window.context.api_key.use_for_session(KEY)
        assert not window.banner.isVisible()
        assert first_run_done(window)
    finally:
        close_window(window, qloop)


def test_the_welcome_says_what_it_offers_in_plain_text(qtbot: Any) -> None:
    from desktop_app.ui.main_window import FirstRunBanner

    banner = FirstRunBanner()
    qtbot.addWidget(banner)
    labels = {label.objectName(): label for label in banner.findChildren(QLabel)}
    assert labels["firstRunTitle"].text() == "Welcome to Iris"
    for name in ("firstRunTitle", "firstRunText"):
        assert labels[name].textFormat() is Qt.TextFormat.PlainText
        assert labels[name].accessibleName() == labels[name].text()
    assert not labels["firstRunIcon"].pixmap().isNull()
    demo = banner.findChild(QPushButton, "tryDemoButton")
    key = banner.findChild(QPushButton, "enterKeyButton")
    assert demo is not None
    assert key is not None
    assert demo.property("primary") is True
    assert key.property("primary") is None
    assert demo.accessibleName()
    assert key.accessibleName()
    assert demo.nextInFocusChain() is key
