"""The one rule for what is sent: request_messages, tested directly."""

from __future__ import annotations

from typing import Any

import pytest

from desktop_app.core.conversation.model import (
    Conversation,
    Turn,
    TurnStatus,
    request_messages,
    user_turn,
)
from desktop_app.core.wire.blocks import (
    Base64Source,
    ImageBlock,
    RedactedThinkingBlock,
    Role,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from desktop_app.core.wire.message import Message

PNG = ImageBlock(Base64Source("image/png", "AAAA"))


def prompt(text: str, status: TurnStatus = TurnStatus.DONE) -> Turn:
    return Turn(Role.USER, [TextBlock(text)], status=status)


def answer(
    *blocks: Any, status: TurnStatus = TurnStatus.DONE, stop_reason: str | None = "end_turn"
) -> Turn:
    content = [TextBlock(b) if isinstance(b, str) else b for b in blocks]
    return Turn(
        Role.ASSISTANT,
        message=Message(content=content, stop_reason=stop_reason),
        status=status,
    )


def call(tool_id: str, name: str = "lookup") -> ToolUseBlock:
    block = ToolUseBlock(tool_id, name, {"q": "x"})
    return block


def results(*ids: str, text: str = "42") -> Turn:
    return Turn(Role.USER, [ToolResultBlock(i, text) for i in ids])


def wire(turns: list[Turn]) -> list[dict[str, Any]]:
    return [m.to_dict() for m in request_messages(turns)]


def texts(turns: list[Turn]) -> list[tuple[str, str]]:
    out = []
    for message in request_messages(turns):
        for block in message.content:
            if isinstance(block, TextBlock):
                out.append((message.role.value, block.text))
    return out


def test_a_plain_exchange_alternates_roles() -> None:
    turns = [prompt("hi"), answer("hello"), prompt("more", TurnStatus.PENDING)]
    assert wire(turns) == [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "hello"}]},
        {"role": "user", "content": [{"type": "text", "text": "more"}]},
    ]


def test_a_failed_prompt_is_left_out_and_the_next_one_goes_alone() -> None:
    turns = [
        prompt("fine"),
        answer("ok"),
        prompt("bad image", TurnStatus.FAILED),
        prompt("try again", TurnStatus.PENDING),
    ]
    assert texts(turns) == [("user", "fine"), ("assistant", "ok"), ("user", "try again")]


def test_a_refused_exchange_is_left_out_and_the_next_message_goes_alone() -> None:
    refused = answer(stop_reason="refusal", status=TurnStatus.REFUSED)
    turns = [
        prompt("fine"),
        answer("ok"),
        prompt("something declined", TurnStatus.REFUSED),
        refused,
        prompt("an ordinary question", TurnStatus.PENDING),
    ]
    assert texts(turns) == [
        ("user", "fine"),
        ("assistant", "ok"),
        ("user", "an ordinary question"),
    ]


def test_a_refusal_stored_before_refusals_had_a_status_is_left_out_too() -> None:
    # Older history: the refusal is DONE with stop_reason "refusal", its prompt DONE.
    turns = [
        prompt("declined"),
        answer(stop_reason="refusal"),
        prompt("next", TurnStatus.PENDING),
    ]
    assert texts(turns) == [("user", "next")]


def test_a_refused_tool_loop_is_left_out_back_to_the_typed_prompt() -> None:
    turns = [
        prompt("earlier"),
        answer("sure"),
        prompt("use the tool", TurnStatus.REFUSED),
        answer("calling", call("t1"), stop_reason="tool_use"),
        results("t1"),
        answer(stop_reason="refusal", status=TurnStatus.REFUSED),
        prompt("new", TurnStatus.PENDING),
    ]
    assert texts(turns) == [("user", "earlier"), ("assistant", "sure"), ("user", "new")]


def test_stopped_and_interrupted_replies_are_sent_as_far_as_they_got() -> None:
    turns = [
        prompt("a"),
        answer("partial", status=TurnStatus.STOPPED, stop_reason=None),
        prompt("b"),
        answer("cut", status=TurnStatus.INTERRUPTED, stop_reason=None),
        prompt("c", TurnStatus.PENDING),
    ]
    assert [role for role, _ in texts(turns)] == ["user", "assistant"] * 2 + ["user"]


def test_empty_replies_and_empty_text_blocks_are_not_sent() -> None:
    turns = [
        Turn(Role.USER, [PNG, TextBlock("")]),
        answer(""),
        prompt("again", TurnStatus.PENDING),
    ]
    sent = wire(turns)
    assert [m["role"] for m in sent] == ["user"]
    assert sent[0]["content"] == [PNG.to_dict(), {"type": "text", "text": "again"}]


