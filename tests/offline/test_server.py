"""The offline Messages API server, exercised over real loopback sockets."""

from __future__ import annotations

import base64
import io
import json
import re
import selectors
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from desktop_app.core.catalog import Catalog
from desktop_app.offline import images
from desktop_app.offline.replies import split_pieces
from desktop_app.offline.server import (
    DEFAULT_DELAY,
    DEMO_API_KEY,
    MessagesHandler,
    OfflineServer,
)
from tests.support.offline import Fault, FaultyServer, api_headers

Event = tuple[str, dict[str, Any]]

HAIKU = "claude-haiku-4-5"
SONNET = "claude-sonnet-4-6"
OUTPUT_128K = "output-128k-2025-02-19"


# -- helpers -------------------------------------------------------------------------------


def body(text: str = "Hello world!", **fields: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": HAIKU,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}],
    }
    request.update(fields)
    return request


def user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return body(messages=[{"role": "user", "content": list(blocks)}])


def text_block(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, **extra}


def encode_image(width: int, height: int, fmt: str = "PNG", **save: Any) -> bytes:
    buffer = io.BytesIO()
    mode = "RGBA" if save.pop("alpha", False) else "RGB"
    Image.new(mode, (width, height), (200, 80, 40, 255)[: len(mode)]).save(buffer, fmt, **save)
    return buffer.getvalue()


def image_block(data: bytes, media_type: str = "image/png") -> dict[str, Any]:
    encoded = base64.b64encode(data).decode("ascii")
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": encoded},
    }


def read_events(response: httpx.Response) -> list[Event]:
    """Parse SSE line by line, checking that each data's type names its event."""
    events: list[Event] = []
    name: str | None = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = json.loads(line.removeprefix("data: "))
            assert name is not None
            assert data["type"] == name
            events.append((name, data))
        else:
            assert line == ""
            name = None
    return events


def stream(client: httpx.Client, request: Mapping[str, Any], **kwargs: Any) -> list[Event]:
    with client.stream("POST", "/v1/messages", json={**request, "stream": True}, **kwargs) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        return read_events(r)


def names(events: list[Event]) -> list[str]:
    return [name for name, _ in events]


def deltas(events: list[Event], kind: str) -> list[dict[str, Any]]:
    return [
        data["delta"]
        for name, data in events
        if name == "content_block_delta" and data["delta"]["type"] == kind
    ]


def streamed_text(events: list[Event]) -> str:
    return "".join(d["text"] for d in deltas(events, "text_delta"))


def check_grammar(events: list[Event]) -> None:
    """Assert the event order the service uses: start, blocks, delta, stop."""
    assert names(events)[0] == "message_start"
    assert names(events)[-2:] == ["message_delta", "message_stop"]
    open_index: int | None = None
    next_index = 0
    for name, data in events[1:-2]:
        if name == "content_block_start":
            assert open_index is None
            assert data["index"] == next_index
            open_index = next_index
        elif name in ("content_block_delta", "content_block_stop"):
            assert data["index"] == open_index
            if name == "content_block_stop":
                open_index = None
                next_index += 1
        else:
            assert name == "ping"
    assert open_index is None


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    payload = response.json()
    assert payload["type"] == "error"
    return response.status_code, payload["error"]["type"], payload["error"]["message"]


def connect(server: OfflineServer, key: str = DEMO_API_KEY) -> httpx.Client:
    # Plain HTTP on loopback: verify=False only spares loading the CA bundle per client.
    return httpx.Client(
        base_url=server.base_url, headers=api_headers(key), timeout=10, verify=False
    )


@pytest.fixture
def client(offline_server: FaultyServer) -> Iterator[httpx.Client]:
    with connect(offline_server) as c:
        yield c


# -- validation ----------------------------------------------------------------------------

