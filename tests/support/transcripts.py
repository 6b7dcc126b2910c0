"""Builders for Messages API event streams, and the recorded wire transcripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def recorded(name: str) -> bytes:
    """A recorded transcript from ``tests/fixtures/<name>.sse``."""
    return (FIXTURES / f"{name}.sse").read_bytes()


def event(name: str, payload: dict[str, Any], *, eol: str = "\n") -> bytes:
    """One SSE event in the API's wire form."""
    return f"event: {name}{eol}data: {json.dumps(payload, ensure_ascii=False)}{eol}{eol}".encode()


def message_start(
    *,
    msg_id: str = "msg_test",
    model: str = "claude-haiku-4-5",
    usage: dict[str, Any] | None = None,
) -> bytes:
    """A ``message_start`` event."""
    return event(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage or {"input_tokens": 10, "output_tokens": 1},
            },
        },
    )


def block_start(index: int, block: dict[str, Any]) -> bytes:
    """A ``content_block_start`` event."""
    return event(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )


def delta(index: int, payload: dict[str, Any]) -> bytes:
    """A ``content_block_delta`` event."""
    return event(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": payload}
    )


def text_delta(index: int, text: str) -> bytes:
    """A ``text_delta``."""
    return delta(index, {"type": "text_delta", "text": text})


def block_stop(index: int) -> bytes:
    """A ``content_block_stop`` event."""
    return event("content_block_stop", {"type": "content_block_stop", "index": index})


def message_delta(
    stop_reason: str = "end_turn", usage: dict[str, Any] | None = None, **extra: Any
) -> bytes:
    """A ``message_delta`` event."""
    return event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None, **extra},
            "usage": usage or {"output_tokens": 5},
        },
    )


def message_stop() -> bytes:
    """A ``message_stop`` event."""
    return event("message_stop", {"type": "message_stop"})


def ping() -> bytes:
    """A ``ping`` event."""
    return event("ping", {"type": "ping"})


def text_reply(pieces: list[str], *, stop_reason: str = "end_turn") -> bytes:
    """A whole reply whose single text block is ``pieces`` joined."""
    parts = [message_start(), block_start(0, {"type": "text", "text": ""}), ping()]
    parts += [text_delta(0, p) for p in pieces]
    parts += [block_stop(0), message_delta(stop_reason), message_stop()]
    return b"".join(parts)


def every_block_reply() -> bytes:
    """A reply with thinking, redacted thinking, text with citations, tool use and unknowns."""
    citation = {"type": "char_location", "cited_text": "sky", "document_index": 0}
    return b"".join(
        [
            message_start(
                usage={"input_tokens": 30, "output_tokens": 1, "cache_read_input_tokens": 7}
            ),
            block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            delta(0, {"type": "thinking_delta", "thinking": "Let me "}),
            delta(0, {"type": "thinking_delta", "thinking": "think."}),
            delta(0, {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}),
            block_stop(0),
            block_start(1, {"type": "redacted_thinking", "data": "opaque=="}),
            block_stop(1),
            block_start(2, {"type": "text", "text": ""}),
            text_delta(2, "The sky "),
            delta(2, {"type": "citations_delta", "citation": citation}),
            text_delta(2, "is blue. ☀️"),
            delta(2, {"type": "brand_new_delta", "stuff": 1}),
            block_stop(2),
            event("brand_new_event", {"type": "brand_new_event", "x": 1}),
            block_start(3, {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}),
            delta(3, {"type": "input_json_delta", "partial_json": ""}),
            delta(3, {"type": "input_json_delta", "partial_json": '{"q": "sk'}),
            delta(3, {"type": "input_json_delta", "partial_json": 'y", "n": 2}'}),
            block_stop(3),
            block_start(4, {"type": "mystery_block", "payload": [1, 2]}),
            block_stop(4),
            message_delta(
                "tool_use",
                usage={"output_tokens": 42, "input_tokens": 31},
                container={"id": "c1"},
            ),
            message_stop(),
        ]
    )
