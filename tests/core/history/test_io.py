"""Markdown and JSON export, and JSON import back into the store."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.errors import HistoryFormatError
from desktop_app.core.history.io import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_MESSAGES,
    decode_import,
    export_json,
    export_markdown,
    import_json,
    read_import_file,
)
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.wire.blocks import Role, TextBlock, ThinkingBlock, block_from_dict
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
            Role.USER,
            [block_from_dict(IMAGE), TextBlock("What is this?")],
            notes=["1×1 px, 1 token"],
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
        Turn(Role.ASSISTANT, message=message, model="claude-opus-4-7"),
        settings={"api_key": KEY, "temperature": 1.0},
    )
    store.add_message(
        conversation,
        Turn(
            Role.USER,
            [TextBlock("More?")],
            status=TurnStatus.FAILED,
            error="Rejected.",
        ),
    )
    cut = Message(model="claude-opus-4-7", content=[TextBlock("It is")])
    store.add_message(
        conversation,
        Turn(
            Role.ASSISTANT,
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
    assert [b.to_dict() for b in turns[2].image_blocks] == [IMAGE]
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


# -- bounds on what an import may hold ----------------------------------------------------


def _image_message(media_type: str, data: bytes) -> dict[str, Any]:
    source = {"type": "base64", "media_type": media_type, "data": base64.b64encode(data).decode()}
    return {"role": "user", "content": [{"type": "image", "source": source}]}


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def _ours(**facts: Any) -> dict[str, Any]:
    return {
        "format": "iris-conversation",
        "version": 1,
        "messages": [{"role": "user", "content": "hello"}],
        "iris": {"turns": [facts]},
    }


@pytest.mark.parametrize(
    ("data", "where", "problem"),
    [
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "tool_use", "id": "t", "name": "f", "input": _nested(500)}
                        ],
                    }
                ]
            },
            "$.messages[0].content[0].input",
            "nested deeper than",
        ),
        (
            {"messages": [{"role": "user", "content": "caf\ud800e"}]},
            "$.messages[0].content",
            "lone surrogate",
        ),
        ({"title": "\udfff", "messages": [{"role": "user", "content": "x"}]}, "$.title", "lone"),
        (_ours(notes=["ok", "bad \ud83d"]), "$.iris.turns[0].notes[1]", "lone surrogate"),
        (_ours(created=math.nan), "$.iris.turns[0].created", "finite"),
        (_ours(created=math.inf), "$.iris.turns[0].created", "finite"),
        (_ours(created=1e300), "$.iris.turns[0].created", "year 9999"),
        (_ours(created=-5), "$.iris.turns[0].created", "seconds since 1970"),
        (
            {**_ours(), "iris": {"created": 1e20, "turns": [{}]}},
            "$.iris.created",
            "year 9999",
        ),
        (
            {"messages": [_image_message("image/png", b"hello, not a picture")]},
            "$.messages[0].content[0].source.data",
            "not a readable image/png image",
        ),
        (
            {"messages": [_image_message("image/png", base64.b64decode(PNG)[:30])]},
            "$.messages[0].content[0].source.data",
            "not a readable image/png image",
        ),
        (
            {"messages": [_image_message("image/gif", base64.b64decode(PNG))]},
            "$.messages[0].content[0].source.data",
            "declared image/gif, but the data is image/png",
        ),
        (
            {"messages": [{"role": "user", "content": "x"}] * (MAX_IMPORT_MESSAGES + 1)},
            "$.messages",
            "Iris imports up to 10,000",
        ),
    ],
    ids=[
        "deep",
        "surrogate-text",
        "surrogate-title",
        "surrogate-note",
        "nan",
        "infinity",
        "far-future",
        "before-1970",
        "conversation-time",
        "not-an-image",
        "cut-image",
        "wrong-type",
        "too-many",
    ],
)
def test_hostile_content_is_refused_in_one_line_and_writes_nothing(
    store: HistoryStore, data: Any, where: str, problem: str
) -> None:
    sample(store)
    before = [(c.id, c.message_count) for c in store.list_conversations(include_deleted=True)]
    with pytest.raises(HistoryFormatError) as caught:
        import_json(store, data)
    message = str(caught.value)
    assert message.startswith(where)
    assert len(message) < 200
    assert problem in message
    assert "\n" not in message
    assert [
        (c.id, c.message_count) for c in store.list_conversations(include_deleted=True)
    ] == before


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"messages": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", "nested too deeply"),
        (b'{"iris": {"created": NaN}}', "NaN is not a number JSON allows"),
        (b'{"iris": {"created": -Infinity}}', "-Infinity is not a number JSON allows"),
        (b'{"title": "\xff\xfe"}', "not UTF-8"),
        (b'{"title": ', "not valid JSON"),
    ],
    ids=["deep", "deep-inside", "nan", "infinity", "not-utf8", "cut"],
)
def test_undecodable_files_are_refused_in_one_line(raw: bytes, problem: str) -> None:
    with pytest.raises(HistoryFormatError) as caught:
        decode_import(raw)
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_file_past_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(MAX_IMPORT_BYTES + 1)
    with pytest.raises(HistoryFormatError, match="larger than 40 MB"):
        read_import_file(big)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_device_is_read_only_up_to_the_cap() -> None:
    with pytest.raises(HistoryFormatError, match="larger than 40 MB"):
        read_import_file(Path("/dev/zero"))


def test_an_export_reads_back_through_the_file_path(store: HistoryStore, tmp_path: Path) -> None:
    conversation = sample(store)
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(export_json(store, conversation)), encoding="utf-8-sig")
    again = import_json(store, read_import_file(path))
    assert export_json(store, again)["messages"] == export_json(store, conversation)["messages"]