_BAD_REQUESTS: list[tuple[str, dict[str, str | None], Any, str]] = [
    ("no version", {"anthropic-version": None}, body(), "anthropic-version: header is required"),
    ("body is a list", {}, [body()], "The request body must be a JSON object"),
    ("no model", {}, {k: v for k, v in body().items() if k != "model"}, "model: Field required"),
    (
        "no max_tokens",
        {},
        {k: v for k, v in body().items() if k != "max_tokens"},
        "max_tokens: Field required",
    ),
    (
        "max_tokens zero",
        {},
        body(max_tokens=0),
        "max_tokens: Input should be greater than or equal to 1",
    ),
    ("max_tokens text", {}, body(max_tokens="64"), "max_tokens: Input should be a valid integer"),
    ("max_tokens bool", {}, body(max_tokens=True), "max_tokens: Input should be a valid integer"),
    (
        "max_tokens above ceiling",
        {},
        body(max_tokens=100000),
        "max_tokens: 100000 > 8192, which is the maximum allowed number of output tokens "
        "for claude-haiku-4-5",
    ),
    (
        "extended ceiling needs its beta",
        {},
        body(model=SONNET, max_tokens=64000),
        "max_tokens: 64000 > 8192, which is the maximum allowed number of output tokens "
        "for claude-sonnet-4-6",
    ),
    (
        "above the extended ceiling",
        {"anthropic-beta": OUTPUT_128K},
        body(model=SONNET, max_tokens=64001),
        "max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens "
        "for claude-sonnet-4-6",
    ),
    (
        "no messages",
        {},
        {k: v for k, v in body().items() if k != "messages"},
        "messages: Field required",
    ),
    ("messages not a list", {}, body(messages="hi"), "messages: Input should be a valid list"),
    ("messages empty", {}, body(messages=[]), "messages: at least one message is required"),
    (
        "system role",
        {},
        body(messages=[{"role": "system", "content": "Be brief"}]),
        'messages.0.role: Unexpected role "system". The Messages API accepts a top-level '
        '`system` parameter, not "system" as an input message role.',
    ),
    (
        "unknown role",
        {},
        body(messages=[{"role": "bot", "content": "hi"}]),
        "messages.0.role: Input should be 'user' or 'assistant'",
    ),
    (
        "starts with assistant",
        {},
        body(messages=[{"role": "assistant", "content": "hi"}]),
        'messages.0.role: the first message must use the "user" role',
    ),
    (
        "roles do not alternate",
        {},
        body(messages=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]),
        'messages.1.role: roles must alternate between "user" and "assistant", '
        'but found two "user" messages in a row',
    ),
    (
        "content neither text nor blocks",
        {},
        body(messages=[{"role": "user", "content": 42}]),
        "messages.0.content: Input should be a valid string or a list of content blocks",
    ),
    (
        "empty text block",
        {},
        user(text_block("Look:"), text_block("")),
        "messages.0.content.1.text: text content blocks must be non-empty",
    ),
    ("empty text", {}, body(""), "messages.0.content: text content must be non-empty"),
    (
        "unknown block type",
        {},
        user({"type": "video"}),
        "messages.0.content.0.type: Input tag \"video\" found using 'type' does not match "
        "any of the expected tags",
    ),
    (
        "temperature above 1",
        {},
        body(temperature=1.5),
        "temperature: Input should be less than or equal to 1",
    ),
    (
        "temperature below 0",
        {},
        body(temperature=-0.1),
        "temperature: Input should be greater than or equal to 0",
    ),
    (
        "temperature text",
        {},
        body(temperature="hot"),
        "temperature: Input should be a valid number",
    ),
    ("top_p above 1", {}, body(top_p=2), "top_p: Input should be less than or equal to 1"),
    (
        "stop_sequences not a list",
        {},
        body(stop_sequences="END"),
        "stop_sequences: Input should be a valid list",
    ),
    (
        "stop_sequences with a number",
        {},
        body(stop_sequences=["END", 7]),
        "stop_sequences.1: Input should be a valid string",
    ),
    (
        "system neither text nor blocks",
        {},
        body(system=42),
        "system: Input should be a valid string or a list of text blocks",
    ),
    (
        "system block not text",
        {},
        body(system=[{"type": "image"}]),
        "system.0: Input should be a text block",
    ),
    (
        "system block empty",
        {},
        body(system=[text_block("")]),
        "system.0.text: text content blocks must be non-empty",
    ),
    (
        "five cache breakpoints",
        {},
        user(*[text_block(f"part {i}", cache_control={"type": "ephemeral"}) for i in range(5)]),
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    ("unknown field", {}, body(temprature=0.5), "temprature: Extra inputs are not permitted"),
    ("stream not a bool", {}, body(stream="yes"), "stream: Input should be a valid boolean"),
]


@pytest.mark.parametrize(
    ("header_changes", "payload", "message"),
    [case[1:] for case in _BAD_REQUESTS],
    ids=[case[0] for case in _BAD_REQUESTS],
)
def test_invalid_requests_get_400_with_the_reason(
    client: httpx.Client, header_changes: dict[str, str | None], payload: Any, message: str
) -> None:
    headers = {k: v for k, v in {**api_headers(), **header_changes}.items() if v is not None}
    client.headers.clear()
    response = client.post("/v1/messages", json=payload, headers=headers)
    assert error_of(response) == (400, "invalid_request_error", message)


@pytest.mark.parametrize(
    "auth",
    [{}, {"x-api-key": ""}, {"authorization": "Bearer"}, {"authorization": "Basic abc"}],
    ids=["none", "empty x-api-key", "empty bearer", "not bearer"],
)
def test_a_missing_key_is_an_authentication_error(
    offline_server: FaultyServer, auth: dict[str, str]
) -> None:
    response = httpx.post(
        offline_server.base_url + "/v1/messages",
        json=body(),
        headers={"anthropic-version": "2023-06-01", **auth},
    )
    assert error_of(response) == (
        401,
        "authentication_error",
        "x-api-key header is required (or an Authorization: Bearer token)",
    )


def test_a_bearer_token_is_accepted(offline_server: FaultyServer) -> None:
    response = httpx.post(
        offline_server.base_url + "/v1/messages",
        json=body(),
        headers={"anthropic-version": "2023-06-01", "authorization": "Bearer sk-test"},
    )
    assert response.status_code == 200


def test_a_body_that_is_not_json_is_rejected(client: httpx.Client) -> None:
    response = client.post("/v1/messages", content=b"{nope")
    status, error_type, message = error_of(response)
    assert (status, error_type) == (400, "invalid_request_error")
    assert message.startswith("The request body is not valid JSON")


def test_an_unknown_model_is_not_found(client: httpx.Client) -> None:
    response = client.post("/v1/messages", json=body(model="claude-nope-9"))
    assert error_of(response) == (404, "not_found_error", "model: claude-nope-9")


def test_the_extended_output_beta_unlocks_64000_tokens(client: httpx.Client) -> None:
    response = client.post(
        "/v1/messages",
        json=body(model=SONNET, max_tokens=64000),
        headers={"anthropic-beta": f"other-beta,{OUTPUT_128K}"},
    )
    assert response.status_code == 200


