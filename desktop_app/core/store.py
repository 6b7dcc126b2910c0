"""Durable conversation history: SQLite in the data folder, Qt-free.

One file holds every conversation, every message with all its content blocks
(prepared images included, as base64, so a reloaded conversation can be sent
again), usage, model and the settings each reply was made with, plus drafts.

Messages form a tree: editing a past prompt or regenerating a reply adds a
sibling, and each conversation remembers the leaf of its active path. Only the
active path is shown and sent.

Safety rules:

* Every write is one transaction; the file runs in WAL mode.
* A file that is corrupt, not a database, or from a newer Iris is never written
  to: it is checked through a read-only connection before anything else, and
  :func:`open_or_start_fresh` starts a new store beside it.
* Before a migration runs, the file is copied with SQLite's backup API.
* A streamed reply is saved by :class:`ReplyWriter` at least once a second and at
  every block stop; on the next open, a reply still marked streaming becomes
  interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Self

from desktop_app.core.conversation import Turn, TurnStatus
from desktop_app.core.messages import Message

SCHEMA_VERSION = 2
STORE_NAME = "history.sqlite3"
POINTER_NAME = "history.current"
WRITE_INTERVAL = 1.0
INTERRUPTED_ERROR = "Iris closed before this reply was complete. What arrived is kept."
_SQLITE_MAGIC = b"SQLite format 3\x00"
_NEW_DRAFT_KEY = "draft.new"
# Settings keys that could carry a secret are never stored (and so never exported).
_SECRET_KEY = re.compile(r"key|secret|authori[sz]ation|password|cookie|header", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)


class StoreUnavailableError(Exception):
    """The history file cannot be used; the message is written for people."""

    def __init__(self, message: str, path: Path) -> None:
        """Keep the path of the file that could not be used."""
        super().__init__(message)
        self.path = path


class CorruptStoreError(StoreUnavailableError):
    """The file is damaged or is not an Iris history database."""


class NewerStoreError(StoreUnavailableError):
    """The file was written by a newer Iris, with a schema this version does not know."""


class _Leaf(enum.Enum):
    ACTIVE = "active"


ACTIVE_LEAF = _Leaf.ACTIVE
"""Pass as ``parent_id`` to append after the conversation's active leaf."""


class ConversationSummary(NamedTuple):
    """One row of the conversation list.

    Attributes:
        id: The conversation id.
        title: Its title; empty until the first prompt.
        updated: When it last changed (seconds since the epoch).
        message_count: Messages in it, every branch included.
        deleted_at: When it was deleted, or None.
    """

    id: int
    title: str
    updated: float
    message_count: int
    deleted_at: float | None = None


class ConversationInfo(NamedTuple):
    """The stored facts of one conversation, without its messages."""

    id: int
    title: str
    created: float
    updated: float
    model: str
    system: str
    active_leaf_id: int | None
    deleted_at: float | None


class StoredTurn(NamedTuple):
    """A turn as loaded from the store.

    Attributes:
        message_id: The message's id in the store.
        parent_id: The message it answers or follows; None for the first one.
        turn: The turn itself.
        version: 1-based position among its siblings, for a "2 of 3" control.
        versions: How many siblings it has, itself included.
    """

    message_id: int
    parent_id: int | None
    turn: Turn
    version: int
    versions: int


class SearchHit(NamedTuple):
    """One full-text search result.

    Attributes:
        conversation_id: The conversation that holds the message.
        message_id: The matching message; pass it to :meth:`HistoryStore.set_active`.
        title: The conversation's title.
        snippet: Text around the match, the matched words between the markers.
    """

    conversation_id: int
    message_id: int
    title: str
    snippet: str


class Draft(NamedTuple):
    """Unsent text and attachments (content blocks) of one conversation."""

    text: str
    attachments: list[dict[str, Any]]


