"""An incremental ``text/event-stream`` decoder that works on raw network bytes.

It is fed chunks exactly as they come off the socket and returns the events each
chunk completes. Lines end in LF, CRLF or a lone CR, a CRLF may be split across
two chunks, and UTF-8 is decoded only once a whole line is in, so a character
split across chunks decodes correctly. Comment lines (``:``) are skipped.

We keep our own decoder rather than httpx-sse: it works on bytes instead of
re-decoded text lines and splits a whole chunk at once, which measured about
twice as fast on long replies (see ``tests/benchmarks/bench_engine.py``), and it
lets the client apply its idle timeout to the raw chunk stream.
"""

from __future__ import annotations

from typing import NamedTuple


class ServerSentEvent(NamedTuple):
    """One decoded event: its name (``message`` when the stream gave none) and data."""

    event: str
    data: str
    id: str | None = None


class SSEDecoder:
    """Turn byte chunks into :class:`ServerSentEvent` objects."""

    __slots__ = ("_buffer", "_id", "_skip_lf")

    def __init__(self) -> None:
        """Start with an empty buffer."""
        self._buffer = b""
        self._id: str | None = None
        self._skip_lf = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk`` and return the events it completes."""
        if self._skip_lf and chunk:
            # The previous chunk ended in CR: an LF now is the rest of that CRLF.
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):
                self._skip_lf = True
                buffer = buffer[:-1] + b"\n"
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        # An event ends at a blank line, so everything up to the last one is complete.
        blocks = buffer.split(b"\n\n")
        self._buffer = blocks.pop()
        return self._blocks(blocks)

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: return a last event that had no blank line after it."""
        tail, self._buffer = self._buffer, b""
        return self._blocks([tail]) if tail.strip(b"\n") else []

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