def test_a_conversation_never_starts_with_the_assistant() -> None:
    turns = [answer("orphan"), prompt("hi", TurnStatus.PENDING)]
    assert texts(turns) == [("user", "hi")]


def test_a_tool_call_goes_with_its_result_and_results_come_first() -> None:
    turns = [
        prompt("weather?"),
        answer("checking", call("t1"), call("t2"), stop_reason="tool_use"),
        results("t1", "t2"),
    ]
    sent = wire(turns)
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert [b["type"] for b in sent[1]["content"]] == ["text", "tool_use", "tool_use"]
    assert [b["tool_use_id"] for b in sent[2]["content"]] == ["t1", "t2"]


def test_a_tool_call_without_its_result_is_never_sent() -> None:
    # A reply stopped while it asked for a tool, then the person typed on.
    turns = [
        prompt("weather?"),
        answer("checking", call("t1"), status=TurnStatus.STOPPED, stop_reason=None),
        prompt("never mind", TurnStatus.PENDING),
    ]
    sent = wire(turns)
    assert [b["type"] for b in sent[1]["content"]] == ["text"]
    assert all(b["type"] != "tool_result" for b in sent[2]["content"])


def test_a_result_without_its_call_is_never_sent() -> None:
    turns = [prompt("hi"), answer("hello"), results("t9"), prompt("next", TurnStatus.PENDING)]
    sent = wire(turns)
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[2]["content"] == [{"type": "text", "text": "next"}]


def test_a_partly_answered_call_keeps_only_the_matched_pair() -> None:
    turns = [
        prompt("two things"),
        answer(call("t1"), call("t2"), stop_reason="tool_use"),
        results("t1"),
    ]
    sent = wire(turns)
    assert [b["id"] for b in sent[1]["content"]] == ["t1"]
    assert [b["tool_use_id"] for b in sent[2]["content"]] == ["t1"]


def test_a_reply_that_is_only_a_dropped_call_disappears_and_neighbours_merge() -> None:
    turns = [
        prompt("first"),
        answer(call("t1"), status=TurnStatus.STOPPED, stop_reason=None),
        prompt("second", TurnStatus.PENDING),
    ]
    assert wire(turns) == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}],
        }
    ]


def test_server_tool_calls_are_the_service_s_and_stay() -> None:
    search = ToolUseBlock("srv1", "web_search", {"query": "x"}, block_type="server_tool_use")
    turns = [prompt("find"), answer("looking", search, stop_reason="pause_turn")]
    sent = wire(turns)
    assert [b["type"] for b in sent[1]["content"]] == ["text", "server_tool_use"]


def test_thinking_is_sent_back_unchanged_but_never_cut_or_alone() -> None:
    signed = ThinkingBlock("reasoning", "sig")
    turns = [
        prompt("q"),
        answer(signed, "answer"),
        prompt("q2"),
        # Stopped while thinking: no signature arrived, and nothing else was said.
        answer(ThinkingBlock("half a thou"), status=TurnStatus.STOPPED, stop_reason=None),
        prompt("q3"),
        answer(RedactedThinkingBlock("opaque"), status=TurnStatus.STOPPED, stop_reason=None),
        prompt("q4", TurnStatus.PENDING),
    ]
    sent = wire(turns)
    assert sent[1]["content"] == [signed.to_dict(), {"type": "text", "text": "answer"}]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert [b["text"] for b in sent[2]["content"]] == ["q2", "q3", "q4"]


def test_the_image_count_includes_images_in_tool_results() -> None:
    conversation = Conversation(
        [
            Turn(Role.USER, [PNG, PNG, TextBlock("two")]),
            answer(call("t1"), stop_reason="tool_use"),
            Turn(Role.USER, [ToolResultBlock("t1", (TextBlock("shot"), PNG))]),
            Turn(Role.USER, [PNG], status=TurnStatus.FAILED),
        ]
    )
    assert conversation.image_count() == 3


def test_a_prompt_needs_text_or_an_attachment() -> None:
    with pytest.raises(ValueError, match="text or at least one attachment"):
        user_turn("   ")
    turn = user_turn("look", [PNG], ["1×1"])
    assert turn.content == [PNG, TextBlock("look")]
    assert turn.status is TurnStatus.PENDING
    assert (turn.role, turn.notes) == (Role.USER, ["1×1"])