def test_the_error_body_carries_the_request_id_of_the_header(client: httpx.Client) -> None:
    response = client.post("/v1/messages", json=body(max_tokens=0))
    assert response.json()["request_id"] == response.headers["request-id"]


# -- image validation ----------------------------------------------------------------------


def post_images(client: httpx.Client, *blocks: dict[str, Any]) -> httpx.Response:
    return client.post("/v1/messages", json=user(text_block("What is this?"), *blocks))


def test_an_unsupported_media_type_is_rejected(client: httpx.Client) -> None:
    response = post_images(client, image_block(encode_image(4, 4, "BMP"), "image/bmp"))
    assert error_of(response) == (
        400,
        "invalid_request_error",
        "messages.0.content.1.source.base64.media_type: Input should be 'image/jpeg', "
        "'image/png', 'image/gif' or 'image/webp'",
    )


def test_invalid_base64_is_rejected(client: httpx.Client) -> None:
    block = image_block(b"")
    block["source"]["data"] = "not*base64!"
    assert error_of(post_images(client, block)) == (
        400,
        "invalid_request_error",
        "messages.0.content.1.image.source.base64.data: invalid base64 data",
    )


def test_an_image_over_5_mb_of_base64_is_rejected(client: httpx.Client) -> None:
    block = image_block(b"")
    block["source"]["data"] = "A" * 5_242_884
    assert error_of(post_images(client, block)) == (
        400,
        "invalid_request_error",
        "messages.0.content.1.image.source.base64: image exceeds 5 MB maximum: "
        "5242884 bytes > 5242880 bytes",
    )


@pytest.mark.parametrize(
    ("fmt", "declared"),
    [("PNG", "image/jpeg"), ("JPEG", "image/png"), ("GIF", "image/webp"), ("WEBP", "image/gif")],
)
def test_an_image_whose_bytes_do_not_match_its_media_type_is_rejected(
    client: httpx.Client, fmt: str, declared: str
) -> None:
    response = post_images(client, image_block(encode_image(8, 8, fmt), declared))
    assert error_of(response) == (
        400,
        "invalid_request_error",
        "messages.0.content.1.image.source.base64.data: Image does not match the provided "
        f"media type {declared}",
    )


def test_bytes_that_are_no_image_are_rejected(client: httpx.Client) -> None:
    response = post_images(client, image_block(b"plain text, not pixels"))
    assert error_of(response) == (
        400,
        "invalid_request_error",
        "messages.0.content.1.image.source.base64.data: Could not process image",
    )


def test_a_side_over_8000_pixels_is_rejected(client: httpx.Client) -> None:
    response = post_images(client, image_block(encode_image(8001, 1)))
    assert error_of(response) == (
        400,
        "invalid_request_error",
        "messages.0.content.1.image.source.base64.data: At least one of the image dimensions "
        "exceed max allowed size: 8000 pixels",
    )
    assert response.json()["error"]["details"] == {
        "error_code": "image_dimensions_too_large",
        "max_side_length_pixels": 8000,
        "paths": ["messages.0.content.1"],
    }


def test_a_side_of_8000_pixels_is_accepted(client: httpx.Client) -> None:
    assert post_images(client, image_block(encode_image(1, 8000))).status_code == 200


def test_many_image_requests_allow_at_most_2000_pixels(client: httpx.Client) -> None:
    small = image_block(encode_image(2, 2))
    wide = image_block(encode_image(2001, 1))
    assert post_images(client, *[small] * 19, wide).status_code == 200  # 20 images: fine
    response = post_images(client, *[small] * 20, wide)
    assert error_of(response) == (
        400,
        "invalid_request_error",
        "messages.0.content.21.image.source.base64.data: At least one of the image dimensions "
        "exceed max allowed size for many-image requests: 2000 pixels",
    )


# -- image headers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "media_type", "save"),
    [
        ("PNG", "image/png", {}),
        ("JPEG", "image/jpeg", {}),
        ("JPEG", "image/jpeg", {"progressive": True}),
        ("GIF", "image/gif", {}),
        ("WEBP", "image/webp", {"lossless": False}),
        ("WEBP", "image/webp", {"lossless": True}),
        ("WEBP", "image/webp", {"alpha": True, "lossless": False}),
    ],
    ids=["png", "jpeg", "progressive-jpeg", "gif", "webp-lossy", "webp-lossless", "webp-extended"],
)
def test_image_size_is_read_from_the_header(fmt: str, media_type: str, save: Any) -> None:
    data = encode_image(1234, 567, fmt, **save)
    assert images.sniff_media_type(data) == media_type
    assert images.image_size(data, media_type) == (1234, 567)


def test_a_truncated_header_has_no_size() -> None:
    assert images.image_size(b"\xff\xd8\xff\xe0\x00", "image/jpeg") is None


# -- replies -------------------------------------------------------------------------------


def test_a_stream_follows_the_wire_format(client: httpx.Client) -> None:
    events = stream(client, body("Hello world!"))
    check_grammar(events)
    assert names(events)[:3] == ["message_start", "content_block_start", "ping"]
    message = events[0][1]["message"]
    assert message["id"].startswith("msg_")
    assert (message["role"], message["model"], message["content"]) == ("assistant", HAIKU, [])
    assert message["stop_reason"] is None
    text_deltas = deltas(events, "text_delta")
    assert len(text_deltas) > 10  # word-sized pieces, not one lump
    final = events[-2][1]
    assert final["delta"] == {
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "stop_details": None,
    }
    assert final["usage"]["output_tokens"] == len(text_deltas)


