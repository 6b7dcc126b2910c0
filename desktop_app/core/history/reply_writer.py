"""Saving a streaming reply while it arrives, on a thread of its own."""

from __future__ import annotations

import dataclasses
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.errors import StoreBusyError
from desktop_app.core.history import schema
from desktop_app.core.history.schema import connect, dumps, store_error, transaction, turn_text
from desktop_app.core.wire.blocks import Role
from desktop_app.core.wire.message import Message

WRITE_INTERVAL = 1.0
# After a failed write the writer tries again this often, until the reply finishes.
RETRY_INTERVAL = 0.25


@dataclasses.dataclass
class _Snapshot:
    message: dict[str, Any]
    text: str
    status: TurnStatus
    error: str | None


@dataclasses.dataclass
class _Stop:
    deadline: float


class ReplyWriter:
    """Saves one streaming reply while it arrives, off the caller's thread.

    :meth:`update` only remembers the message; at most once per ``interval`` it
    takes a snapshot (on the caller's thread, where the message is changed) and
    hands it to a writer thread with its own connection, so the caller never
    waits for the disk. :meth:`block_stopped` writes at once; :meth:`finish`
    writes the final state and waits for it.

    A write that fails (another program holds the file, the disk is full) is not
    the end: the newest snapshot is kept and written on the next try, and
    :meth:`finish` keeps trying until its timeout, so a busy file never leaves a
    reply cut short.

    A caller whose stream may stay silent should call :meth:`flush` from a
    one-second timer, so the last pieces before a long pause are saved too.

    Attributes:
        writes: Snapshots committed so far.
        attempts: Writes tried so far, committed or failed.
        submitted: Snapshots handed to the writer thread so far.
    """

    def __init__(
        self,
        path: Path,
        message_id: int,
        *,
        interval: float = WRITE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        opener: Callable[[], sqlite3.Connection] | None = None,
    ) -> None:
        """Start the writer thread for the stored reply ``message_id``.

        Args:
            path: The history file.
            message_id: The stored reply.
            interval: Seconds between writes while the reply streams.
            clock: Tells the time for ``interval`` (seconds, monotonic).
            opener: Makes the writer's connection; by default one to ``path``.
        """
        self.path = Path(path)
        self.message_id = message_id
        self.interval = interval
        self.writes = 0
        self.attempts = 0
        self.submitted = 0
        self._clock = clock
        self._opener = opener or (lambda: connect(self.path))
        self._latest: Message | None = None
        self._dirty = False
        self._last_write = clock()
        self._queue: queue.SimpleQueue[_Snapshot | _Stop] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._finished = False
        self._attempted = threading.Condition()
        self._thread = threading.Thread(
            target=self._run, name=f"reply-writer-{message_id}", daemon=True
        )
        self._thread.start()

    @property
    def error(self) -> BaseException | None:
        """Why the last write failed, if it did; None once a write succeeds again."""
        return self._error

    def update(self, message: Message) -> None:
        """Note the latest state of the reply; write it if ``interval`` has passed."""
        self._latest = message
        self._dirty = True
        if self._clock() - self._last_write >= self.interval:
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

    def wait_attempts(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` writes were tried; False if ``timeout`` passes first."""
        with self._attempted:
            return self._attempted.wait_for(lambda: self.attempts >= count, timeout)

    def finish(
        self,
        status: TurnStatus,
        message: Message | None = None,
        error: str | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        """Write the final state with ``status`` and stop the writer thread.

        Waits until the write is committed: a few milliseconds, or up to
        ``timeout`` seconds while another program holds the file.

        Raises:
            StoreError: The final state could not be written (the file stayed
                busy, is read-only, the disk is full or failing).
        """
        if self._finished:
            return
        self._finished = True
        if message is not None:
            self._latest = message
        self._submit(status, error, force=True)
        self._queue.put(_Stop(time.monotonic() + timeout))
        # The thread gives up at the deadline; the margin covers one last attempt,
        # which may wait for the lock itself.
        self._thread.join(timeout + schema.BUSY_TIMEOUT_MS / 1000 + 1.0)
        if self._thread.is_alive():
            raise StoreBusyError(
                "The reply could not be saved in time: the history file stayed busy.", self.path
            )
        if self._error is not None:
            raise self._error

    def _submit(self, status: TurnStatus, error: str | None, *, force: bool = False) -> None:
        message = self._latest
        if message is None or (self._finished and not force):
            return
        # The snapshot is taken here because the stream changes the message on this
        # thread; reading it from the writer thread could race with an append.
        self._queue.put(_Snapshot(message.to_dict(), turn_text(_reply(message)), status, error))
        self.submitted += 1
        self._dirty = False
        self._last_write = self._clock()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        pending: _Snapshot | None = None
        stop: _Stop | None = None
        try:
            while True:
                # Wait for work; with a failed write pending, wake up to retry it.
                try:
                    item = self._queue.get(timeout=RETRY_INTERVAL if pending else None)
                except queue.Empty:
                    item = None
                # Only the newest snapshot matters: skip any that queued up meanwhile.
                while item is not None:
                    if isinstance(item, _Stop):
                        stop = item
                    else:
                        pending = item
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        item = None
                if pending is not None:
                    if connection is None:
                        connection = self._connect()
                    if connection is not None and self._write(connection, pending):
                        pending = None
                if stop is not None:
                    if pending is None or time.monotonic() >= stop.deadline:
                        return
                    if not isinstance(self._error, StoreBusyError):
                        return  # read-only, full or failing: waiting will not help
                    # Busy: the loop retries after RETRY_INTERVAL.
        finally:
            if connection is not None:
                connection.close()

    def _connect(self) -> sqlite3.Connection | None:
        try:
            connection = self._opener()
            connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            self._fail(exc)
            return None
        return connection

    def _write(self, connection: sqlite3.Connection, snapshot: _Snapshot) -> bool:
        try:
            with transaction(connection) as db:
                db.execute(
                    "UPDATE messages SET message_json = ?, text = ?, status = ?, "
                    "error = coalesce(?, error) WHERE id = ?",
                    (
                        dumps(snapshot.message),
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
        except sqlite3.Error as exc:
            self._fail(exc)
            return False
        self._error = None
        self.writes += 1
        self._count_attempt()
        return True

    def _count_attempt(self) -> None:
        with self._attempted:
            self.attempts += 1
            self._attempted.notify_all()

    def _fail(self, exc: sqlite3.Error) -> None:
        typed = store_error(exc, self.path)
        if typed is not None:
            typed.__cause__ = exc
        self._error = typed or exc
        self._count_attempt()


def _reply(message: Message) -> Turn:
    return Turn(Role.ASSISTANT, message=message)
