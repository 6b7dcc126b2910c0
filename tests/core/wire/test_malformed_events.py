"""Known events, messages and blocks with fields of the wrong shape: a clean ProtocolError.

New *types* stay tolerated (Unknown*, OtherBlock); only a known field that has the
wrong type, or JSON nested past any sane depth, is refused, with a plain message.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from desktop_app.core.errors import ProtocolError
from desktop_app.core.wire.blocks import (
    MAX_JSON_DEPTH,
    OtherBlock,
    TextBlock,
    ToolUseBlock,
    block_from_dict,
)
from desktop_app.core.wire.events import (
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ErrorEvent,
    MessageAccumulator,
    MessageDeltaEvent,
    UnknownDelta,
    UnknownEvent,
    parse_event,
    parse_events,
)
from desktop_app.core.wire.message import Message, Usage
from desktop_app.core.wire.sse import ServerSentEvent


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


START: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5",
    "content": [],
    "stop_reason": None,
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}


def delta_event(index: Any = 0, **delta: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    ("string index", delta_event("0", type="text_delta", text="a"), "index"),
    ("list index", delta_event([0], type="text_delta", text="a"), "index"),
    ("negative index", delta_event(-1, type="text_delta", text="a"), "index"),
    ("float index", delta_event(1.5, type="text_delta", text="a"), "index"),
    ("bool index", delta_event(True, type="text_delta", text="a"), "index"),
    ("missing index", {"type": "content_block_delta", "delta": {}}, "index"),
    ("int text", delta_event(type="text_delta", text=5), "text is not a string"),
    ("null text", delta_event(type="text_delta", text=None), "text is not a string"),
    ("object text", delta_event(type="text_delta", text={"a": 1}), "text is not a string"),
    ("missing text", delta_event(type="text_delta"), "text is not a string"),
    ("list json", delta_event(type="input_json_delta", partial_json=[1]), "partial_json"),
    ("int thinking", delta_event(type="thinking_delta", thinking=1), "thinking"),
    ("null signature", delta_event(type="signature_delta", signature=None), "signature"),
    ("string citation", delta_event(type="citations_delta", citation="x"), "citation"),
    (
        "string delta",
        {"type": "content_block_delta", "index": 0, "delta": "text"},
        "delta is not an object",
    ),
    ("delta without type", delta_event(text="a"), "no type"),
    ("delta with list type", delta_event(type=["text_delta"], text="a"), "no type"),
    (
        "string content_block",
        {"type": "content_block_start", "index": 0, "content_block": "text"},
        "content_block",
    ),
    ("string index on start", {"type": "content_block_stop", "index": "1"}, "index"),
    ("string message", {"type": "message_start", "message": "hello"}, "message"),
    ("list message", {"type": "message_start", "message": [START]}, "message"),
    ("message with int id", {"type": "message_start", "message": {**START, "id": 7}}, "id"),
    (
        "message with object model",
        {"type": "message_start", "message": {**START, "model": {}}},
        "model",
    ),
    (
        "message with string content",
        {"type": "message_start", "message": {**START, "content": "hi"}},
        "content",
    ),
    (
        "message with list usage",
        {"type": "message_start", "message": {**START, "usage": [1, 2]}},
        "usage",
    ),
    (
        "message with int stop reason",
        {"type": "message_start", "message": {**START, "stop_reason": 3}},
        "stop_reason",
    ),
    ("string message delta", {"type": "message_delta", "delta": "end_turn"}, "delta"),
    ("list usage", {"type": "message_delta", "delta": {}, "usage": [5]}, "usage"),
    (
        "int stop reason",
        {"type": "message_delta", "delta": {"stop_reason": 1}},
        "stop_reason",
    ),
    (
        "list stop sequence",
        {"type": "message_delta", "delta": {"stop_sequence": ["x"]}},
        "stop_sequence",
    ),
    ("event with a list type", {"type": ["content_block_delta"]}, "type"),
]


@pytest.mark.parametrize(
    ("raw", "words"), [(raw, words) for _, raw, words in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_wrong_typed_fields_raise_a_plain_protocol_error(raw: dict[str, Any], words: str) -> None:
    data = json.dumps(raw)
    name = raw["type"] if isinstance(raw["type"], str) else "odd"
    with pytest.raises(ProtocolError, match=words) as caught:
        parse_event(name, data)
    assert str(caught.value).startswith("the service sent")
    # The batch path (many events in one chunk) reports the same, never a raw TypeError.
    ping = ServerSentEvent("ping", '{"type": "ping"}')
    with pytest.raises(ProtocolError, match=words):
        parse_events([ping, ServerSentEvent(name, data), ping])


@pytest.mark.parametrize(
    "data",
    [
        deep_json(100_000),
        '{"type":"content_block_delta","index":0,"delta":' + deep_json(5000) + "}",
    ],
    ids=["deep-array", "deep-inside-an-event"],
)
def test_json_nested_beyond_the_recursion_limit_is_a_protocol_error(data: str) -> None:
    with pytest.raises(ProtocolError, match="nested too deeply"):
        parse_event("content_block_delta", data)
    ping = ServerSentEvent("ping", '{"type": "ping"}')
    with pytest.raises(ProtocolError, match="nested too deeply"):
        parse_events([ping, ServerSentEvent("content_block_delta", data)])


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "future_event", "payload": nested(MAX_JSON_DEPTH + 5)},
        delta_event(type="future_delta", payload=nested(MAX_JSON_DEPTH + 5)),
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "future_block", "payload": nested(MAX_JSON_DEPTH + 5)},
        },
        {"type": "message_delta", "delta": {"container": nested(MAX_JSON_DEPTH + 5)}},
    ],
    ids=["unknown-event", "unknown-delta", "unknown-block", "message-delta-extra"],
)
def test_json_kept_verbatim_may_not_nest_past_the_limit(raw: dict[str, Any]) -> None:
    # Parsed fine by json, but too deep to save or show safely later.
    with pytest.raises(ProtocolError, match="nested too deeply"):
        parse_event(raw["type"], json.dumps(raw))


def test_unknown_types_with_odd_shapes_are_still_tolerated() -> None:
    event = parse_event("future", json.dumps({"type": "future", "index": "x", "delta": 5}))
    assert isinstance(event, UnknownEvent)
    assert event.type == "future"
    delta = parse_event(
        "content_block_delta",
        json.dumps(delta_event(type="future_delta", text=5, payload={"a": [1, {"b": None}]})),
    )
    assert isinstance(delta, ContentBlockDeltaEvent)
    assert isinstance(delta.delta, UnknownDelta)
    assert delta.delta.raw["text"] == 5
    start = parse_event(
        "content_block_start",
        json.dumps(
            {"type": "content_block_start", "index": 2, "content_block": {"type": "x", "text": 1}}
        ),
    )
    assert isinstance(start, ContentBlockStartEvent)
    assert isinstance(start.block, OtherBlock)
    assert start.block.raw == {"type": "x", "text": 1}
    # Within the depth limit, nested data is kept as it came.
    kept = parse_event("future", json.dumps({"type": "future", "p": nested(MAX_JSON_DEPTH - 2)}))
    assert isinstance(kept, UnknownEvent)


def test_error_event_with_odd_fields_keeps_only_text() -> None:
    event = parse_event(
        "error", json.dumps({"type": "error", "error": {"type": 5, "message": []}})
    )
    assert isinstance(event, ErrorEvent)
    assert (event.error_type, event.message) == (None, None)


def test_message_delta_accepts_null_delta_and_usage() -> None:
    event = parse_event("message_delta", '{"type":"message_delta","delta":null,"usage":null}')
    assert isinstance(event, MessageDeltaEvent)
    assert (event.delta, event.usage) == ({}, {})


# -- the parsing functions on their own ------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "not a block",
        ["text"],
        {"type": "text", "text": 5},
        {"type": "text", "text": None},
        {"type": "text", "text": "a", "citations": "x"},
        {"type": "text", "text": "a", "citations": [1]},
        {"type": "thinking", "thinking": ["a"]},
        {"type": "thinking", "thinking": "a", "signature": 1},
        {"type": "redacted_thinking", "data": None},
        {"type": "tool_use", "id": 1, "name": "x", "input": {}},
        {"type": "tool_use", "id": "t", "name": None, "input": {}},
        {"type": "tool_use", "id": "t", "name": "x", "input": nested(MAX_JSON_DEPTH + 1)},
        {"type": 5},
        {"text": "no type"},
    ],
)
def test_block_from_dict_refuses_wrong_shapes(data: Any) -> None:
    with pytest.raises(ProtocolError):
        block_from_dict(data)


def test_block_from_dict_still_reads_good_blocks() -> None:
    text = block_from_dict({"type": "text", "text": "hi", "citations": [{"a": 1}]})
    assert isinstance(text, TextBlock)
    assert (text.text, text.citations) == ("hi", [{"a": 1}])
    assert isinstance(block_from_dict({"type": "text"}), TextBlock)
    tool = block_from_dict({"type": "server_tool_use", "id": "s", "name": "web", "input": None})
    assert isinstance(tool, ToolUseBlock)
    assert (tool.type, tool.input) == ("server_tool_use", {})


@pytest.mark.parametrize("data", ["message", [START], 5, None])
def test_message_from_dict_refuses_what_is_not_an_object(data: Any) -> None:
    with pytest.raises(ProtocolError, match="not an object"):
        Message.from_dict(data)


def test_message_from_dict_refuses_a_bad_block_instead_of_dropping_it() -> None:
    with pytest.raises(ProtocolError):
        Message.from_dict({**START, "content": [{"type": "text", "text": "a"}, "stray"]})


def test_message_from_dict_round_trips_and_takes_null_defaults() -> None:
    message = Message.from_dict(
        {**START, "id": None, "content": [{"type": "text", "text": "hi"}], "extra_field": [1]}
    )
    assert (message.id, message.role, message.text) == ("", "assistant", "hi")
    assert message.extra == {"extra_field": [1]}
    assert Message.from_dict(message.to_dict()).to_dict() == message.to_dict()


@pytest.mark.parametrize("data", [[1, 2], "usage", 5])
def test_usage_update_refuses_what_is_not_an_object(data: Any) -> None:
    usage = Usage(input_tokens=3)
    with pytest.raises(ProtocolError, match="usage"):
        usage.update(data)
    assert usage.input_tokens == 3


def test_usage_update_ignores_counts_that_are_not_token_counts() -> None:
    usage = Usage(input_tokens=3, output_tokens=4)
    usage.update({"input_tokens": "9", "output_tokens": -1, "cache_read_input_tokens": True})
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_input_tokens) == (3, 4, 0)
    usage.update({"output_tokens": 10, "server_tool_use": {"web_search_requests": 1}})
    assert usage.output_tokens == 10
    assert usage.extra == {"server_tool_use": {"web_search_requests": 1}}


def test_tool_input_nested_too_deeply_is_an_input_error_not_a_crash() -> None:
    for depth in (MAX_JSON_DEPTH + 1, 100_000):
        block = ToolUseBlock("t", "x")
        block.append(deep_json(depth))
        block.finish()
        assert block.input == {}
        assert block.input_error is not None
        json.dumps(block.to_dict())


def test_a_wrong_typed_delta_never_reaches_the_message() -> None:
    acc = MessageAccumulator()
    acc.feed(
        parse_event("content_block_delta", json.dumps(delta_event(type="text_delta", text="a")))
    )
    with pytest.raises(ProtocolError):
        acc.feed(
            parse_event("content_block_delta", json.dumps(delta_event(type="text_delta", text=5)))
        )
    # The message stays readable: the int never got into its text.
    assert acc.message.text == "a"
    assert isinstance(acc.message.content[0], TextBlock)


def test_lone_surrogates_become_replacement_characters() -> None:
    acc = MessageAccumulator()
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}}
    events = [
        ServerSentEvent("content_block_start", json.dumps(start)),
        ServerSentEvent(
            "content_block_delta",
            r'{"type":"content_block_delta","index":0,'
            r'"delta":{"type":"text_delta","text":"a\ud83d b \ud83d\ude00"}}',
        ),
    ]
    for event in parse_events(events):
        acc.feed(event)
    single = parse_event(
        "message_delta", r'{"type":"message_delta","delta":{"x\udc00":"\udfff"},"usage":{}}'
    )
    acc.feed(single)
    assert acc.message.text == "a\ufffd b \U0001f600"  # a proper pair is kept
    assert acc.message.extra == {"x\ufffd": "\ufffd"}
    json.dumps(acc.message.to_dict(), ensure_ascii=False).encode("utf-8")


def test_message_delta_cannot_override_message_fields() -> None:
    acc = MessageAccumulator()
    acc.feed(parse_event("message_start", json.dumps({"type": "message_start", "message": START})))
    delta = {"role": 5, "content": "x", "usage": [1], "id": None, "container": {"id": "c1"}}
    acc.feed(parse_event("message_delta", json.dumps({"type": "message_delta", "delta": delta})))
    assert acc.message.extra == {"container": {"id": "c1"}}
    saved = acc.message.to_dict()
    assert (saved["role"], saved["content"], saved["id"]) == ("assistant", [], "msg_1")
    assert Message.from_dict(saved).to_dict() == saved