_SCHEMA_V2 = (
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


def _dumps(value: Any) -> str:
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


def _turn_columns(turn: Turn) -> dict[str, Any]:
    message = turn.message
    return {
        "content_json": _dumps(turn.content),
        "message_json": None if message is None else _dumps(message.to_dict()),
        "text": turn_text(turn),
        "status": turn.status.value,
        "error": turn.error,
        "notes_json": _dumps(list(turn.notes)),
        "model": turn.model,
    }


def _row_turn(row: sqlite3.Row) -> Turn:
    message_json = row["message_json"]
    return Turn(
        role=row["role"],
        content=json.loads(row["content_json"]),
        message=None if message_json is None else Message.from_dict(json.loads(message_json)),
        status=TurnStatus(row["status"]),
        error=row["error"],
        notes=json.loads(row["notes_json"]),
        model=row["model"],
        created=row["created"],
    )


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
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


def _configure(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA journal_mode = WAL")
    # With WAL, NORMAL keeps the database consistent through a crash or power cut;
    # the last commits may be lost on power loss, never on a process kill.
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA foreign_keys = ON")


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _read_version(path: Path) -> int | None:
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
        connection = _connect(path, read_only=True)
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


def _backup(connection: sqlite3.Connection, target: Path) -> None:
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
    for statement in _SCHEMA_V2:
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
                "assistant",
                message=message,
                status=TurnStatus(row["status"]),
                model=row["conversation_model"],
            )
        else:
            turn = Turn("user", content, status=TurnStatus(row["status"]))
        columns = _turn_columns(turn)
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


def _insert_message(
    db: sqlite3.Connection,
    conversation_id: int,
    parent: int | None,
    turn: Turn,
    ordinal: int,
    settings_json: str,
) -> int:
    """Insert one message row (the caller holds the transaction); return its id."""
    columns = _turn_columns(turn)
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


class HistoryStore:
    """The conversation history in one SQLite file.

    Use it from one thread (the GUI thread); :class:`ReplyWriter` writes
    streamed replies from its own thread and connection.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        """Wrap an open, configured connection; use :meth:`open` instead."""
        self._db = connection
        self.path = path
        self.backup: Path | None = None

    @classmethod
    def open(cls, path: Path | str) -> HistoryStore:
        """Open (or create) the store at ``path``, migrating an older schema.

        Replies left streaming by a crash are marked interrupted.

        Args:
            path: The database file.

        Returns:
            The open store.

        Raises:
            CorruptStoreError: The file is damaged or not ours; it was not touched.
            NewerStoreError: A newer Iris wrote it; it was not touched.
        """
        path = Path(path)
        version = _read_version(path) if path.exists() else None
        if version is not None and version > SCHEMA_VERSION:
            raise NewerStoreError(
                f"{path} was written by a newer version of Iris (history format {version}; "
                f"this version reads up to {SCHEMA_VERSION}).",
                path,
            )
        if version is not None and version not in MIGRATIONS and version != SCHEMA_VERSION:
            raise CorruptStoreError(f"{path} has an unknown history format {version}.", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = _connect(path)
        try:
            store = cls(connection, path)
            if version is None:
                _configure(connection)
                store._create()
            else:
                if version < SCHEMA_VERSION:
                    store.backup = backup_path(path, version)
                    _backup(connection, store.backup)
                _configure(connection)
                store._migrate(version)
            store.mark_streaming_interrupted()
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise CorruptStoreError(f"{path} could not be opened ({exc}).", path) from exc
        except BaseException:
            connection.close()
            raise
        return store

    def _create(self) -> None:
        with _transaction(self._db) as db:
            for statement in _SCHEMA_V2:
                db.execute(statement)
            db.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def _migrate(self, version: int) -> None:
        # Foreign keys are checked at the end of the transaction, not per statement,
        # so tables can be rebuilt in any order.
        self._db.execute("PRAGMA foreign_keys = OFF")
        try:
            while version < SCHEMA_VERSION:
                with _transaction(self._db) as db:
                    MIGRATIONS[version](db)
                    version += 1
                    db.execute(
                        "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                        (str(version),),
                    )
        finally:
            self._db.execute("PRAGMA foreign_keys = ON")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0])

    # Conversations -------------------------------------------------------------

    def create_conversation(self, title: str = "", *, model: str = "", system: str = "") -> int:
        """Add an empty conversation and return its id."""
        now = time.time()
        with _transaction(self._db) as db:
            cursor = db.execute(
                "INSERT INTO conversations(title, created, updated, model, system) "
                "VALUES (?, ?, ?, ?, ?)",
                (title, now, now, model, system),
            )
        return int(cursor.lastrowid or 0)

    def conversation(self, conversation_id: int) -> ConversationInfo:
        """The stored facts of one conversation.

        Raises:
            KeyError: There is no such conversation.
        """
        row = self._db.execute(
            "SELECT id, title, created, updated, model, system, active_leaf_id, deleted_at "
            "FROM conversations WHERE id = ?",
            (conversation_id,),
        ).fetchone()
        if row is None:
            raise KeyError(conversation_id)
        return ConversationInfo(*row)

    def list_conversations(
        self, limit: int = 100, offset: int = 0, *, include_deleted: bool = False
    ) -> list[ConversationSummary]:
        """The conversations, newest first.

        Args:
            limit: At most this many; negative for all.
            offset: Skip this many first (for paging).
            include_deleted: Also list soft-deleted conversations.
        """
        where = "" if include_deleted else "WHERE deleted_at IS NULL"
        rows = self._db.execute(
            "SELECT c.id, c.title, c.updated, "
            "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id), c.deleted_at "
            f"FROM conversations c {where} ORDER BY c.updated DESC, c.id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        return [ConversationSummary(*row) for row in rows]

    def rename(self, conversation_id: int, title: str) -> None:
        """Give a conversation a new title."""
        with _transaction(self._db) as db:
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def set_conversation_settings(
        self, conversation_id: int, *, model: str | None = None, system: str | None = None
    ) -> None:
        """Remember the conversation's model and system prompt."""
        with _transaction(self._db) as db:
            if model is not None:
                db.execute(
                    "UPDATE conversations SET model = ? WHERE id = ?", (model, conversation_id)
                )
            if system is not None:
                db.execute(
                    "UPDATE conversations SET system = ? WHERE id = ?", (system, conversation_id)
                )

    def delete(self, conversation_id: int) -> None:
        """Soft-delete a conversation; :meth:`undelete` brings it back."""
        with _transaction(self._db) as db:
            db.execute(
                "UPDATE conversations SET deleted_at = ? WHERE id = ?",
                (time.time(), conversation_id),
            )

    def undelete(self, conversation_id: int) -> None:
        """Undo :meth:`delete`."""
        with _transaction(self._db) as db:
            db.execute(
                "UPDATE conversations SET deleted_at = NULL WHERE id = ?", (conversation_id,)
            )

    def purge_deleted(self, older_than: float = 0.0) -> int:
        """Remove conversations deleted more than ``older_than`` seconds ago; return how many."""
        cutoff = time.time() - older_than
        with _transaction(self._db) as db:
            cursor = db.execute(
                "DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?",
                (cutoff,),
            )
        return cursor.rowcount

    # Messages ------------------------------------------------------------------

    def add_message(
        self,
        conversation_id: int,
        turn: Turn,
        parent_id: int | _Leaf | None = ACTIVE_LEAF,
        *,
        settings: Mapping[str, Any] | None = None,
    ) -> int:
        """Store ``turn`` and make it the conversation's active leaf.

        Adding under a parent that already has children makes a new version: an
        edited prompt starts a branch, a regenerated reply becomes a sibling.

        Args:
            conversation_id: The conversation.
            turn: The turn to store.
            parent_id: The message it follows; None for a first message;
                :data:`ACTIVE_LEAF` (the default) for the end of the active path.
            settings: Request settings the reply is made with; secrets are dropped.

        Returns:
            The new message's id.
        """
        now = time.time()
        with _transaction(self._db) as db:
            if parent_id is ACTIVE_LEAF:
                row = db.execute(
                    "SELECT active_leaf_id FROM conversations WHERE id = ?", (conversation_id,)
                ).fetchone()
                if row is None:
                    raise KeyError(conversation_id)
                parent = row[0]
            else:
                parent = parent_id
            ordinal = db.execute(
                "SELECT count(*) FROM messages WHERE conversation_id = ? AND parent_id IS ?",
                (conversation_id, parent),
            ).fetchone()[0]
            message_id = _insert_message(
                db, conversation_id, parent, turn, ordinal, _dumps(clean_settings(settings))
            )
            title_from = " ".join(turn.text.split())[:60] if turn.role == "user" else ""
            db.execute(
                "UPDATE conversations SET active_leaf_id = ?, updated = ?, "
                "title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?",
                (message_id, now, title_from, conversation_id),
            )
        return message_id

    def update_message(self, message_id: int, turn: Turn) -> None:
        """Save the current state of a stored turn (status, reply, error, notes)."""
        columns = _turn_columns(turn)
        with _transaction(self._db) as db:
            db.execute(
                "UPDATE messages SET content_json = ?, message_json = ?, text = ?, status = ?, "
                "error = ?, notes_json = ?, model = ? WHERE id = ?",
                (
                    columns["content_json"],
                    columns["message_json"],
                    columns["text"],
                    columns["status"],
                    columns["error"],
                    columns["notes_json"],
                    columns["model"],
                    message_id,
                ),
            )
            db.execute(
                "UPDATE conversations SET updated = ? WHERE id = "
                "(SELECT conversation_id FROM messages WHERE id = ?)",
                (time.time(), message_id),
            )

    def remove_message(self, message_id: int) -> None:
        """Delete a message and everything after it on every branch.

        The conversation's active leaf moves to the newest remaining leaf, so a
        rejected turn can simply be removed and the next send works.
        """
        with _transaction(self._db) as db:
            row = db.execute(
                "SELECT conversation_id, parent_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise KeyError(message_id)
            conversation_id, parent = row
            db.execute("DELETE FROM messages WHERE id = ?", (message_id,))
            leaf = self._newest_leaf(db, conversation_id, parent)
            db.execute(
                "UPDATE conversations SET active_leaf_id = ?, updated = ? WHERE id = ?",
                (leaf, time.time(), conversation_id),
            )

    @staticmethod
    def _newest_leaf(db: sqlite3.Connection, conversation_id: int, root: int | None) -> int | None:
        # A child is always inserted after its parent, so the largest id under a
        # message is a leaf: the most recently written end of that subtree.
        if root is None:
            row = db.execute(
                "SELECT max(id) FROM messages WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()
            return None if row[0] is None else int(row[0])
        row = db.execute(
            "WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL "
            "SELECT m.id FROM messages m JOIN sub ON m.parent_id = sub.id) "
            "SELECT max(id) FROM sub",
            (root,),
        ).fetchone()
        return int(row[0])

    def message(self, message_id: int) -> StoredTurn:
        """One stored message.

        Raises:
            KeyError: There is no such message.
        """
        row = self._db.execute(_TURN_SELECT + " WHERE m.id = ?", (message_id,)).fetchone()
        if row is None:
            raise KeyError(message_id)
        return self._stored(row)

    @staticmethod
    def _stored(row: sqlite3.Row) -> StoredTurn:
        return StoredTurn(
            row["id"], row["parent_id"], _row_turn(row), row["version"], row["versions"]
        )

    def message_settings(self, message_id: int) -> dict[str, Any]:
        """The settings a stored reply was made with."""
        row = self._db.execute(
            "SELECT settings_json FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise KeyError(message_id)
        result: dict[str, Any] = json.loads(row[0])
        return result

    def load_active_path(
        self, conversation_id: int, limit: int | None = None, before_id: int | None = None
    ) -> list[StoredTurn]:
        """The active path, oldest first; a page of it when ``limit`` is given.

        For a lazy open, ask for the last ``limit`` messages, then pass the first
        returned id as ``before_id`` to get the page before it.

        Args:
            conversation_id: The conversation.
            limit: At most this many messages, the newest of the range.
            before_id: End the range just before this message of the active path.

        Returns:
            The messages of the range in conversation order.
        """
        if before_id is None:
            row = self._db.execute(
                "SELECT active_leaf_id FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                raise KeyError(conversation_id)
            start = row[0]
        else:
            parent = self._db.execute(
                "SELECT parent_id FROM messages WHERE id = ? AND conversation_id = ?",
                (before_id, conversation_id),
            ).fetchone()
            if parent is None:
                raise KeyError(before_id)
            start = parent[0]
        if start is None:
            return []
        depth_limit = -1 if limit is None else limit
        rows = self._db.execute(
            "WITH RECURSIVE path(id, depth) AS (SELECT ?, 0 UNION ALL "
            "SELECT m.parent_id, path.depth + 1 FROM messages m JOIN path ON m.id = path.id "
            "WHERE m.parent_id IS NOT NULL LIMIT ?) "
            + _TURN_SELECT
            + " JOIN path ON path.id = m.id ORDER BY path.depth DESC",
            (start, depth_limit),
        ).fetchall()
        return [self._stored(row) for row in rows]

    def siblings(self, message_id: int) -> tuple[list[int], int]:
        """The versions of a message, oldest first, and its index among them."""
        row = self._db.execute(
            "SELECT conversation_id, parent_id FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise KeyError(message_id)
        ids = [
            r[0]
            for r in self._db.execute(
                "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS ? "
                "ORDER BY ordinal, id",
                (row[0], row[1]),
            )
        ]
        return ids, ids.index(message_id)

    def set_active(self, message_id: int) -> int:
        """Make the path through ``message_id`` active; return the new active leaf.

        The path continues to the newest leaf below the message, so switching to
        an older version shows where that version left off.
        """
        with _transaction(self._db) as db:
            row = db.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise KeyError(message_id)
            leaf = self._newest_leaf(db, row[0], message_id)
            db.execute("UPDATE conversations SET active_leaf_id = ? WHERE id = ?", (leaf, row[0]))
        assert leaf is not None
        return leaf

    def mark_streaming_interrupted(self) -> int:
        """Mark every reply still streaming as interrupted; return how many.

        Called on open: a reply can only still be streaming if Iris stopped while
        it arrived.
        """
        with _transaction(self._db) as db:
            cursor = db.execute(
                "UPDATE messages SET status = ?, error = coalesce(error, ?) "
                "WHERE status = 'streaming'",
                (TurnStatus.INTERRUPTED.value, INTERRUPTED_ERROR),
            )
        return cursor.rowcount

    # Search --------------------------------------------------------------------

    def search(
        self, query: str, limit: int = 50, *, marks: tuple[str, str] = ("[", "]")
    ) -> list[SearchHit]:
        """Full-text search over every message of every live conversation.

        The user's words are quoted, so no character has a query-syntax meaning;
        every word must match, the last one as a prefix (search as you type).

        Args:
            query: What the user typed.
            limit: At most this many hits, best first.
            marks: Put around each matched word in the snippet.
        """
        words = _WORD.findall(query)
        if not words:
            return []
        terms = ['"' + w.replace('"', '""') + '"' for w in words]
        terms[-1] += "*"
        rows = self._db.execute(
            "SELECT m.conversation_id, m.id, c.title, "
            "snippet(messages_fts, 0, ?, ?, '…', 12) "
            "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE messages_fts MATCH ? AND c.deleted_at IS NULL "
            "ORDER BY messages_fts.rank LIMIT ?",
            (marks[0], marks[1], " ".join(terms), limit),
        ).fetchall()
        return [SearchHit(*row) for row in rows]

    # Drafts --------------------------------------------------------------------

    def save_draft(
        self,
        conversation_id: int | None,
        text: str,
        attachments: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Save the unsent text and attachments of a conversation.

        ``conversation_id`` None is the draft of a conversation not started yet.
        The conversation's ``updated`` time is left alone, so typing does not
        reorder the list.
        """
        blob = _dumps([dict(a) for a in attachments])
        with _transaction(self._db) as db:
            if conversation_id is None:
                db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                    (_NEW_DRAFT_KEY, _dumps({"text": text, "attachments": json.loads(blob)})),
                )
            else:
                db.execute(
                    "UPDATE conversations SET draft_text = ?, draft_json = ? WHERE id = ?",
                    (text, blob, conversation_id),
                )

    def load_draft(self, conversation_id: int | None) -> Draft:
        """The saved draft of a conversation (None: of the one not started yet)."""
        if conversation_id is None:
            row = self._db.execute(
                "SELECT value FROM meta WHERE key = ?", (_NEW_DRAFT_KEY,)
            ).fetchone()
            if row is None:
                return Draft("", [])
            data = json.loads(row[0])
            return Draft(str(data.get("text", "")), list(data.get("attachments", [])))
        row = self._db.execute(
            "SELECT draft_text, draft_json FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise KeyError(conversation_id)
        return Draft(row[0], json.loads(row[1]))

    # Import --------------------------------------------------------------------

    def import_conversation(
        self,
        title: str,
        turns: Sequence[Turn],
        *,
        model: str = "",
        system: str = "",
        created: float | None = None,
        updated: float | None = None,
    ) -> int:
        """Store a whole linear conversation in one transaction; return its id."""
        now = time.time()
        with _transaction(self._db) as db:
            cursor = db.execute(
                "INSERT INTO conversations(title, created, updated, model, system) "
                "VALUES (?, ?, ?, ?, ?)",
                (title, created or now, updated or now, model, system),
            )
            conversation_id = int(cursor.lastrowid or 0)
            parent: int | None = None
            for turn in turns:
                parent = _insert_message(db, conversation_id, parent, turn, 0, "{}")
            db.execute(
                "UPDATE conversations SET active_leaf_id = ? WHERE id = ?",
                (parent, conversation_id),
            )
        return conversation_id

    def reply_writer(self, message_id: int, *, interval: float = WRITE_INTERVAL) -> ReplyWriter:
        """A :class:`ReplyWriter` for the stored reply ``message_id``."""
        return ReplyWriter(self.path, message_id, interval=interval)


_TURN_SELECT = (
    "SELECT m.id, m.parent_id, m.role, m.content_json, m.message_json, m.status, m.error, "
    "m.notes_json, m.model, m.created, "
    "(SELECT count(*) FROM messages s WHERE s.conversation_id = m.conversation_id "
    "AND s.parent_id IS m.parent_id AND (s.ordinal < m.ordinal "
    "OR (s.ordinal = m.ordinal AND s.id <= m.id))) AS version, "
    "(SELECT count(*) FROM messages s WHERE s.conversation_id = m.conversation_id "
    "AND s.parent_id IS m.parent_id) AS versions "
    "FROM messages m"
)


@dataclasses.dataclass
class _Snapshot:
    message: dict[str, Any]
    text: str
    status: TurnStatus
    error: str | None


_STOP = object()


class ReplyWriter:
    """Saves one streaming reply while it arrives, off the caller's thread.

    :meth:`update` only remembers the message; at most once per ``interval`` it
    takes a snapshot (on the caller's thread, where the message is changed) and
    hands it to a writer thread with its own connection, so the caller never
    waits for the disk. :meth:`block_stopped` writes at once; :meth:`finish`
    writes the final state and waits for it.

    A caller whose stream may stay silent should call :meth:`flush` from a
    one-second timer, so the last pieces before a long pause are saved too.
    """

    def __init__(self, path: Path, message_id: int, *, interval: float = WRITE_INTERVAL) -> None:
        """Start the writer thread for the stored reply ``message_id``."""
        self.path = Path(path)
        self.message_id = message_id
        self.interval = interval
        self.writes = 0
        self._latest: Message | None = None
        self._dirty = False
        self._last_write = time.monotonic()
        self._queue: queue.SimpleQueue[_Snapshot | object] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._finished = False
        self._thread = threading.Thread(
            target=self._run, name=f"reply-writer-{message_id}", daemon=True
        )
        self._thread.start()

    @property
    def error(self) -> BaseException | None:
        """The error that stopped the writer thread, if any."""
        return self._error

    def update(self, message: Message) -> None:
        """Note the latest state of the reply; write it if a second has passed."""
        self._latest = message
        self._dirty = True
        if time.monotonic() - self._last_write >= self.interval:
            self._submit(TurnStatus.STREAMING, None)

    def flush(self) -> None:
        """Write the latest state now if it changed since the last write."""
        if self._dirty:
            self._submit(TurnStatus.STREAMING, None)

    def block_stopped(self, message: Message | None = None) -> None:
        """A content block ended: write the reply now."""
        if message is not None:
            self._latest = message
        self._submit(TurnStatus.STREAMING, None)

    def finish(
        self,
        status: TurnStatus,
        message: Message | None = None,
        error: str | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        """Write the final state with ``status`` and stop the writer thread.

        Waits until the write is committed (a few milliseconds).

        Raises:
            Exception: Whatever made the writer thread fail.
        """
        if self._finished:
            return
        self._finished = True
        if message is not None:
            self._latest = message
        self._submit(status, error, force=True)
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._error is not None:
            raise self._error

    def _submit(self, status: TurnStatus, error: str | None, *, force: bool = False) -> None:
        message = self._latest
        if message is None or (self._finished and not force):
            return
        # The snapshot is taken here because the stream changes the message on this
        # thread; reading it from the writer thread could race with an append.
        self._queue.put(_Snapshot(message.to_dict(), turn_text(_reply(message)), status, error))
        self._dirty = False
        self._last_write = time.monotonic()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            connection = _connect(self.path)
            connection.execute("PRAGMA foreign_keys = ON")
            stop = False
            while not stop:
                item = self._queue.get()
                latest: _Snapshot | None = None
                # Only the newest snapshot matters: skip any that queued up meanwhile.
                while True:
                    if item is _STOP:
                        stop = True
                    elif isinstance(item, _Snapshot):
                        latest = item
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if latest is not None:
                    self._write(connection, latest)
        except BaseException as exc:  # reported by finish()
            self._error = exc
        finally:
            if connection is not None:
                connection.close()

    def _write(self, connection: sqlite3.Connection, snapshot: _Snapshot) -> None:
        with _transaction(connection) as db:
            db.execute(
                "UPDATE messages SET message_json = ?, text = ?, status = ?, "
                "error = coalesce(?, error) WHERE id = ?",
                (
                    _dumps(snapshot.message),
                    snapshot.text,
                    snapshot.status.value,
                    snapshot.error,
                    self.message_id,
                ),
            )
            db.execute(
                "UPDATE conversations SET updated = ? WHERE id = "
                "(SELECT conversation_id FROM messages WHERE id = ?)",
                (time.time(), self.message_id),
            )
        self.writes += 1


def _reply(message: Message) -> Turn:
    return Turn("assistant", message=message)


# Choosing the current file -------------------------------------------------------


def current_store_path(data_dir: Path) -> Path:
    """The history file in use in ``data_dir``.

    Normally ``history.sqlite3``; after a store could not be opened, the fresh
    one named in ``history.current``.
    """
    pointer = data_dir / POINTER_NAME
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        name = ""
    if name and "/" not in name and "\\" not in name and name not in (".", ".."):
        return data_dir / name
    return data_dir / STORE_NAME


def open_or_start_fresh(data_dir: Path) -> tuple[HistoryStore, str | None]:
    """Open the current history in ``data_dir``, or a fresh one beside a bad one.

    A store that is damaged or from a newer Iris is left exactly as it is; a new
    store with a time-stamped name is started and remembered as current.

    Args:
        data_dir: The data folder.

    Returns:
        The open store, and a message for the user when a fresh store was started
        (or the old one was migrated and backed up), else None.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = current_store_path(data_dir)
    try:
        store = HistoryStore.open(path)
    except StoreUnavailableError as exc:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        fresh = data_dir / f"history-{stamp}.sqlite3"
        counter = 1
        while fresh.exists():
            fresh = data_dir / f"history-{stamp}-{counter}.sqlite3"
            counter += 1
        store = HistoryStore.open(fresh)
        temporary = data_dir / (POINTER_NAME + ".tmp")
        temporary.write_text(fresh.name + "\n", encoding="utf-8")
        os.replace(temporary, data_dir / POINTER_NAME)
        why = (
            "was written by a newer version of Iris"
            if isinstance(exc, NewerStoreError)
            else ("is damaged")
        )
        return store, (
            f"Your conversation history {why}, so Iris started a new one. "
            f"The old file was left untouched: {exc.path}"
        )
    if store.backup is not None:
        return store, f"Your history was upgraded; a copy of the old file is at {store.backup}"
    return store, None
