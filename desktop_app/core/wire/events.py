"""Typed Messages API stream events, and the accumulator that builds the final message.

Events and deltas are NamedTuples: a long reply creates hundreds of thousands of
them, and tuples are the cheapest immutable records to build and to define.

Event names the API may add later, and block or delta types Iris does not know,
are carried as ``Unknown*`` values and otherwise ignored: new server features must
never break an old client. A *known* event whose fields have the wrong shape (an
index that is not a number, text that is not a string) raises
:class:`ProtocolError` with a plain message, never a raw ``TypeError``.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import re
from collections.abc import Sequence
from typing import Any, NamedTuple, TypeAlias

from desktop_app.core.errors import ProtocolError
from desktop_app.core.wire.blocks import (
    ContentBlock,
    OtherBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    block_from_dict,
    checked_json,
    replace_lone_surrogates,
)
from desktop_app.core.wire.message import MESSAGE_FIELDS, Message, Usage
from desktop_app.core.wire.sse import ServerSentEvent

# -- deltas -------------------------------------------------------------------------------


class TextDelta(NamedTuple):
    """More text for a text block."""

    text: str


class InputJsonDelta(NamedTuple):
    """A fragment of a tool-use block's JSON input."""

    partial_json: str


class ThinkingDelta(NamedTuple):
    """More text for a thinking block."""

    thinking: str


class SignatureDelta(NamedTuple):
    """The signature of a thinking block, sent just before the block stops."""

    signature: str


class CitationsDelta(NamedTuple):
    """One citation attached to a text block."""

    citation: dict[str, Any]


class UnknownDelta(NamedTuple):
    """A delta type Iris does not know."""

    type: str
    raw: dict[str, Any]


Delta: TypeAlias = (
    TextDelta | InputJsonDelta | ThinkingDelta | SignatureDelta | CitationsDelta | UnknownDelta
)

# -- events -------------------------------------------------------------------------------


class MessageStartEvent(NamedTuple):
    """The reply begins; ``message`` has empty content and the starting usage."""

    message: Message


class _Indexed:
    # Plain slotted classes rather than NamedTuples: a tuple already has an
    # ``index`` method, and these events need an ``index`` field.
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in _all_slots(type(self)))
        return f"{type(self).__name__}({fields})"


def _all_slots(cls: type) -> list[str]:
    return [name for klass in reversed(cls.__mro__) for name in getattr(klass, "__slots__", ())]


class ContentBlockStartEvent(_Indexed):
    """A content block begins at ``index``."""

    __slots__ = ("block",)

    def __init__(self, index: int, block: ContentBlock) -> None:
        """Build the event."""
        self.index = index
        self.block = block


class ContentBlockDeltaEvent(_Indexed):
    """More content for the block at ``index``."""

    __slots__ = ("delta",)

    def __init__(self, index: int, delta: Delta) -> None:
        """Build the event."""
        self.index = index
        self.delta = delta


class ContentBlockStopEvent(_Indexed):
    """The block at ``index`` is complete."""

    __slots__ = ()


class MessageDeltaEvent(NamedTuple):
    """Top-level changes (stop reason, stop details) and cumulative usage."""

    delta: dict[str, Any]
    usage: dict[str, Any]


class MessageStopEvent(NamedTuple):
    """The reply is complete."""


class PingEvent(NamedTuple):
    """Keep-alive traffic."""


class ErrorEvent(NamedTuple):
    """The service failed after the stream had started."""

    error_type: str | None
    message: str | None
    raw: dict[str, Any]


class UnknownEvent(NamedTuple):
    """An event type Iris does not know."""

    type: str
    raw: dict[str, Any]


StreamEvent: TypeAlias = (
    MessageStartEvent
    | ContentBlockStartEvent
    | ContentBlockDeltaEvent
    | ContentBlockStopEvent
    | MessageDeltaEvent
    | MessageStopEvent
    | PingEvent
    | ErrorEvent
    | UnknownEvent
)

_MESSAGE_STOP = MessageStopEvent()
_PING = PingEvent()


