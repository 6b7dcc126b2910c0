"""The history file's format: schema, migrations, connections and row mapping.

Safety rules:

* Every write is one transaction; the file runs in WAL mode.
* A file that is corrupt, not a database, or from a newer Iris is never written
  to: it is checked through a read-only connection before anything else.
* Before a migration runs, the file is copied with SQLite's backup API.
* Only a bad header or a failed ``quick_check`` means damage. A busy, read-only,
  full or failing disk is reported as such (:func:`store_error`), by SQLite's
  error codes, and never makes Iris set the file aside.
* The files are private (0600) and written with ``secure_delete`` on, so
  deleted text is overwritten, not just unlinked from the b-tree.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.errors import (
    CorruptStoreError,
    ProtocolError,
    StoreBusyError,
    StoreError,
    StoreFullError,
    StoreIOError,
    StoreReadOnlyError,
)
from desktop_app.core.wire.blocks import (
    ContentBlock,
    OtherBlock,
    Role,
    blocks_from_dicts,
    blocks_to_dicts,
)
from desktop_app.core.wire.message import Message

SCHEMA_VERSION = 3
# How long one statement waits for another connection's lock before SQLite says busy.
BUSY_TIMEOUT_MS = 5000
# A shared-cache (in-memory) database reports a lock at once, without waiting.
_LOCKED_RETRY_SECONDS = 0.005
# A disk with less room than this that fails a write is full, whatever SQLite
# calls it (it cannot grow the WAL index, say, and reports an I/O error).
_NEARLY_FULL_BYTES = 1 << 20
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


# Version 3: the settings a conversation asks for differently from the global
# ones (see ConversationOverrides), as a JSON object; '{}' uses the defaults.
# The conversation's model and system columns keep recording what it started with.
_ADD_OVERRIDES = "ALTER TABLE conversations ADD COLUMN overrides_json TEXT NOT NULL DEFAULT '{}'"

SCHEMA_V3 = (*SCHEMA_V2, _ADD_OVERRIDES)
"""A new file's schema: built as a migrated one is, so both have the same shape."""


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


UNREADABLE_PART = (
    "Part of this message was stored in a form Iris cannot read; it is kept as it was."
)


def row_turn(row: sqlite3.Row) -> Turn:
    """The turn a stored row holds.

    A row written from a malformed reply (by an Iris that accepted more) still
    loads: what cannot be read is kept verbatim and the turn is marked failed, so
    one bad message never closes a whole conversation, nor goes to the service.
    """
    raw_content = json.loads(row["content_json"])
    raw_message = None if row["message_json"] is None else json.loads(row["message_json"])
    status, error = TurnStatus(row["status"]), row["error"]
    try:
        content = blocks_from_dicts(raw_content)
    except ProtocolError:
        content = _verbatim(raw_content)
        status, error = TurnStatus.FAILED, UNREADABLE_PART
    message = None
    if raw_message is not None:
        try:
            message = Message.from_dict(raw_message)
        except ProtocolError:
            raw_blocks = raw_message.get("content") if isinstance(raw_message, dict) else None
            message = Message(content=_verbatim(raw_blocks))
            status, error = TurnStatus.FAILED, UNREADABLE_PART
    return Turn(
        role=Role(row["role"]),
        content=content,
        message=message,
        status=status,
        error=error,
        notes=json.loads(row["notes_json"]),
        model=row["model"],
        created=row["created"],
    )


