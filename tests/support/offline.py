"""Fault injection for tests that talk to the offline server over real sockets.

:class:`FaultyServer` is the offline server plus a queue of :class:`Fault`s and a
record of every request it received. A pushed fault replaces or disturbs the
answer to the next matching request; with the queue empty it answers normally::

    def test_retry(offline_server: FaultyServer) -> None:
        offline_server.push(Fault.status(529, "overloaded_error"))
        ...  # the first POST /v1/messages gets 529, the second a normal reply
        assert len(offline_server.received) == 2
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from desktop_app.offline.replies import SseEvent
from desktop_app.offline.server import (
    DEMO_API_KEY,
    IncomingRequest,
    MessagesHandler,
    OfflineServer,
)
from desktop_app.offline.validation import OfflineApiError

API_VERSION = "2023-06-01"
# Pause between the writes of a raw body, so that each write leaves as its own chunk.
RAW_WRITE_PAUSE = 0.01


def api_headers(key: str = DEMO_API_KEY, **extra: str) -> dict[str, str]:
    """Return the headers a Messages API request needs, plus ``extra``."""
    return {"x-api-key": key, "anthropic-version": API_VERSION, **extra}


@dataclasses.dataclass(frozen=True)
class ReceivedRequest:
    """One request as the server received it.

    Attributes:
        method: ``GET``, ``POST``, ...
        path: The URL path, without the query.
        headers: Request headers with lower-case names.
        json: The decoded JSON body, or None when the body is empty or not JSON.
        body: The raw body.
    """

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes


@dataclasses.dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour; build it with the class methods.

    ``flood`` and ``drip`` play a hostile server: a body that never ends (bounded by
    a byte count) or keep-alive traffic that never brings content (bounded by time).

    Mid-stream faults (``error_event``, ``drop`` with a count, ``stall``) count the
    ``content_block_delta`` events already sent; when the reply has fewer, they
    strike just before ``message_delta``. On a non-streaming request ``drop`` and
    ``stall`` strike before the response and ``error_event`` becomes a plain JSON
    error with status 529.
    """

    kind: str
    code: int = 200
    error_type: str = ""
    message: str = ""
    extra_headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    details: Mapping[str, Any] | None = None
    after_deltas: int | None = None
    seconds: float = 0.0
    data: bytes = b""
    chunks: tuple[int, ...] = ()
    filler: bytes = b""
    total: int = 0
    duration: float = 0.0

    @classmethod
    def status(
        cls,
        code: int,
        error_type: str,
        message: str = "The offline server was told to fail this request.",
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Fault:
        """Answer with a plain JSON error before any stream, e.g. 529 ``overloaded_error``."""
        return cls(
            "status",
            code=code,
            error_type=error_type,
            message=message,
            extra_headers=dict(headers or {}),
            details=details,
        )

    @classmethod
    def error_event(
        cls,
        after_deltas: int = 0,
        error_type: str = "overloaded_error",
        message: str = "Overloaded",
    ) -> Fault:
        """Stream 200, send ``after_deltas`` deltas, then an ``error`` event, and end."""
        return cls(
            "error_event", error_type=error_type, message=message, after_deltas=after_deltas
        )

    @classmethod
    def drop(cls, after_deltas: int | None = None) -> Fault:
        """Cut the connection after ``after_deltas`` deltas, with no ``message_stop``.

        None (or a negative count) cuts it before any response: a connection error.
        """
        if after_deltas is not None and after_deltas < 0:
            after_deltas = None
        return cls("drop", after_deltas=after_deltas)

    @classmethod
    def stall(cls, after_deltas: int = 0, seconds: float = 60.0) -> Fault:
        """Send ``after_deltas`` deltas, stay silent ``seconds`` (socket open), then cut it."""
        return cls("stall", after_deltas=after_deltas, seconds=seconds)

    @classmethod
    def slow(cls, delay: float) -> Fault:
        """Answer normally, waiting ``delay`` seconds before each streamed delta."""
        return cls("slow", seconds=delay)

    @classmethod
    def raw(
        cls,
        data: bytes,
        chunks: Sequence[int] | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Send exactly ``data`` as the response body, in writes of the given sizes.

        Each size in ``chunks`` is one write (and one HTTP chunk), paused apart so it
        arrives on its own; whatever is left after them goes in a last write.
        """
        return cls(
            "raw",
            code=status,
            data=data,
            chunks=tuple(chunks or ()),
            extra_headers=dict(headers or {}),
        )

    @classmethod
    def headers(cls, extra: Mapping[str, str]) -> Fault:
        """Answer normally with ``extra`` response headers added or replaced."""
        return cls("headers", extra_headers=dict(extra))

    @classmethod
    def flood(
        cls,
        head: bytes,
        filler: bytes,
        total: int,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Send ``head``, then ``filler`` again and again, ``total`` bytes in all.

        Each ``filler`` is one write of the same object, so the body is never held in
        memory. The flood stops early when the client hangs up or the server stops.
        """
        return cls(
            "flood",
            code=status,
            data=head,
            filler=filler,
            total=total,
            extra_headers=dict(headers or {}),
        )

    @classmethod
    def drip(
        cls,
        head: bytes,
        beat: bytes,
        every: float,
        for_seconds: float,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Send ``head``, then ``beat`` every ``every`` seconds.

        The drip stops by itself after ``for_seconds`` (the response then ends, for a
        stream without ``message_stop``), or earlier when the client hangs up or the
        server stops.
        """
        return cls(
            "drip",
            code=status,
            data=head,
            filler=beat,
            seconds=every,
            duration=for_seconds,
            extra_headers=dict(headers or {}),
        )

    def pieces(self) -> list[bytes]:
        """Split :attr:`data` into the writes a ``raw`` fault makes."""
        parts: list[bytes] = []
        position = 0
        for size in self.chunks:
            parts.append(self.data[position : position + size])
            position += size
        parts.append(self.data[position:])
        return [part for part in parts if part]


_MID_STREAM = frozenset({"error_event", "drop", "stall"})


class FaultyHandler(MessagesHandler):
    """The offline handler, disturbed by the fault its server hands it."""

    fault: Fault | None = None

    def _owner(self) -> FaultyServer:
        owner = self.server.owner
        assert isinstance(owner, FaultyServer)
        return owner

    def handle_api_request(self, request: IncomingRequest) -> None:
        owner = self._owner()
        owner.record(request)
        self.fault = fault = owner.next_fault(request.path)
        if fault is None:
            super().handle_api_request(request)
            return
        if fault.kind == "status":
            raise OfflineApiError(
                fault.code,
                fault.error_type,
                fault.message,
                details=fault.details,
                headers=fault.extra_headers,
            )
        if fault.kind == "raw":
            self._send_raw(fault)
            return
        if fault.kind == "flood":
            self._flood(fault)
            return
        if fault.kind == "drip":
            self._drip(fault)
            return
        if fault.kind == "headers":
            self.header_overrides.update(fault.extra_headers)
        elif fault.kind == "slow":
            self.delay = fault.seconds
        elif fault.kind in _MID_STREAM and (fault.after_deltas is None or not _streams(request)):
            self._strike_before_response(fault)
            return
        super().handle_api_request(request)

    def _strike_before_response(self, fault: Fault) -> None:
        if fault.kind == "error_event":
            raise OfflineApiError(529, fault.error_type, fault.message)
        if fault.kind == "stall":
            self.wait(fault.seconds)
        self.abort_connection()

    def _send_raw(self, fault: Fault) -> None:
        self.begin_stream(fault.code, fault.extra_headers)
        for number, piece in enumerate(fault.pieces()):
            if number and self.wait(RAW_WRITE_PAUSE):
                self.abort_connection()
                return
            self.write_chunk(piece)
        self.end_stream()

    def _flood(self, fault: Fault) -> None:
        self.begin_stream(fault.code, fault.extra_headers)
        self.write_chunk(fault.data)
        sent = len(fault.data)
        stopping = self._owner().stopping
        # A write to a client that hung up raises OSError, which ends the request.
        while sent < fault.total and not stopping.is_set():
            self.write_chunk(fault.filler)
            sent += len(fault.filler)
        self.end_stream()

    def _drip(self, fault: Fault) -> None:
        self.begin_stream(fault.code, fault.extra_headers)
        self.write_chunk(fault.data)
        until = time.monotonic() + fault.duration
        while time.monotonic() < until:
            if self.wait(fault.seconds):
                self.abort_connection()
                return
            self.write_chunk(fault.filler)
        self.end_stream()

    def transform_events(self, events: Iterator[SseEvent]) -> Iterator[SseEvent]:
        fault = self.fault
        if fault is None or fault.kind not in _MID_STREAM:
            return events
        return self._disturb(events, fault)

    def _disturb(self, events: Iterator[SseEvent], fault: Fault) -> Iterator[SseEvent]:
        sent = 0
        for event in events:
            due = event.name == "message_delta" or (
                event.name == "content_block_delta" and sent == fault.after_deltas
            )
            if due:
                if fault.kind == "error_event":
                    error = {"type": fault.error_type, "message": fault.message}
                    yield SseEvent("error", {"type": "error", "error": error})
                    return
                if fault.kind == "stall":
                    self.wait(fault.seconds)
                self.abort_connection()
                return
            yield event
            if event.name == "content_block_delta":
                sent += 1


def _streams(request: IncomingRequest) -> bool:
    try:
        body = json.loads(request.body)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("stream") is True


class FaultyServer(OfflineServer):
    """The offline server with a fault queue and a record of received requests.

    Attributes:
        received: Every request received, in order.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, delay: float = 0.0, **options: Any
    ) -> None:
        """Bind like :class:`OfflineServer`; streams are instant unless ``delay`` is set."""
        super().__init__(host, port, delay=delay, handler_class=FaultyHandler, **options)
        self.received: list[ReceivedRequest] = []
        self._faults: deque[tuple[str | None, Fault]] = deque()
        self._lock = threading.Lock()

    def push(self, *faults: Fault, path: str | None = "/v1/messages") -> None:
        """Queue faults for the next requests to ``path`` (any path when None), in order."""
        with self._lock:
            self._faults.extend((path, fault) for fault in faults)

    @property
    def pending(self) -> int:
        """How many pushed faults have not struck yet."""
        with self._lock:
            return len(self._faults)

    def next_fault(self, path: str) -> Fault | None:
        """Take the first queued fault meant for ``path``, if any."""
        with self._lock:
            for entry in self._faults:
                if entry[0] is None or entry[0] == path:
                    self._faults.remove(entry)
                    return entry[1]
        return None

    def record(self, request: IncomingRequest) -> None:
        """Add ``request`` to :attr:`received`."""
        try:
            decoded = json.loads(request.body) if request.body else None
        except ValueError:
            decoded = None
        entry = ReceivedRequest(
            request.method, request.path, dict(request.headers), decoded, request.body
        )
        with self._lock:
            self.received.append(entry)


@pytest.fixture
def offline_server() -> Iterator[FaultyServer]:
    """A started :class:`FaultyServer` with no streaming delay, stopped after the test."""
    server = FaultyServer(delay=0.0).start()
    try:
        yield server
    finally:
        server.stop()
