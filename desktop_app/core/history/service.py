"""The history store on its own worker thread, for asyncio callers; Qt-free.

SQLite connections belong to the thread that made them, and the UI thread must
never wait on the disk, so one worker thread owns the :class:`HistoryStore` and
every call goes through :meth:`HistoryService.call`.

A store that cannot be used never stops the app: :meth:`HistoryService.open`
falls back to reading it, or to a store in memory, and returns a message that
says why. Calls that then fail raise the typed
:class:`~desktop_app.core.errors.StoreError` whose text can be shown as it is.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.conversation.options import ConversationOverrides
from desktop_app.core.conversation.ports import (
    Draft,
    LoadedConversation,
    LoadedTurn,
    ReplySaver,
    StoredVersion,
)
from desktop_app.core.errors import StoreClosedError, StoreError
from desktop_app.core.history.files import open_or_start_fresh, write_private
from desktop_app.core.history.io import export_json, export_markdown, import_json
from desktop_app.core.history.reply_writer import ReplyWriter
from desktop_app.core.history.schema import store_error
from desktop_app.core.history.store import ConversationSummary, HistoryStore, SearchHit
from desktop_app.core.observable import Event
from desktop_app.core.wire.blocks import ContentBlock
from desktop_app.core.wire.message import Message

T = TypeVar("T")
LAST_CONVERSATION_FILE = "last-conversation"
# How long a deleted conversation can be brought back before it is purged.
UNDO_SECONDS = 15.0
log = logging.getLogger("iris.history")


class HistoryService:
    """Owns the history store on one worker thread.

    Events:
        conversations_changed: The list of conversations changed (new, renamed,
            deleted, imported); emitted on the event loop's thread.
    """

    def __init__(self, data_dir: Path) -> None:
        """Prepare the worker; :meth:`open` opens the store."""
        self.conversations_changed: Event[[]] = Event()
        self.data_dir = data_dir
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "iris-history")
        self._store: HistoryStore | None = None
        self._opening: asyncio.Future[str | None] | None = None
        self._closed = False

    @property
    def is_open(self) -> bool:
        """True once the store is open."""
        return self._store is not None

    async def open(self) -> str | None:
        """Open the store (once); return a message for the user, if there is one."""
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open())
        return await asyncio.shield(self._opening)

    @property
    def saves(self) -> bool:
        """True when changes are saved to the history file (not read-only, not in memory)."""
        store = self._store
        return store is not None and not store.read_only and not store.in_memory

    async def _open(self) -> str | None:
        def work() -> tuple[HistoryStore, str | None]:
            store, message = open_or_start_fresh(self.data_dir)
            if not store.read_only:
                # Deleted in an earlier run and never purged (a crash, say): purge now.
                # Recent ones are left: another window may still offer their Undo.
                _purge(store, UNDO_SECONDS)
            return store, message

        loop = asyncio.get_running_loop()
        self._store, message = await loop.run_in_executor(self._executor, work)
        return message

    async def call(self, fn: Callable[[HistoryStore], T]) -> T:
        """Run ``fn(store)`` on the store's thread and return its result.

        Raises:
            StoreClosedError: The app is closing and the store is closed.
        """
        await self.open()
        store = self._store
        if store is None or self._closed:
            raise StoreClosedError("The history is closed.")
        loop = _current_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, store)
        except (sqlite3.Error, OSError) as exc:
            raise _store_error(exc, store.path) from exc

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise StoreClosedError("The history is closed.")
        return await _current_loop().run_in_executor(self._executor, fn)

    async def last_conversation(self) -> int | None:
        """The conversation that was open when the app last closed."""
        path = self.data_dir / LAST_CONVERSATION_FILE

        def read() -> int | None:
            try:
                return int(path.read_text(encoding="ascii").strip())
            except (OSError, ValueError):
                return None

        return await self._run(read)

    async def remember_conversation(self, conversation_id: int | None) -> None:
        """Note the open conversation, to reopen it next time.

        Only a convenience: when the data folder cannot be written, the note is
        skipped (the history's own message already says why).
        """
        path = self.data_dir / LAST_CONVERSATION_FILE

        def write() -> None:
            try:
                if conversation_id is None:
                    path.unlink(missing_ok=True)
                else:
                    write_private(path, str(conversation_id))
            except OSError as exc:
                log.info("last conversation not noted: %s", exc.strerror)

        await self._run(write)

    # -- the conversation engine's port (see core.conversation.ports.HistoryPort) ---------

    async def create_conversation(
        self,
        *,
        title: str,
        model: str,
        system: str,
        overrides: ConversationOverrides | None = None,
    ) -> int:
        """Start a stored conversation; it takes over the new-conversation draft."""
        conversation_id = await self.call(
            lambda s: s.create_conversation(
                title, model=model, system=system, take_new_draft=True, overrides=overrides
            )
        )
        await self.remember_conversation(conversation_id)
        self.conversations_changed.emit()
        return conversation_id

    async def add_turn(
        self,
        conversation_id: int,
        turn: Turn,
        parent_id: int | None,
        settings: Mapping[str, Any] | None = None,
    ) -> StoredVersion:
        """Store ``turn`` after ``parent_id``; a new version when that has children."""

        def work(store: HistoryStore) -> StoredVersion:
            message_id = store.add_message(conversation_id, turn, parent_id, settings=settings)
            ids, index = store.siblings(message_id)
            return StoredVersion(message_id, index + 1, len(ids))

        stored = await self.call(work)
        self.conversations_changed.emit()  # its title and place in the list may change
        return stored

    async def set_overrides(self, conversation_id: int, overrides: ConversationOverrides) -> None:
        """Keep the settings a conversation asks for differently from the global ones."""
        await self.call(lambda s: s.set_overrides(conversation_id, overrides))

    async def update_turn(self, message_id: int, turn: Turn) -> None:
        """Save a stored turn's current state."""
        await self.call(lambda s: s.update_message(message_id, turn))

    async def remove_turn(self, message_id: int) -> None:
        """Delete a stored turn and everything after it."""
        await self.call(lambda s: s.remove_message(message_id))
        self.conversations_changed.emit()

    async def reply_saver(self, message_id: int) -> ReplySaver:
        """A saver for the stored reply ``message_id``, writing from its own thread."""
        writer = await self.call(lambda s: s.reply_writer(message_id))
        return _WriterSaver(self, writer)

    async def load_conversation(self, conversation_id: int) -> LoadedConversation | None:
        """The conversation's active path; None when it does not exist or was deleted."""

        def work(store: HistoryStore) -> LoadedConversation | None:
            try:
                info = store.conversation(conversation_id)
            except KeyError:
                return None
            if info.deleted_at is not None:
                return None
            path = [
                LoadedTurn(s.turn, s.message_id, s.version, s.versions)
                for s in store.load_active_path(conversation_id)
            ]
            return LoadedConversation(
                conversation_id, info.title, path, store.overrides(conversation_id)
            )

        return await self.call(work)

    async def switch_version(self, message_id: int, step: int) -> bool:
        """Make the version ``step`` away from ``message_id`` active; False at either end."""

        def work(store: HistoryStore) -> bool:
            ids, index = store.siblings(message_id)
            target = index + step
            if not 0 <= target < len(ids):
                return False
            store.set_active(ids[target])
            return True

        return await self.call(work)

    async def save_draft(
        self, conversation_id: int | None, text: str, attachments: Sequence[ContentBlock]
    ) -> None:
        """Keep the unsent text and attachments of a conversation."""
        blocks = list(attachments)
        await self.call(lambda s: s.save_draft(conversation_id, text, blocks))

    async def load_draft(self, conversation_id: int | None) -> Draft:
        """The unsent text and attachments of a conversation (empty if it is gone)."""

        def work(store: HistoryStore) -> Draft:
            try:
                return store.load_draft(conversation_id)
            except KeyError:
                return Draft("", [])

        return await self.call(work)

    # -- the conversation list -----------------------------------------------------------

    async def list_conversations(self, limit: int = 500) -> list[ConversationSummary]:
        """The conversations, newest first."""
        return await self.call(lambda s: s.list_conversations(limit))

    async def search(
        self, query: str, limit: int = 100, *, marks: tuple[str, str] = ("[", "]")
    ) -> list[SearchHit]:
        """Full-text search over every live conversation; ``marks`` go around matched words."""
        return await self.call(lambda s: s.search(query, limit, marks=marks))

    async def export(self, conversation_id: int, *, as_json: bool) -> str:
        """A conversation as JSON in the Messages API shape, or as Markdown."""

        def render(store: HistoryStore) -> str:
            if as_json:
                return json.dumps(
                    export_json(store, conversation_id), indent=2, ensure_ascii=False
                )
            return export_markdown(store, conversation_id)

        return await self.call(render)

    async def rename(self, conversation_id: int, title: str) -> None:
        """Give a conversation a new title."""
        await self.call(lambda s: s.rename(conversation_id, title))
        self.conversations_changed.emit()

    async def delete(self, conversation_id: int) -> None:
        """Delete a conversation, for now: :meth:`undelete` brings it back."""
        await self.call(lambda s: s.delete(conversation_id))
        self.conversations_changed.emit()

    async def undelete(self, conversation_id: int) -> None:
        """Bring back a deleted conversation."""
        await self.call(lambda s: s.undelete(conversation_id))
        self.conversations_changed.emit()

    async def import_conversation(self, data: object) -> int:
        """Add an exported conversation; return its id.

        Raises:
            HistoryFormatError: ``data`` is not usable; nothing was written.
        """
        conversation_id = await self.call(lambda s: import_json(s, data))
        self.conversations_changed.emit()
        return conversation_id

    async def purge_deleted(self, conversation_id: int | None = None) -> int:
        """Purge deleted conversations now (only ``conversation_id``, if given).

        Returns:
            How many were purged; 0 when the history cannot be written, which is
            logged: the purge is tried again on close and on the next start.
        """
        try:
            return await self.call(lambda store: _purge(store, 0.0, conversation_id))
        except StoreClosedError:
            return 0  # closing purges everything deleted anyway

    async def aclose(self) -> None:
        """Purge deleted conversations, close the store and stop the worker."""
        self._closed = True
        if self._opening is not None:
            await asyncio.gather(self._opening, return_exceptions=True)
        store, self._store = self._store, None
        if store is not None:

            def close() -> None:
                if not store.read_only:
                    _purge(store, 0.0)
                store.close()

            await asyncio.get_running_loop().run_in_executor(self._executor, close)
        self._executor.shutdown(wait=True)


class _WriterSaver:
    """A :class:`ReplyWriter` as the engine's :class:`ReplySaver`."""

    def __init__(self, service: HistoryService, writer: ReplyWriter) -> None:
        self._service = service
        self._writer = writer

    def update(self, message: Message) -> None:
        self._writer.update(message)

    def block_stopped(self, message: Message) -> None:
        self._writer.block_stopped(message)

    def flush(self) -> None:
        self._writer.flush()

    async def finish(self, status: TurnStatus, message: Message | None, error: str | None) -> None:
        writer = self._writer
        # finish() waits for the writer thread; it runs on the store's thread, not the caller's.
        await self._service.call(lambda _store: writer.finish(status, message, error))


def _store_error(exc: sqlite3.Error | OSError, path: Path) -> StoreError:
    """A plain-language error for a failure the store did not name itself."""
    if isinstance(exc, sqlite3.Error):
        typed = store_error(exc, path)
        if typed is not None:
            return typed
        return StoreError("The conversation history reported an error; details are in the log.")
    why = exc.strerror or "the file could not be used"
    return StoreError(f"The conversation history could not be used ({why}).")


def _purge(store: HistoryStore, older_than: float, conversation_id: int | None = None) -> int:
    try:
        return store.purge_deleted(older_than, conversation_id=conversation_id)
    except StoreError as exc:
        log.warning("deleted conversations not purged yet: %s", exc)
        return 0


def _current_loop() -> asyncio.AbstractEventLoop:
    """The loop of this thread, also between two runs of it.

    Under Qt a coroutine can be resumed by an event that Qt handles just after
    the asyncio loop's run has ended (qasync stops asyncio's loop before Qt's);
    the loop set for the thread is still the one to hand the work to.
    """
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop()
