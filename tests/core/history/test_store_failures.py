"""A busy, read-only or full history is reported as such and never set aside as damaged."""

from __future__ import annotations

import collections
import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.errors import (
    CorruptStoreError,
    StoreBusyError,
    StoreError,
    StoreFullError,
    StoreIOError,
    StoreReadOnlyError,
)
from desktop_app.core.history import schema
from desktop_app.core.history import store as store_module
from desktop_app.core.history.files import (
    POINTER_NAME,
    STORE_NAME,
    current_store_path,
    open_or_start_fresh,
)
from desktop_app.core.history.schema import os_store_error, store_error
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.wire.blocks import Role, TextBlock
from desktop_app.core.wire.message import Message
from tests.core.history.denied import read_only_folder


def user(text: str) -> Turn:
    return Turn(Role.USER, [TextBlock(text)])


@pytest.fixture(autouse=True)
def short_busy_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite's own wait for a lock, shortened so a held lock is reported quickly.
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_MS", 150)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder holding a history with two conversations."""
    folder = tmp_path / "data"
    with HistoryStore.open(folder / STORE_NAME) as store:
        for title in ("kestrels", "harbours"):
            conversation = store.create_conversation(title)
            store.add_message(conversation, user(f"about {title}"))
    return folder


@pytest.fixture
def writer_lock(data: Path) -> Iterator[sqlite3.Connection]:
    """Another program in the middle of a long write (an import, say)."""
    other = sqlite3.connect(data / STORE_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE conversations SET title = title")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm")))


def test_a_busy_history_opens_and_is_not_set_aside(
    data: Path, writer_lock: sqlite3.Connection
) -> None:
    store, notice = open_or_start_fresh(data)
    with store:
        assert notice is None
        assert store.path == data / STORE_NAME
        assert not store.read_only
        assert [c.title for c in store.list_conversations()] == ["harbours", "kestrels"]
    assert files(data) == [STORE_NAME]
    assert current_store_path(data) == data / STORE_NAME