def test_a_json_reply_holds_the_same_message(client: httpx.Client) -> None:
    events = stream(client, body("Hello world!"))
    message = client.post("/v1/messages", json=body("Hello world!")).json()
    assert message["type"] == "message"
    assert message["id"].startswith("msg_")
    assert message["content"] == [{"type": "text", "text": streamed_text(events)}]
    assert message["stop_reason"] == "end_turn"
    assert message["usage"]["output_tokens"] == events[-2][1]["usage"]["output_tokens"]


def test_the_reply_says_it_is_the_demo_and_quotes_the_user(client: httpx.Client) -> None:
    text = client.post("/v1/messages", json=body("Tell me about   otters")).json()["content"][0]
    assert "offline demo" in text["text"]
    assert "“Tell me about otters”" in text["text"]


def test_the_reply_describes_every_image_of_the_last_turn(client: httpx.Client) -> None:
    png = encode_image(300, 250, "PNG")
    jpeg = encode_image(640, 480, "JPEG")
    earlier = encode_image(10, 10, "PNG")
    request = body(
        messages=[
            {"role": "user", "content": [image_block(earlier), text_block("first")]},
            {"role": "assistant", "content": "ok"},
            {
                "role": "user",
                "content": [
                    image_block(png),
                    image_block(jpeg, "image/jpeg"),
                    text_block("What is this?"),
                ],
            },
        ]
    )
    text = client.post("/v1/messages", json=request).json()["content"][0]["text"]
    assert "You attached 2 images:" in text
    assert f"Image 1: 300\N{MULTIPLICATION SIGN}250 pixels, image/png, {len(png):,} bytes" in text
    assert (
        f"Image 2: 640\N{MULTIPLICATION SIGN}480 pixels, image/jpeg, {len(jpeg):,} bytes" in text
    )


def test_think_streams_thinking_then_a_signature_then_text(client: httpx.Client) -> None:
    events = stream(client, body("/think about otters"))
    check_grammar(events)
    block_types = [d["content_block"]["type"] for n, d in events if n == "content_block_start"]
    assert block_types == ["thinking", "text"]
    thinking = [d["delta"] for n, d in events if n == "content_block_delta" and d["index"] == 0]
    assert len(thinking) > 2
    assert {d["type"] for d in thinking[:-1]} == {"thinking_delta"}
    assert thinking[-1]["type"] == "signature_delta"
    assert thinking[-1]["signature"]
    message = client.post("/v1/messages", json=body("/think about otters")).json()
    first = message["content"][0]
    assert first == {
        "type": "thinking",
        "thinking": "".join(d["thinking"] for d in thinking[:-1]),
        "signature": thinking[-1]["signature"],
    }


def test_thinking_enabled_in_the_request_adds_a_thinking_block(client: httpx.Client) -> None:
    request = body(thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=2048)
    content = client.post("/v1/messages", json=request).json()["content"]
    assert [block["type"] for block in content] == ["thinking", "text"]


WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "unit": {"enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
        },
        "required": ["location"],
    },
}


def test_tool_streams_a_tool_use_block_with_json_fragments(client: httpx.Client) -> None:
    events = stream(client, body("/tool Paris", tools=[WEATHER_TOOL]))
    check_grammar(events)
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert [s["type"] for s in starts] == ["text", "tool_use"]
    assert starts[1]["name"] == "get_weather"
    assert starts[1]["id"].startswith("toolu_")
    fragments = [d["partial_json"] for d in deltas(events, "input_json_delta")]
    assert fragments[0] == ""
    assert len(fragments) > 2
    tool_input = json.loads("".join(fragments))
    assert tool_input == {"location": "Paris", "unit": "celsius", "days": 1}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    message = client.post("/v1/messages", json=body("/tool Paris", tools=[WEATHER_TOOL])).json()
    assert message["content"][1]["input"] == tool_input
    assert message["stop_reason"] == "tool_use"


def test_tool_without_tools_explains_itself(client: httpx.Client) -> None:
    message = client.post("/v1/messages", json=body("/tool Paris")).json()
    assert [block["type"] for block in message["content"]] == ["text"]
    assert "defines no tools" in message["content"][0]["text"]
    assert message["stop_reason"] == "end_turn"


def test_a_tool_result_is_acknowledged(client: httpx.Client) -> None:
    request = body(
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "/tool Paris"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 °C"}],
            },
        ],
    )
    text = client.post("/v1/messages", json=request).json()["content"][0]["text"]
    assert "The tool returned “18 °C”" in text


def test_refuse_ends_with_a_refusal_and_its_details(client: httpx.Client) -> None:
    events = stream(client, body("/refuse"))
    check_grammar(events)
    assert names(events) == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    delta = events[-2][1]["delta"]
    assert delta["stop_reason"] == "refusal"
    assert delta["stop_details"]["type"] == "refusal"
    assert delta["stop_details"]["category"] is None
    assert delta["stop_details"]["explanation"]
    assert events[-2][1]["usage"]["output_tokens"] == 0
    message = client.post("/v1/messages", json=body("/refuse")).json()
    assert message["content"] == [{"type": "text", "text": ""}]
    assert message["stop_details"] == delta["stop_details"]


