"""The history is private: its folder is 0700 and every file in it 0600."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.conversation.model import Turn
from desktop_app.core.history.files import POINTER_NAME, STORE_NAME, open_or_start_fresh
from desktop_app.core.history.service import LAST_CONVERSATION_FILE, HistoryService
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.paths import AppPaths
from desktop_app.core.wire.blocks import Role, TextBlock

FIXTURE_V1 = Path(__file__).resolve().parents[2] / "fixtures" / "history-v1.sqlite3"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    # The common default, under which plain file creation gives 0644.
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_history_and_its_wal_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store, _notice = open_or_start_fresh(data)
    with store:
        conversation = store.create_conversation("c")
        store.add_message(conversation, Turn(Role.USER, [TextBlock("hi")]))
        assert mode(data) == 0o700
        for name in (STORE_NAME, f"{STORE_NAME}-wal", f"{STORE_NAME}-shm"):
            assert mode(data / name) == 0o600, name


def test_ensure_makes_the_data_folder_private(tmp_path: Path) -> None:
    paths = AppPaths(tmp_path / "config", tmp_path / "data", tmp_path / "cache").ensure()
    assert mode(paths.data) == 0o700
    paths.data.chmod(0o755)  # made by an older Iris
    paths.ensure()
    assert mode(paths.data) == 0o700


def test_existing_history_files_are_tightened_on_open(tmp_path: Path) -> None:
    path = tmp_path / STORE_NAME
    with HistoryStore.open(path):
        pass
    path.chmod(0o644)
    with HistoryStore.open(path) as store:
        store.create_conversation("c")
        assert mode(path) == 0o600
        assert mode(Path(f"{path}-wal")) == 0o600


def test_the_backup_before_a_migration_is_private(tmp_path: Path) -> None:
    path = tmp_path / STORE_NAME
    shutil.copy(FIXTURE_V1, path)
    with HistoryStore.open(path) as store:
        assert store.backup is not None
        assert mode(store.backup) == 0o600


def test_the_pointer_to_a_fresh_history_is_private(tmp_path: Path) -> None:
    (tmp_path / STORE_NAME).write_bytes(b"not a database" * 100)
    store, _notice = open_or_start_fresh(tmp_path)
    store.close()
    assert mode(tmp_path / POINTER_NAME) == 0o600
    assert mode(store.path) == 0o600


def test_the_last_conversation_note_is_private(tmp_path: Path) -> None:
    service = HistoryService(tmp_path / "data")

    async def run() -> None:
        await service.open()
        await service.remember_conversation(7)
        assert await service.last_conversation() == 7
        await service.aclose()

    asyncio.run(run())
    assert mode(tmp_path / "data" / LAST_CONVERSATION_FILE) == 0o600
