"""Each conversation's own settings in the history file, and the move from format 2 to 3."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop_app.core.conversation.options import ConversationOverrides
from desktop_app.core.history import schema
from desktop_app.core.history.store import HistoryStore

OWN = ConversationOverrides(model="claude-opus-4-7", system="", max_tokens=900, top_p=0.4)


def make_v2(path: Path) -> None:
    """A history file as Iris wrote it in format 2: one conversation, two messages.

    Written with plain SQL from the format 2 schema, so it stays a format 2 file
    whatever the store writes today.
    """
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    for statement in schema.SCHEMA_V2:
        db.execute(statement)
    db.execute("INSERT INTO meta(key, value) VALUES ('schema_version', '2')")
    db.execute(
        "INSERT INTO conversations(id, title, created, updated, model, system) "
        "VALUES (1, 'Kestrels', 100.0, 200.0, 'claude-sonnet-4-6', 'Be brief.')"
    )
    db.execute(
        "INSERT INTO messages(id, conversation_id, parent_id, role, content_json, text, "
        "status, created) VALUES (1, 1, NULL, 'user', ?, 'How fast?', 'done', 101.0)",
        ('[{"type": "text", "text": "How fast?"}]',),
    )
    db.execute(
        "INSERT INTO messages(id, conversation_id, parent_id, role, message_json, text, "
        "status, model, settings_json, created) VALUES (2, 1, 1, 'assistant', ?, "
        "'Quite fast.', 'done', 'claude-sonnet-4-6', '{\"max_tokens\": 100}', 102.0)",
        (
            '{"role": "assistant", "model": "claude-sonnet-4-6", '
            '"content": [{"type": "text", "text": "Quite fast."}], "stop_reason": "end_turn"}',
        ),
    )
    db.execute("UPDATE conversations SET active_leaf_id = 2 WHERE id = 1")
    db.execute("COMMIT")
    db.close()


def test_a_format_2_file_is_backed_up_then_migrated_keeping_everything(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    make_v2(path)
    with HistoryStore.open(path) as store:
        assert store.schema_version == 3
        assert store.backup is not None
        assert store.backup.name.startswith("history.sqlite3.v2-")
        # What the conversation started with is still recorded; it has no overrides.
        info = store.conversation(1)
        assert (info.title, info.model, info.system) == (
            "Kestrels",
            "claude-sonnet-4-6",
            "Be brief.",
        )
        assert store.overrides(1) == ConversationOverrides()
        path_ = store.load_active_path(1)
        assert [s.turn.text for s in path_] == ["How fast?", "Quite fast."]
        assert store.message_settings(path_[1].message_id) == {"max_tokens": 100}
        assert [h.conversation_id for h in store.search("fast")] == [1, 1]
        # The new column works on migrated data.
        store.set_overrides(1, OWN)
        assert store.overrides(1) == OWN
    backup = sqlite3.connect(store.backup)
    try:
        assert backup.execute("SELECT value FROM meta").fetchone() == ("2",)
        columns = {row[1] for row in backup.execute("PRAGMA table_info(conversations)")}
        assert "overrides_json" not in columns
        assert backup.execute("SELECT count(*) FROM messages").fetchone() == (2,)
    finally:
        backup.close()
    with HistoryStore.open(path) as store:
        assert store.backup is None  # migrated once
        assert store.overrides(1) == OWN


def test_reading_a_format_2_file_upgrades_it_first(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    make_v2(path)
    with HistoryStore.open_for_reading(path) as store:
        assert not store.read_only
        assert store.schema_version == 3
        assert store.overrides(1).is_empty


def test_a_new_file_has_the_shape_of_a_migrated_one(tmp_path: Path) -> None:
    def shape(path: Path) -> list[tuple[str, str]]:
        db = sqlite3.connect(path)
        try:
            rows = db.execute(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
            ).fetchall()
        finally:
            db.close()
        return [(str(n), str(s)) for n, s in rows]

    migrated = tmp_path / "old.sqlite3"
    make_v2(migrated)
    HistoryStore.open(migrated).close()
    fresh = tmp_path / "new.sqlite3"
    HistoryStore.open(fresh).close()
    assert shape(fresh) == shape(migrated)


def test_overrides_are_kept_per_conversation(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "history.sqlite3") as store:
        mine = store.create_conversation("mine", overrides=OWN)
        plain = store.create_conversation("plain")
        updated = store.conversation(plain).updated
        assert store.overrides(mine) == OWN
        assert store.overrides(plain).is_empty
        store.set_overrides(plain, ConversationOverrides(temperature=0.2))
        assert store.overrides(plain) == ConversationOverrides(temperature=0.2)
        assert store.overrides(mine) == OWN
        # Settings are not activity: the list order stays.
        assert store.conversation(plain).updated == updated
        store.set_overrides(plain, ConversationOverrides())
        assert store.overrides(plain).is_empty
        with pytest.raises(KeyError):
            store.overrides(999)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("not json", ConversationOverrides()),
        ("[1, 2]", ConversationOverrides()),
        ('{"model": "", "max_tokens": 12, "top_p": 9}', ConversationOverrides(max_tokens=12)),
    ],
)
def test_unusable_stored_overrides_fall_back_to_the_defaults(
    tmp_path: Path, stored: str, expected: ConversationOverrides
) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore.open(path) as store:
        conversation = store.create_conversation("t")
    db = sqlite3.connect(path)
    db.execute("UPDATE conversations SET overrides_json = ? WHERE id = ?", (stored, conversation))
    db.commit()
    db.close()
    with HistoryStore.open(path) as store:
        assert store.overrides(conversation) == expected