def test_cite_sends_a_citations_delta(client: httpx.Client) -> None:
    events = stream(client, body("/cite"))
    check_grammar(events)
    (citation,) = deltas(events, "citations_delta")
    assert citation["citation"]["type"] == "search_result_location"
    assert citation["citation"]["cited_text"] in streamed_text(events)


def test_cite_quotes_the_first_sentence_of_a_text_document(client: httpx.Client) -> None:
    document = {
        "type": "document",
        "title": "Otters",
        "source": {
            "type": "text",
            "media_type": "text/plain",
            "data": "Otters hold hands. They sleep.",
        },
    }
    message = client.post("/v1/messages", json=user(document, text_block("/cite"))).json()
    cited = [block for block in message["content"] if "citations" in block]
    assert cited == [
        {
            "type": "text",
            "text": "Otters hold hands.",
            "citations": [
                {
                    "type": "char_location",
                    "cited_text": "Otters hold hands.",
                    "document_index": 0,
                    "document_title": "Otters",
                    "start_char_index": 0,
                    "end_char_index": 18,
                }
            ],
        }
    ]


def test_markdown_has_headings_a_list_a_table_a_link_and_code(client: httpx.Client) -> None:
    text = client.post("/v1/messages", json=body("/markdown")).json()["content"][0]["text"]
    assert re.search(r"^# ", text, re.MULTILINE)
    assert re.search(r"^- ", text, re.MULTILINE)
    assert re.search(r"^\|---\|", text, re.MULTILINE)
    assert re.search(r"\[[^\]]+\]\(https://[^)]+\)", text)
    assert "```python\n" in text


def test_long_is_several_paragraphs(client: httpx.Client) -> None:
    text = client.post("/v1/messages", json=body("/long")).json()["content"][0]["text"]
    assert text.count("\n\n") >= 5
    assert len(text.split()) > 300


def test_max_tokens_cuts_the_reply(client: httpx.Client) -> None:
    full = client.post("/v1/messages", json=body()).json()["content"][0]["text"]
    events = stream(client, body(max_tokens=5))
    check_grammar(events)
    assert len(deltas(events, "text_delta")) == 5
    assert full.startswith(streamed_text(events))
    assert events[-2][1]["delta"]["stop_reason"] == "max_tokens"
    assert events[-2][1]["usage"]["output_tokens"] == 5


def test_max_tokens_drops_later_blocks(client: httpx.Client) -> None:
    message = client.post("/v1/messages", json=body("/think", max_tokens=3)).json()
    assert [block["type"] for block in message["content"]] == ["thinking"]
    assert message["stop_reason"] == "max_tokens"
    assert message["usage"]["output_tokens"] == 3


def test_a_stop_sequence_ends_the_reply_before_it(client: httpx.Client) -> None:
    full = client.post("/v1/messages", json=body()).json()["content"][0]["text"]
    events = stream(client, body(stop_sequences=["nowhere", "Iris"]))
    text = streamed_text(events)
    assert text == full[: full.index("Iris")]
    assert events[-2][1]["delta"]["stop_reason"] == "stop_sequence"
    assert events[-2][1]["delta"]["stop_sequence"] == "Iris"


def test_a_stop_sequence_that_never_appears_changes_nothing(client: httpx.Client) -> None:
    message = client.post("/v1/messages", json=body(stop_sequences=["zzz-never"])).json()
    assert (message["stop_reason"], message["stop_sequence"]) == ("end_turn", None)


@given(st.text())
def test_split_pieces_loses_nothing(text: str) -> None:
    pieces = split_pieces(text)
    assert "".join(pieces) == text
    assert all(0 < len(piece) <= 16 for piece in pieces)


# -- usage and caching ---------------------------------------------------------------------


def test_input_tokens_count_characters_and_image_pixels(client: httpx.Client) -> None:
    plain = client.post("/v1/messages", json=body("Hello world!")).json()
    assert plain["usage"]["input_tokens"] == 3  # 12 characters / 4
    request = user(image_block(encode_image(300, 250)), text_block("What is this?"))
    with_image = client.post("/v1/messages", json=request).json()
    assert with_image["usage"]["input_tokens"] == 100 + 3  # 300*250/750 + 13/4


def test_count_tokens_matches_the_usage(client: httpx.Client) -> None:
    request = user(image_block(encode_image(300, 250)), text_block("What is this?"))
    counted = client.post("/v1/messages/count_tokens", json=request)
    assert counted.json() == {"input_tokens": 103}


def cached_request(system_text: str, question: str, ttl: str = "5m") -> dict[str, Any]:
    control = {"type": "ephemeral", "ttl": ttl}
    return body(question, system=[text_block(system_text, cache_control=control)])


def usage_of(client: httpx.Client, request: dict[str, Any]) -> dict[str, Any]:
    usage: dict[str, Any] = client.post("/v1/messages", json=request).json()["usage"]
    return usage


def test_a_cached_prefix_is_written_once_then_read(client: httpx.Client) -> None:
    system = "You answer in one line. " * 25  # 600 characters: 150 tokens
    first = usage_of(client, cached_request(system, "Hello world!"))
    assert (first["cache_creation_input_tokens"], first["cache_read_input_tokens"]) == (150, 0)
    assert first["input_tokens"] == 3
    again = usage_of(client, cached_request(system, "Hello world!"))
    assert (again["cache_creation_input_tokens"], again["cache_read_input_tokens"]) == (0, 150)
    other_question = usage_of(client, cached_request(system, "Something else"))
    assert other_question["cache_read_input_tokens"] == 150
    changed = usage_of(client, cached_request(system + "!", "Hello world!"))
    assert (changed["cache_creation_input_tokens"], changed["cache_read_input_tokens"]) == (
        150,
        0,
    )


