"""The window and a history it cannot write; deletes that really delete."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.history.files import POINTER_NAME, STORE_NAME
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.paths import AppPaths
from desktop_app.core.wire.blocks import Role, TextBlock
from desktop_app.ui import notify
from desktop_app.ui.app_context import AppContext
from desktop_app.ui.main_window import MainWindow
from tests.core.history.denied import read_only_folder
from tests.support.qt import arm, eventually, wait
from tests.support.qt import send_prompt as send
from tests.support.windows import undo_notice

KEY = "sk-ant-store-failures-test-1234567890"


class Window:
    """Starts one main window on ``paths`` and records what it tells the user."""

    def __init__(self, qtbot: Any, loop: asyncio.AbstractEventLoop, paths: AppPaths) -> None:
        self.qtbot, self.loop, self.paths = qtbot, loop, paths
        self.window: MainWindow | None = None
        self.shown: list[notify.UserMessage] = []

    def start(self, base_url: str) -> MainWindow:
        notify.bridge.reset()
        notify.bridge.shown.connect(self.shown.append)
        context = AppContext(self.paths)
        context.api_key.use_for_session(KEY)
        context.settings.update(base_url=base_url, model="claude-haiku-4-5")
        window = MainWindow(context)
        self.qtbot.addWidget(window)
        window.show()
        self.loop.run_until_complete(window.restore())
        self.window = window
        return window

    def stop(self) -> None:
        if self.window is not None:
            self.window.close()
            self.loop.run_until_complete(self.window.aclose())
            self.window = None
        notify.bridge.shown.disconnect(self.shown.append)

    def warnings(self) -> list[str]:
        return [m.text for m in self.shown if m.level is notify.Level.WARNING]


@pytest.fixture
def app(qtbot: Any, qloop: asyncio.AbstractEventLoop, paths: AppPaths) -> Iterator[Window]:
    made = Window(qtbot, qloop, paths)
    yield made
    if made.window is not None:
        made.stop()
    notify.bridge.reset()


def stored_history(paths: AppPaths, *titles: str) -> None:
    with HistoryStore.open(paths.data / STORE_NAME) as store:
        for title in titles:
            conversation = store.create_conversation()
            store.add_message(conversation, Turn(Role.USER, [TextBlock(title)]))


def test_the_window_starts_with_a_read_only_data_folder_and_says_so(
    app: Window, qloop: asyncio.AbstractEventLoop, paths: AppPaths, server: Any
) -> None:
    stored_history(paths, "about kestrels", "about harbours")
    with read_only_folder(paths.data):
        window = app.start(server.base_url)
        [warning] = app.warnings()
        assert "read-only" in warning
        assert str(paths.data) in warning
        assert "damaged" not in warning
        assert not window.context.history.saves
        # The history is there to read, and a conversation opens.
        sidebar = window.sidebar
        eventually(qloop, lambda: len(sidebar.model.item_rows()) == 2)
        opened = arm(window.chat.conversation_opened)
        sidebar.list_view.clicked.emit(sidebar.model.item(1))
        wait(qloop, opened)
        assert [t.text for t in window.chat.model.conversation.turns] == ["about kestrels"]
        app.stop()
    # Nothing was set aside or started beside it.
    assert sorted(p.name for p in paths.data.iterdir()) == [STORE_NAME]
    assert not (paths.data / POINTER_NAME).exists()


def test_with_no_usable_history_the_window_works_and_says_nothing_is_kept(
    app: Window, qloop: asyncio.AbstractEventLoop, paths: AppPaths, server: Any
) -> None:
    with read_only_folder(paths.data):
        window = app.start(server.base_url)
        [warning] = app.warnings()
        assert "read-only" in warning
        assert "not be kept" in warning
        reply = send(window, qloop, "still works")
        assert reply.status is TurnStatus.DONE
        assert reply.text
        window.sidebar.refresh()
        eventually(qloop, lambda: len(window.sidebar.model.item_rows()) == 1)
        app.stop()
    assert list(paths.data.iterdir()) == []


def deleted_in_sidebar(window: MainWindow, loop: asyncio.AbstractEventLoop) -> int:
    send(window, loop, "forget me entirely")
    conversation_id = window.chat.conversation_id
    assert conversation_id is not None
    sidebar = window.sidebar
    sidebar.refresh()
    eventually(loop, lambda: len(sidebar.model.item_rows()) == 1)
    sidebar.list_view.setCurrentIndex(sidebar.model.item(0))
    sidebar.delete_button.click()
    eventually(loop, lambda: len(sidebar.model.item_rows()) == 0)
    assert undo_notice(window) is not None
    return conversation_id


async def stored_ids(window: MainWindow) -> list[int]:
    """Every conversation in the history, deleted ones included."""
    return await window.context.history.call(
        lambda s: [c.id for c in s.list_conversations(include_deleted=True)]
    )


def all_ids(window: MainWindow, loop: asyncio.AbstractEventLoop) -> list[int]:
    return loop.run_until_complete(stored_ids(window))


def stored_ids_become(
    window: MainWindow, loop: asyncio.AbstractEventLoop, expected: list[int]
) -> None:
    async def poll() -> None:
        deadline = loop.time() + 10
        # The purge runs on the history thread, with no signal of its own.
        while (ids := await stored_ids(window)) != expected:
            if loop.time() > deadline:
                raise TimeoutError(f"still stored: {ids}")
            await asyncio.sleep(0.02)

    loop.run_until_complete(poll())


def test_a_deleted_conversation_is_purged_when_its_undo_expires(
    app: Window, qloop: asyncio.AbstractEventLoop, server: Any
) -> None:
    window = app.start(server.base_url)
    window.sidebar._undo_timer.setInterval(50)  # the Undo offer runs out soon
    conversation_id = deleted_in_sidebar(window, qloop)
    assert all_ids(window, qloop) == [conversation_id]  # kept while Undo is offered
    # The Undo offer itself runs out with the notice's own timeout.
    stored_ids_become(window, qloop, [])


def test_a_second_delete_purges_the_first(
    app: Window, qloop: asyncio.AbstractEventLoop, server: Any
) -> None:
    window = app.start(server.base_url)
    first = deleted_in_sidebar(window, qloop)
    qloop.run_until_complete(window.chat.new_conversation())
    second = deleted_in_sidebar(window, qloop)
    # Only the newest delete can still be undone.
    stored_ids_become(window, qloop, [second])
    assert first != second


def test_closing_purges_a_conversation_whose_undo_is_still_offered(
    app: Window, qloop: asyncio.AbstractEventLoop, paths: AppPaths, server: Any
) -> None:
    window = app.start(server.base_url)
    deleted_in_sidebar(window, qloop)
    app.stop()
    with HistoryStore.open(paths.data / STORE_NAME) as store:
        assert store.list_conversations(include_deleted=True) == []
        assert store.search("forget") == []
