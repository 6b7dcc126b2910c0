"""The window's frame: the conversation list, Settings in its own window, notices, memory."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt

from desktop_app.ui import notify
from desktop_app.ui.main_window import DEFAULT_SIZE, FRAME_ALLOWANCE
from desktop_app.ui.notifications import NotificationArea
from desktop_app.ui.settings.settings_pane import Page
from tests.support.qt import eventually
from tests.support.qt import send_prompt as send
from tests.support.windows import Windows, undo_notice


def test_delete_never_touches_a_conversation_that_is_not_selected(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    send(window, qloop, "keep this one")
    sidebar = window.sidebar
    sidebar.refresh()
    eventually(qloop, lambda: len(sidebar.model.item_rows()) == 1)
    qloop.run_until_complete(window.chat.new_conversation())
    # A new conversation: nothing is selected, so there is nothing to delete.
    assert sidebar.selected_conversation() is None
    assert not sidebar.delete_button.isEnabled()
    sidebar.delete_button.click()
    qloop.run_until_complete(sidebar._on_delete_clicked())  # what the Delete key does
    assert len(sidebar.model.item_rows()) == 1
    assert undo_notice(window) is None
    # Selecting it makes Delete possible.
    sidebar.list_view.setCurrentIndex(sidebar.model.item(0))
    assert sidebar.delete_button.isEnabled()


def test_errors_stay_until_dismissed_and_information_goes(
    qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    area = NotificationArea()
    qtbot.addWidget(area)
    area.show()
    error = area.show_message(notify.UserMessage(notify.Level.ERROR, "Could not save."))
    brief = area.show_message(notify.UserMessage(notify.Level.INFO, "Exported.", timeout=0.01))
    assert [n.text.text() for n in area.notices] == ["Could not save.", "Exported."]
    eventually(qloop, lambda: brief not in area.notices)
    assert area.notices == [error]
    assert error.text.textFormat() is Qt.TextFormat.PlainText
    error.close_button.click()
    assert area.notices == []
    assert not area.isVisible()


def test_a_newer_undo_replaces_the_older_one_and_its_action_runs(
    qtbot: Any,
) -> None:
    area = NotificationArea()
    qtbot.addWidget(area)
    undone: list[str] = []

    def undo(title: str) -> notify.Action:
        return notify.Action("Undo", lambda: undone.append(title))

    for title in ("first", "second"):
        area.show_message(
            notify.UserMessage(
                notify.Level.INFO, f"Deleted {title}.", action=undo(title), key="undo"
            )
        )
    [notice] = area.notices
    assert notice.text.text() == "Deleted second."
    assert notice.action_button is not None
    notice.action_button.click()
    assert undone == ["second"]
    assert area.notices == []


def test_settings_open_in_their_own_window_with_ctrl_comma(windows: Windows, qtbot: Any) -> None:
    window = windows.start()
    assert not window.settings_dialog.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    assert window.settings_dialog.isVisible()
    assert window.settings_dialog.isWindow()
    # A key is set, so it opens on the models; the keyboard goes to the list of
    # pages (in its window: the test platform may not activate windows).
    assert window.settings_pane.current_page is Page.MODELS
    assert window.settings_dialog.focusWidget() is window.settings_pane.page_list


def test_the_conversation_list_hides_and_the_window_remembers_its_layout(
    windows: Windows, qloop: asyncio.AbstractEventLoop, qtbot: Any
) -> None:
    window = windows.start()
    assert window.sidebar.isVisibleTo(window)
    qtbot.keyClick(
        window,
        Qt.Key.Key_S,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert not window.sidebar.isVisibleTo(window)
    # Within the test platform's screen (800 × 600), which a restore would clamp to.
    window.resize(720, 520)
    windows.stop(window)

    again = windows.start()
    assert not again.sidebar.isVisibleTo(again)
    assert not again.sidebar_action.isChecked()
    assert (again.width(), again.height()) == (720, 520)
    again.sidebar_action.trigger()
    assert again.sidebar.isVisibleTo(again)


def test_a_key_given_during_the_demo_leaves_the_demo_and_says_so(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    shown: list[notify.UserMessage] = []
    notify.bridge.shown.connect(shown.append)
    context = window.context
    context.use_demo(True)
    assert window.windowTitle().endswith("offline demo")
    context.api_key.use_for_session("sk-ant-a-new-key-for-this-test-0001")
    assert not context.demo_requested
    assert any("not the demo" in m.text for m in shown)
    assert "offline demo" not in window.windowTitle()


def test_a_first_window_fits_a_screen_smaller_than_its_default_size(windows: Windows) -> None:
    window = windows.start()
    screen = window.screen()
    assert screen is not None
    room = screen.availableGeometry()
    # The test platform's screen (800 wide) is smaller than the default (1180 × 780).
    assert room.width() < DEFAULT_SIZE.width()
    assert window.width() <= room.width() - FRAME_ALLOWANCE.width()
    assert window.height() <= room.height() - FRAME_ALLOWANCE.height()
    assert window.width() >= window.minimumSizeHint().width()  # nothing squeezed off
