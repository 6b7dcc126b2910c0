"""SSE decoding, typed events and accumulation into the final message."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop_app.core.errors import ProtocolError
from desktop_app.core.wire.blocks import (
    OtherBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from desktop_app.core.wire.events import (
    ContentBlockDeltaEvent,
    ErrorEvent,
    MessageAccumulator,
    PingEvent,
    TextDelta,
    UnknownDelta,
    UnknownEvent,
    parse_event,
    parse_events,
)
from desktop_app.core.wire.message import Message
from desktop_app.core.wire.sse import ServerSentEvent, SSEDecoder
from tests.support import transcripts as t


def decode_all(data: bytes, chunks: list[int] | None = None) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    if chunks is None:
        events += decoder.feed(data)
    else:
        pos = 0
        for size in chunks:
            events += decoder.feed(data[pos : pos + size])
            pos += size
        events += decoder.feed(data[pos:])
    events += decoder.flush()
    return events


def final_message(data: bytes, chunks: list[int] | None = None) -> Message:
    acc = MessageAccumulator()
    for event in parse_events(decode_all(data, chunks)):
        acc.feed(event)
    return acc.message


# -- the SSE layer ------------------------------------------------------------------------


def test_decoder_handles_crlf_lone_cr_comments_and_multiline_data() -> None:
    data = (
        b": a comment line\r\n"
        b"event: one\r\ndata: first\r\ndata: second\r\n\r\n"
        b'event: two\rdata: {"a": 1}\r\r'
        b"data: no event name\n\n"
        b"id: 7\nretry: 100\nunknown: field\ndata:no-space\n\n"
    )
    events = decode_all(data, chunks=[1] * len(data))
    assert events == [
        ServerSentEvent("one", "first\nsecond"),
        ServerSentEvent("two", '{"a": 1}'),
        ServerSentEvent("message", "no event name"),
        ServerSentEvent("message", "no-space", "7"),
    ]


def test_decoder_keeps_crlf_split_across_chunks_as_one_line_end() -> None:
    data = b"event: a\r\ndata: x\r\n\r\nevent: b\r\ndata: y\r\n\r\n"
    # Split right between every CR and its LF.
    chunks = []
    last = 0
    for i, byte in enumerate(data):
        if byte == 13:
            chunks.append(i + 1 - last)
            last = i + 1
    events = decode_all(data, chunks)
    assert [(e.event, e.data) for e in events] == [("a", "x"), ("b", "y")]


def test_decoder_joins_utf8_characters_split_across_chunks() -> None:
    text = "Grüße, 世界 🌍"
    data = t.text_reply([text])
    cut = data.index("🌍".encode()) + 2  # inside the four-byte emoji
    assert "\ufffd" not in "".join(e.data for e in decode_all(data, [cut]))
    assert final_message(data, [cut]).text == text
    assert final_message(data, [1] * len(data)).text == text


def test_decoder_returns_a_last_event_without_trailing_blank_line() -> None:
    events = decode_all(b"event: x\ndata: 1\n")
    assert events == [ServerSentEvent("x", "1")]


def test_decoder_ignores_events_without_data() -> None:
    assert decode_all(b"event: lonely\n\n: just a comment\n\n") == []


# -- typed events -------------------------------------------------------------------------


def test_parse_event_rejects_non_json_data() -> None:
    with pytest.raises(ProtocolError, match="not JSON"):
        parse_event("content_block_delta", "{oops")


def test_parse_event_rejects_missing_fields() -> None:
    with pytest.raises(ProtocolError, match="malformed content_block_delta"):
        parse_event("content_block_delta", '{"type": "content_block_delta"}')


def test_parse_events_batch_reports_the_bad_event() -> None:
    events = [ServerSentEvent("ping", '{"type": "ping"}'), ServerSentEvent("x", "[1,")]
    with pytest.raises(ProtocolError):
        parse_events(events)


def test_unknown_event_and_delta_types_are_typed_not_fatal() -> None:
    unknown = parse_event("future_event", '{"type": "future_event", "n": 1}')
    assert isinstance(unknown, UnknownEvent)
    assert unknown.type == "future_event"
    delta = parse_event(
        "content_block_delta",
        '{"type":"content_block_delta","index":0,"delta":{"type":"future_delta"}}',
    )
    assert isinstance(delta, ContentBlockDeltaEvent)
    assert isinstance(delta.delta, UnknownDelta)


def test_error_and_ping_events() -> None:
    error = parse_event(
        "error",
        '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
    )
    assert isinstance(error, ErrorEvent)
    assert (error.error_type, error.message) == ("overloaded_error", "Overloaded")
    assert isinstance(parse_event("ping", "{}"), PingEvent)


# -- accumulation over recorded wire transcripts -----------------------------------------


def test_basic_transcript() -> None:
    message = final_message(t.recorded("basic"))
    assert message.id == "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK"
    assert message.text == "Hello there!"
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (11, 6)


def test_tool_use_transcript_joins_and_parses_input_json() -> None:
    message = final_message(t.recorded("tool_use"), chunks=[5] * 400)
    text, tool = message.content
    assert isinstance(text, TextBlock)
    assert text.text == "I'll check the current weather in Paris for you."
    assert isinstance(tool, ToolUseBlock)
    assert (tool.id, tool.name, tool.input) == (
        "toolu_01NRLabsLyVHZPKxbKvkfSMn",
        "get_weather",
        {"location": "Paris"},
    )
    assert tool.to_dict()["caller"] == {"type": "direct"}
    assert message.stop_reason == "tool_use"
    assert message.usage.output_tokens == 65
    assert message.usage.extra["service_tier"] == "standard"


def test_refusal_transcript_keeps_stop_details_and_empty_block() -> None:
    message = final_message(t.recorded("refusal"))
    assert message.stop_reason == "refusal"
    assert message.stop_details == {
        "type": "refusal",
        "category": "cyber",
        "explanation": "This request was refused due to policy.",
    }
    assert message.text == ""
    assert len(message.content) == 1


def test_message_delta_usage_is_cumulative_and_applied_field_by_field() -> None:
    message = final_message(t.recorded("message_delta_fields"))
    usage = message.usage
    assert usage.input_tokens == 40
    assert usage.cache_creation_input_tokens == 12
    assert usage.cache_read_input_tokens == 7
    assert usage.output_tokens == 8
    assert usage.extra["output_tokens_details"] == {"thinking_tokens": 3}
    assert usage.extra["cache_creation"] == {
        "ephemeral_5m_input_tokens": 10,
        "ephemeral_1h_input_tokens": 0,
    }
    assert message.extra["container"]["id"] == "container_01AbCdEfGh"


def test_omitted_usage_fields_keep_their_message_start_values() -> None:
    data = b"".join(
        [
            t.message_start(
                usage={"input_tokens": 25, "cache_read_input_tokens": 9, "output_tokens": 1}
            ),
            t.block_start(0, {"type": "text", "text": ""}),
            t.text_delta(0, "hi"),
            t.block_stop(0),
            t.message_delta("end_turn", usage={"output_tokens": 3}),
            t.message_stop(),
        ]
    )
    usage = final_message(data).usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (25, 9, 3)
    assert usage.total_input_tokens == 34


def test_every_block_type_accumulates() -> None:
    message = final_message(t.every_block_reply())
    thinking, redacted, text, tool, other = message.content
    assert isinstance(thinking, ThinkingBlock)
    assert (thinking.thinking, thinking.signature) == ("Let me think.", "c2lnbmF0dXJl")
    assert isinstance(redacted, RedactedThinkingBlock)
    assert redacted.to_dict() == {"type": "redacted_thinking", "data": "opaque=="}
    assert isinstance(text, TextBlock)
    assert text.text == "The sky is blue. ☀️"
    assert text.citations == [{"type": "char_location", "cited_text": "sky", "document_index": 0}]
    assert isinstance(tool, ToolUseBlock)
    assert tool.input == {"q": "sky", "n": 2}
    assert isinstance(other, OtherBlock)
    assert other.to_dict() == {"type": "mystery_block", "payload": [1, 2]}
    assert message.stop_reason == "tool_use"
    assert message.usage.input_tokens == 31
    assert message.usage.cache_read_input_tokens == 7
    wire = message.to_dict()
    assert [b["type"] for b in wire["content"]] == [
        "thinking",
        "redacted_thinking",
        "text",
        "tool_use",
        "mystery_block",
    ]
    assert json.loads(json.dumps(wire)) == wire


def test_invalid_tool_json_is_reported_not_raised() -> None:
    data = b"".join(
        [
            t.message_start(),
            t.block_start(0, {"type": "tool_use", "id": "t", "name": "n", "input": {}}),
            t.delta(0, {"type": "input_json_delta", "partial_json": '{"a": '}),
            t.block_stop(0),
            t.message_stop(),
        ]
    )
    (tool,) = final_message(data).content
    assert isinstance(tool, ToolUseBlock)
    assert tool.input == {}
    assert tool.input_error is not None
    assert "not valid JSON" in tool.input_error


def test_stop_reasons_pass_through() -> None:
    for reason in ("pause_turn", "max_tokens", "model_context_window_exceeded", "stop_sequence"):
        assert final_message(t.text_reply(["x"], stop_reason=reason)).stop_reason == reason


def test_accumulator_is_usable_mid_stream() -> None:
    acc = MessageAccumulator()
    data = t.text_reply(["a", "b", "c"])
    events = parse_events(decode_all(data))
    texts = []
    for event in events:
        acc.feed(event)
        if isinstance(event, ContentBlockDeltaEvent) and isinstance(event.delta, TextDelta):
            texts.append(acc.message.text)
    assert texts == ["a", "ab", "abc"]
    assert acc.finished


# -- any chunking of a valid stream gives the same final message --------------------------

_TRANSCRIPTS = [
    t.recorded("basic"),
    t.recorded("tool_use"),
    t.recorded("message_delta_fields"),
    t.every_block_reply(),
    t.text_reply(["Grüße ", "世界 ", "🌍\n", "line\r\nend"]),
    t.every_block_reply().replace(b"\n", b"\r\n"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, len(_TRANSCRIPTS) - 1),
    cuts=st.lists(st.integers(0, 4000), max_size=40),
)
def test_any_chunking_yields_the_same_message(index: int, cuts: list[int]) -> None:
    data = _TRANSCRIPTS[index]
    expected = final_message(data).to_dict()
    points = sorted({c % (len(data) + 1) for c in cuts})
    sizes = [b - a for a, b in zip([0, *points], points, strict=False)]
    assert final_message(data, sizes).to_dict() == expected
