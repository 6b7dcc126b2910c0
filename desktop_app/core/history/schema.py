"""The history file's format: schema, migrations, connections and row mapping.

Safety rules:

* Every write is one transaction; the file runs in WAL mode.
* A file that is corrupt, not a database, or from a newer Iris is never written
  to: it is checked through a read-only connection before anything else.
* Before a migration runs, the file is copied with SQLite's backup API.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.errors import CorruptStoreError
from desktop_app.core.wire.blocks import Role, blocks_from_dicts, blocks_to_dicts
from desktop_app.core.wire.message import Message

SCHEMA_VERSION = 2
_SQLITE_MAGIC = b"SQLite format 3\x00"
# Settings keys that could carry a secret are never stored (and so never exported).
_SECRET_KEY = re.compile(r"key|secret|authori[sz]ation|password|cookie|header", re.IGNORECASE)

SCHEMA_V2 = (
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE conversations(
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        updated REAL NOT NULL,
        deleted_at REAL,
        active_leaf_id INTEGER,
        model TEXT NOT NULL DEFAULT '',
        system TEXT NOT NULL DEFAULT '',
        draft_text TEXT NOT NULL DEFAULT '',
        draft_json TEXT NOT NULL DEFAULT '[]')""",
    "CREATE INDEX conversations_live ON conversations(updated DESC) WHERE deleted_at IS NULL",
    "CREATE INDEX conversations_updated ON conversations(updated DESC)",
    """CREATE TABLE messages(
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK(role IN ('user', 'assistant')),
        content_json TEXT NOT NULL DEFAULT '[]',
        message_json TEXT,
        text TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        error TEXT,
        notes_json TEXT NOT NULL DEFAULT '[]',
        model TEXT NOT NULL DEFAULT '',
        settings_json TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL,
        ordinal INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX messages_children ON messages(parent_id, ordinal)",
    "CREATE INDEX messages_conversation ON messages(conversation_id, parent_id)",
    # Lets the open-time recovery find unfinished replies without a table scan.
    "CREATE INDEX messages_streaming ON messages(id) WHERE status = 'streaming'",
    # External content: the text lives once, in messages; triggers keep the index
    # in step inside the same transaction as the change.
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    """CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END""",
    """CREATE TRIGGER messages_au AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
    END""",
)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def clean_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return ``settings`` without anything that could hold a secret.

    Keys naming a key, secret, password, cookie, header or authorization are
    dropped at every depth, so the API key can never reach the store or an export.

    Args:
        settings: The request settings a reply was made with.

    Returns:
        A copy safe to store.
    """

    def clean(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): clean(v) for k, v in value.items() if not _SECRET_KEY.search(str(k))}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    result: dict[str, Any] = clean(dict(settings or {}))
    return result


def turn_text(turn: Turn) -> str:
    """The searchable text of a turn: its text and, for replies, its thinking."""
    if turn.message is None:
        return turn.text
    parts = [turn.message.text]
    parts.extend(
        str(b.to_dict().get("thinking", "")) for b in turn.message.content if b.type == "thinking"
    )
    return "\n".join(p for p in parts if p)


def turn_columns(turn: Turn) -> dict[str, Any]:
    message = turn.message
    return {
        "content_json": dumps(blocks_to_dicts(turn.content)),
        "message_json": None if message is None else dumps(message.to_dict()),
        "text": turn_text(turn),
        "status": turn.status.value,
        "error": turn.error,
        "notes_json": dumps(list(turn.notes)),
        "model": turn.model,
    }


