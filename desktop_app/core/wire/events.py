"""Typed Messages API stream events, and the accumulator that builds the final message.

Events and deltas are NamedTuples: a long reply creates hundreds of thousands of
them, and tuples are the cheapest immutable records to build and to define.

Event names the API may add later, and block or delta types Iris does not know,
are carried as ``Unknown*`` values and otherwise ignored: new server features must
never break an old client.
"""

from __future__ import annotations

import dataclasses
import json
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
)
from desktop_app.core.wire.message import Message, Usage
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


def _delta(raw: dict[str, Any]) -> Delta:
    kind = raw.get("type")
    if kind == "text_delta":
        return TextDelta(raw["text"])
    if kind == "input_json_delta":
        return InputJsonDelta(raw["partial_json"])
    if kind == "thinking_delta":
        return ThinkingDelta(raw["thinking"])
    if kind == "signature_delta":
        return SignatureDelta(raw["signature"])
    if kind == "citations_delta":
        return CitationsDelta(raw["citation"])
    return UnknownDelta(str(kind), raw)


def parse_events(events: Sequence[ServerSentEvent]) -> list[StreamEvent]:
    """Turn decoded SSE events into typed events.

    The JSON of all the events is parsed in one call, which is several times faster
    than one call per event when a network chunk carries many small deltas.

    Raises:
        ProtocolError: An event's data is not JSON or lacks a required field.
    """
    if not events:
        return []
    if len(events) == 1:
        return [parse_event(events[0].event, events[0].data)]
    try:
        raws = json.loads("[" + ",".join([e.data for e in events]) + "]")
    except ValueError:
        # Find and report the bad one (or the event whose data held a comma trick).
        return [parse_event(e.event, e.data) for e in events]
    if len(raws) != len(events):
        return [parse_event(e.event, e.data) for e in events]
    return [_typed(e.event, raw) for e, raw in zip(events, raws, strict=True)]


def parse_event(name: str, data: str) -> StreamEvent:
    """Turn one SSE event (its name and JSON data) into a typed event.

    Raises:
        ProtocolError: The data is not JSON or lacks a required field.
    """
    if name == "ping":
        return _PING
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise ProtocolError(f"the service sent an event that is not JSON ({name})") from exc
    return _typed(name, raw)


def _typed(name: str, raw: Any) -> StreamEvent:
    if not isinstance(raw, dict):
        raise ProtocolError(f"the service sent an event that is not an object ({name})")
    kind = raw.get("type", name)
    try:
        if kind == "content_block_delta":
            return ContentBlockDeltaEvent(raw["index"], _delta(raw["delta"]))
        if kind == "content_block_start":
            return ContentBlockStartEvent(raw["index"], block_from_dict(raw["content_block"]))
        if kind == "content_block_stop":
            return ContentBlockStopEvent(raw["index"])
        if kind == "message_start":
            return MessageStartEvent(Message.from_dict(raw["message"]))
        if kind == "message_delta":
            return MessageDeltaEvent(raw.get("delta") or {}, raw.get("usage") or {})
        if kind == "message_stop":
            return _MESSAGE_STOP
        if kind == "ping":
            return _PING
        if kind == "error":
            error = raw.get("error")
            if not isinstance(error, dict):
                error = {}
            return ErrorEvent(error.get("type"), error.get("message"), raw)
    except (KeyError, TypeError) as exc:
        raise ProtocolError(f"the service sent a malformed {kind} event") from exc
    return UnknownEvent(str(kind), raw)


class MessageAccumulator:
    """Fold stream events into a :class:`Message`.

    ``message`` is valid at any point, so a reply that is cut off keeps what arrived.
    """

    __slots__ = ("_blocks", "finished", "message")

    def __init__(self) -> None:
        """Start with an empty message."""
        self.message = Message()
        self._blocks: dict[int, ContentBlock] = {}
        self.finished = False

    def feed(self, event: StreamEvent) -> None:
        """Apply one event."""
        if isinstance(event, ContentBlockDeltaEvent):
            self._apply_delta(event)
        elif isinstance(event, ContentBlockStartEvent):
            self._blocks[event.index] = event.block
            self._sync_content()
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
            self._blocks[event.index] = block
            self._sync_content()
        if isinstance(delta, TextDelta):
            if isinstance(block, TextBlock):
                block.append(delta.text)
        elif isinstance(delta, InputJsonDelta):
            if isinstance(block, ToolUseBlock):
                block.append(delta.partial_json)
        elif isinstance(delta, ThinkingDelta):
            if isinstance(block, ThinkingBlock):
                block.append(delta.thinking)
        elif isinstance(delta, SignatureDelta):
            if isinstance(block, ThinkingBlock):
                block.signature = delta.signature
        elif isinstance(delta, CitationsDelta) and isinstance(block, TextBlock):
            block.citations.append(delta.citation)

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
            if key not in ("stop_reason", "stop_sequence", "stop_details"):
                message.extra[key] = value
        message.usage.update(event.usage)

    def _sync_content(self) -> None:
        self.message.content = [self._blocks[i] for i in sorted(self._blocks)]


def accumulate(events: list[StreamEvent]) -> Message:
    """Fold a whole list of events into the final message."""
    acc = MessageAccumulator()
    for event in events:
        acc.feed(event)
    return acc.message


__all__ = [
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
