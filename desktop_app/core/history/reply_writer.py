"""Saving a streaming reply while it arrives, on a thread of its own."""

from __future__ import annotations

import dataclasses
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.history.schema import connect, dumps, transaction, turn_text
from desktop_app.core.wire.blocks import Role
from desktop_app.core.wire.message import Message

WRITE_INTERVAL = 1.0


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
            connection = connect(self.path)
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
        self.writes += 1


def _reply(message: Message) -> Turn:
    return Turn(Role.ASSISTANT, message=message)
