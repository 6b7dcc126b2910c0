"""Markdown and JSON export, and JSON import back into the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.errors import HistoryFormatError
from desktop_app.core.history.io import export_json, export_markdown, import_json
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.wire.blocks import TextBlock, ThinkingBlock
from desktop_app.core.wire.message import Message, Usage

KEY = "sk-ant-api03-test-key-that-must-never-leak"
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
    "RU5ErkJggg=="
)
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    return HistoryStore.open(tmp_path / "history.sqlite3")


def sample(store: HistoryStore) -> int:
    conversation = store.create_conversation(model="claude-opus-4-7", system="Be brief.")
    store.add_message(
        conversation,
        Turn(
            "user", [IMAGE, {"type": "text", "text": "What is this?"}], notes=["1×1 px, 1 token"]
        ),
    )
    message = Message(
        id="msg_01",
        model="claude-opus-4-7",
        content=[ThinkingBlock("Tiny.", "sig"), TextBlock("A single pixel.")],
        stop_reason="end_turn",
        usage=Usage(20, 6, 0, 3),
    )
    store.add_message(
        conversation,
        Turn("assistant", message=message, model="claude-opus-4-7"),
        settings={"api_key": KEY, "temperature": 1.0},
    )
    store.add_message(
        conversation,
        Turn(
            "user",
            [{"type": "text", "text": "More?"}],
            status=TurnStatus.FAILED,
            error="Rejected.",
        ),
    )
    cut = Message(model="claude-opus-4-7", content=[TextBlock("It is")])
    store.add_message(
        conversation,
        Turn(
            "assistant",
            message=cut,
            status=TurnStatus.INTERRUPTED,
            error="Lost.",
            model="claude-opus-4-7",
        ),
    )
    return conversation


def comparable(store: HistoryStore, conversation_id: int) -> list[dict[str, Any]]:
    out = []
    for stored in store.load_active_path(conversation_id):
        turn = stored.turn
        out.append(
            {
                "role": turn.role,
                "content": turn.content,
                "message": None if turn.message is None else turn.message.to_dict(),
                "status": turn.status,
                "error": turn.error,
                "notes": turn.notes,
                "model": turn.model,
                "created": turn.created,
            }
        )
    return out


def test_json_round_trip_is_identical(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    original = sample(store)
    exported = export_json(store, original)
    text = json.dumps(exported)
    assert KEY not in text
    assert "temperature" not in text  # settings are not exported
    # The Messages API shape: images as base64 blocks.
    assert exported["messages"][0] == {
        "role": "user",
        "content": [IMAGE, {"type": "text", "text": "What is this?"}],
    }
    assert exported["system"] == "Be brief."
    copy = import_json(store, json.loads(text))
    assert copy != original
    assert comparable(store, copy) == comparable(store, original)
    info, again = store.conversation(original), store.conversation(copy)
    assert (again.title, again.model, again.system) == (info.title, info.model, info.system)
    assert export_json(store, copy)["messages"] == exported["messages"]


def test_markdown_export(store: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    text = export_markdown(store, sample(store))
    assert text.startswith("# What is this?\n")
    assert "## You" in text
    assert "## Claude (claude-opus-4-7)" in text
    assert "A single pixel." in text
    assert "*[image: image/png, 0 KB]*" in text
    assert "> Tiny." in text
    assert "(interrupted: Lost.)" in text
    assert PNG not in text
    assert KEY not in text


def test_bare_request_body_imports(store: HistoryStore) -> None:
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are terse."}],
        "messages": [
            {"role": "user", "content": "Hello there"},
            {"role": "assistant", "content": [{"type": "text", "text": "Hi."}]},
            {"role": "user", "content": [IMAGE, {"type": "text", "text": "And this?"}]},
        ],
    }
    conversation = import_json(store, body)
    info = store.conversation(conversation)
    assert (info.title, info.model, info.system) == (
        "Hello there",
        "claude-sonnet-4-6",
        "You are terse.",
    )
    turns = [s.turn for s in store.load_active_path(conversation)]
    assert [t.text for t in turns] == ["Hello there", "Hi.", "And this?"]
    assert turns[1].message is not None
    assert turns[1].message.model == "claude-sonnet-4-6"
    assert turns[2].image_blocks == [IMAGE]
    assert all(t.status is TurnStatus.DONE for t in turns)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ([], "$: expected a JSON object"),
        ({"messages": []}, "$.messages"),
        ({"messages": "hi"}, "$.messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "$.messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "$.messages[0].content"),
        (
            {"messages": [{"role": "user", "content": [{"text": "x"}]}]},
            "$.messages[0].content[0].type",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "$.messages[0].content[0].text",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": "@@not base64@@",
                                },
                            }
                        ],
                    }
                ]
            },
            "$.messages[0].content[0].source.data",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/bmp",
                                    "data": "AA==",
                                },
                            }
                        ],
                    }
                ]
            },
            "$.messages[0].content[0].source.media_type",
        ),
        (
            {"format": "other", "version": 1, "messages": [{"role": "user", "content": "x"}]},
            "$.format",
        ),
        (
            {
                "format": "iris-conversation",
                "version": 1,
                "messages": [{"role": "user", "content": "x"}],
                "iris": {"turns": []},
            },
            "$.iris.turns",
        ),
        (
            {
                "format": "iris-conversation",
                "version": 1,
                "messages": [{"role": "user", "content": "x"}],
                "iris": {"turns": [{"status": "exploded"}]},
            },
            "$.iris.turns[0].status",
        ),
        ({"system": 3, "messages": [{"role": "user", "content": "x"}]}, "$.system"),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "assistant", "content": [{"type": "thinking", "thinking": 5}]},
                ]
            },
            "$.messages[1]: a thinking block's thinking is not a string",
        ),
        (
            {
                "format": "iris-conversation",
                "version": 1,
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "assistant", "content": "a"},
                ],
                "iris": {"turns": [{}, {"message": {"stop_reason": 5}}]},
            },
            "$.messages[1]: the message's stop_reason is not a string",
        ),
    ],
)
def test_bad_input_names_the_problem_and_writes_nothing(
    store: HistoryStore, data: Any, where: str
) -> None:
    sample(store)
    before = [(c.id, c.message_count) for c in store.list_conversations(include_deleted=True)]
    with pytest.raises(HistoryFormatError) as caught:
        import_json(store, data)
    assert str(caught.value).startswith(where)
    assert [
        (c.id, c.message_count) for c in store.list_conversations(include_deleted=True)
    ] == before


def test_a_bad_last_message_writes_nothing(store: HistoryStore) -> None:
    # The error is found at the end, after many good turns: still nothing written.
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"m{i}"} for i in range(50)]
    messages.append({"role": "user", "content": [{"type": "image", "source": {}}]})
    with pytest.raises(HistoryFormatError, match=r"\$\.messages\[50\]\.content\[0\]\.source"):
        import_json(store, {"messages": messages})
    assert store.list_conversations() == []
    assert store.search("m49") == []
