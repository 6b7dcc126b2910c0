"""Which API key Iris uses, and where it came from: environment, keychain or session.

Keychain calls can block (Secret Service goes over D-Bus and may show an unlock
prompt), so when an asyncio loop runs they go to a worker thread; without a
loop (start-up, shutdown) they run directly.

Precedence follows :func:`desktop_app.core.secrets.load_api_key`: the
``ANTHROPIC_API_KEY`` environment variable beats the keychain. A key given with
:meth:`ApiKeyState.use_for_session` is the one exception: the user picked it
for this run, so it wins until Iris quits or :meth:`ApiKeyState.forget`.

The key itself is never logged, written to a file, put in a message, or used
in an object name or tooltip.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine
from typing import Any, Literal

from PySide6.QtCore import QObject, Signal

from desktop_app.core import secrets
from desktop_app.core.errors import KeychainUnavailableError
from desktop_app.ui import notify

KeySource = Literal["environment", "keychain", "session"]


@dataclasses.dataclass(frozen=True)
class _Found:
    key: str | None = dataclasses.field(repr=False)  # never in a repr, log or traceback
    source: KeySource | None
    keychain_available: bool


def _read() -> _Found:
    """Look the key up; blocking, so it may run in a worker thread."""
    available = secrets.keychain_available()
    env = secrets.environment_key()
    if env is not None:
        return _Found(env, "environment", available)
    key = secrets.keychain_key()
    return _Found(key, "keychain" if key else None, available)


def _store(key: str) -> bool:
    """Store ``key``; False when there is no keychain. Blocking."""
    try:
        secrets.store_api_key(key)
    except KeychainUnavailableError:
        return False
    return True


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class ApiKeyState(QObject):
    """The effective API key and its source.

    Nothing is read until :meth:`load` or :meth:`load_async` is called.

    Signals:
        changed: Emitted after the key, its source or the keychain's availability
            changed (also after a failed save, which shows the keychain is missing).
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        """Start with no key; call :meth:`load` or :meth:`load_async` next."""
        super().__init__(parent)
        self._key: str | None = None
        self._source: KeySource | None = None
        self._keychain_available = True
        self._lock = asyncio.Lock()
        # Strong references: the loop keeps only weak ones to running tasks.
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- state -------------------------------------------------------------------------------

    def key(self) -> str | None:
        """The key to send, or None (Iris then runs the offline demo)."""
        return self._key

    @property
    def source(self) -> KeySource | None:
        """Where :meth:`key` came from: ``environment``, ``keychain``, ``session`` or None."""
        return self._source

    @property
    def keychain_available(self) -> bool:
        """False once we know there is no usable system keychain."""
        return self._keychain_available

    def _apply(self, found: _Found) -> None:
        self._key, self._source = found.key, found.source
        self._keychain_available = found.keychain_available
        self.changed.emit()

    # -- loading -----------------------------------------------------------------------------

    def load(self) -> None:
        """Read the environment, then the keychain, on this thread (for start-up)."""
        self._apply(_read())

    async def load_async(self) -> None:
        """Like :meth:`load`, with the keychain read in a worker thread."""
        async with self._lock:
            found = await asyncio.get_running_loop().run_in_executor(None, _read)
        self._apply(found)

    # -- saving ------------------------------------------------------------------------------

    def save(self, key: str) -> None:
        """Store ``key`` in the keychain and use it.

        With a running loop the keychain call happens in a worker thread and this
        returns at once; :attr:`changed` and the message bridge report the result.
        """
        key = key.strip()
        if not key:
            notify.warning("Enter a key first.")
            return
        loop = _running_loop()
        if loop is None:
            self._after_save(key, _store(key))
        else:
            self._spawn(loop, self.save_async(key))

    async def save_async(self, key: str) -> bool:
        """Store ``key`` in the keychain from a worker thread.

        Returns:
            True when the key was stored; False when there is no keychain (the user
            is told, and can still call :meth:`use_for_session`).
        """
        key = key.strip()
        if not key:
            notify.warning("Enter a key first.")
            return False
        async with self._lock:
            stored = await asyncio.get_running_loop().run_in_executor(None, _store, key)
        return self._after_save(key, stored)

    def _after_save(self, key: str, stored: bool) -> bool:
        if not stored:
            self._keychain_available = False
            notify.warning(
                "No system keychain is available here, so the key was not saved. "
                "Use it for this session only, or set ANTHROPIC_API_KEY."
            )
            self.changed.emit()
            return False
        self._keychain_available = True
        self._settle(
            (key, "keychain"),
            "The key was saved in the system keychain, but ANTHROPIC_API_KEY is set "
            "and takes precedence.",
        )
        return True

    def use_for_session(self, key: str) -> None:
        """Use ``key`` until Iris quits, without storing it anywhere."""
        key = key.strip()
        if not key:
            notify.warning("Enter a key first.")
            return
        self._key, self._source = key, "session"
        self.changed.emit()

    # -- forgetting --------------------------------------------------------------------------

    def forget(self) -> None:
        """Drop the session key and delete the stored one (in a worker thread if a loop runs)."""
        loop = _running_loop()
        if loop is None:
            secrets.delete_api_key()
            self._after_forget()
        else:
            self._spawn(loop, self.forget_async())

    async def forget_async(self) -> None:
        """Drop the session key and delete the stored one from a worker thread."""
        async with self._lock:
            await asyncio.get_running_loop().run_in_executor(None, secrets.delete_api_key)
        self._after_forget()

    def _after_forget(self) -> None:
        self._settle(
            (None, None),
            "The stored key was removed. ANTHROPIC_API_KEY is still set, so Iris keeps using it.",
        )

    def _settle(self, otherwise: tuple[str | None, KeySource | None], env_note: str) -> None:
        """Use the environment's key when set (saying ``env_note``), else ``otherwise``."""
        env = secrets.environment_key()
        if env is not None:
            self._key, self._source = env, "environment"
            notify.info(env_note)
        else:
            self._key, self._source = otherwise
        self.changed.emit()

    def _spawn(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> None:
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
