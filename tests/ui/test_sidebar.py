"""The conversation list: date headings, row drawing, row actions, keyboard, dialogs' folders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QLocale, Qt, QTime, QTimer
from PySide6.QtGui import QAccessible, QContextMenuEvent, QFontMetrics
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QLineEdit,
    QMenu,
    QStyleOptionViewItem,
    QWidget,
)

from desktop_app.core.history.store import ConversationSummary, SearchHit
from desktop_app.ui.history.conversation_delegate import marked_ranges
from desktop_app.ui.history.conversation_list_model import (
    MATCH_MARKS,
    ConversationListModel,
    ConversationRole,
    RowKind,
)
from desktop_app.ui.history.conversation_list_view import ConversationListView
from desktop_app.ui.history.dates import DateGroup, date_group, seconds_to_midnight
from desktop_app.ui.history.file_dialogs import DialogFolders, default_folder
from desktop_app.ui.main_window import MainWindow
from tests.support.qt import arm, eventually, wait
from tests.support.qt import send_prompt as send
from tests.support.windows import Windows, undo_notice

# One minute after midnight, local time: the edge where yesterday's evening must not
# count as today.
NOW = datetime(2025, 3, 10, 0, 1)


def at(*parts: int) -> float:
    """Seconds since the epoch of a local date and time."""
    return datetime(*parts).timestamp()  # type: ignore[arg-type]


def summary(conversation_id: int, title: str, updated: float) -> ConversationSummary:
    return ConversationSummary(conversation_id, title, updated, 2)


# -- date headings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "group"),
    [
        ((2025, 3, 10, 0, 0, 30), DateGroup.TODAY),  # half a minute after midnight
        ((2025, 3, 10, 9, 0), DateGroup.TODAY),  # later today: a clock set back
        ((2025, 3, 9, 23, 59), DateGroup.YESTERDAY),  # two minutes earlier
        ((2025, 3, 9, 0, 0), DateGroup.YESTERDAY),
        ((2025, 3, 8, 23, 59), DateGroup.PREVIOUS_7_DAYS),
        ((2025, 3, 3, 0, 0), DateGroup.PREVIOUS_7_DAYS),  # 7 days ago
        ((2025, 3, 2, 23, 59), DateGroup.PREVIOUS_30_DAYS),  # 8 days ago
        ((2025, 2, 8, 0, 0), DateGroup.PREVIOUS_30_DAYS),  # 30 days ago
        ((2025, 2, 7, 23, 59), DateGroup.OLDER),  # 31 days ago
        ((2019, 1, 1, 12, 0), DateGroup.OLDER),
    ],
)
def test_a_conversation_goes_under_the_heading_of_its_local_day(
    when: tuple[int, ...], group: DateGroup
) -> None:
    assert date_group(at(*when), NOW) is group


def test_days_are_calendar_days_across_a_change_of_clocks() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database")
    # Clocks went forward at 02:00 on 30 March 2025: that day had 23 hours.
    now = datetime(2025, 3, 31, 0, 30, tzinfo=berlin)
    assert date_group(datetime(2025, 3, 30, 0, 10, tzinfo=berlin).timestamp(), now) is (
        DateGroup.YESTERDAY
    )
    assert date_group(datetime(2025, 3, 31, 0, 5, tzinfo=berlin).timestamp(), now) is (
        DateGroup.TODAY
    )
    assert seconds_to_midnight(datetime(2025, 3, 10, 23, 59, 30)) == 30


def grouped_model(qtmodeltester: Any) -> ConversationListModel:
    model = ConversationListModel(clock=lambda: NOW)
    model.set_rows(
        [
            summary(1, "just after midnight", at(2025, 3, 10, 0, 0, 30)),
            summary(2, "late last night", at(2025, 3, 9, 23, 59)),
            summary(3, "a week ago", at(2025, 3, 3, 10, 0)),
            summary(4, "long ago", at(2024, 11, 2, 8, 0)),
        ]
    )
    qtmodeltester.check(model)
    return model


def test_the_list_shows_headings_in_order_with_their_conversations(
    qtmodeltester: Any,
) -> None:
    model = grouped_model(qtmodeltester)
    shown = [str(model.index(row, 0).data()) for row in range(model.rowCount())]
    assert shown == [
        "Today",
        "just after midnight",
        "Yesterday",
        "late last night",
        "Previous 7 days",
        "a week ago",
        "Older",
        "long ago",
    ]
    # An empty group has no heading.
    assert model.headers() == ["Today", "Yesterday", "Previous 7 days", "Older"]
    assert model.item_rows() == [1, 3, 5, 7]
    assert model.row_for(3) == 5
    header = model.index(0, 0)
    assert header.data(ConversationRole.KIND) == RowKind.HEADER
    assert header.data(ConversationRole.ID) is None
    assert not header.flags() & Qt.ItemFlag.ItemIsSelectable
    assert not header.flags() & Qt.ItemFlag.ItemIsEnabled
    assert model.index(1, 0).flags() & Qt.ItemFlag.ItemIsSelectable
    # The time for today and yesterday, the weekday for this week, a date before.
    locale = QLocale()
    short = QLocale.FormatType.ShortFormat
    assert model.index(3, 0).data(ConversationRole.WHEN) == locale.toString(QTime(23, 59), short)
    # 3 March 2025 was a Monday.
    assert model.index(5, 0).data(ConversationRole.WHEN) == locale.dayName(1, short)
    assert "2024" in str(model.index(7, 0).data(ConversationRole.WHEN))


def test_at_midnight_today_becomes_yesterday(qtmodeltester: Any) -> None:
    model = grouped_model(qtmodeltester)
    model.regroup(NOW + timedelta(days=1))
    # Two today-or-yesterday rows move down a heading; the week-old one passes 7 days.
    assert model.headers() == ["Yesterday", "Previous 7 days", "Previous 30 days", "Older"]
    assert [model.index(r, 0).data() for r in model.item_rows()[:2]] == [
        "just after midnight",
        "late last night",
    ]
    qtmodeltester.check(model)


def test_search_hits_have_no_headings_and_their_words_are_marked(qtmodeltester: Any) -> None:
    model = ConversationListModel(clock=lambda: NOW)
    start, end = MATCH_MARKS
    model.set_rows(
        [
            SearchHit(4, 40, "Birds", f"…the {start}kestrel{end} hovered…"),
            SearchHit(7, 71, "", f"a {start}kestrel{end}"),
        ]
    )
    qtmodeltester.check(model)
    assert model.headers() == []
    assert model.item_rows() == [0, 1]
    assert model.index(0, 0).data() == "Birds\n…the kestrel hovered…"
    assert model.index(1, 0).data(ConversationRole.TITLE) == "Untitled conversation"
    assert model.index(0, 0).data(ConversationRole.MESSAGE_ID) == 40
    assert not model.index(0, 0).flags() & Qt.ItemFlag.ItemIsEditable
    assert marked_ranges(str(model.index(0, 0).data(ConversationRole.SNIPPET))) == (
        "…the kestrel hovered…",
        [(5, 7)],
    )


# -- the view on its own -----------------------------------------------------------------------


@pytest.fixture
def view(qtbot: Any, qtmodeltester: Any) -> ConversationListView:
    shown = ConversationListView()
    qtbot.addWidget(shown)
    shown.setModel(grouped_model(qtmodeltester))
    shown.resize(300, 400)
    shown.show()
    qtbot.waitExposed(shown)
    shown.setFocus()
    return shown


def test_headings_are_skipped_by_the_keyboard_and_the_mouse(
    view: ConversationListView, qtbot: Any
) -> None:
    model = view.model()
    view.setCurrentIndex(model.index(1, 0))
    visited = [view.currentIndex().row()]
    for _ in range(4):
        qtbot.keyClick(view, Qt.Key.Key_Down)
        visited.append(view.currentIndex().row())
    assert visited == [1, 3, 5, 7, 7]
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.currentIndex().row() == 5
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.currentIndex().row() == 1
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.currentIndex().row() == 7
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert view.currentIndex().row() == 1
    qtbot.keyClick(view, Qt.Key.Key_Up)  # nothing above but a heading
    assert view.currentIndex().row() == 1
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert view.currentIndex().row() == 7
    # A click on a heading selects nothing.
    view.setCurrentIndex(model.index(3, 0))
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(model.index(2, 0)).center()
    )
    assert [i.row() for i in view.selectionModel().selectedIndexes()] == [3]
    assert view.selected_item().row() == 3


def test_rows_read_out_their_title_and_date_and_headings_their_text(
    view: ConversationListView,
) -> None:
    model = view.model()
    row = model.index(3, 0)
    spoken = str(row.data(Qt.ItemDataRole.AccessibleTextRole))
    assert spoken.startswith("late last night, yesterday at ")
    assert str(row.data(ConversationRole.WHEN)) in spoken
    assert model.index(2, 0).data(Qt.ItemDataRole.AccessibleTextRole) == "Yesterday"
    # What a screen reader is given for the list's items.
    list_interface = QAccessible.queryAccessibleInterface(view)
    assert list_interface is not None
    names = [
        list_interface.child(i).text(QAccessible.Text.Name)
        for i in range(list_interface.childCount())
    ]
    assert "Today" in names
    assert spoken in names


def test_a_long_title_is_cut_to_one_line_and_whole_in_the_tooltip(
    view: ConversationListView, qtbot: Any
) -> None:
    long_title = "A conversation about <b>kestrels</b> and " + "harbours " * 40
    model = view.model()
    assert isinstance(model, ConversationListModel)
    model.set_rows(
        [
            summary(1, "short", at(2025, 3, 10, 0, 0, 30)),
            summary(2, long_title.strip(), at(2025, 3, 10, 0, 0, 40)),
        ],
        now=NOW,
    )
    short, long = model.index(1, 0), model.index(2, 0)
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    option.rect = view.visualRect(long)
    # One line: the long title's row is as tall as the short one's.
    assert (
        view.delegate.sizeHint(option, long).height()
        == view.delegate.sizeHint(option, short).height()
    )
    drawn = view.delegate.displayed_title(option, long)
    assert drawn.endswith("…")
    assert drawn[:-1] in long_title
    assert QFontMetrics(option.font).horizontalAdvance(drawn) < option.rect.width()
    # The tooltip has all of it, and shows the markup as text.
    tip = str(long.data(Qt.ItemDataRole.ToolTipRole))
    assert "&lt;b&gt;kestrels&lt;/b&gt;" in tip
    assert "<b>" not in tip


def test_the_row_buttons_follow_the_mouse_and_the_keyboard(
    view: ConversationListView, qtbot: Any
) -> None:
    model = view.model()
    actions = view.row_actions
    view.clearSelection()
    view.clearFocus()
    QApplication.sendEvent(view.viewport(), QEvent(QEvent.Type.Leave))
    assert not actions.isVisible()
    assert not actions.delete_button.isEnabled()
    QTest.mouseMove(view.viewport(), view.visualRect(model.index(5, 0)).center())
    eventually_true(lambda: view.actions_index().row() == 5)
    assert actions.isVisible()
    assert view.visualRect(model.index(5, 0)).contains(actions.geometry().center())
    assert actions.delete_button.accessibleName() == "Delete “a week ago”"
    assert actions.rename_button.accessibleName() == "Rename “a week ago”"
    assert actions.export_button.accessibleName() == "Export “a week ago”"
    # A heading gets none.
    QTest.mouseMove(view.viewport(), view.visualRect(model.index(4, 0)).center())
    eventually_true(lambda: not actions.isVisible())
    # With the keyboard in the list, they sit on the selected row.
    view.setCurrentIndex(model.index(3, 0))
    view.setFocus()
    view.update_row_actions()
    assert actions.isVisible()
    assert view.actions_index().row() == 3
    # A narrow list shows one button that opens the menu.
    view.resize(200, 400)
    eventually_true(lambda: actions.more_button.isVisibleTo(actions))
    assert not actions.delete_button.isVisibleTo(actions)
    assert actions.more_button.accessibleName() == "More actions for “late last night”"


def test_the_row_buttons_stay_on_the_row_under_the_mouse_when_the_list_changes(
    view: ConversationListView,
) -> None:
    model = view.model()
    assert isinstance(model, ConversationListModel)
    where = view.visualRect(model.index(1, 0)).center()
    QTest.mouseMove(view.viewport(), where)
    eventually_true(lambda: view.actions_index().row() == 1)
    # A new conversation today: every row moves down one, under the mouse too.
    model.set_rows(
        [summary(9, "brand new", at(2025, 3, 10, 0, 0, 50)), *model._conversations], now=NOW
    )
    under = view.indexAt(where)
    assert under.data() == "brand new"
    assert view.actions_index().row() == under.row()
    assert view.visualRect(under).contains(view.row_actions.geometry().center())
    assert view.row_actions.delete_button.accessibleName() == "Delete “brand new”"


def eventually_true(predicate: Callable[[], bool]) -> None:
    """Let Qt deliver its events until ``predicate`` holds (a few seconds at most)."""
    deadline = datetime.now() + timedelta(seconds=5)
    while not predicate():
        assert datetime.now() < deadline, "condition not met in time"
        QApplication.processEvents()
        QTest.qWait(10)


# -- in the window -----------------------------------------------------------------------------


def two_conversations(window: MainWindow, qloop: asyncio.AbstractEventLoop) -> tuple[int, int]:
    """Conversations "first about kestrels" and "second about harbours"; the second open."""
    send(window, qloop, "first about kestrels")
    first = window.chat.conversation_id
    qloop.run_until_complete(window.chat.new_conversation())
    send(window, qloop, "second about harbours")
    second = window.chat.conversation_id
    assert first is not None
    assert second is not None
    sidebar = window.sidebar
    sidebar.refresh()
    eventually(qloop, lambda: len(sidebar.model.item_rows()) == 2)
    eventually(qloop, lambda: sidebar.selected_conversation() == second)
    return first, second


def stored_titles(window: MainWindow, qloop: asyncio.AbstractEventLoop) -> dict[int, str]:
    rows = qloop.run_until_complete(window.context.history.call(lambda s: s.list_conversations()))
    return {r.id: r.title for r in rows}


def in_loop(loop: asyncio.AbstractEventLoop, action: Callable[[], object]) -> None:
    """Run ``action`` inside the running event loop, as the app runs everything.

    Menus and file dialogs run their own Qt loop; tasks started in there need the
    asyncio loop to be running, as it always is in the app.
    """

    async def run() -> None:
        action()

    loop.run_until_complete(run())


def in_menu(choose: str | None, seen: list[list[str]]) -> None:
    """When the next menu opens: note its items, then pick ``choose`` (or close it)."""

    def act() -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(10, act)
            return
        try:
            seen.append([a.text().replace("&", "") for a in menu.actions() if a.text()])
            picked = [a for a in menu.actions() if a.text().replace("&", "") == choose]
            if picked:
                picked[0].trigger()
        finally:
            menu.close()

    QTimer.singleShot(0, act)


def test_delete_from_a_rows_menu_deletes_that_row_only(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    first, second = two_conversations(window, qloop)
    sidebar = window.sidebar
    view = sidebar.list_view
    row = sidebar.model.index(sidebar.model.row_for(first), 0)
    seen: list[list[str]] = []
    in_menu("Delete", seen)
    # A right click on the first conversation, while the second is selected and open.
    where = view.visualRect(row).center()
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, where, view.viewport().mapToGlobal(where)
    )
    in_loop(qloop, lambda: QApplication.sendEvent(view.viewport(), event))
    assert seen == [["Rename", "Export…", "Delete"]]
    eventually(qloop, lambda: sidebar.model.row_for(first) < 0)
    assert sidebar.model.row_for(second) >= 0
    assert sidebar.selected_conversation() == second
    assert window.chat.conversation_id == second
    assert set(stored_titles(window, qloop)) == {second}
    notice = undo_notice(window)
    assert notice is not None
    assert "first about kestrels" in notice.text.text()


def test_the_menu_key_and_shift_f10_open_the_menu_of_the_current_row(
    windows: Windows, qloop: asyncio.AbstractEventLoop, qtbot: Any
) -> None:
    window = windows.start()
    first, second = two_conversations(window, qloop)
    sidebar = window.sidebar
    view = sidebar.list_view
    view.setFocus()
    seen: list[list[str]] = []
    in_menu(None, seen)
    in_loop(qloop, lambda: qtbot.keyClick(view, Qt.Key.Key_Menu))
    assert seen == [["Rename", "Export…", "Delete"]]
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert sidebar.selected_conversation() == first
    in_menu("Delete", seen)
    in_loop(qloop, lambda: qtbot.keyClick(view, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier))
    assert len(seen) == 2
    eventually(qloop, lambda: sidebar.model.row_for(first) < 0)
    assert set(stored_titles(window, qloop)) == {second}


def test_rename_from_a_rows_menu_edits_that_title_in_place(
    windows: Windows, qloop: asyncio.AbstractEventLoop, qtbot: Any
) -> None:
    window = windows.start()
    first, second = two_conversations(window, qloop)
    sidebar = window.sidebar
    view = sidebar.list_view
    seen: list[list[str]] = []
    in_menu("Rename", seen)
    in_loop(qloop, lambda: view.open_menu(sidebar.model.index(sidebar.model.row_for(first), 0)))
    assert seen
    assert view.state() is QAbstractItemView.State.EditingState
    editor = QApplication.focusWidget()
    if not isinstance(editor, QLineEdit):  # the test platform may not move the focus
        editor = view.findChild(QLineEdit, "conversationTitleEditor")
    assert isinstance(editor, QLineEdit)
    assert editor.accessibleName() == "Conversation title"
    assert editor.text() == "first about kestrels"
    stored = arm(window.context.conversations_changed)
    editor.setText("Birds of prey")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    wait(qloop, stored)
    assert stored_titles(window, qloop) == {
        first: "Birds of prey",
        second: "second about harbours",
    }


def test_export_from_a_rows_menu_writes_that_conversation(
    windows: Windows, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    window = windows.start()
    first, second = two_conversations(window, qloop)
    sidebar = window.sidebar
    suggested: list[str] = []
    target = tmp_path / "birds.md"

    def choose(name: str) -> str:
        suggested.append(name)
        return str(target)

    window.choose_export_path = choose  # type: ignore[method-assign, assignment]
    seen: list[list[str]] = []
    in_menu("Export…", seen)
    row = sidebar.model.index(sidebar.model.row_for(first), 0)
    in_loop(qloop, lambda: sidebar.list_view.open_menu(row))
    assert suggested == ["first about kestrels.md"]
    eventually(qloop, lambda: target.exists() and target.stat().st_size > 0)
    text = target.read_text(encoding="utf-8")
    assert "first about kestrels" in text
    assert "second about harbours" not in text
    assert window.chat.conversation_id == second  # nothing else changed


def test_the_row_buttons_act_on_their_row(
    windows: Windows, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    window = windows.start()
    first, second = two_conversations(window, qloop)
    sidebar = window.sidebar
    view = sidebar.list_view
    exported: list[tuple[int, str]] = []
    sidebar.export_requested.connect(lambda i, t: exported.append((i, t)))
    window.choose_export_path = lambda _name: ""  # type: ignore[method-assign, assignment]  # cancelled
    # The mouse over the first row, while the second is selected.
    first_row = sidebar.model.index(sidebar.model.row_for(first), 0)
    QTest.mouseMove(view.viewport(), view.visualRect(first_row).center())
    eventually(qloop, lambda: view.actions_index().row() == first_row.row())
    sidebar.row_actions.export_button.click()
    assert exported == [(first, "first about kestrels")]
    sidebar.delete_button.click()
    eventually(qloop, lambda: sidebar.model.row_for(first) < 0)
    assert set(stored_titles(window, qloop)) == {second}


def test_the_delete_key_deletes_the_selected_row(
    windows: Windows, qloop: asyncio.AbstractEventLoop, qtbot: Any
) -> None:
    window = windows.start()
    first, second = two_conversations(window, qloop)
    sidebar = window.sidebar
    sidebar.list_view.setCurrentIndex(sidebar.model.index(sidebar.model.row_for(first), 0))
    sidebar.list_view.setFocus()
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Delete)
    eventually(qloop, lambda: sidebar.model.row_for(first) < 0)
    assert set(stored_titles(window, qloop)) == {second}
    assert window.chat.conversation_id == second


def next_tab_stop(widget: QWidget) -> QWidget:
    """The next widget in the focus chain that Tab can reach."""
    following = widget.nextInFocusChain()
    while following is not None and not following.focusPolicy() & Qt.FocusPolicy.TabFocus:
        following = following.nextInFocusChain()
    assert following is not None
    return following


def test_tab_goes_from_search_to_new_to_the_list(
    windows: Windows, qloop: asyncio.AbstractEventLoop, qtbot: Any
) -> None:
    window = windows.start()
    sidebar = window.sidebar
    assert sidebar.new_button.accessibleName() == "New conversation (Ctrl+N)"
    assert sidebar.new_button.toolTip() == "New conversation (Ctrl+N)"
    chain: list[QWidget] = [sidebar.search_edit]
    for _ in range(5):
        chain.append(next_tab_stop(chain[-1]))
    # The row buttons come after the list (shown only over a row).
    assert chain == [
        sidebar.search_edit,
        sidebar.new_button,
        sidebar.list_view,
        *sidebar.row_actions.buttons()[:3],
    ]
    new = arm(window.chat.conversation_opened)
    sidebar.new_button.click()
    assert wait(qloop, new) == (None,)


def test_a_search_lists_hits_without_headings_with_the_words_marked(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    first, _second = two_conversations(window, qloop)
    sidebar = window.sidebar
    sidebar.search_edit.setText("kestrels")
    # A list read started before the search may land first: wait for the hits.
    eventually(qloop, lambda: sidebar.model.item(0).data(ConversationRole.KIND) == RowKind.HIT)
    assert sidebar.model.headers() == []
    hit = sidebar.model.item(0)
    assert hit.data(ConversationRole.KIND) == RowKind.HIT
    assert hit.data(ConversationRole.ID) == first
    start, end = MATCH_MARKS
    assert f"{start}kestrels{end}" in str(hit.data(ConversationRole.SNIPPET))
    assert start not in str(hit.data())
    assert "kestrels" in str(hit.data())


def test_an_empty_list_says_so(windows: Windows, qloop: asyncio.AbstractEventLoop) -> None:
    window = windows.start()
    sidebar = window.sidebar
    refreshed = arm(sidebar.refreshed)
    sidebar.refresh()
    wait(qloop, refreshed)
    assert sidebar.list_view.accessibleDescription() == "No conversations yet."
    sidebar.search_edit.setText("zebra")
    eventually(
        qloop,
        lambda: sidebar.list_view.accessibleDescription() == "No conversation mentions “zebra”.",
    )
    assert sidebar.model.rowCount() == 0


# -- where the file dialogs open ---------------------------------------------------------------


def test_dialogs_start_in_documents_or_home_then_where_last_used(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    documents = home / "Documents"
    assert default_folder(home, documents) == home
    documents.mkdir()
    assert default_folder(home, documents) == documents
    folders = DialogFolders(home, documents)
    assert folders.start() == documents
    elsewhere = tmp_path / "exports"
    elsewhere.mkdir()
    folders.remember(elsewhere / "chat.md")
    assert folders.start() == elsewhere
    elsewhere.rmdir()  # gone since: back to the default
    assert folders.start() == documents


def answer_dialog(choose: Path, seen: list[tuple[str, str]]) -> None:
    """When the next file dialog opens: note its title and folder, and choose ``choose``."""

    def act() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            QTimer.singleShot(10, act)
            return
        seen.append((dialog.windowTitle(), dialog.directory().absolutePath()))
        name = dialog.findChild(QLineEdit, "fileNameEdit")  # as a person types it
        assert isinstance(name, QLineEdit)
        name.setText(str(choose))
        dialog.accept()

    QTimer.singleShot(0, act)


def test_export_and_import_dialogs_open_where_the_last_file_was_chosen(
    windows: Windows,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
) -> None:
    dialog_answers: list[tuple[str, str]] = []
    window = windows.start()
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    window.dialog_folders = DialogFolders(home, home / "Documents")
    send(window, qloop, "export me")
    exports = tmp_path / "exports"
    exports.mkdir()
    answer_dialog(exports / "chat.json", dialog_answers)
    in_loop(qloop, window._on_export_triggered)
    eventually(qloop, lambda: (exports / "chat.json").exists())
    assert dialog_answers == [("Export conversation", str(home / "Documents"))]
    answer_dialog(exports / "chat.json", dialog_answers)
    opened = arm(window.chat.conversation_opened)
    in_loop(qloop, window._on_import_triggered)
    wait(qloop, opened)
    assert dialog_answers[1] == ("Import conversation", str(exports))
    assert window.chat.model.conversation.turns[0].text == "export me"
    answer_dialog(exports / "again.md", dialog_answers)
    in_loop(qloop, window._on_export_triggered)
    assert dialog_answers[2] == ("Export conversation", str(exports))
    eventually(qloop, lambda: (exports / "again.md").exists())


def test_a_name_without_an_ending_gets_the_chosen_formats(
    windows: Windows,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
) -> None:
    dialog_answers: list[tuple[str, str]] = []
    window = windows.start()
    window.dialog_folders = DialogFolders(tmp_path, tmp_path / "Documents")
    answer_dialog(tmp_path / "notes", dialog_answers)
    chosen: list[str] = []
    in_loop(qloop, lambda: chosen.append(window.choose_export_path("chat.md")))
    assert chosen == [str(tmp_path / "notes.md")]
    assert dialog_answers == [("Export conversation", str(tmp_path))]


def test_nothing_selected_means_nothing_to_act_on(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    sidebar = window.sidebar
    two_conversations(window, qloop)
    # The mouse is not over the list (wherever an earlier test left it).
    QApplication.sendEvent(sidebar.list_view.viewport(), QEvent(QEvent.Type.Leave))
    qloop.run_until_complete(window.chat.new_conversation())
    assert sidebar.selected_conversation() is None
    assert not sidebar.list_view.actions_index().isValid()
    assert not sidebar.delete_button.isEnabled()
    assert not sidebar.row_actions.export_button.isEnabled()
    sidebar.delete_button.click()
    sidebar.row_actions.export_button.click()
    assert len(sidebar.model.item_rows()) == 2
    assert undo_notice(window) is None