def row_turn(row: sqlite3.Row) -> Turn:
    message_json = row["message_json"]
    return Turn(
        role=Role(row["role"]),
        content=blocks_from_dicts(json.loads(row["content_json"])),
        message=None if message_json is None else Message.from_dict(json.loads(message_json)),
        status=TurnStatus(row["status"]),
        error=row["error"],
        notes=json.loads(row["notes_json"]),
        model=row["model"],
        created=row["created"],
    )


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        uri = Path(path).absolute().as_uri() + "?mode=ro"
        connection = sqlite3.connect(uri, uri=True, isolation_level=None)
    else:
        # Autocommit mode: transactions are opened explicitly, so none is left open
        # by accident and each write is exactly one transaction.
        connection = sqlite3.connect(path, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA busy_timeout = 5000")
    return connection


def configure(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA journal_mode = WAL")
    # With WAL, NORMAL keeps the database consistent through a crash or power cut;
    # the last commits may be lost on power loss, never on a process kill.
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA foreign_keys = ON")


@contextlib.contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def read_version(path: Path) -> int | None:
    """The schema version of the file at ``path``; None for an empty database.

    Raises:
        CorruptStoreError: The file is not a sound SQLite database of ours.
    """
    with path.open("rb") as handle:
        header = handle.read(len(_SQLITE_MAGIC))
    if header and header != _SQLITE_MAGIC:
        raise CorruptStoreError(f"{path} is not a history database.", path)
    if not header:
        return None
    try:
        connection = connect(path, read_only=True)
        try:
            check = connection.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise CorruptStoreError(f"{path} is damaged ({check[0] if check else '?'}).", path)
            tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
            if not tables:
                return None
            if "meta" not in tables:
                raise CorruptStoreError(f"{path} is not an Iris history database.", path)
            row = connection.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise CorruptStoreError(f"{path} is damaged or not a database ({exc}).", path) from exc
    try:
        return int(row[0]) if row is not None else None
    except ValueError:
        raise CorruptStoreError(f"{path} has an unreadable schema version.", path) from None


def backup_path(path: Path, version: int) -> Path:
    """Where the copy taken before migrating ``path`` from ``version`` goes."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.v{version}-{stamp}.bak")
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.v{version}-{stamp}-{counter}.bak")
        counter += 1
    return candidate


def take_backup(connection: sqlite3.Connection, target: Path) -> None:
    copy = sqlite3.connect(target)
    try:
        connection.backup(copy)
    finally:
        copy.close()


def migrate_1_to_2(connection: sqlite3.Connection) -> None:
    """Turn the linear v1 schema into the v2 message tree with full-text search.

    Version 1 kept messages in order (``position``) with their wire content and,
    for replies, a usage object. Each message becomes the child of the one before
    it; the last becomes the active leaf. Runs inside the caller's transaction.

    Args:
        connection: An open connection inside a transaction.
    """
    connection.execute("ALTER TABLE conversations RENAME TO conversations_v1")
    connection.execute("ALTER TABLE messages RENAME TO messages_v1")
    connection.execute("DROP TABLE meta")
    for statement in SCHEMA_V2:
        connection.execute(statement)
    connection.execute(
        "INSERT INTO conversations(id, title, created, updated, model) "
        "SELECT id, title, created, updated, model FROM conversations_v1"
    )
    rows = connection.execute(
        "SELECT m.*, c.model AS conversation_model FROM messages_v1 m "
        "JOIN conversations_v1 c ON c.id = m.conversation_id "
        "ORDER BY m.conversation_id, m.position, m.id"
    ).fetchall()
    previous: dict[int, int] = {}
    for row in rows:
        content = json.loads(row["content_json"])
        conversation_id = row["conversation_id"]
        if row["role"] == "assistant":
            message = Message.from_dict(
                {
                    "model": row["conversation_model"],
                    "content": content,
                    "usage": json.loads(row["usage_json"] or "{}"),
                    "stop_reason": "end_turn",
                }
            )
            turn = Turn(
                Role.ASSISTANT,
                message=message,
                status=TurnStatus(row["status"]),
                model=row["conversation_model"],
            )
        else:
            turn = Turn(Role.USER, blocks_from_dicts(content), status=TurnStatus(row["status"]))
        columns = turn_columns(turn)
        connection.execute(
            "INSERT INTO messages(id, conversation_id, parent_id, role, content_json, "
            "message_json, text, status, error, notes_json, model, created, ordinal) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (
                row["id"],
                conversation_id,
                previous.get(conversation_id),
                row["role"],
                columns["content_json"],
                columns["message_json"],
                columns["text"],
                columns["status"],
                None,
                "[]",
                columns["model"],
                row["created"],
            ),
        )
        previous[conversation_id] = row["id"]
    connection.executemany(
        "UPDATE conversations SET active_leaf_id = ? WHERE id = ?",
        [(leaf, conversation) for conversation, leaf in previous.items()],
    )
    connection.execute("DROP TABLE messages_v1")
    connection.execute("DROP TABLE conversations_v1")


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: migrate_1_to_2}


def insert_message(
    db: sqlite3.Connection,
    conversation_id: int,
    parent: int | None,
    turn: Turn,
    ordinal: int,
    settings_json: str,
) -> int:
    """Insert one message row (the caller holds the transaction); return its id."""
    columns = turn_columns(turn)
    cursor = db.execute(
        "INSERT INTO messages(conversation_id, parent_id, role, content_json, "
        "message_json, text, status, error, notes_json, model, settings_json, "
        "created, ordinal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            conversation_id,
            parent,
            turn.role,
            columns["content_json"],
            columns["message_json"],
            columns["text"],
            columns["status"],
            columns["error"],
            columns["notes_json"],
            columns["model"],
            settings_json,
            turn.created,
            ordinal,
        ),
    )
    return int(cursor.lastrowid or 0)


TURN_SELECT = (
    "SELECT m.id, m.parent_id, m.role, m.content_json, m.message_json, m.status, m.error, "
    "m.notes_json, m.model, m.created, "
    "(SELECT count(*) FROM messages s WHERE s.conversation_id = m.conversation_id "
    "AND s.parent_id IS m.parent_id AND (s.ordinal < m.ordinal "
    "OR (s.ordinal = m.ordinal AND s.id <= m.id))) AS version, "
    "(SELECT count(*) FROM messages s WHERE s.conversation_id = m.conversation_id "
    "AND s.parent_id IS m.parent_id) AS versions "
    "FROM messages m"
)