def test_cache_figures_appear_in_the_stream_and_honour_the_ttl(client: httpx.Client) -> None:
    events = stream(client, cached_request("x" * 400, "Hello world!", ttl="1h"))
    start_usage = events[0][1]["message"]["usage"]
    assert start_usage["cache_creation_input_tokens"] == 100
    assert start_usage["cache_creation"] == {
        "ephemeral_5m_input_tokens": 0,
        "ephemeral_1h_input_tokens": 100,
    }
    assert events[-2][1]["usage"]["cache_creation_input_tokens"] == 100


def test_without_breakpoints_nothing_is_cached(client: httpx.Client) -> None:
    for _ in range(2):
        usage = usage_of(client, body("Hello world!", system="Be brief. " * 20))
        assert (usage["cache_creation_input_tokens"], usage["cache_read_input_tokens"]) == (0, 0)


# -- models, headers, routing --------------------------------------------------------------


def test_models_lists_the_catalog_as_a_page(client: httpx.Client) -> None:
    catalog = Catalog.load()
    page = client.get("/v1/models").json()
    assert [m["id"] for m in page["data"]] == [m.id for m in catalog.models]
    assert page["has_more"] is False
    assert (page["first_id"], page["last_id"]) == (catalog.models[0].id, catalog.models[-1].id)
    sonnet = next(m for m in page["data"] if m["id"] == SONNET)
    assert sonnet["type"] == "model"
    assert sonnet["display_name"] == "Claude Sonnet 4.6"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", sonnet["created_at"])
    assert (sonnet["max_input_tokens"], sonnet["max_tokens"]) == (200000, 8192)


def test_models_pages_with_limit_and_after_id(client: httpx.Client) -> None:
    ids = [m.id for m in Catalog.load().models]
    first = client.get("/v1/models", params={"limit": 2}).json()
    assert [m["id"] for m in first["data"]] == ids[:2]
    assert first["has_more"] is True
    rest = client.get("/v1/models", params={"after_id": first["last_id"]}).json()
    assert [m["id"] for m in rest["data"]] == ids[2:]


def test_one_model_by_id(client: httpx.Client) -> None:
    assert client.get(f"/v1/models/{HAIKU}").json()["id"] == HAIKU
    assert client.get("/v1/models/claude-nope").status_code == 404


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/nope"), ("POST", "/v1/models")])
def test_unknown_endpoints_are_not_found(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path)
    assert error_of(response) == (404, "not_found_error", f"{method} {path} does not exist")


