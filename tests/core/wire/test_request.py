"""How a MessageRequest becomes the wire body and headers."""

from __future__ import annotations

from typing import Any

import pytest

from desktop_app.core.catalog import Catalog
from desktop_app.core.wire.blocks import Base64Source, ImageBlock, OtherBlock, Role, TextBlock
from desktop_app.core.wire.message import MessageParam
from desktop_app.core.wire.request import MAX_CACHE_BREAKPOINTS, MessageRequest, build_body


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def count_breakpoints(value: Any) -> int:
    if isinstance(value, dict):
        return ("cache_control" in value) + sum(count_breakpoints(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_breakpoints(v) for v in value)
    return 0


def user(text: str) -> MessageParam:
    return MessageParam.text(Role.USER, text)


def test_minimal_body_sends_only_what_was_set(catalog: Catalog) -> None:
    body, betas = build_body(
        MessageRequest("claude-haiku-4-5", [user("hi")], max_tokens=100),
        catalog.get("claude-haiku-4-5"),
    )
    assert body == {
        "model": "claude-haiku-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "stream": True,
    }
    assert betas == []


def test_optional_fields_sent_when_set_and_system_is_top_level(catalog: Catalog) -> None:
    tools = [{"name": "t", "description": "d", "input_schema": {"type": "object"}}]
    body, _ = build_body(
        MessageRequest(
            "claude-haiku-4-5",
            [user("hi")],
            system="Be brief.",
            temperature=0.2,
            top_p=0.9,
            stop_sequences=["END"],
            user_id="u-1",
            tools=tools,
        ),
        catalog.get("claude-haiku-4-5"),
    )
    assert body["system"] == "Be brief."
    assert all(m["role"] != "system" for m in body["messages"])
    assert (body["temperature"], body["top_p"]) == (0.2, 0.9)
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "u-1"}
    assert body["tools"] == tools


def test_max_tokens_is_clamped_to_the_model_ceiling(catalog: Catalog) -> None:
    body, betas = build_body(
        MessageRequest("claude-haiku-4-5", [user("x")], max_tokens=100_000),
        catalog.get("claude-haiku-4-5"),
    )
    assert body["max_tokens"] == 8192
    assert betas == []
    body, _ = build_body(
        MessageRequest("claude-haiku-4-5", [user("x")], max_tokens=0),
        catalog.get("claude-haiku-4-5"),
    )
    assert body["max_tokens"] == 1


def test_extended_output_beta_only_when_needed(catalog: Catalog) -> None:
    sonnet = catalog.get("claude-sonnet-4-6")
    body, betas = build_body(MessageRequest(sonnet.id, [user("x")], max_tokens=8192), sonnet)
    assert betas == []
    body, betas = build_body(MessageRequest(sonnet.id, [user("x")], max_tokens=20_000), sonnet)
    assert (body["max_tokens"], betas) == (20_000, ["output-128k-2025-02-19"])
    body, betas = build_body(MessageRequest(sonnet.id, [user("x")], max_tokens=999_999), sonnet)
    assert body["max_tokens"] == 64_000


def test_unknown_model_gets_conservative_ceiling(catalog: Catalog) -> None:
    model = catalog.get("claude-future-9")
    assert not model.known
    body, _ = build_body(MessageRequest(model.id, [user("x")], max_tokens=50_000), model)
    assert body["max_tokens"] == 8192


def test_empty_text_blocks_are_dropped_so_image_only_turns_work(catalog: Catalog) -> None:
    image = ImageBlock(Base64Source("image/png", "AA"))
    request = MessageRequest("claude-haiku-4-5", [MessageParam(Role.USER, (image, TextBlock("")))])
    body, _ = build_body(request, catalog.get("claude-haiku-4-5"))
    assert body["messages"][0]["content"] == [image.to_dict()]
    # The caller's data is not changed.
    assert len(request.messages[0].content) == 2


def test_cache_marks_system_and_last_user_turn(catalog: Catalog) -> None:
    messages = [user("first"), MessageParam.text(Role.ASSISTANT, "ok"), user("second")]
    body, _ = build_body(
        MessageRequest("claude-haiku-4-5", messages, system="S", cache=True),
        catalog.get("claude-haiku-4-5"),
    )
    assert body["system"] == [
        {"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}
    ]
    assert body["messages"][0]["content"] == [{"type": "text", "text": "first"}]
    assert body["messages"][2]["content"] == [
        {"type": "text", "text": "second", "cache_control": {"type": "ephemeral"}}
    ]
    assert count_breakpoints(body) == 2
    assert count_breakpoints(messages[2].to_dict()) == 0


def test_cache_never_exceeds_four_breakpoints(catalog: Catalog) -> None:
    # Blocks kept verbatim may already carry breakpoints; they count against the four.
    def marked() -> OtherBlock:
        return OtherBlock({"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}})

    messages = [
        MessageParam(Role.USER, (marked(), marked())),
        MessageParam(Role.ASSISTANT, (marked(),)),
        user("last"),
    ]
    body, _ = build_body(
        MessageRequest("claude-haiku-4-5", messages, system="S", cache=True),
        catalog.get("claude-haiku-4-5"),
    )
    assert count_breakpoints(body) == MAX_CACHE_BREAKPOINTS
    # The system prompt took the last free slot; the final turn stays unmarked.
    assert "cache_control" not in body["messages"][2]["content"][-1]


def test_cache_off_adds_no_breakpoints(catalog: Catalog) -> None:
    body, _ = build_body(
        MessageRequest("claude-haiku-4-5", [user("x")], system="S"),
        catalog.get("claude-haiku-4-5"),
    )
    assert count_breakpoints(body) == 0
