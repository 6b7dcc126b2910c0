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
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from desktop_app.core.errors import StoreClosedError, StoreError
from desktop_app.core.history.files import open_or_start_fresh, write_private
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.observable import Event

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
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, store)

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise StoreClosedError("The history is closed.")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

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


def _purge(store: HistoryStore, older_than: float, conversation_id: int | None = None) -> int:
    try:
        return store.purge_deleted(older_than, conversation_id=conversation_id)
    except StoreError as exc:
        log.warning("deleted conversations not purged yet: %s", exc)
        return 0
