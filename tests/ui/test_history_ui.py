"""History in the window: conversations and drafts survive a restart; list, search, delete."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from desktop_app.core.conversation.model import TurnStatus
from desktop_app.core.paths import AppPaths
from desktop_app.ui import notify
from desktop_app.ui.history.conversation_list_model import ConversationRole
from tests.support.offline import Fault, FaultyServer
from tests.support.qt import arm, eventually, wait
from tests.support.qt import send_prompt as send
from tests.support.windows import KEY, Windows, undo_notice


def test_conversation_reopens_after_a_restart(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    first = windows.start()
    send(first, qloop, "remember the kestrel")
    send(first, qloop, "and the harbour")
    texts = [t.text for t in first.chat.model.conversation.turns]
    windows.stop(first)

    again = windows.start()
    turns = again.chat.model.conversation.turns
    assert [t.text for t in turns] == texts
    assert [t.status for t in turns] == [TurnStatus.DONE] * 4
    assert again.chat.conversation_id is not None
    # The reopened conversation is sent as it was.
    send(again, qloop, "third")
    sent = windows.server.received[-1].json["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant"] * 2 + ["user"]


def test_draft_survives_a_restart_and_a_switch(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    send(window, qloop, "first conversation")
    saved = arm(window.chat.composer.draft_saved)
    window.chat.prompt.setPlainText("an unfinished thought")
    wait(qloop, saved)  # the draft is saved a moment after typing stops
    first_id = window.chat.conversation_id
    assert first_id is not None
    qloop.run_until_complete(window.chat.new_conversation())
    assert window.chat.prompt.toPlainText() == ""
    assert qloop.run_until_complete(window.chat.open_conversation(first_id))
    assert window.chat.prompt.toPlainText() == "an unfinished thought"
    windows.stop(window)

    again = windows.start()
    assert again.chat.conversation_id == first_id
    assert again.chat.prompt.toPlainText() == "an unfinished thought"


def test_sidebar_lists_searches_and_opens(
    windows: Windows, qloop: asyncio.AbstractEventLoop, qtmodeltester: Any
) -> None:
    window = windows.start()
    send(window, qloop, "alpha about kestrels")
    first_id = window.chat.conversation_id
    qloop.run_until_complete(window.chat.new_conversation())
    send(window, qloop, "beta about harbours")
    sidebar = window.sidebar
    sidebar.refresh()
    eventually(qloop, lambda: len(sidebar.model.item_rows()) == 2)
    titles = [sidebar.model.item(r).data() for r in range(2)]
    assert titles == ["beta about harbours", "alpha about kestrels"]
    qtmodeltester.check(sidebar.model)

    sidebar.search_edit.setText("kestrels")
    # The question and the demo's echo of it both match; both are in the first one.
    eventually(
        qloop,
        lambda: (
            sidebar.model.rowCount() >= 1 and "kestrel" in sidebar.model.item(0).data().lower()
        ),
    )
    ids = {
        sidebar.model.index(r, 0).data(ConversationRole.ID)
        for r in range(sidebar.model.rowCount())
    }
    assert ids == {first_id}
    hit = sidebar.model.item(0)
    opened = arm(window.chat.conversation_opened)
    sidebar.list_view.clicked.emit(hit)
    wait(qloop, opened)
    assert window.chat.conversation_id == first_id
    assert "kestrels" in window.chat.model.conversation.turns[0].text


def test_delete_and_undo(windows: Windows, qloop: asyncio.AbstractEventLoop) -> None:
    window = windows.start()
    send(window, qloop, "keep me")
    sidebar = window.sidebar
    sidebar.refresh()
    eventually(qloop, lambda: len(sidebar.model.item_rows()) == 1)
    sidebar.list_view.setCurrentIndex(sidebar.model.item(0))
    sidebar.delete_button.click()
    eventually(qloop, lambda: len(sidebar.model.item_rows()) == 0)
    notice = undo_notice(window)
    assert notice is not None
    assert notice.action_button is not None
    assert window.chat.model.rowCount() == 0
    # The Undo button is reachable from the keyboard.
    assert notice.action_button.focusPolicy() & Qt.FocusPolicy.TabFocus
    notice.action_button.click()
    eventually(qloop, lambda: len(sidebar.model.item_rows()) == 1)
    eventually(qloop, lambda: window.chat.model.rowCount() == 2)


def test_rename_in_place(windows: Windows, qloop: asyncio.AbstractEventLoop) -> None:
    window = windows.start()
    send(window, qloop, "old title")
    sidebar = window.sidebar
    sidebar.refresh()
    eventually(qloop, lambda: len(sidebar.model.item_rows()) == 1)
    stored = arm(window.context.conversations_changed)
    assert sidebar.model.setData(
        sidebar.model.item(0), "  Trip   plans ", Qt.ItemDataRole.EditRole
    )
    # The rename reaches the history, and a list read back from it shows it.
    wait(qloop, stored)
    reread = arm(sidebar.refreshed)
    sidebar.refresh()
    wait(qloop, reread)
    assert sidebar.model.item(0).data() == "Trip plans"


def test_failed_turn_is_stored_as_failed_and_left_out_after_restart(
    windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    window = windows.start()
    server.push(Fault.status(400, "invalid_request_error", message="bad image"))
    send(window, qloop, "rejected turn")
    windows.stop(window)
    again = windows.start()
    (turn,) = again.chat.model.conversation.turns
    assert turn.status is TurnStatus.FAILED
    reply = send(again, qloop, "works now")
    assert reply.status is TurnStatus.DONE
    sent = server.received[-1].json["messages"]
    assert len(sent) == 1
    assert sent[0]["content"][0]["text"] == "works now"


def test_export_and_import_from_the_window(
    windows: Windows, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    window = windows.start()
    send(window, qloop, "export me, please")
    shown: list[notify.UserMessage] = []
    notify.bridge.shown.connect(shown.append)

    target = tmp_path / "chat.json"
    window.choose_export_path = lambda _suggested: str(target)  # type: ignore[method-assign, assignment]
    window._on_export_triggered()
    eventually(qloop, lambda: target.exists() and any("Exported" in m.text for m in shown))
    exported = target.read_text(encoding="utf-8")
    assert "export me, please" in exported
    assert KEY not in exported
    markdown = tmp_path / "chat.md"
    window.export_conversation(markdown)
    eventually(qloop, lambda: markdown.exists())
    assert "export me, please" in markdown.read_text(encoding="utf-8")

    first_id = window.chat.conversation_id
    window.choose_import_path = lambda: str(target)  # type: ignore[method-assign]
    opened = arm(window.chat.conversation_opened)
    window._on_import_triggered()
    (new_id,) = wait(qloop, opened)
    assert new_id != first_id
    assert window.chat.model.conversation.turns[0].text == "export me, please"

    broken = tmp_path / "broken.json"
    broken.write_text(exported[: len(exported) // 2], encoding="utf-8")
    before = window.chat.conversation_id
    window.import_conversation(broken)
    eventually(qloop, lambda: any("Nothing was imported" in m.text for m in shown))
    assert window.chat.conversation_id == before


def test_regenerate_makes_versions_to_navigate(
    windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    window = windows.start()
    first = send(window, qloop, "tell me something")
    widget = window.chat.view.widget_for(first)
    assert widget is not None
    assert widget.version_text == ""
    done = arm(window.chat.reply_finished)
    assert widget.regenerate_button is not None
    widget.regenerate_button.click()
    (second,) = wait(qloop, done, 20)
    assert window.chat.model.rowCount() == 2
    new_widget = window.chat.view.widget_for(second)
    assert new_widget is not None
    assert new_widget.version_text == "2/2"
    # Only the active path is sent: one user turn, no old reply.
    assert [m["role"] for m in server.received[-1].json["messages"]] == ["user"]

    opened = arm(window.chat.conversation_opened)
    new_widget.show_version(-1)
    wait(qloop, opened)
    reply = window.chat.model.conversation.turns[1]
    shown = window.chat.view.widget_for(reply)
    assert shown is not None
    assert shown.version_text == "1/2"
    assert reply.text == first.text


def test_editing_a_prompt_branches_and_keeps_the_old_branch(
    windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    window = windows.start()
    send(window, qloop, "original question")
    send(window, qloop, "follow-up")
    first_user = window.chat.model.conversation.turns[0]
    widget = window.chat.view.widget_for(first_user)
    assert widget is not None
    assert widget.edit_button is not None
    widget.edit_button.click()
    assert window.chat.prompt.toPlainText() == "original question"
    reply = send(window, qloop, "edited question")
    turns = window.chat.model.conversation.turns
    assert next(t.text for t in turns) == "edited question"
    assert len(turns) == 2
    assert reply.status is TurnStatus.DONE
    sent = server.received[-1].json["messages"]
    assert len(sent) == 1
    assert "edited question" in sent[0]["content"][0]["text"]
    edited_widget = window.chat.view.widget_for(turns[0])
    assert edited_widget is not None
    assert edited_widget.version_text == "2/2"
    # The old branch is still there, with its follow-up.
    opened = arm(window.chat.conversation_opened)
    edited_widget.show_version(-1)
    wait(qloop, opened)
    assert [t.text for t in window.chat.model.conversation.turns][::2] == [
        "original question",
        "follow-up",
    ]


def test_a_failed_turn_can_be_removed(
    windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    window = windows.start()
    send(window, qloop, "kept")
    server.push(Fault.status(400, "invalid_request_error", message="bad image"))
    send(window, qloop, "rejected")
    failed = window.chat.model.conversation.turns[-1]
    assert failed.status is TurnStatus.FAILED
    widget = window.chat.view.widget_for(failed)
    assert widget is not None
    assert widget.remove_button.isVisibleTo(widget)
    widget.remove_button.click()
    eventually(qloop, lambda: window.chat.model.rowCount() == 2)
    windows.stop(window)
    again = windows.start()
    assert next(t.text for t in again.chat.model.conversation.turns) == "kept"
    assert again.chat.model.rowCount() == 2


def test_a_damaged_history_is_kept_and_a_fresh_one_used(
    windows: Windows, qloop: asyncio.AbstractEventLoop, paths: AppPaths
) -> None:
    from desktop_app.core.history.files import STORE_NAME

    damaged = paths.data / STORE_NAME
    damaged.write_bytes(b"this is not a database" * 100)
    before = damaged.read_bytes()
    shown: list[notify.UserMessage] = []
    notify.bridge.shown.connect(shown.append)
    window = windows.start()
    assert any(m.level is notify.Level.WARNING for m in shown), shown
    reply = send(window, qloop, "still works")
    assert reply.status is TurnStatus.DONE
    assert damaged.read_bytes() == before
    fresh = [p for p in paths.data.glob("history*.sqlite3") if p != damaged]
    assert fresh


def test_a_draft_typed_just_before_quitting_is_kept(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    window.chat.prompt.setPlainText("typed a moment before closing")
    windows.stop(window)  # well within the half-second save delay
    again = windows.start()
    assert again.chat.prompt.toPlainText() == "typed a moment before closing"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"messages": [{"role": "user", "content": "x"}], "iris": {"created": NaN}}', "NaN"),
        (b'{"messages": [{"role": "user", "content": "\\udc00"}]}', "lone surrogate"),
        (None, "larger than 40 MB"),
    ],
    ids=["deep", "nan", "surrogate", "endless"],
)
def test_a_hostile_import_file_is_refused_with_one_line_and_changes_nothing(
    windows: Windows,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    content: bytes | None,
    expected: str,
) -> None:
    window = windows.start()
    send(window, qloop, "already here")
    before = window.chat.conversation_id
    shown: list[notify.UserMessage] = []
    notify.bridge.shown.connect(shown.append)
    if content is None:
        path = Path("/dev/zero")
        if not path.exists():
            pytest.skip("needs /dev/zero")
    else:
        path = tmp_path / "hostile.json"
        path.write_bytes(content)

    window.import_conversation(path)

    eventually(qloop, lambda: any("Nothing was imported" in m.text for m in shown))
    (message,) = [m for m in shown if "Nothing was imported" in m.text]
    assert message.level is notify.Level.ERROR
    assert expected in message.text
    assert "\n" not in message.text
    assert window.chat.conversation_id == before
    rows = qloop.run_until_complete(window.context.history.call(lambda s: s.list_conversations()))
    assert [r.id for r in rows] == [before]
