"""The history store: schema, branches, search, drafts, migration and bad files."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from desktop_app.core.conversation.model import Conversation, Turn, TurnStatus
from desktop_app.core.errors import (
    CorruptStoreError,
    NewerStoreError,
    StoreBusyError,
    StoreFullError,
)
from desktop_app.core.history import schema
from desktop_app.core.history.files import current_store_path, open_or_start_fresh
from desktop_app.core.history.reply_writer import ReplyWriter
from desktop_app.core.history.schema import SCHEMA_VERSION
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.wire.blocks import Base64Source, ImageBlock, Role, TextBlock
from desktop_app.core.wire.message import Message, Usage

FIXTURE_V1 = Path(__file__).resolve().parents[2] / "fixtures" / "history-v1.sqlite3"


def user(text: str) -> Turn:
    return Turn(Role.USER, [TextBlock(text)])


def reply(text: str, model: str = "claude-sonnet-4-6") -> Turn:
    message = Message(model=model, content=[TextBlock(text)], usage=Usage(10, 5))
    return Turn(Role.ASSISTANT, message=message, model=model)


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    return HistoryStore.open(tmp_path / "history.sqlite3")


def texts(store: HistoryStore, conversation_id: int) -> list[str]:
    return [s.turn.text for s in store.load_active_path(conversation_id)]


def test_round_trip_of_every_turn_field(store: HistoryStore) -> None:
    conversation = store.create_conversation()
    image = ImageBlock(Base64Source("image/png", "AAAA"))
    prompt = Turn(Role.USER, [image, TextBlock("What is this?")], notes=["1×1 px"])
    store.add_message(conversation, prompt)
    answer = reply("A pixel.")
    answer.message.stop_reason = "end_turn"  # type: ignore[union-attr]
    reply_id = store.add_message(
        conversation, answer, settings={"temperature": 0.5, "max_tokens": 99}
    )
    loaded = store.load_active_path(conversation)
    assert [s.turn.role for s in loaded] == ["user", "assistant"]
    assert loaded[0].turn.content == prompt.content
    assert loaded[0].turn.notes == ["1×1 px"]
    assert loaded[1].turn.message is not None
    assert loaded[1].turn.message.to_dict() == answer.message.to_dict()  # type: ignore[union-attr]
    assert loaded[1].turn.model == "claude-sonnet-4-6"
    assert loaded[1].parent_id == loaded[0].message_id
    assert store.message_settings(reply_id) == {"temperature": 0.5, "max_tokens": 99}
    # The title comes from the first prompt.
    assert store.conversation(conversation).title == "What is this?"
    # Reloaded turns can be sent again as they were.
    request = Conversation([s.turn for s in loaded]).request_messages()
    assert request[0].content[0] == image


def test_settings_never_keep_secrets(store: HistoryStore) -> None:
    conversation = store.create_conversation("t")
    settings = {
        "api_key": "sk-secret",
        "headers": {"x-api-key": "sk"},
        "nested": {"Authorization": "b"},
    }
    message_id = store.add_message(conversation, user("hi"), settings=settings | {"top_p": 1})
    assert store.message_settings(message_id) == {"nested": {}, "top_p": 1}


def test_list_newest_first_rename_delete_undo_purge(store: HistoryStore) -> None:
    first = store.create_conversation("first")
    second = store.create_conversation("second")
    store.add_message(first, user("bump"))  # first is now the newest
    listed = store.list_conversations()
    assert [c.id for c in listed] == [first, second]
    assert listed[0].message_count == 1
    store.rename(second, "renamed")
    store.delete(first)
    assert [c.title for c in store.list_conversations()] == ["renamed"]
    assert len(store.list_conversations(include_deleted=True)) == 2
    store.undelete(first)
    assert len(store.list_conversations()) == 2
    store.delete(first)
    assert store.purge_deleted(older_than=3600) == 0
    assert store.purge_deleted() == 1
    assert [c.id for c in store.list_conversations(include_deleted=True)] == [second]
    # The purged messages are gone from the search index too.
    assert store.search("bump") == []


def test_branches_versions_and_active_path(store: HistoryStore) -> None:
    conversation = store.create_conversation()
    q1 = store.add_message(conversation, user("question one"))
    a1 = store.add_message(conversation, reply("answer one"))
    q2 = store.add_message(conversation, user("question two"))
    a2 = store.add_message(conversation, reply("answer two"))
    # Regenerate the last reply: a sibling version.
    a2b = store.add_message(conversation, reply("answer two, again"), parent_id=q2)
    assert store.siblings(a2b) == ([a2, a2b], 1)
    assert texts(store, conversation)[-1] == "answer two, again"
    assert store.load_active_path(conversation)[-1][3:] == (2, 2)
    # Edit the second question: a new branch from a1.
    q2b = store.add_message(conversation, user("question two, edited"), parent_id=a1)
    a2c = store.add_message(conversation, reply("edited answer"))
    assert texts(store, conversation) == [
        "question one",
        "answer one",
        "question two, edited",
        "edited answer",
    ]
    assert store.siblings(q2b) == ([q2, q2b], 1)
    # Going back to version 1 of the question shows where that branch left off.
    assert store.set_active(q2) == a2b
    assert texts(store, conversation)[2:] == ["question two", "answer two, again"]
    assert store.set_active(a2) == a2
    assert texts(store, conversation)[-1] == "answer two"
    assert store.set_active(q2b) == a2c
    # Editing the very first prompt makes a second root.
    root_b = store.add_message(conversation, user("another start"), parent_id=None)
    assert store.siblings(root_b) == ([q1, root_b], 1)
    assert texts(store, conversation) == ["another start"]
    # Only the active path goes to the API.
    store.set_active(q2b)
    sent = Conversation([s.turn for s in store.load_active_path(conversation)]).request_messages()
    assert [m.to_dict()["content"][0]["text"] for m in sent] == [
        "question one",
        "answer one",
        "question two, edited",
        "edited answer",
    ]


def test_rejected_turn_does_not_poison(store: HistoryStore) -> None:
    conversation = store.create_conversation()
    store.add_message(conversation, user("fine"))
    store.add_message(conversation, reply("ok"))
    bad = store.add_message(conversation, user("bad image"))
    rejected = store.message(bad).turn
    rejected.status = TurnStatus.FAILED
    rejected.error = "The image was rejected."
    store.update_message(bad, rejected)
    turns = [s.turn for s in store.load_active_path(conversation)]
    assert turns[-1].status is TurnStatus.FAILED
    assert turns[-1].error == "The image was rejected."
    # Left out of the next request...
    next_prompt = user("try again")
    sent = Conversation([*turns, next_prompt]).request_messages()
    assert [m.to_dict()["content"][-1]["text"] for m in sent] == ["fine", "ok", "try again"]
    # ...or removed: the active path goes back to the reply before it.
    store.remove_message(bad)
    assert texts(store, conversation) == ["fine", "ok"]
    store.add_message(conversation, user("next"))
    assert texts(store, conversation) == ["fine", "ok", "next"]


def test_lazy_open_pages_from_the_end(store: HistoryStore) -> None:
    conversation = store.create_conversation()
    for i in range(25):
        store.add_message(conversation, user(f"q{i}") if i % 2 == 0 else reply(f"a{i}"))
    page = store.load_active_path(conversation, limit=10)
    assert [s.turn.text for s in page] == [
        f"{'q' if i % 2 == 0 else 'a'}{i}" for i in range(15, 25)
    ]
    older = store.load_active_path(conversation, limit=10, before_id=page[0].message_id)
    assert [s.turn.text[1:] for s in older] == [str(i) for i in range(5, 15)]
    oldest = store.load_active_path(conversation, limit=10, before_id=older[0].message_id)
    assert len(oldest) == 5
    assert store.load_active_path(conversation, limit=10, before_id=oldest[0].message_id) == []


def test_search_is_safe_ranked_and_jumps_to_the_message(store: HistoryStore) -> None:
    one = store.create_conversation()
    store.add_message(one, user("Tell me about the peregrine falcon"))
    hit_id = store.add_message(one, reply("The peregrine falcon dives at 300 km/h."))
    two = store.create_conversation()
    store.add_message(two, user("Crème brûlée recipe"))
    hits = store.search("peregrine falc")
    assert {h.message_id for h in hits} == {hit_id, hit_id - 1}
    assert all(h.conversation_id == one for h in hits)
    assert "[peregrine]" in hits[0].snippet
    # Accents fold, and query syntax in user input is just text.
    assert [h.conversation_id for h in store.search("creme brulee")] == [two]
    for nasty in ('"', "AND OR NOT", "col:umn", "*", "NEAR(a b)", "'); DROP TABLE messages;--"):
        store.search(nasty)
    assert store.search("   ") == []
    # Deleted conversations are not searched.
    store.delete(two)
    assert store.search("creme") == []
    # Edits to a message are indexed in the same transaction.
    turn = store.message(hit_id).turn
    turn.message = Message(content=[TextBlock("kestrels hover instead")])
    store.update_message(hit_id, turn)
    assert [h.message_id for h in store.search("kestrels")] == [hit_id]
    assert [h.message_id for h in store.search("dives")] == []


def test_search_finds_a_message_on_another_branch(store: HistoryStore) -> None:
    conversation = store.create_conversation()
    q = store.add_message(conversation, user("question"))
    old = store.add_message(conversation, reply("zebra answer"))
    store.add_message(conversation, reply("other answer"), parent_id=q)
    [hit] = store.search("zebra")
    store.set_active(hit.message_id)
    assert store.load_active_path(conversation)[-1].message_id == old


def test_drafts_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    image = ImageBlock(Base64Source("image/png", "AA=="))
    with HistoryStore.open(path) as store:
        conversation = store.create_conversation("c")
        other = store.create_conversation("other")
        before = store.conversation(conversation).updated
        store.save_draft(conversation, "half a thought", [image])
        store.save_draft(other, "elsewhere")
        store.save_draft(None, "not started yet")
        # Typing does not reorder the list.
        assert store.conversation(conversation).updated == before
    with HistoryStore.open(path) as store:
        assert store.load_draft(conversation) == ("half a thought", [image])
        assert store.load_draft(other).text == "elsewhere"
        assert store.load_draft(None).text == "not started yet"
        store.save_draft(conversation, "")
        assert store.load_draft(conversation) == ("", [])


def test_streaming_reply_is_marked_interrupted_on_open(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore.open(path) as store:
        conversation = store.create_conversation()
        store.add_message(conversation, user("go"))
        turn = Turn(Role.ASSISTANT, message=Message(), status=TurnStatus.STREAMING)
        reply_id = store.add_message(conversation, turn)
    with HistoryStore.open(path) as store:
        stored = store.message(reply_id).turn
        assert stored.status is TurnStatus.INTERRUPTED
        assert stored.error


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def streaming_reply(store: HistoryStore, text: str = "") -> tuple[int, Message]:
    conversation = store.create_conversation()
    store.add_message(conversation, user("go"))
    message = Message(model="m", content=[TextBlock(text)])
    reply_id = store.add_message(
        conversation, Turn(Role.ASSISTANT, message=message, status=TurnStatus.STREAMING)
    )
    return reply_id, message


def test_reply_writer_batches_and_finishes(store: HistoryStore) -> None:
    reply_id, message = streaming_reply(store)
    clock = FakeClock()
    writer = store.reply_writer(reply_id, interval=0.2, clock=clock)
    block = message.content[0]
    assert isinstance(block, TextBlock)
    # 250 deltas over half a second: a snapshot every 0.2 s, not one per delta.
    for _ in range(250):
        clock.now += 0.002
        block.append("x")
        writer.update(message)
    assert writer.submitted == 2
    writer.block_stopped(message)
    writer.finish(TurnStatus.DONE, message)
    assert writer.submitted == 4
    # Snapshots that queue up while one is written are skipped for the newest.
    assert 1 <= writer.writes <= 4
    stored = store.message(reply_id).turn
    assert stored.status is TurnStatus.DONE
    assert stored.text == block.text == "x" * 250
    assert [h.message_id for h in store.search(block.text[:20])] == [reply_id]


def test_reply_writer_saves_partial_text_while_streaming(store: HistoryStore) -> None:
    reply_id, message = streaming_reply(store, "partial")
    clock = FakeClock()
    writer = store.reply_writer(reply_id, clock=clock)
    message.content[0].append(" more")  # type: ignore[union-attr]
    writer.update(message)
    assert writer.submitted == 0  # less than a second since the writer started
    clock.now += 1.0
    writer.update(message)
    assert writer.wait_attempts(1, timeout=10)
    assert writer.writes == 1
    stored = store.message(reply_id).turn
    assert stored.text == "partial more"
    assert stored.status is TurnStatus.STREAMING
    writer.finish(TurnStatus.STOPPED)
    assert store.message(reply_id).turn.status is TurnStatus.STOPPED


@pytest.fixture
def short_busy_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_MS", 100)


@pytest.mark.usefixtures("short_busy_wait")
def test_reply_writer_keeps_the_whole_reply_through_lock_contention(store: HistoryStore) -> None:
    reply_id, message = streaming_reply(store, "start")
    clock = FakeClock()
    writer = store.reply_writer(reply_id, clock=clock)
    block = message.content[0]
    assert isinstance(block, TextBlock)
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program writes for a long time
    try:
        for _ in range(3):
            block.append(" more" * 50)
            clock.now += 1.0
            writer.update(message)
            assert writer.wait_attempts(writer.attempts + 1, timeout=10)
        assert writer.writes == 0
        assert isinstance(writer.error, StoreBusyError)
    finally:
        other.execute("ROLLBACK")
        other.close()
    block.append(" end")
    writer.finish(TurnStatus.DONE, message)
    stored = store.message(reply_id).turn
    assert stored.text == block.text
    assert len(stored.text) == len("start") + 3 * 250 + len(" end")
    assert stored.status is TurnStatus.DONE
    assert writer.error is None


@pytest.mark.usefixtures("short_busy_wait")
def test_reply_writer_says_busy_when_the_lock_is_never_released(store: HistoryStore) -> None:
    reply_id, message = streaming_reply(store, "kept")
    writer = store.reply_writer(reply_id)
    writer.block_stopped(message)
    assert writer.wait_attempts(1, timeout=10)
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        message.content[0].append(" lost")  # type: ignore[union-attr]
        with pytest.raises(StoreBusyError, match="busy"):
            writer.finish(TurnStatus.DONE, message, timeout=0.5)
    finally:
        other.execute("ROLLBACK")
        other.close()
    stored = store.message(reply_id).turn
    assert stored.text == "kept"
    assert stored.status is TurnStatus.STREAMING  # marked interrupted on the next open


def test_reply_writer_reports_a_full_disk(store: HistoryStore) -> None:
    reply_id, message = streaming_reply(store, "kept")

    def no_room() -> sqlite3.Connection:
        connection = schema.connect(store.path)
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")
        return connection

    writer = ReplyWriter(store.path, reply_id, opener=no_room)
    message.content[0].append(" and on" * 20_000)  # type: ignore[union-attr]
    with pytest.raises(StoreFullError, match="full"):
        writer.finish(TurnStatus.DONE, message)
    assert store.message(reply_id).turn.text == "kept"


def test_migration_from_v1_keeps_everything_and_backs_up_first(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copy(FIXTURE_V1, path)
    original = FIXTURE_V1.read_bytes()
    with HistoryStore.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.backup is not None
        assert store.backup.name.startswith("history.sqlite3.v1-")
        assert store.backup.name.endswith(".bak")
        listed = store.list_conversations()
        assert [c.title for c in listed] == ["What is in this picture", "Kestrel facts"]
        assert [c.message_count for c in listed] == [2, 4]
        kestrel = store.load_active_path(listed[1].id)
        assert [s.turn.text for s in kestrel] == [
            "How fast can a kestrel hover?",
            "A kestrel hovers by flying into the wind.",
            "And its prey?",
            "Mostly voles and other small mammals.",
        ]
        usage = kestrel[3].turn.usage
        assert usage is not None
        assert (usage.input_tokens, usage.output_tokens) == (30, 8)
        assert kestrel[3].turn.model == "claude-sonnet-4-6"
        picture = store.load_active_path(listed[0].id)
        assert picture[0].turn.image_blocks[0].to_dict()["source"]["media_type"] == "image/png"
        assert [h.conversation_id for h in store.search("voles")] == [listed[1].id]
        # New features work on migrated data.
        store.add_message(listed[1].id, reply("Also insects."), parent_id=kestrel[2].message_id)
        assert store.siblings(kestrel[3].message_id)[0][0] == kestrel[3].message_id
    # The backup is the v1 database as it was.
    backup = sqlite3.connect(store.backup)
    assert backup.execute("SELECT value FROM meta").fetchone() == ("1",)
    assert backup.execute("SELECT count(*) FROM messages").fetchone() == (6,)
    backup.close()
    assert FIXTURE_V1.read_bytes() == original
    # Opening again does not migrate or back up again.
    with HistoryStore.open(path) as store:
        assert store.backup is None


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a database at all" * 10,
        b"SQLite format 3\x00" + b"\xff" * 4000,
        b"\x00" * 4096,
    ],
    ids=["text", "bad-pages", "zeros"],
)
def test_corrupt_store_is_refused_and_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(content)
    with pytest.raises(CorruptStoreError) as caught:
        HistoryStore.open(path)
    assert caught.value.path == path
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite3"]


def test_damaged_pages_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore.open(path) as store:
        conversation = store.create_conversation()
        for i in range(200):
            store.add_message(conversation, user(f"message {i} " + "words " * 50))
    data = bytearray(path.read_bytes())
    data[8192:16384] = b"\x5a" * 8192  # overwrite two interior pages
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptStoreError):
        HistoryStore.open(path)
    assert path.read_bytes() == bytes(data)


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE notes(x)")
    other.commit()
    other.close()
    with pytest.raises(CorruptStoreError, match="not an Iris history"):
        HistoryStore.open(path)


def newer_store(path: Path) -> bytes:
    with HistoryStore.open(path):
        pass
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.execute("PRAGMA journal_mode = DELETE")
    db.close()
    return path.read_bytes()


def test_newer_store_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    before = newer_store(path)
    with pytest.raises(NewerStoreError, match="newer version of Iris"):
        HistoryStore.open(path)
    assert path.read_bytes() == before
    assert not path.with_name("history.sqlite3-wal").exists()


def test_open_or_start_fresh_keeps_the_bad_file_and_remembers_the_new_one(tmp_path: Path) -> None:
    bad = tmp_path / "history.sqlite3"
    bad.write_bytes(b"garbage" * 100)
    store, notice = open_or_start_fresh(tmp_path)
    with store:
        assert notice is not None
        assert "damaged" in notice
        assert str(bad) in notice
        assert store.path != bad
        store.create_conversation("kept")
    assert bad.read_bytes() == b"garbage" * 100
    assert current_store_path(tmp_path) == store.path
    # The next start opens the fresh store, with no message.
    again, notice = open_or_start_fresh(tmp_path)
    with again:
        assert notice is None
        assert again.path == store.path
        assert [c.title for c in again.list_conversations()] == ["kept"]


def test_open_or_start_fresh_with_a_newer_store(tmp_path: Path) -> None:
    before = newer_store(tmp_path / "history.sqlite3")
    store, notice = open_or_start_fresh(tmp_path)
    store.close()
    assert notice is not None
    assert "newer version" in notice
    assert (tmp_path / "history.sqlite3").read_bytes() == before


def test_open_or_start_fresh_on_an_empty_folder(tmp_path: Path) -> None:
    store, notice = open_or_start_fresh(tmp_path / "new")
    store.close()
    assert notice is None
    assert store.path == tmp_path / "new" / "history.sqlite3"


def test_store_settings(store: HistoryStore) -> None:
    modes = store._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert modes == "wal"
    assert store._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_a_row_stored_from_a_malformed_reply_still_opens(store: HistoryStore) -> None:
    conversation = store.create_conversation()
    store.add_message(conversation, user("question"))
    reply_id = store.add_message(conversation, reply("fine"))
    # As an older, more trusting Iris could have written it: a number where text goes.
    bad = {"role": "assistant", "content": [{"type": "text", "text": 42}], "stop_reason": 7}
    store._db.execute(
        "UPDATE messages SET message_json = ? WHERE id = ?", (json.dumps(bad), reply_id)
    )
    path = store.load_active_path(conversation)
    assert [s.turn.role for s in path] == [Role.USER, Role.ASSISTANT]
    kept = path[1].turn
    assert kept.status is TurnStatus.FAILED
    assert kept.error is not None
    assert "cannot read" in kept.error
    assert kept.message is not None
    assert [b.to_dict() for b in kept.message.content] == [{"type": "text", "text": 42}]
    # It is never sent as it is: only the question goes.
    sent = Conversation([path[0].turn, kept]).request_messages()
    assert [m.to_dict() for m in sent] == [
        {"role": "user", "content": [{"type": "text", "text": "question"}]}
    ]