def test_replies_streaming_elsewhere_are_left_alone_while_the_file_is_busy(data: Path) -> None:
    with HistoryStore.open(data / STORE_NAME) as store:
        conversation = store.list_conversations()[0].id
        streaming = Turn(Role.ASSISTANT, message=Message(), status=TurnStatus.STREAMING)
        reply_id = store.add_message(conversation, streaming)
    other = sqlite3.connect(data / STORE_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with HistoryStore.open(data / STORE_NAME) as store:
            # It may be streaming in the program that holds the lock.
            assert store.message(reply_id).turn.status is TurnStatus.STREAMING
    finally:
        other.execute("ROLLBACK")
        other.close()
    with HistoryStore.open(data / STORE_NAME) as store:
        assert store.message(reply_id).turn.status is TurnStatus.INTERRUPTED


def test_a_write_to_a_busy_history_says_busy_and_the_store_keeps_working(
    data: Path, writer_lock: sqlite3.Connection
) -> None:
    with HistoryStore.open(data / STORE_NAME) as store:
        conversation = store.list_conversations()[0].id
        with pytest.raises(StoreBusyError) as caught:
            store.rename(conversation, "renamed")
        assert "busy" in str(caught.value)
        assert "database is locked" not in str(caught.value)
        assert caught.value.path == data / STORE_NAME
        writer_lock.execute("ROLLBACK")
        store.rename(conversation, "renamed")
        assert store.conversation(conversation).title == "renamed"


def test_list_and_export_open_read_only_while_another_program_writes(
    data: Path, writer_lock: sqlite3.Connection
) -> None:
    with HistoryStore.open_for_reading(data / STORE_NAME) as store:
        assert store.read_only
        assert len(store.list_conversations()) == 2
        with pytest.raises(StoreReadOnlyError):
            store.rename(1, "no")


def test_reading_an_older_history_upgrades_it_first(tmp_path: Path) -> None:
    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "history-v1.sqlite3"
    path = tmp_path / STORE_NAME
    path.write_bytes(fixture.read_bytes())
    with HistoryStore.open_for_reading(path) as store:
        assert not store.read_only
        assert store.schema_version == schema.SCHEMA_VERSION
        assert len(store.list_conversations()) == 2
    with HistoryStore.open_for_reading(path) as store:
        assert store.read_only


def test_a_full_disk_says_full_and_undoes_the_transaction(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / STORE_NAME) as store:
        conversation = store.create_conversation("kept")
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        # SQLite's own "database or disk is full", as from a full disk.
        store._db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(StoreFullError) as caught:
            store.add_message(conversation, user("words " * 20_000))
        # The real cause, not a failed rollback over it.
        cause = caught.value.__cause__
        assert isinstance(cause, sqlite3.OperationalError)
        assert cause.sqlite_errorcode == sqlite3.SQLITE_FULL
        assert "is full" in str(caught.value)
        assert not store._db.in_transaction
        assert store.load_active_path(conversation) == []
        store._db.execute(f"PRAGMA max_page_count = {pages * 100}")
        store.add_message(conversation, user("fits now"))
        assert [s.turn.text for s in store.load_active_path(conversation)] == ["fits now"]


# Runs in a child process: the file-size limit and SIGXFSZ are process-wide.
_FAILING_DISK = """
import json, os, resource, signal, sys
from desktop_app.core.conversation.model import Turn
from desktop_app.core.wire.blocks import Role, TextBlock
from desktop_app.core.history.store import HistoryStore

path = sys.argv[1]
store = HistoryStore.open(path)
conversation = store.create_conversation("kept")
big = Turn(Role.USER, [TextBlock("words " * 50000)])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
# The disk refuses to let the files grow: the commit fails part-way, and SQLite
# rolls the transaction back by itself.
limit = max(os.path.getsize(path), os.path.getsize(path + "-wal")) + 8192
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
try:
    store.add_message(conversation, big)
    outcome = {"error": None}
except Exception as exc:
    outcome = {
        "error": type(exc).__name__,
        "text": str(exc),
        "cause": getattr(exc.__cause__, "sqlite_errorname", None),
        "in_transaction": store._db.in_transaction,
    }
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
outcome["after"] = len(store.load_active_path(conversation))
store.add_message(conversation, Turn(Role.USER, [TextBlock("fits")]))
outcome["then"] = [s.turn.text for s in store.load_active_path(conversation)]
print(json.dumps(outcome))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="file-size limits are POSIX")
def test_a_failing_disk_reports_the_real_error_not_a_failed_rollback(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", _FAILING_DISK, str(tmp_path / STORE_NAME)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["error"] in ("StoreIOError", "StoreFullError"), outcome
    assert outcome["cause"].startswith(("SQLITE_IOERR", "SQLITE_FULL"))
    assert "rollback" not in outcome["text"]
    assert outcome["in_transaction"] is False
    # Nothing half-written, and the store works again once the disk does.
    assert outcome["after"] == 0
    assert outcome["then"] == ["fits"]


def test_a_full_disk_at_open_is_not_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    target = str(data / STORE_NAME)
    configure = schema.configure

    def no_room(connection: sqlite3.Connection) -> None:
        configure(connection)
        if connection.execute("PRAGMA database_list").fetchone()[2] == target:
            connection.execute("PRAGMA max_page_count = 1")

    monkeypatch.setattr(store_module, "configure", no_room)
    with pytest.raises(StoreFullError):
        HistoryStore.open(data / STORE_NAME)
    store, notice = open_or_start_fresh(data)
    with store:
        assert notice is not None
        assert "full" in notice
        assert "damaged" not in notice
        # Nothing was set aside or started beside it; the window still works.
        assert store.in_memory
        conversation = store.create_conversation("in memory")
        assert store.conversation(conversation).title == "in memory"
    assert not (data / POINTER_NAME).exists()
    assert files(data) == [STORE_NAME]


def test_a_full_disk_at_open_shows_the_history_and_says_full_on_every_write(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opener = os.open
    target = str(data / STORE_NAME)

    def no_space(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if str(path) == target and flags & (os.O_RDWR | os.O_WRONLY):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return opener(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", no_space)
    store, notice = open_or_start_fresh(data)
    with store:
        assert notice is not None
        assert "is full" in notice
        assert "damaged" not in notice
        assert store.read_only
        assert len(store.list_conversations()) == 2
        with pytest.raises(StoreReadOnlyError) as caught:
            store.rename(1, "new title")
        # The refusal names the real cause, not a read-only folder.
        assert "is full" in str(caught.value)
        assert "open read-only" in str(caught.value)
    assert files(data) == [STORE_NAME]


def test_a_read_only_folder_shows_the_history_read_only(data: Path) -> None:
    with read_only_folder(data):
        store, notice = open_or_start_fresh(data)
        with store:
            assert notice is not None
            assert "read-only" in notice
            assert "damaged" not in notice
            assert store.read_only
            assert [c.title for c in store.list_conversations()] == ["harbours", "kestrels"]
            assert [s.turn.text for s in store.load_active_path(1)] == ["about kestrels"]
            with pytest.raises(StoreReadOnlyError) as caught:
                store.save_draft(1, "typed")
            assert "read-only" in str(caught.value)
    assert files(data) == [STORE_NAME]


def test_a_read_only_folder_without_a_history_gives_a_working_store_in_memory(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with read_only_folder(data):
        store, notice = open_or_start_fresh(data)
        with store:
            assert notice is not None
            assert "read-only" in notice
            assert "not be kept" in notice
            assert store.in_memory
            conversation = store.create_conversation()
            store.add_message(conversation, user("hello"))
            message = Message(model="m", content=[TextBlock("streamed")])
            reply_id = store.add_message(
                conversation, Turn(Role.ASSISTANT, message=message, status=TurnStatus.STREAMING)
            )
            # A streamed reply is saved from its own thread, into the same memory.
            writer = store.reply_writer(reply_id)
            message.content[0].append(" and finished")  # type: ignore[union-attr]
            writer.finish(TurnStatus.DONE, message)
            stored = store.message(reply_id).turn
            assert stored.text == "streamed and finished"
            assert stored.status is TurnStatus.DONE
    assert list(data.iterdir()) == []


def test_a_data_folder_that_cannot_be_created(tmp_path: Path) -> None:
    with read_only_folder(tmp_path / "parent"):
        store, notice = open_or_start_fresh(tmp_path / "parent" / "data")
        with store:
            assert notice is not None
            assert "read-only" in notice
            assert store.in_memory


def test_a_read_only_history_file_in_a_writable_folder(data: Path) -> None:
    (data / STORE_NAME).chmod(0o400)
    with read_only_folder(data / "unused"):  # only to enforce permissions for root
        with HistoryStore.open(data / STORE_NAME, read_only=True) as reader:
            assert reader.list_conversations()
        with pytest.raises(StoreReadOnlyError):
            HistoryStore.open(data / STORE_NAME)


def test_damage_is_still_damage(tmp_path: Path) -> None:
    (tmp_path / STORE_NAME).write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(CorruptStoreError):
        HistoryStore.open(tmp_path / STORE_NAME)


def _sqlite_error(code: int, text: str) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(text)
    exc.sqlite_errorcode = code
    exc.sqlite_errorname = "test"
    return exc


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (sqlite3.SQLITE_BUSY, StoreBusyError),
        (sqlite3.SQLITE_BUSY_SNAPSHOT, StoreBusyError),
        (sqlite3.SQLITE_LOCKED_SHAREDCACHE, StoreBusyError),
        (sqlite3.SQLITE_READONLY, StoreReadOnlyError),
        (sqlite3.SQLITE_READONLY_DIRECTORY, StoreReadOnlyError),
        (sqlite3.SQLITE_FULL, StoreFullError),
        (sqlite3.SQLITE_IOERR_WRITE, StoreIOError),
        (sqlite3.SQLITE_IOERR_SHMSIZE, StoreIOError),
        (sqlite3.SQLITE_CANTOPEN, StoreIOError),
        (sqlite3.SQLITE_CORRUPT, CorruptStoreError),
        (sqlite3.SQLITE_NOTADB, CorruptStoreError),
    ],
)
def test_sqlite_errors_are_told_apart_by_code_not_text(code: int, kind: type[StoreError]) -> None:
    # The text says "locked" every time: only the code may decide.
    typed = store_error(_sqlite_error(code, "database is locked"), Path("/d/history.sqlite3"))
    assert type(typed) is kind
    assert "locked" not in str(typed)


def test_an_io_error_on_a_disk_with_no_room_left_is_a_full_disk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # SQLite says "disk I/O error" when it cannot grow the WAL index on a full disk.
    error = _sqlite_error(sqlite3.SQLITE_IOERR_SHMSIZE, "disk I/O error")
    path = tmp_path / STORE_NAME
    assert type(store_error(error, path)) is StoreIOError
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 4096, 4096))
    assert type(store_error(error, path)) is StoreFullError


def test_an_error_without_a_code_is_left_as_it_is() -> None:
    assert store_error(sqlite3.ProgrammingError("closed"), Path("/d/h.sqlite3")) is None


@pytest.mark.parametrize(
    ("number", "reading", "kind"),
    [
        (errno.ENOSPC, False, StoreFullError),
        (errno.EDQUOT, False, StoreFullError),
        (errno.EROFS, False, StoreReadOnlyError),
        (errno.EACCES, False, StoreReadOnlyError),
        (errno.EPERM, False, StoreReadOnlyError),
        (errno.EACCES, True, StoreIOError),
        (errno.EIO, False, StoreIOError),
    ],
)
def test_os_errors_are_told_apart_by_errno(
    number: int, reading: bool, kind: type[StoreError]
) -> None:
    typed = os_store_error(OSError(number, "some text"), Path("/d/h.sqlite3"), reading=reading)
    assert type(typed) is kind
    assert "/d" in str(typed)