def test_every_response_has_a_request_id_and_rate_limit_headers(client: httpx.Client) -> None:
    responses = [
        client.post("/v1/messages", json=body()),
        client.post("/v1/messages", json=body(max_tokens=0)),
        client.get("/v1/nope"),
    ]
    ids = [r.headers["request-id"] for r in responses]
    assert all(re.fullmatch(r"req_[0-9A-Za-z]{24}", i) for i in ids)
    assert len(set(ids)) == 3
    assert [r.headers["anthropic-ratelimit-requests-limit"] for r in responses] == ["1000"] * 3
    remaining = [int(r.headers["anthropic-ratelimit-requests-remaining"]) for r in responses]
    assert remaining == [999, 998, 997]
    reset = responses[0].headers["anthropic-ratelimit-requests-reset"]
    reset_epoch = time.mktime(time.strptime(reset, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert time.time() < reset_epoch + 1 <= time.time() + 62


def test_the_rate_limit_answers_429_with_retry_after() -> None:
    with (
        OfflineServer(delay=0, rate_limit=2) as server,
        connect(server) as client,
    ):
        assert [client.get("/v1/models").status_code for _ in range(2)] == [200, 200]
        response = client.get("/v1/models")
    status, error_type, _ = error_of(response)
    assert (status, error_type) == (429, "rate_limit_error")
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert 1 <= int(response.headers["retry-after"]) <= 60


def raw_exchange(server: OfflineServer, request: bytes) -> bytes:
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_body_over_32_mb_is_refused_unread(offline_server: FaultyServer) -> None:
    answer = raw_exchange(
        offline_server,
        b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 40000000\r\n\r\n",
    )
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(payload)["error"]["type"] == "request_too_large"


def test_a_malformed_request_gets_a_json_error(offline_server: FaultyServer) -> None:
    answer = raw_exchange(offline_server, b"NONSENSE\r\n\r\n")
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(payload)["error"]["type"] == "invalid_request_error"


# -- faults --------------------------------------------------------------------------------


def test_status_fault_answers_an_error_once(
    offline_server: FaultyServer, client: httpx.Client
) -> None:
    offline_server.push(
        Fault.status(
            529,
            "overloaded_error",
            "Overloaded",
            headers={"retry-after": "1"},
            details={"error_code": "overloaded"},
        )
    )
    failed = client.post("/v1/messages", json={**body(), "stream": True})
    assert error_of(failed) == (529, "overloaded_error", "Overloaded")
    assert failed.json()["error"]["details"] == {"error_code": "overloaded"}
    assert failed.headers["retry-after"] == "1"
    assert client.post("/v1/messages", json=body()).status_code == 200
    assert offline_server.pending == 0


def test_faults_strike_in_order(offline_server: FaultyServer, client: httpx.Client) -> None:
    offline_server.push(Fault.status(500, "api_error"), Fault.status(429, "rate_limit_error"))
    codes = [client.post("/v1/messages", json=body()).status_code for _ in range(3)]
    assert codes == [500, 429, 200]


def test_faults_wait_for_their_path(offline_server: FaultyServer, client: httpx.Client) -> None:
    offline_server.push(Fault.status(500, "api_error"))
    assert client.get("/v1/models").status_code == 200
    assert offline_server.pending == 1
    offline_server.push(Fault.status(503, "api_error"), path="/v1/models")
    assert client.get("/v1/models").status_code == 503
    assert client.post("/v1/messages", json=body()).status_code == 500


def test_received_requests_are_recorded(
    offline_server: FaultyServer, client: httpx.Client
) -> None:
    client.post("/v1/messages", json=body("Hi"), headers={"X-Custom": "yes"})
    client.get("/v1/models")
    first, second = offline_server.received
    assert (first.method, first.path, second.method, second.path) == (
        "POST",
        "/v1/messages",
        "GET",
        "/v1/models",
    )
    assert first.headers["x-custom"] == "yes"
    assert first.headers["x-api-key"] == DEMO_API_KEY
    assert first.json == body("Hi")
    assert second.json is None


def test_error_event_fault_breaks_a_stream(
    offline_server: FaultyServer, client: httpx.Client
) -> None:
    offline_server.push(Fault.error_event(after_deltas=2))
    events = stream(client, body())
    assert names(events) == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "error",
    ]
    assert events[-1][1] == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_error_event_fault_strikes_before_message_delta_on_a_short_reply(
    offline_server: FaultyServer, client: httpx.Client
) -> None:
    offline_server.push(Fault.error_event(after_deltas=50, error_type="api_error"))
    events = stream(client, body(max_tokens=3))
    assert names(events)[-3:] == ["content_block_delta", "content_block_stop", "error"]


def stream_until_failure(client: httpx.Client, request: Mapping[str, Any]) -> list[Event]:
    """Read a stream that must break, returning the events before the break."""
    events: list[Event] = []

    def read() -> None:
        with client.stream("POST", "/v1/messages", json={**request, "stream": True}) as response:
            name = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    events.append((name, json.loads(line.removeprefix("data: "))))

    with pytest.raises(httpx.RemoteProtocolError):
        read()
    return events


def test_drop_fault_cuts_a_stream_after_n_deltas(
    offline_server: FaultyServer, client: httpx.Client
) -> None:
    offline_server.push(Fault.drop(after_deltas=3))
    events = stream_until_failure(client, body())
    assert names(events).count("content_block_delta") == 3
    assert "message_stop" not in names(events)
    assert client.post("/v1/messages", json=body()).status_code == 200


@pytest.mark.parametrize("after", [None, -1])
def test_drop_fault_without_a_count_is_a_connection_error(
    offline_server: FaultyServer, client: httpx.Client, after: int | None
) -> None:
    offline_server.push(Fault.drop(after))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/messages", json=body())
    assert len(offline_server.received) == 1
    assert client.post("/v1/messages", json=body()).status_code == 200


def test_stall_fault_goes_silent_with_the_socket_open(
    offline_server: FaultyServer, client: httpx.Client
) -> None:
    offline_server.push(Fault.stall(after_deltas=1, seconds=30))
    seen: list[str] = []
    timeout = httpx.Timeout(10, read=0.3)
    with (
        pytest.raises(httpx.ReadTimeout),
        client.stream(
            "POST", "/v1/messages", json={**body(), "stream": True}, timeout=timeout
        ) as r,
    ):
        seen.extend(line for line in r.iter_lines() if line.startswith("event: "))
    assert seen.count("event: content_block_delta") == 1
    began = time.monotonic()
    offline_server.stop()  # must not wait out the stall
    assert time.monotonic() - began < 2


def test_stall_fault_closes_after_its_seconds(
    offline_server: FaultyServer, client: httpx.Client
) -> None:
    offline_server.push(Fault.stall(after_deltas=2, seconds=0.2))
    began = time.monotonic()
    events = stream_until_failure(client, body())
    assert time.monotonic() - began >= 0.2
    assert names(events).count("content_block_delta") == 2


def test_slow_fault_spaces_the_deltas(offline_server: FaultyServer, client: httpx.Client) -> None:
    offline_server.push(Fault.slow(delay=0.05))
    began = time.monotonic()
    events = stream(client, body(max_tokens=4))
    assert time.monotonic() - began >= 4 * 0.05 * 0.9  # timer granularity
    check_grammar(events)
    assert offline_server.pending == 0


def test_raw_fault_sends_exact_bytes_in_separate_chunks(
    offline_server: FaultyServer, client: httpx.Client
) -> None:
    data = ': comment\r\nevent: ping\r\ndata: {"type":"ping"}\r\n\r\ndata: é\n\n'.encode()
    split_inside_e = data.index("é".encode()) + 1
    offline_server.push(Fault.raw(data, chunks=[11, split_inside_e - 11]))
    with client.stream("POST", "/v1/messages", json={**body(), "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        pieces = list(response.iter_raw())
    assert pieces == [data[:11], data[11:split_inside_e], data[split_inside_e:]]


def test_raw_fault_honours_status_and_headers(
    offline_server: FaultyServer, client: httpx.Client
) -> None:
    offline_server.push(
        Fault.raw(b"<html>bad gateway</html>", status=502, headers={"content-type": "text/html"})
    )
    response = client.post("/v1/messages", json=body())
    assert (response.status_code, response.headers["content-type"], response.text) == (
        502,
        "text/html",
        "<html>bad gateway</html>",
    )


def test_headers_fault_overrides_response_headers(
    offline_server: FaultyServer, client: httpx.Client
) -> None:
    offline_server.push(Fault.headers({"anthropic-ratelimit-requests-remaining": "0", "x-a": "b"}))
    response = client.post("/v1/messages", json=body())
    assert response.status_code == 200
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert response.headers["x-a"] == "b"
    assert response.json()["type"] == "message"


# -- robustness ----------------------------------------------------------------------------


class CountingHandler(MessagesHandler):
    """The offline handler, counting the connections it has finished with."""

    finished = threading.Semaphore(0)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            type(self).finished.release()


def test_a_client_leaving_mid_stream_does_not_hurt_the_server(
    capfd: pytest.CaptureFixture[str],
) -> None:
    CountingHandler.finished = threading.Semaphore(0)
    with (
        OfflineServer(delay=0.005, handler_class=CountingHandler) as server,
        connect(server) as client,
    ):
        for _ in range(3):
            with client.stream(
                "POST", "/v1/messages", json={**body("/long"), "stream": True}
            ) as r:
                lines = r.iter_lines()
                for _ in range(12):
                    next(lines)
        # Each abandoned stream's connection ends once the server has written into
        # the closed socket and let go of it.
        for _ in range(3):
            assert CountingHandler.finished.acquire(timeout=10)
        assert client.post("/v1/messages", json=body()).status_code == 200
    assert capfd.readouterr() == ("", "")


def test_the_server_never_prints_the_api_key(capfd: pytest.CaptureFixture[str]) -> None:
    secret = "sk-ant-api03-very-secret-key"
    for verbose in (False, True):
        with (
            OfflineServer(delay=0, verbose=verbose) as server,
            connect(server, secret) as client,
        ):
            client.post("/v1/messages", json=body())
            client.post("/v1/messages", json=body(max_tokens=0))
            client.get(f"/v1/nope?key={secret[:6]}")
            stream(client, body())
        out, err = capfd.readouterr()
        assert secret not in out + err
        if verbose:
            assert '"POST /v1/messages HTTP/1.1" 200' in err
        else:
            assert (out, err) == ("", "")


def test_stop_closes_the_socket_and_is_idempotent() -> None:
    server = OfflineServer(delay=0).start()
    host, port = server.base_url.removeprefix("http://").split(":")
    server.stop()
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=2).close()


def test_the_package_imports_no_heavy_modules_until_an_image_needs_them() -> None:
    png = base64.b64encode(encode_image(30, 20)).decode("ascii")
    script = textwrap.dedent(
        f"""
        import http.client, json, sys
        from desktop_app.offline import OfflineServer
        loaded = {{m for m in ("httpx", "PIL", "PySide6") if m in sys.modules}}
        with OfflineServer(delay=0) as server:
            host, port = server.base_url[len("http://"):].split(":")
            connection = http.client.HTTPConnection(host, int(port))
            image = {{"type": "base64", "media_type": "image/png", "data": "{png}"}}
            request = {{"model": "claude-haiku-4-5", "max_tokens": 50, "messages": [
                {{"role": "user", "content": [{{"type": "image", "source": image}}]}}]}}
            connection.request("POST", "/v1/messages", json.dumps(request),
                               {{"x-api-key": "k", "anthropic-version": "2023-06-01"}})
            status = connection.getresponse().status
            connection.close()
        print(json.dumps([status, sorted(loaded), "PIL" in sys.modules]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == [200, [], False]


# -- running it standalone -----------------------------------------------------------------


def read_line(stream_: Any, timeout: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(stream_, selectors.EVENT_READ)
        assert selector.select(timeout), "the server printed nothing in time"
    line: str = stream_.readline()
    return line


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
def test_running_the_module_serves_until_interrupted(stop_signal: signal.Signals) -> None:
    command = [sys.executable, "-m", "desktop_app.offline", "--port", "0"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            line = read_line(process.stdout, timeout=30)
            match = re.search(r"http://127\.0\.0\.1:\d+", line)
            assert match, line
            response = httpx.get(match.group() + "/v1/models", headers=api_headers())
            assert response.status_code == 200
            process.send_signal(stop_signal)
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0
    assert "Traceback" not in err
    assert out.rstrip().endswith("stopped")


def test_the_default_delay_streams_visibly_but_briskly() -> None:
    # ``iris ask --demo`` starts a server for one question: start, answer and stop.
    began = time.monotonic()
    with (
        OfflineServer() as server,
        connect(server) as client,
    ):
        events = stream(client, body("hi"))
    elapsed = time.monotonic() - began
    assert elapsed >= len(deltas(events, "text_delta")) * DEFAULT_DELAY * 0.9
    assert elapsed < 2.0


def test_postscript_sent_as_an_image_never_starts_a_program(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PIL import EpsImagePlugin

    started: list[object] = []

    def refuse(args: object, *_args: object, **_kwargs: object) -> subprocess.Popen[bytes]:
        started.append(args)
        raise FileNotFoundError("starting programs is refused in this test")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    # Pillow asks for Ghostscript only once it believes it is installed.
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", "gs")
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\nshowpage\n"
    assert images.image_size(eps, "image/png") is None
    assert started == []
