"""Delete means deleted: after a purge no byte of a conversation is left in the files."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.history.service import UNDO_SECONDS, HistoryService
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.wire.blocks import Base64Source, ImageBlock, Role, TextBlock
from desktop_app.core.wire.message import Message

# Unlike any other word, so the full-text index cannot share a prefix with it.
MARKER = "qzxvjwkmarkerpurgeme"
IMAGE_MARKER = b"IMAGEPAYLOADPURGEME-" * 8
IMAGE_DATA = base64.b64encode(IMAGE_MARKER).decode("ascii")


def history_bytes(path: Path) -> bytes:
    """The raw bytes of the database, its WAL and its shared-memory index."""
    return b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


def traces(path: Path) -> list[str]:
    raw = history_bytes(path).lower()
    found = []
    # The middle of the marker: the index stores a word after the prefix it
    # shares with the word before it.
    if MARKER[4:].encode() in raw:
        found.append("text")
    if IMAGE_DATA[8:40].lower().encode() in raw:
        found.append("image")
    return found


def index_terms(path: Path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        connection.execute(
            "CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, messages_fts, 'row')"
        )
        return {row[0] for row in connection.execute("SELECT term FROM temp.vocab")}
    finally:
        connection.close()


def add_secret_conversation(store: HistoryStore) -> int:
    conversation = store.create_conversation()
    image = ImageBlock(Base64Source("image/png", IMAGE_DATA))
    prompt = Turn(Role.USER, [image, TextBlock(f"What is {MARKER} here?")])
    store.add_message(conversation, prompt)
    message = Message(model="m", content=[TextBlock("It is")])
    reply_id = store.add_message(
        conversation, Turn(Role.ASSISTANT, message=message, status=TurnStatus.STREAMING)
    )
    # Streamed in pieces: every version of the text went through the file.
    writer = store.reply_writer(reply_id)
    for word in (" a", f" {MARKER}", " indeed"):
        message.content[0].append(word)  # type: ignore[union-attr]
        writer.block_stopped(message)
    writer.finish(TurnStatus.DONE, message)
    store.save_draft(conversation, f"draft about {MARKER}", [image])
    return conversation


def add_other_conversations(store: HistoryStore) -> None:
    for i in range(20):
        conversation = store.create_conversation(f"other {i}")
        store.add_message(conversation, Turn(Role.USER, [TextBlock(f"kestrel words {i} " * 40)]))


@pytest.fixture
def secure_delete_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections start with secure_delete off, as in many SQLite builds.

    (Some distributions compile it on; the store must not rely on that.)
    """
    connect = sqlite3.connect

    def plain(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection: sqlite3.Connection = connect(*args, **kwargs)
        connection.execute("PRAGMA secure_delete = OFF")
        return connection

    monkeypatch.setattr(sqlite3, "connect", plain)


@pytest.mark.usefixtures("secure_delete_off_by_default")
def test_a_purge_leaves_no_byte_of_text_or_image_in_the_files(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore.open(path) as store:
        add_other_conversations(store)
        secret = add_secret_conversation(store)
        add_other_conversations(store)
        assert traces(path) == ["text", "image"]
        assert MARKER in index_terms(path)
        store.delete(secret)
        assert traces(path) == ["text", "image"]  # a soft delete keeps it for Undo
        assert store.purge_deleted() == 1
        assert traces(path) == []
        assert MARKER not in index_terms(path)
        # Everything else is intact and still found.
        assert len(store.list_conversations(limit=-1)) == 40
        assert len(store.search("kestrel")) == 40
        assert store.search(MARKER) == []
    assert traces(path) == []


def test_purge_now_removes_a_live_conversation(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore.open(path) as store:
        add_other_conversations(store)
        secret = add_secret_conversation(store)
        store.purge(secret)
        assert traces(path) == []
        with pytest.raises(KeyError):
            store.conversation(secret)
        with pytest.raises(KeyError):
            store.purge(secret)


def test_purge_of_one_conversation_leaves_other_deleted_ones(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "history.sqlite3") as store:
        first = store.create_conversation("first")
        second = store.create_conversation("second")
        store.delete(first)
        store.delete(second)
        assert store.purge_deleted(conversation_id=first) == 1
        assert [c.id for c in store.list_conversations(include_deleted=True)] == [second]
        # Not deleted (any more): not purged.
        store.undelete(second)
        assert store.purge_deleted(conversation_id=second) == 0


def test_closing_the_app_purges_what_was_deleted(tmp_path: Path) -> None:
    data = tmp_path / "data"

    async def run() -> int:
        service = HistoryService(data)
        await service.open()
        secret = await service.call(add_secret_conversation)
        await service.call(lambda store: store.delete(secret))
        await service.aclose()
        return secret

    secret = asyncio.run(run())
    path = data / "history.sqlite3"
    assert traces(path) == []
    with HistoryStore.open(path) as store:
        assert store.list_conversations(include_deleted=True) == []
        with pytest.raises(KeyError):
            store.conversation(secret)


def test_opening_purges_deletes_left_from_an_earlier_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = data / "history.sqlite3"
    with HistoryStore.open(path) as store:
        old = add_secret_conversation(store)
        recent = store.create_conversation("recent")
        store.delete(old)
        store.delete(recent)
        # The app stopped before it could purge (a crash); this one long ago.
        store._db.execute(
            "UPDATE conversations SET deleted_at = ? WHERE id = ?",
            (time.time() - UNDO_SECONDS - 60, old),
        )

    async def run() -> tuple[list[int], list[str]]:
        service = HistoryService(data)
        await service.open()
        ids = await service.call(
            lambda store: [c.id for c in store.list_conversations(include_deleted=True)]
        )
        found = traces(path)
        await service.aclose()
        return ids, found

    ids, found = asyncio.run(run())
    # A recent delete may still have its Undo showing in another window.
    assert ids == [recent]
    assert found == []