#: The most content blocks one message may have; the API sends a handful.
MAX_BLOCKS = 10_000
# Characters of text, thinking and tool input one reply may stream: far above the
# largest output any model gives (about half a million characters), and a bound on
# what a server that never stops can make Iris hold in memory.
MAX_REPLY_CHARS = 32_000_000

_NAME = re.compile(r"[a-z_]{1,40}")


def _label(name: object) -> str:
    # Only a plain event name goes into an error message: the name came from the server.
    return name if isinstance(name, str) and _NAME.fullmatch(name) else "unnamed"


def _malformed(kind: str, problem: str) -> ProtocolError:
    return ProtocolError(f"the service sent a malformed {kind} event: {problem}")


_STRING_DELTAS: dict[
    str, tuple[str, type[TextDelta | InputJsonDelta | ThinkingDelta | SignatureDelta]]
] = {
    "text_delta": ("text", TextDelta),
    "input_json_delta": ("partial_json", InputJsonDelta),
    "thinking_delta": ("thinking", ThinkingDelta),
    "signature_delta": ("signature", SignatureDelta),
}


def _delta(raw: object) -> Delta:
    if type(raw) is not dict:
        raise _malformed("content_block_delta", "its delta is not an object")
    kind = raw.get("type")
    if type(kind) is not str:
        raise _malformed("content_block_delta", "its delta has no type")
    if kind in _STRING_DELTAS:
        field, cls = _STRING_DELTAS[kind]
        value = raw.get(field)
        if type(value) is not str:
            raise _malformed("content_block_delta", f"its {field} is not a string")
        return cls(value)
    if kind == "citations_delta":
        citation = raw.get("citation")
        if type(citation) is not dict:
            raise _malformed("content_block_delta", "its citation is not an object")
        return CitationsDelta(checked_json(citation, "a citation"))
    return UnknownDelta(kind, checked_json(raw, "a delta"))


def _index(raw: dict[str, Any], kind: str) -> int:
    index = raw.get("index")
    if type(index) is not int or index < 0:
        raise _malformed(kind, "its index is not a whole number of 0 or more")
    return index


def parse_events(events: Sequence[ServerSentEvent]) -> list[StreamEvent]:
    """Turn decoded SSE events into typed events.

    The JSON of all the events is parsed in one call, which is several times faster
    than one call per event when a network chunk carries many small deltas.

    Raises:
        ProtocolError: An event's data is not JSON, or a known event has a missing
            or wrongly typed field.
    """
    if not events:
        return []
    if len(events) == 1:
        return [parse_event(events[0].event, events[0].data)]
    joined = "[" + ",".join([e.data for e in events]) + "]"
    try:
        raws = json.loads(joined)
    except (ValueError, RecursionError):
        # Find and report the bad one (or the event whose data held a comma trick).
        return [parse_event(e.event, e.data) for e in events]
    if len(raws) != len(events):
        return [parse_event(e.event, e.data) for e in events]
    if "\\ud" in joined or "\\uD" in joined:  # rare: a surrogate escape, maybe a lone one
        raws = replace_lone_surrogates(raws)
    return [_typed(e.event, raw) for e, raw in zip(events, raws, strict=True)]


def parse_event(name: str, data: str) -> StreamEvent:
    """Turn one SSE event (its name and JSON data) into a typed event.

    Raises:
        ProtocolError: The data is not JSON, or a known event has a missing or
            wrongly typed field.
    """
    if name == "ping":
        return _PING
    try:
        raw = json.loads(data)
    except RecursionError as exc:
        raise ProtocolError(
            f"the service sent an event nested too deeply ({_label(name)})"
        ) from exc
    except ValueError as exc:
        raise ProtocolError(
            f"the service sent an event that is not JSON ({_label(name)})"
        ) from exc
    if "\\ud" in data or "\\uD" in data:
        raw = replace_lone_surrogates(raw)
    return _typed(name, raw)


