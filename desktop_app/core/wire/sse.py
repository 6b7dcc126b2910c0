"""An incremental ``text/event-stream`` decoder that works on raw network bytes.

It is fed chunks exactly as they come off the socket and returns the events each
chunk completes. Lines end in LF, CRLF or a lone CR, a CRLF may be split across
two chunks, and UTF-8 is decoded only once a whole line is in, so a character
split across chunks decodes correctly. Comment lines (``:``) are skipped.

We keep our own decoder rather than httpx-sse: it works on bytes instead of
re-decoded text lines and splits a whole chunk at once, which measured about
twice as fast on long replies (see ``tests/benchmarks/bench_engine.py``), and it
lets the client apply its idle timeout to the raw chunk stream.

A server cannot make it work or grow without bound: chunks of an unfinished event
are kept in a list and joined once, when the event ends, and an event (or line)
longer than :data:`MAX_EVENT_BYTES` raises :class:`ProtocolError`.
"""

from __future__ import annotations

from typing import NamedTuple

from desktop_app.core.errors import ProtocolError

#: The longest event, or line, the decoder accepts. The API's events are a few
#: hundred bytes; this leaves room for any real one.
MAX_EVENT_BYTES = 16 * 1024 * 1024


class ServerSentEvent(NamedTuple):
    """One decoded event: its name (``message`` when the stream gave none) and data."""

    event: str
    data: str
    id: str | None = None


class SSEDecoder:
    """Turn byte chunks into :class:`ServerSentEvent` objects."""

    __slots__ = ("_id", "_limit", "_pending", "_pending_size", "_skip_lf")

    def __init__(self, *, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        """Start with nothing pending.

        Args:
            max_event_bytes: The longest event or line accepted, in bytes.
        """
        # The bytes after the last complete event, as the chunks they came in.
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._limit = max_event_bytes
        self._id: str | None = None
        self._skip_lf = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk`` and return the events it completes.

        Raises:
            ProtocolError: An event or line is longer than the limit.
        """
        if self._skip_lf and chunk:
            # The previous chunk ended in CR: an LF now is the rest of that CRLF.
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if not chunk:
            return []
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):
                self._skip_lf = True
                chunk = chunk[:-1] + b"\n"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        pending = self._pending
        if pending:
            if b"\n\n" not in chunk and not (chunk[:1] == b"\n" and pending[-1][-1:] == b"\n"):
                # No event ends in this chunk: keep it, and join nothing yet.
                pending.append(chunk)
                self._pending_size += len(chunk)
                if self._pending_size > self._limit:
                    raise self._too_long()
                return []
            pending.append(chunk)
            buffer = b"".join(pending)
            pending.clear()
        else:
            buffer = chunk
        # An event ends at a blank line, so everything up to the last one is complete.
        blocks = buffer.split(b"\n\n")
        tail = blocks.pop()
        self._pending_size = len(tail)
        if len(buffer) > self._limit and (
            len(tail) > self._limit or any(len(block) > self._limit for block in blocks)
        ):
            raise self._too_long()
        if tail:
            pending.append(tail)
        return self._blocks(blocks) if blocks else []

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: return a last event that had no blank line after it."""
        tail = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        return self._blocks([tail]) if tail.strip(b"\n") else []

    def _too_long(self) -> ProtocolError:
        self._pending.clear()  # nothing more will be decoded: free the memory now
        self._pending_size = 0
        limit = self._limit
        size = f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit:,} bytes"
        return ProtocolError(f"the service sent an event or line longer than {size}")

    def _blocks(self, blocks: list[bytes]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        for block in blocks:
            # Fast path: exactly "event: NAME\ndata: DATA", what the API always sends.
            if block[:7] == b"event: ":
                nl = block.find(b"\n")
                if (
                    nl > 0
                    and block[nl + 1 : nl + 7] == b"data: "
                    and block.find(b"\n", nl + 1) < 0
                ):
                    events.append(
                        ServerSentEvent(
                            block[7:nl].decode("utf-8", "replace"),
                            block[nl + 7 :].decode("utf-8", "replace"),
                            self._id,
                        )
                    )
                    continue
            event = self._parse_block(block)
            if event is not None:
                events.append(event)
        return events

    def _parse_block(self, block: bytes) -> ServerSentEvent | None:
        name = ""
        data: list[bytes] = []
        for line in block.split(b"\n"):
            if not line or line[0] == 58:  # blank, or b":" which starts a comment
                continue
            field, sep, value = line.partition(b":")
            if sep and value[:1] == b" ":
                value = value[1:]
            if field == b"data":
                data.append(value)
            elif field == b"event":
                name = value.decode("utf-8", "replace")
            elif field == b"id" and b"\0" not in value:
                self._id = value.decode("utf-8", "replace")
            # "retry" and unknown fields are ignored, as the SSE spec says.
        if not data:
            return None
        return ServerSentEvent(
            name or "message", b"\n".join(data).decode("utf-8", "replace"), self._id
        )
