"""Durable conversation history: SQLite in the data folder, Qt-free.

One file holds every conversation, every message with all its content blocks
(prepared images included, as base64, so a reloaded conversation can be sent
again), usage and model, the settings each reply was asked for with (model,
max tokens, sampling, stop sequences, system prompt, caching; never a key or a
header), the settings each conversation asks for differently from the global
ones, plus drafts.

Messages form a tree: editing a past prompt or regenerating a reply adds a
sibling, and each conversation remembers the leaf of its active path. Only the
active path is shown and sent.

Safety rules:

* Every write is one transaction; the file runs in WAL mode.
* A file that is corrupt, not a database, or from a newer Iris is never written
  to: it is checked through a read-only connection before anything else, and
  :func:`open_or_start_fresh` starts a new store beside it.
* Any other failure (busy, read-only, a full or failing disk) raises a
  :class:`~desktop_app.core.errors.StoreAccessError` naming the real cause; the
  file is never set aside for it.
* A purge leaves no byte of what it removed in the file, its WAL or the
  full-text index (``secure_delete``, an FTS ``optimize``, a WAL checkpoint).
* Before a migration runs, the file is copied with SQLite's backup API.
* A streamed reply is saved by :class:`ReplyWriter` at least once a second and at
  every block stop; on the next open, a reply still marked streaming becomes
  interrupted.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, NamedTuple, ParamSpec, Self, TypeVar

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.conversation.options import ConversationOverrides
from desktop_app.core.conversation.ports import Draft
from desktop_app.core.errors import (
    CorruptStoreError,
    NewerStoreError,
    StoreBusyError,
    StoreReadOnlyError,
)
from desktop_app.core.history.reply_writer import WRITE_INTERVAL, ReplyWriter
from desktop_app.core.history.schema import (
    MIGRATIONS,
    SCHEMA_V3,
    SCHEMA_VERSION,
    TURN_SELECT,
    backup_path,
    clean_settings,
    configure,
    connect,
    connect_memory,
    create_private,
    dumps,
    insert_message,
    make_private,
    os_store_error,
    read_version,
    row_turn,
    store_error,
    take_backup,
    transaction,
    turn_columns,
)
from desktop_app.core.wire.blocks import ContentBlock, Role, blocks_from_dicts, blocks_to_dicts

log = logging.getLogger("iris.history")
_P = ParamSpec("_P")
_R = TypeVar("_R")
# Opening tries this many times when another program holds the lock.
OPEN_ATTEMPTS = 2
MEMORY_PATH = Path("(not saved)")

INTERRUPTED_ERROR = "Iris closed before this reply was complete. What arrived is kept."
_NEW_DRAFT_KEY = "draft.new"
_WORD = re.compile(r"\w+", re.UNICODE)


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


def _guarded(
    method: Callable[Concatenate[HistoryStore, _P], _R],
) -> Callable[Concatenate[HistoryStore, _P], _R]:
    """Turn SQLite's errors into the store's typed, plain-language ones."""

    @functools.wraps(method)
    def guarded(store: HistoryStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(store, *args, **kwargs)
        except sqlite3.Error as exc:
            typed = store_error(exc, store.path)
            if typed is None:
                raise
            if isinstance(typed, StoreReadOnlyError) and store.read_only_reason:
                # Say why it is read-only: the folder may well be writable.
                typed = StoreReadOnlyError(
                    "Your conversation history is open read-only, so this was not saved. "
                    f"When Iris started: {store.read_only_reason}",
                    store.path,
                )
            raise typed from exc

    return guarded


class HistoryStore:
    """The conversation history in one SQLite file.

    Use it from one thread at a time; :class:`ReplyWriter` writes streamed
    replies from its own thread and connection.

    Attributes:
        path: The file (:data:`MEMORY_PATH` for a store kept in memory).
        backup: The copy taken before a migration on this open, if any.
        read_only: Opened read-only: every change raises StoreReadOnlyError.
        read_only_reason: Why it was opened read-only, when that was not asked
            for; every refused change says it.
        in_memory: Kept in memory only; nothing outlives :meth:`close`.
    """

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        *,
        read_only: bool = False,
        memory_name: str | None = None,
    ) -> None:
        """Wrap an open, configured connection; use :meth:`open` instead."""
        self._db = connection
        self.path = path
        self.backup: Path | None = None
        self.read_only = read_only
        self.read_only_reason: str | None = None
        self._memory_name = memory_name

    @property
    def in_memory(self) -> bool:
        """True for a store kept in memory, which nothing is saved from."""
        return self._memory_name is not None

    @classmethod
    def open(cls, path: Path | str, *, read_only: bool = False) -> HistoryStore:
        """Open (or create) the store at ``path``, migrating an older schema.

        Replies left streaming by a crash are marked interrupted, unless another
        program holds the file: they may still be streaming there.

        Args:
            path: The database file.
            read_only: Only read: never create, migrate, recover or lock the file.

        Returns:
            The open store.

        Raises:
            CorruptStoreError: The file is damaged or not ours; it was not touched.
            NewerStoreError: A newer Iris wrote it; it was not touched.
            StoreAccessError: The disk or another program kept Iris from using
                the file (busy, read-only, full, failing); it was not touched.
        """
        return cls._open_retrying(Path(path), read_only=read_only, upgrade=False)

    @classmethod
    def open_for_reading(cls, path: Path | str) -> HistoryStore:
        """Open to list or export: read-only, unless an older file must be upgraded first."""
        return cls._open_retrying(Path(path), read_only=True, upgrade=True)

    @classmethod
    def _open_retrying(cls, path: Path, *, read_only: bool, upgrade: bool) -> HistoryStore:
        attempt = 1
        while True:
            try:
                return cls._open(path, read_only=read_only, upgrade=upgrade)
            except StoreBusyError:
                if attempt >= OPEN_ATTEMPTS:
                    raise
                attempt += 1

    @classmethod
    def in_memory_store(cls) -> HistoryStore:
        """An empty store kept in memory, for when no file can be used at all."""
        name = f"iris-unsaved-{uuid.uuid4().hex}"
        store = cls(connect_memory(name), MEMORY_PATH, memory_name=name)
        store._create()
        return store

    @classmethod
    def _open(cls, path: Path, *, read_only: bool, upgrade: bool) -> HistoryStore:
        try:
            exists = path.exists()
        except OSError as exc:  # the folder cannot be searched
            raise os_store_error(exc, path, reading=True) from exc
        version = read_version(path) if exists else None
        if version is not None and version > SCHEMA_VERSION:
            raise NewerStoreError(
                f"{path} was written by a newer version of Iris (history format {version}; "
                f"this version reads up to {SCHEMA_VERSION}).",
                path,
            )
        if version is not None and version not in MIGRATIONS and version != SCHEMA_VERSION:
            raise CorruptStoreError(f"{path} has an unknown history format {version}.", path)
        if read_only and not (upgrade and (version is None or version < SCHEMA_VERSION)):
            return cls._open_read_only(path, version)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            create_private(path)
        except OSError as exc:
            raise os_store_error(exc, path) from exc
        make_private(path)
        connection: sqlite3.Connection | None = None
        try:
            connection = connect(path)
            store = cls(connection, path)
            if version is None:
                configure(connection)
                store._create()
            else:
                if version < SCHEMA_VERSION:
                    store.backup = backup_path(path, version)
                    take_backup(connection, store.backup)
                configure(connection)
                store._migrate(version)
            store._recover_interrupted()
        except sqlite3.Error as exc:
            if connection is not None:
                connection.close()
            typed = store_error(exc, path)
            if typed is None:
                raise
            raise typed from exc
        except OSError as exc:  # the backup copy could not be made
            if connection is not None:
                connection.close()
            raise os_store_error(exc, path) from exc
        except BaseException:
            if connection is not None:
                connection.close()
            raise
        return store

    @classmethod
    def _open_read_only(cls, path: Path, version: int | None) -> HistoryStore:
        if version is None:
            raise StoreReadOnlyError(f"There is no conversation history in {path} to read.", path)
        if version != SCHEMA_VERSION:
            raise StoreReadOnlyError(
                f"{path} must be upgraded to this version of Iris before it can be read, "
                "and it cannot be written.",
                path,
            )
        try:
            connection = connect(path, read_only=True)
        except sqlite3.Error as exc:
            typed = store_error(exc, path)
            if typed is None:
                raise
            raise typed from exc
        return cls(connection, path, read_only=True)

    def _recover_interrupted(self) -> None:
        # Look first: when nothing is left streaming, opening takes no write lock,
        # so it works while another program (a long import) is writing.
        if self._db.execute(
            "SELECT 1 FROM messages WHERE status = 'streaming' LIMIT 1"
        ).fetchone():
            try:
                self.mark_streaming_interrupted()
            except StoreBusyError:
                # Another program holds the file; its replies may really be streaming.
                log.info("history busy: streaming replies left for the next open")

    def _create(self) -> None:
        with transaction(self._db) as db:
            for statement in SCHEMA_V3:
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
                with transaction(self._db) as db:
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
    @_guarded
    def schema_version(self) -> int:
        """The schema version of the open file."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0])

    # Conversations -------------------------------------------------------------

    @_guarded
    def create_conversation(
        self,
        title: str = "",
        *,
        model: str = "",
        system: str = "",
        take_new_draft: bool = False,
        overrides: ConversationOverrides | None = None,
    ) -> int:
        """Add an empty conversation and return its id.

        With ``take_new_draft``, the draft kept for "a conversation not started
        yet" is cleared in the same transaction: it is being sent now, and must
        not come back as the draft of the next new conversation. ``overrides``
        are the settings it asks for differently from the global ones.
        """
        now = time.time()
        own = dumps((overrides or ConversationOverrides()).to_dict())
        with transaction(self._db) as db:
            cursor = db.execute(
                "INSERT INTO conversations(title, created, updated, model, system, "
                "overrides_json) VALUES (?, ?, ?, ?, ?, ?)",
                (title, now, now, model, system, own),
            )
            if take_new_draft:
                db.execute("DELETE FROM meta WHERE key = ?", (_NEW_DRAFT_KEY,))
        return int(cursor.lastrowid or 0)

    @_guarded
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

    @_guarded
    def overrides(self, conversation_id: int) -> ConversationOverrides:
        """The settings a conversation asks for differently from the global ones.

        A stored value Iris cannot use (written by hand, say) is left out, so the
        global setting applies to it.

        Raises:
            KeyError: There is no such conversation.
        """
        row = self._db.execute(
            "SELECT overrides_json FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise KeyError(conversation_id)
        try:
            data = json.loads(row[0])
        except (TypeError, ValueError, RecursionError):
            log.warning(
                "conversation %d has unreadable settings; the defaults apply", conversation_id
            )
            return ConversationOverrides()
        return ConversationOverrides.from_dict(data)

    @_guarded
    def set_overrides(self, conversation_id: int, overrides: ConversationOverrides) -> None:
        """Keep the settings a conversation asks for differently from the global ones.

        Its ``updated`` time is left alone: changing settings does not reorder the list.
        """
        with transaction(self._db) as db:
            db.execute(
                "UPDATE conversations SET overrides_json = ? WHERE id = ?",
                (dumps(overrides.to_dict()), conversation_id),
            )

    @_guarded
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

    @_guarded
    def rename(self, conversation_id: int, title: str) -> None:
        """Give a conversation a new title."""
        with transaction(self._db) as db:
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    @_guarded
    def delete(self, conversation_id: int) -> None:
        """Soft-delete a conversation; :meth:`undelete` brings it back."""
        with transaction(self._db) as db:
            db.execute(
                "UPDATE conversations SET deleted_at = ? WHERE id = ?",
                (time.time(), conversation_id),
            )

    @_guarded
    def undelete(self, conversation_id: int) -> None:
        """Undo :meth:`delete`."""
        with transaction(self._db) as db:
            db.execute(
                "UPDATE conversations SET deleted_at = NULL WHERE id = ?", (conversation_id,)
            )

    @_guarded
    def purge_deleted(self, older_than: float = 0.0, *, conversation_id: int | None = None) -> int:
        """Remove conversations deleted more than ``older_than`` seconds ago for good.

        Nothing of them remains in the file afterwards (see :meth:`purge`).

        Args:
            older_than: Keep ones deleted more recently than this (their Undo may
                still be offered).
            conversation_id: Only this conversation, if it is still deleted.

        Returns:
            How many were removed.
        """
        cutoff = time.time() - older_than
        with transaction(self._db) as db:
            cursor = db.execute(
                "DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ? "
                "AND (? IS NULL OR id = ?)",
                (cutoff, conversation_id, conversation_id),
            )
        if cursor.rowcount:
            self._scrub()
        return cursor.rowcount

    @_guarded
    def purge(self, conversation_id: int) -> None:
        """Remove a conversation for good now, deleted or not, and scrub the file.

        Raises:
            KeyError: There is no such conversation.
        """
        with transaction(self._db) as db:
            cursor = db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            if not cursor.rowcount:
                raise KeyError(conversation_id)
        self._scrub()

    def _scrub(self) -> None:
        """Leave no trace of removed rows in the full-text index and the WAL.

        ``secure_delete`` has zeroed the freed space in the pages; merging the
        index segments drops the removed words from it, and a truncating
        checkpoint copies the clean pages home and empties the WAL, which still
        holds the old page images.
        """
        if self.in_memory:
            return
        with transaction(self._db) as db:
            db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
        busy, _frames, _copied = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            # A reader elsewhere still uses old pages; the next purge or close retries.
            log.info("history checkpoint deferred: the file is in use")

    # Messages ------------------------------------------------------------------

    @_guarded
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
        with transaction(self._db) as db:
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
            message_id = insert_message(
                db, conversation_id, parent, turn, ordinal, dumps(clean_settings(settings))
            )
            title_from = " ".join(turn.text.split())[:60] if turn.role is Role.USER else ""
            db.execute(
                "UPDATE conversations SET active_leaf_id = ?, updated = ?, "
                "title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?",
                (message_id, now, title_from, conversation_id),
            )
        return message_id

    @_guarded
    def update_message(self, message_id: int, turn: Turn) -> None:
        """Save the current state of a stored turn (status, reply, error, notes)."""
        columns = turn_columns(turn)
        with transaction(self._db) as db:
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

    @_guarded
    def remove_message(self, message_id: int) -> None:
        """Delete a message and everything after it on every branch.

        The conversation's active leaf moves to the newest remaining leaf, so a
        rejected turn can simply be removed and the next send works.
        """
        with transaction(self._db) as db:
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

    @_guarded
    def message(self, message_id: int) -> StoredTurn:
        """One stored message.

        Raises:
            KeyError: There is no such message.
        """
        row = self._db.execute(TURN_SELECT + " WHERE m.id = ?", (message_id,)).fetchone()
        if row is None:
            raise KeyError(message_id)
        return self._stored(row)

    @staticmethod
    def _stored(row: sqlite3.Row) -> StoredTurn:
        return StoredTurn(
            row["id"], row["parent_id"], row_turn(row), row["version"], row["versions"]
        )

    @_guarded
    def message_settings(self, message_id: int) -> dict[str, Any]:
        """The settings a stored reply was made with."""
        row = self._db.execute(
            "SELECT settings_json FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise KeyError(message_id)
        result: dict[str, Any] = json.loads(row[0])
        return result

    @_guarded
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
            + TURN_SELECT
            + " JOIN path ON path.id = m.id ORDER BY path.depth DESC",
            (start, depth_limit),
        ).fetchall()
        return [self._stored(row) for row in rows]

    @_guarded
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

    @_guarded
    def set_active(self, message_id: int) -> int:
        """Make the path through ``message_id`` active; return the new active leaf.

        The path continues to the newest leaf below the message, so switching to
        an older version shows where that version left off.
        """
        with transaction(self._db) as db:
            row = db.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise KeyError(message_id)
            leaf = self._newest_leaf(db, row[0], message_id)
            db.execute("UPDATE conversations SET active_leaf_id = ? WHERE id = ?", (leaf, row[0]))
        assert leaf is not None
        return leaf

    @_guarded
    def mark_streaming_interrupted(self) -> int:
        """Mark every reply still streaming as interrupted; return how many.

        Called on open: a reply can only still be streaming if Iris stopped while
        it arrived.
        """
        with transaction(self._db) as db:
            cursor = db.execute(
                "UPDATE messages SET status = ?, error = coalesce(error, ?) "
                "WHERE status = 'streaming'",
                (TurnStatus.INTERRUPTED.value, INTERRUPTED_ERROR),
            )
        return cursor.rowcount

    # Search --------------------------------------------------------------------

    @_guarded
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

    @_guarded
    def save_draft(
        self,
        conversation_id: int | None,
        text: str,
        attachments: Sequence[ContentBlock] = (),
    ) -> None:
        """Save the unsent text and attachments of a conversation.

        ``conversation_id`` None is the draft of a conversation not started yet.
        The conversation's ``updated`` time is left alone, so typing does not
        reorder the list.
        """
        blob = dumps(blocks_to_dicts(attachments))
        with transaction(self._db) as db:
            if conversation_id is None:
                db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                    (_NEW_DRAFT_KEY, dumps({"text": text, "attachments": json.loads(blob)})),
                )
            else:
                db.execute(
                    "UPDATE conversations SET draft_text = ?, draft_json = ? WHERE id = ?",
                    (text, blob, conversation_id),
                )

    @_guarded
    def load_draft(self, conversation_id: int | None) -> Draft:
        """The saved draft of a conversation (None: of the one not started yet)."""
        if conversation_id is None:
            row = self._db.execute(
                "SELECT value FROM meta WHERE key = ?", (_NEW_DRAFT_KEY,)
            ).fetchone()
            if row is None:
                return Draft("", [])
            data = json.loads(row[0])
            return Draft(str(data.get("text", "")), blocks_from_dicts(data.get("attachments", [])))
        row = self._db.execute(
            "SELECT draft_text, draft_json FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise KeyError(conversation_id)
        return Draft(row[0], blocks_from_dicts(json.loads(row[1])))

    # Import --------------------------------------------------------------------

    @_guarded
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
        with transaction(self._db) as db:
            cursor = db.execute(
                "INSERT INTO conversations(title, created, updated, model, system) "
                "VALUES (?, ?, ?, ?, ?)",
                (title, created or now, updated or now, model, system),
            )
            conversation_id = int(cursor.lastrowid or 0)
            parent: int | None = None
            for turn in turns:
                parent = insert_message(db, conversation_id, parent, turn, 0, "{}")
            db.execute(
                "UPDATE conversations SET active_leaf_id = ? WHERE id = ?",
                (parent, conversation_id),
            )
        return conversation_id

    def reply_writer(
        self,
        message_id: int,
        *,
        interval: float = WRITE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> ReplyWriter:
        """A :class:`ReplyWriter` for the stored reply ``message_id``."""
        name = self._memory_name
        opener = None if name is None else functools.partial(connect_memory, name)
        return ReplyWriter(self.path, message_id, interval=interval, clock=clock, opener=opener)