def _typed(name: str, raw: Any) -> StreamEvent:
    if type(raw) is not dict:
        raise ProtocolError(f"the service sent an event that is not an object ({_label(name)})")
    kind = raw.get("type", name)
    if kind == "content_block_delta":
        index = raw.get("index")
        delta = raw.get("delta")
        # The hot path, nearly every event of a reply, checked inline: a text delta.
        if type(index) is int and index >= 0 and type(delta) is dict:
            if delta.get("type") == "text_delta":
                text = delta.get("text")
                if type(text) is str:
                    return ContentBlockDeltaEvent(index, TextDelta(text))
            return ContentBlockDeltaEvent(index, _delta(delta))
        return ContentBlockDeltaEvent(_index(raw, kind), _delta(delta))
    if kind == "content_block_start":
        block = raw.get("content_block")
        if type(block) is not dict:
            raise _malformed(kind, "its content_block is not an object")
        index = _index(raw, kind)
        try:
            return ContentBlockStartEvent(index, block_from_dict(block))
        except ProtocolError as exc:
            raise _malformed(kind, str(exc)) from exc
    if kind == "content_block_stop":
        return ContentBlockStopEvent(_index(raw, kind))
    if kind == "message_start":
        message = raw.get("message")
        if type(message) is not dict:
            raise _malformed(kind, "its message is not an object")
        try:
            return MessageStartEvent(Message.from_dict(message))
        except ProtocolError as exc:
            raise _malformed(kind, str(exc)) from exc
    if kind == "message_delta":
        return _message_delta(raw)
    if kind == "message_stop":
        return _MESSAGE_STOP
    if kind == "ping":
        return _PING
    if kind == "error":
        error = raw.get("error")
        if not isinstance(error, dict):
            error = {}
        error_type, message = error.get("type"), error.get("message")
        return ErrorEvent(
            error_type if isinstance(error_type, str) else None,
            message if isinstance(message, str) else None,
            raw,
        )
    if not isinstance(kind, str):
        raise ProtocolError(f"the service sent an event without a type ({_label(name)})")
    return UnknownEvent(kind, checked_json(raw, "an event"))


def _message_delta(raw: dict[str, Any]) -> MessageDeltaEvent:
    delta = raw.get("delta")
    usage = raw.get("usage")
    if delta is None:
        delta = {}
    elif type(delta) is not dict:
        raise _malformed("message_delta", "its delta is not an object")
    if usage is None:
        usage = {}
    elif type(usage) is not dict:
        raise _malformed("message_delta", "its usage is not an object")
    for key in ("stop_reason", "stop_sequence"):
        value = delta.get(key)
        if value is not None and type(value) is not str:
            raise _malformed("message_delta", f"its {key} is not text")
    return MessageDeltaEvent(checked_json(delta, "a message delta"), usage)