def _verbatim(raw: Any) -> list[ContentBlock]:
    items = raw if isinstance(raw, list) else []
    return [OtherBlock(dict(item)) for item in items if isinstance(item, dict)]


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection to the history file, in autocommit mode.

    A read-only connection that cannot make the WAL index beside the file (its
    folder is read-only, its disk full) reads the file as immutable: nothing can
    write there meanwhile, so nothing can change under it.
    """
    if read_only:
        uri = Path(path).absolute().as_uri()
        connection = _open_uri(uri + "?mode=ro")
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            connection.close()
            # No WAL index can be made beside it (a read-only folder, a full disk).
            if _primary(exc) not in (
                sqlite3.SQLITE_READONLY,
                sqlite3.SQLITE_CANTOPEN,
                sqlite3.SQLITE_IOERR,
                sqlite3.SQLITE_FULL,
            ):
                raise
            connection = _open_uri(uri + "?immutable=1")
    else:
        # Autocommit mode: transactions are opened explicitly, so none is left open
        # by accident and each write is exactly one transaction.
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Deleted and overwritten content is zeroed, so a purge leaves nothing behind.
        connection.execute("PRAGMA secure_delete = ON")
    connection.row_factory = sqlite3.Row
    return connection


def _open_uri(uri: str) -> sqlite3.Connection:
    connection = sqlite3.connect(uri, uri=True, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


def connect_memory(name: str) -> sqlite3.Connection:
    """A connection to the shared in-memory database ``name``.

    Every connection to the same name (the store's and a reply writer's, from
    other threads) sees the same data while at least one stays open.
    """
    connection = sqlite3.connect(
        f"file:{name}?mode=memory&cache=shared", uri=True, isolation_level=None
    )
    connection.row_factory = sqlite3.Row
    # Reads take no table locks, so only writers wait for each other.
    connection.execute("PRAGMA read_uncommitted = 1")
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def configure(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA journal_mode = WAL")
    # With WAL, NORMAL keeps the database consistent through a crash or power cut;
    # the last commits may be lost on power loss, never on a process kill.
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA foreign_keys = ON")


@contextlib.contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    _begin(connection)
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        # SQLite has already rolled back after some errors (a full disk, say); a
        # second ROLLBACK would raise over the real error.
        if connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
        raise


def _begin(connection: sqlite3.Connection) -> None:
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            # Only a shared-cache database says "locked"; a file waits in SQLite
            # itself (busy_timeout) and says "busy".
            if _primary(exc) != sqlite3.SQLITE_LOCKED or time.monotonic() >= deadline:
                raise
        time.sleep(_LOCKED_RETRY_SECONDS)


def _primary(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_busy(exc: BaseException) -> bool:
    """True for an error that only means another connection held the lock."""
    if isinstance(exc, StoreBusyError):
        return True
    return isinstance(exc, sqlite3.Error) and _primary(exc) in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


def store_error(exc: sqlite3.Error, path: Path) -> StoreError | None:
    """The plain-language error for an SQLite failure on the history file at ``path``.

    Told apart by SQLite's result code, never by the message text.

    Args:
        exc: What SQLite raised.
        path: The history file.

    Returns:
        The typed error to raise instead, or None for an error without a code
        (a programming error, which should surface as it is).
    """
    code = _primary(exc)
    if code is None:
        return None
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreBusyError(
            "Your conversation history is in use by another Iris window or an "
            "'iris history' command, and it stayed busy too long. Try again in a moment.",
            path,
        )
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        return _read_only(path)
    if code == sqlite3.SQLITE_FULL:
        return _full(path)
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return CorruptStoreError(f"{path} is damaged.", path)
    if code == sqlite3.SQLITE_CANTOPEN:
        return StoreIOError(f"Iris could not open its conversation history {path}.", path)
    if code == sqlite3.SQLITE_IOERR and _nearly_full(path):
        return _full(path)
    if code in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL):
        return StoreIOError(
            f"The disk failed while Iris read or wrote its conversation history {path}.", path
        )
    return StoreError(
        f"Iris could not use its conversation history ({exc.sqlite_errorname or code})."
    )


def os_store_error(exc: OSError, path: Path, *, reading: bool = False) -> StoreError:
    """The plain-language error for an OS failure on a history file, told by errno.

    Args:
        exc: What the OS raised.
        path: The file (or folder) it concerned.
        reading: The failure happened while only reading.
    """
    number = exc.errno
    if number in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return _full(path)
    if number == errno.EROFS or (number in (errno.EACCES, errno.EPERM) and not reading):
        return _read_only(path)
    if number in (errno.EACCES, errno.EPERM):
        return StoreIOError(
            f"Iris is not allowed to read its conversation history in {path.parent}. "
            "Check the folder's permissions.",
            path,
        )
    why = f" ({exc.strerror})" if exc.strerror else ""
    return StoreIOError(
        f"Iris could not use its conversation history in {path.parent}{why}.", path
    )


def _nearly_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < _NEARLY_FULL_BYTES
    except OSError:
        return False


def _read_only(path: Path) -> StoreReadOnlyError:
    return StoreReadOnlyError(
        f"Iris cannot save to its conversation history: the folder {path.parent} "
        "or the history file in it is read-only.",
        path,
    )


def _full(path: Path) -> StoreFullError:
    return StoreFullError(
        f"The disk that holds your conversation history ({path.parent}) is full, "
        "so Iris could not save. Free some space and try again.",
        path,
    )


def create_private(path: Path) -> None:
    """Create ``path`` empty and readable by its owner only, unless it exists.

    SQLite gives the -wal and -shm files the main file's permissions.
    """
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))


def make_private(path: Path) -> None:
    """Take group and other permissions away from a history file and its -wal/-shm."""
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
            if mode & 0o077:
                candidate.chmod(mode & 0o700)
        except OSError:  # missing, or on a read-only disk: nothing to tighten
            continue


def read_version(path: Path) -> int | None:
    """The schema version of the file at ``path``; None for an empty database.

    Raises:
        CorruptStoreError: The header is not SQLite's, ``quick_check`` fails, or
            the file is not an Iris history.
        StoreAccessError: The file could not be read (busy, permissions, disk):
            this says nothing about the file being damaged.
    """
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise os_store_error(exc, path, reading=True) from exc
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
    except sqlite3.Error as exc:
        typed = store_error(exc, path)
        if typed is None:
            raise
        if isinstance(typed, CorruptStoreError):
            raise CorruptStoreError(f"{path} is damaged or not a database.", path) from exc
        raise typed from exc
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
    create_private(target)
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


def migrate_2_to_3(connection: sqlite3.Connection) -> None:
    """Give each conversation its own settings, none at first (runs in the caller's transaction).

    Version 2 files record in ``model`` and ``system`` what a conversation
    started with, not choices made for it, so they stay as they are and no
    conversation starts with overrides.

    Args:
        connection: An open connection inside a transaction.
    """
    connection.execute(_ADD_OVERRIDES)


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: migrate_1_to_2,
    2: migrate_2_to_3,
}


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
