"""The history store on its own worker thread, for asyncio callers; Qt-free.

SQLite connections belong to the thread that made them, and the UI thread must
never wait on the disk, so one worker thread owns the :class:`HistoryStore` and
every call goes through :meth:`HistoryService.call`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from desktop_app.core.errors import StoreClosedError
from desktop_app.core.history.files import open_or_start_fresh
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.observable import Event

T = TypeVar("T")
LAST_CONVERSATION_FILE = "last-conversation"


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

    async def _open(self) -> str | None:
        def work() -> tuple[HistoryStore, str | None]:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return open_or_start_fresh(self.data_dir)

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
        """Note the open conversation, to reopen it next time."""
        path = self.data_dir / LAST_CONVERSATION_FILE

        def write() -> None:
            if conversation_id is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(str(conversation_id), encoding="ascii")

        await self._run(write)

    async def aclose(self) -> None:
        """Close the store and stop the worker."""
        self._closed = True
        if self._opening is not None:
            await asyncio.gather(self._opening, return_exceptions=True)
        store, self._store = self._store, None
        if store is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, store.close)
        self._executor.shutdown(wait=True)