class MessageAccumulator:
    """Fold stream events into a :class:`Message`.

    ``message`` is valid at any point, so a reply that is cut off keeps what arrived.
    Its content is ordered by block index; blocks arrive in increasing order, and
    then each one is appended in constant time, but any order comes out right.
    """

    __slots__ = ("_blocks", "_chars", "_content", "_order", "finished", "message")

    def __init__(self) -> None:
        """Start with an empty message."""
        self.message = Message()
        self._blocks: dict[int, ContentBlock] = {}
        # The indexes of the blocks in message.content, in the same (sorted) order.
        self._order: list[int] = []
        self._content = self.message.content
        self._chars = 0  # streamed so far, for MAX_REPLY_CHARS
        self.finished = False

    def feed(self, event: StreamEvent) -> None:
        """Apply one event.

        Raises:
            ProtocolError: The event would take the message past :data:`MAX_BLOCKS`
                blocks or :data:`MAX_REPLY_CHARS` characters.
        """
        if isinstance(event, ContentBlockDeltaEvent):
            self._apply_delta(event)
        elif isinstance(event, ContentBlockStartEvent):
            self._place(event.index, event.block)
        elif isinstance(event, ContentBlockStopEvent):
            block = self._blocks.get(event.index)
            if isinstance(block, ToolUseBlock):
                block.finish()
        elif isinstance(event, MessageStartEvent):
            # Copy, so events stay immutable, and keep blocks that came before it.
            self.message = dataclasses.replace(
                event.message,
                content=self.message.content,
                usage=Usage.from_dict(event.message.usage.to_dict()),
                extra=dict(event.message.extra),
            )
        elif isinstance(event, MessageDeltaEvent):
            self._apply_message_delta(event)
        elif isinstance(event, MessageStopEvent):
            self.finished = True

    def _apply_delta(self, event: ContentBlockDeltaEvent) -> None:
        block = self._blocks.get(event.index)
        delta = event.delta
        if block is None:
            # A delta for a block that never started: start one of the right kind.
            if isinstance(delta, TextDelta | CitationsDelta):
                block = TextBlock()
            elif isinstance(delta, ThinkingDelta | SignatureDelta):
                block = ThinkingBlock()
            else:
                return
            self._place(event.index, block)
        if isinstance(delta, TextDelta):
            if isinstance(block, TextBlock):
                self._count(delta.text)
                block.append(delta.text)
        elif isinstance(delta, InputJsonDelta):
            if isinstance(block, ToolUseBlock):
                self._count(delta.partial_json)
                block.append(delta.partial_json)
        elif isinstance(delta, ThinkingDelta):
            if isinstance(block, ThinkingBlock):
                self._count(delta.thinking)
                block.append(delta.thinking)
        elif isinstance(delta, SignatureDelta):
            if isinstance(block, ThinkingBlock):
                block.signature = delta.signature
        elif isinstance(delta, CitationsDelta) and isinstance(block, TextBlock):
            block.citations.append(delta.citation)

    def _count(self, piece: str) -> None:
        self._chars += len(piece)
        if self._chars > MAX_REPLY_CHARS:
            raise ProtocolError(
                f"the service sent a reply longer than {MAX_REPLY_CHARS:,} characters, "
                "the most Iris keeps"
            )

    def _apply_message_delta(self, event: MessageDeltaEvent) -> None:
        message = self.message
        delta = event.delta
        if "stop_reason" in delta:
            message.stop_reason = delta["stop_reason"]
        if "stop_sequence" in delta:
            message.stop_sequence = delta["stop_sequence"]
        if "stop_details" in delta:
            details = delta["stop_details"]
            message.stop_details = details if isinstance(details, dict) else None
        for key, value in delta.items():
            # Only fields the message has no place for go to extra: a delta that named
            # "role" or "content" would otherwise override them when the message is saved.
            if key not in MESSAGE_FIELDS:
                message.extra[key] = value
        message.usage.update(event.usage)

    def _place(self, index: int, block: ContentBlock) -> None:
        """Put ``block`` at ``index`` in the content, replacing a block already there."""
        order = self._order
        content = self.message.content
        if content is not self._content:
            # The content list was replaced from outside: rebuild it from the blocks.
            content = self.message.content = self._content = [self._blocks[i] for i in order]
        if index in self._blocks:
            content[bisect.bisect_left(order, index)] = block
        else:
            if len(order) >= MAX_BLOCKS:
                raise ProtocolError(
                    f"the service sent more than {MAX_BLOCKS:,} content blocks in one message"
                )
            if not order or index > order[-1]:
                order.append(index)
                content.append(block)
            else:
                position = bisect.bisect_left(order, index)
                order.insert(position, index)
                content.insert(position, block)
        self._blocks[index] = block


def accumulate(events: list[StreamEvent]) -> Message:
    """Fold a whole list of events into the final message."""
    acc = MessageAccumulator()
    for event in events:
        acc.feed(event)
    return acc.message


__all__ = [
    "MAX_BLOCKS",
    "MAX_REPLY_CHARS",
    "CitationsDelta",
    "ContentBlockDeltaEvent",
    "ContentBlockStartEvent",
    "ContentBlockStopEvent",
    "Delta",
    "ErrorEvent",
    "InputJsonDelta",
    "MessageAccumulator",
    "MessageDeltaEvent",
    "MessageStartEvent",
    "MessageStopEvent",
    "OtherBlock",
    "PingEvent",
    "ProtocolError",
    "SignatureDelta",
    "StreamEvent",
    "TextDelta",
    "ThinkingDelta",
    "UnknownDelta",
    "UnknownEvent",
    "Usage",
    "accumulate",
    "parse_event",
    "parse_events",
]
