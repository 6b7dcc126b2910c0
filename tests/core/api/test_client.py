"""The Messages client against the offline server, over real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest

from desktop_app.core import errors
from desktop_app.core.api.client import MessagesClient, unreachable_reason
from desktop_app.core.api.ratelimit import RateLimiter
from desktop_app.core.api.retry import RetryNotice
from desktop_app.core.catalog import Catalog, ModelInfo
from desktop_app.core.wire.blocks import Role, TextBlock, ThinkingBlock, ToolUseBlock
from desktop_app.core.wire.events import ContentBlockDeltaEvent, PingEvent, TextDelta
from desktop_app.core.wire.message import Message, MessageParam
from desktop_app.core.wire.request import MessageRequest
from desktop_app.offline.server import DEMO_API_KEY
from tests.support import transcripts as t
from tests.support.offline import Fault, FaultyServer

T = TypeVar("T")
KEY = "sk-ant-test-0123456789-SECRET"
CATALOG = Catalog.load()
HAIKU = CATALOG.get("claude-haiku-4-5")


def run(coro: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await coro

    return asyncio.run(wrapper())


def client_for(server: FaultyServer, **options: Any) -> MessagesClient:
    options.setdefault("base_url", server.base_url)
    return MessagesClient(options.pop("key", KEY), **options)


def ask(text: str = "hello", **fields: Any) -> MessageRequest:
    return MessageRequest(
        fields.pop("model", HAIKU.id), [MessageParam.text(Role.USER, text)], **fields
    )


async def complete(
    client: MessagesClient,
    request: MessageRequest,
    model: ModelInfo = HAIKU,
    notices: list[RetryNotice] | None = None,
) -> Message:
    async with client:
        return await client.create(
            request, model, on_retry=None if notices is None else notices.append
        )


# -- a normal reply ------------------------------------------------------------------------


def test_streams_a_reply_and_sends_the_right_headers(offline_server: FaultyServer) -> None:
    seen: list[str] = []

    async def go() -> Message:
        async with (
            client_for(offline_server) as client,
            client.stream(ask("hello there", system="Be kind."), HAIKU) as stream,
        ):
            async for event in stream:
                if isinstance(event, ContentBlockDeltaEvent) and isinstance(
                    event.delta, TextDelta
                ):
                    seen.append(event.delta.text)
            assert stream.request_id is not None
            assert stream.request_id.startswith("req_")
            return stream.message

    message = run(go())
    assert len(seen) > 3
    assert message.text == "".join(seen)
    assert "hello there" in message.text
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0
    (received,) = offline_server.received
    assert received.headers["x-api-key"] == KEY
    assert received.headers["anthropic-version"] == "2023-06-01"
    assert received.headers["content-type"] == "application/json"
    assert "anthropic-beta" not in received.headers
    assert received.json["system"] == "Be kind."
    assert received.json["stream"] is True
    assert "temperature" not in received.json


def test_api_version_is_configurable_and_beta_sent_when_needed(
    offline_server: FaultyServer,
) -> None:
    sonnet = CATALOG.get("claude-sonnet-4-6")
    client = client_for(offline_server, api_version="2026-10-21")
    run(complete(client, ask(model=sonnet.id, max_tokens=30_000), sonnet))
    (received,) = offline_server.received
    assert received.headers["anthropic-version"] == "2026-10-21"
    assert received.headers["anthropic-beta"] == "output-128k-2025-02-19"
    assert received.json["max_tokens"] == 30_000


def test_base_url_comes_from_the_environment(
    offline_server: FaultyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", offline_server.base_url + "/")
    client = MessagesClient(KEY)
    assert client.base_url == offline_server.base_url
    assert run(complete(client, ask())).text
    assert len(offline_server.received) == 1


def test_key_is_never_sent_to_a_redirect_target(offline_server: FaultyServer) -> None:
    with FaultyServer() as elsewhere:
        offline_server.push(
            Fault.raw(b"", status=307, headers={"location": elsewhere.base_url + "/v1/messages"})
        )
        with pytest.raises(errors.APIError):
            run(complete(client_for(offline_server), ask()))
        assert elsewhere.received == []


def test_invalid_configuration_is_refused_clearly() -> None:
    with pytest.raises(errors.ConfigurationError, match="No API key"):
        MessagesClient("  ")
    with pytest.raises(errors.ConfigurationError, match="https://"):
        MessagesClient(KEY, base_url="ftp://example")


@pytest.mark.parametrize(
    "url",
    [
        "http://api.anthropic.com",
        "http://gateway.internal:8000",
        "http://10.0.0.7:8080",
        "http://127.0.0.1.evil.example",
        "http://localhost.evil.example",
        "http://[::2]:9",
        "HTTP://api.example.com",
    ],
)
def test_plain_http_to_another_host_is_refused_naming_https(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(errors.ConfigurationError, match="https://") as caught:
        MessagesClient(KEY, base_url=url)
    assert "unencrypted" in str(caught.value)
    assert KEY not in str(caught.value)
    # The same rule holds for ANTHROPIC_BASE_URL.
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    with pytest.raises(errors.ConfigurationError, match="https://"):
        MessagesClient(KEY)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9",
        "http://127.8.9.10:9",
        "http://localhost:9",
        "http://LOCALHOST:9/v1",
        "http://[::1]:9",
        "https://api.example.com",
        "https://10.0.0.7:8443",
    ],
)
def test_loopback_http_and_any_https_are_allowed(url: str) -> None:
    client = MessagesClient(KEY, base_url=url)
    assert client.base_url == url
    run(client.aclose())


def test_stall_timeout_defaults_to_three_minutes() -> None:
    client = MessagesClient(KEY, base_url="http://127.0.0.1:9")
    assert client.stall_timeout == 180.0
    run(client.aclose())


def test_a_redirect_is_reported_as_a_redirect_and_never_retried(
    offline_server: FaultyServer,
) -> None:
    offline_server.push(
        Fault.raw(
            b"<html>moved</html>",
            status=301,
            headers={
                "location": "https://elsewhere.example/v1/messages",
                "x-should-retry": "true",
                "content-type": "text/html",
            },
        )
    )
    with pytest.raises(errors.APIStatusError) as caught:
        run(complete(client_for(offline_server), ask()))
    exc = caught.value
    assert exc.status == 301
    assert "redirect (HTTP 301) to elsewhere.example" in str(exc)
    assert "never follows" in str(exc)
    assert "internal error" not in str(exc)
    assert exc.summary().startswith("API error · HTTP 301")
    assert len(offline_server.received) == 1


def test_timeouts_default_to_ten_seconds_connect_and_ninety_idle() -> None:
    client = MessagesClient(KEY, base_url="http://127.0.0.1:9")
    timeout = client._http.timeout
    assert (timeout.connect, timeout.read) == (10.0, 90.0)
    run(client.aclose())


# -- every block type over the socket --------------------------------------------------------


def test_thinking_tool_use_refusal_and_citations(offline_server: FaultyServer) -> None:
    schema = {"type": "object", "properties": {"location": {"type": "string"}}}
    tools = [{"name": "get_weather", "description": "Weather.", "input_schema": schema}]

    async def go() -> list[Message]:
        async with client_for(offline_server) as client:
            return [
                await client.create(ask("/think about it"), HAIKU),
                await client.create(ask("/tool please", tools=tools), HAIKU),
                await client.create(ask("/refuse this"), HAIKU),
                await client.create(ask("/cite something"), HAIKU),
            ]

    thinking, tool, refusal, cite = run(go())
    assert isinstance(thinking.content[0], ThinkingBlock)
    assert thinking.content[0].thinking
    assert thinking.content[0].signature
    tool_blocks = [b for b in tool.content if isinstance(b, ToolUseBlock)]
    assert tool_blocks
    assert tool_blocks[0].name == "get_weather"
    assert isinstance(tool_blocks[0].input, dict)
    assert tool_blocks[0].input
    assert tool.stop_reason == "tool_use"
    assert offline_server.received[1].json["tools"] == tools
    assert refusal.stop_reason == "refusal"
    assert refusal.stop_details is not None
    assert refusal.stop_details["type"] == "refusal"
    texts = [b for b in cite.content if isinstance(b, TextBlock)]
    assert any(b.citations for b in texts)


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_raw_streams_in_small_chunks_decode_exactly(
    offline_server: FaultyServer, eol: bytes
) -> None:
    body = t.every_block_reply().replace(b"\n", eol)
    body = b": a comment\n".replace(b"\n", eol) + body
    offline_server.push(
        Fault.raw(body, chunks=[3] * 40 + [7] * 20, headers={"content-type": "text/event-stream"})
    )
    message = run(complete(client_for(offline_server), ask()))
    expected = Message.from_dict(
        json.loads(json.dumps(_accumulate(t.every_block_reply()).to_dict()))
    )
    assert message.to_dict() == expected.to_dict()


def _accumulate(data: bytes) -> Message:
    from desktop_app.core.wire.events import MessageAccumulator, parse_events
    from desktop_app.core.wire.sse import SSEDecoder

    decoder = SSEDecoder()
    acc = MessageAccumulator()
    for event in parse_events(decoder.feed(data) + decoder.flush()):
        acc.feed(event)
    return acc.message


def test_keep_alive_that_never_lets_the_client_wait_still_stalls() -> None:
    """Pings so fast that reading never waits: the deadline is checked after each chunk."""
    import httpx

    async def body() -> AsyncIterator[bytes]:
        yield t.message_start() + t.block_start(0, {"type": "text", "text": ""})
        yield t.text_delta(0, "Hi")
        until = time.monotonic() + 5  # bounded: without the check the stream just ends
        while time.monotonic() < until:
            yield t.ping()  # no await in between: the event loop never gets a turn

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    client = MessagesClient(
        KEY,
        base_url="http://127.0.0.1:9",
        stall_timeout=0.3,
        transport=httpx.MockTransport(answer),
    )
    started = time.monotonic()
    with pytest.raises(
        errors.StreamInterruptedError, match=r"no new content for 0\.3 seconds"
    ) as caught:
        run(complete(client, ask()))
    assert time.monotonic() - started < 4
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Hi"


def test_events_before_a_malformed_one_in_the_same_chunk_are_kept(
    offline_server: FaultyServer,
) -> None:
    good = t.message_start() + t.block_start(0, {"type": "text", "text": ""})
    good += t.text_delta(0, "kept ") + t.text_delta(0, "text")
    bad = t.event("content_block_delta", {"type": "content_block_delta", "index": "0"})
    offline_server.push(Fault.raw(good + bad + t.text_delta(0, " lost")))  # one write
    with pytest.raises(errors.StreamInterruptedError, match="index") as caught:
        run(complete(client_for(offline_server), ask()))
    assert caught.value.partial is not None
    assert caught.value.partial.text == "kept text"
    assert str(caught.value).startswith("The reply was interrupted: the service sent a malformed")


def test_a_huge_whole_json_reply_is_refused(offline_server: FaultyServer) -> None:
    offline_server.push(
        Fault.flood(
            b'{"type": "message", "content": [{"type": "text", "text": "',
            b"j" * 65536,
            40 * 1024 * 1024,
            headers={"content-type": "application/json"},
        )
    )
    with pytest.raises(errors.StreamInterruptedError, match="larger than Iris accepts"):
        run(complete(client_for(offline_server), ask()))


def test_a_trickling_whole_json_reply_stalls(offline_server: FaultyServer) -> None:
    offline_server.push(
        Fault.drip(
            b'{"type": "message", "content": [',
            b" ",
            every=0.05,
            for_seconds=20,
            headers={"content-type": "application/json"},
        )
    )
    started = time.monotonic()
    with pytest.raises(errors.StreamInterruptedError, match=r"no new content for 0\.5 seconds"):
        run(complete(client_for(offline_server, stall_timeout=0.5), ask()))
    assert time.monotonic() - started < 5


def test_a_huge_error_body_is_read_only_in_part(offline_server: FaultyServer) -> None:
    offline_server.push(
        Fault.flood(
            b'{"type": "error", "error": {"type": "api_error", "message": "',
            b"e" * 65536,
            50 * 1024 * 1024,
            status=500,
            headers={"content-type": "application/json", "x-should-retry": "false"},
        )
    )
    tracemalloc.start()
    try:
        started = time.monotonic()
        with pytest.raises(errors.ServerError) as caught:
            run(complete(client_for(offline_server), ask()))
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "(HTTP 500)" in str(caught.value)  # the body was not used
    assert elapsed < 5
    assert peak < 8 * 1024 * 1024


def test_a_trickling_error_body_is_given_up_at_the_stall_timeout(
    offline_server: FaultyServer,
) -> None:
    offline_server.push(
        Fault.drip(
            b'{"type": "error", "error": {"type": "api_error", "message": "',
            b"z",
            every=0.05,
            for_seconds=20,
            status=500,
            headers={"content-type": "application/json", "x-should-retry": "false"},
        )
    )
    started = time.monotonic()
    with pytest.raises(errors.ServerError, match=r"\(HTTP 500\)"):
        run(complete(client_for(offline_server, stall_timeout=0.5), ask()))
    assert time.monotonic() - started < 5


def test_json_answer_to_a_streaming_request_is_accepted(offline_server: FaultyServer) -> None:
    payload = {
        "id": "msg_json",
        "type": "message",
        "role": "assistant",
        "model": HAIKU.id,
        "content": [{"type": "text", "text": "whole"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    offline_server.push(
        Fault.raw(json.dumps(payload).encode(), headers={"content-type": "application/json"})
    )
    message = run(complete(client_for(offline_server), ask()))
    assert (message.id, message.text, message.usage.output_tokens) == ("msg_json", "whole", 1)


# -- retries -------------------------------------------------------------------------------


def test_429_retry_after_is_honoured(offline_server: FaultyServer) -> None:
    offline_server.push(Fault.status(429, "rate_limit_error", headers={"retry-after": "1"}))
    notices: list[RetryNotice] = []
    started = time.monotonic()
    message = run(complete(client_for(offline_server), ask(), notices=notices))
    elapsed = time.monotonic() - started
    assert message.text
    assert elapsed >= 1.0
    assert len(offline_server.received) == 2
    (notice,) = notices
    assert (notice.attempt, notice.delay) == (2, 1.0)
    assert isinstance(notice.error, errors.RateLimitError)
    assert notice.seconds_left(notice.deadline - 0.4) == pytest.approx(0.4)
    assert notice.seconds_left(notice.deadline + 5) == 0.0


def test_retry_after_ms_wins_over_retry_after(offline_server: FaultyServer) -> None:
    offline_server.push(
        Fault.status(
            529, "overloaded_error", headers={"retry-after-ms": "150", "retry-after": "9"}
        )
    )
    notices: list[RetryNotice] = []
    started = time.monotonic()
    run(complete(client_for(offline_server), ask(), notices=notices))
    assert notices[0].delay == pytest.approx(0.15)
    assert time.monotonic() - started < 5.0


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        (529, "overloaded_error"),
        (500, "api_error"),
        (503, "api_error"),
        (408, "timeout_error"),
        (409, "conflict_error"),
    ],
)
def test_retryable_statuses_are_retried(
    offline_server: FaultyServer, code: int, error_type: str
) -> None:
    offline_server.push(Fault.status(code, error_type, headers={"retry-after-ms": "10"}))
    assert run(complete(client_for(offline_server), ask())).text
    assert len(offline_server.received) == 2


@pytest.mark.parametrize(
    ("code", "error_type", "cls"),
    [
        (400, "invalid_request_error", errors.InvalidRequestError),
        (401, "authentication_error", errors.AuthenticationError),
        (403, "permission_error", errors.PermissionDeniedError),
        (404, "not_found_error", errors.NotFoundError),
        (413, "request_too_large", errors.RequestTooLargeError),
    ],
)
def test_client_errors_are_never_retried(
    offline_server: FaultyServer, code: int, error_type: str, cls: type[errors.APIError]
) -> None:
    offline_server.push(
        Fault.status(code, error_type, headers={"retry-after": "0.01", "x-should-retry": "true"})
    )
    with pytest.raises(cls) as info:
        run(complete(client_for(offline_server), ask()))
    assert len(offline_server.received) == 1
    assert info.value.status == code
    assert info.value.request_id is not None


def test_spend_limit_429_is_not_retried(offline_server: FaultyServer) -> None:
    offline_server.push(
        Fault.status(
            429,
            "rate_limit_error",
            headers={"retry-after": "0.01"},
            details={"error_code": "enforced_spend_limit_reached"},
        )
    )
    with pytest.raises(errors.SpendLimitError):
        run(complete(client_for(offline_server), ask()))
    assert len(offline_server.received) == 1


def test_x_should_retry_false_stops_a_retry(offline_server: FaultyServer) -> None:
    offline_server.push(Fault.status(500, "api_error", headers={"x-should-retry": "false"}))
    with pytest.raises(errors.ServerError):
        run(complete(client_for(offline_server), ask()))
    assert len(offline_server.received) == 1


def test_retries_run_out_and_the_last_error_is_raised(offline_server: FaultyServer) -> None:
    fault = Fault.status(529, "overloaded_error", headers={"retry-after-ms": "10"})
    offline_server.push(fault, fault, fault)
    with pytest.raises(errors.OverloadedError) as info:
        run(complete(client_for(offline_server, max_retries=2), ask()))
    assert len(offline_server.received) == 3
    assert info.value.request_id is not None
    assert "HTTP 529" in info.value.summary()


def test_a_wait_longer_than_allowed_is_raised_at_once(offline_server: FaultyServer) -> None:
    offline_server.push(Fault.status(429, "rate_limit_error", headers={"retry-after": "3600"}))
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError) as info:
        run(complete(client_for(offline_server), ask()))
    assert time.monotonic() - started < 5.0
    assert info.value.retry_after == 3600.0
    assert len(offline_server.received) == 1


def test_backoff_without_retry_after_is_exponential(offline_server: FaultyServer) -> None:
    fault = Fault.status(500, "api_error")
    offline_server.push(fault, fault)
    notices: list[RetryNotice] = []
    run(complete(client_for(offline_server), ask(), notices=notices))
    assert [n.attempt for n in notices] == [2, 3]
    assert 0.375 <= notices[0].delay <= 0.5
    assert 0.75 <= notices[1].delay <= 1.0


def test_connection_errors_are_retried_then_reported(offline_server: FaultyServer) -> None:
    offline_server.push(Fault.drop(None))
    assert run(complete(client_for(offline_server), ask())).text
    assert len(offline_server.received) == 2

    offline_server.received.clear()
    offline_server.push(Fault.drop(None), Fault.drop(None), Fault.drop(None))
    with pytest.raises(errors.APIConnectionError) as info:
        run(complete(client_for(offline_server), ask()))
    assert len(offline_server.received) == 3
    assert info.value.status is None


def test_nothing_listening_is_a_connection_error_said_plainly() -> None:
    with FaultyServer() as server:
        url = server.base_url
    with pytest.raises(errors.APIConnectionError) as info:
        run(complete(MessagesClient(KEY, base_url=url, max_retries=0), ask()))
    assert str(info.value) == (
        f"Could not reach {url}: nothing answered there (connection refused). Check the base URL."
    )


def _wrapped(cause: BaseException) -> httpx.ConnectError:
    """A connection error as httpx raises it: its own text, the system's error inside."""
    error = httpx.ConnectError(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (socket.gaierror(-2, "Name or service not known"), "its address could not be found"),
        (socket.gaierror(11001, "getaddrinfo failed"), "its address could not be found"),
        (OSError(101, "Network is unreachable"), "the network is unreachable"),
        (ssl.SSLCertVerificationError("certificate verify failed"), "certificate is not"),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "http://"),
        (ConnectionResetError(104, "Connection reset by peer"), "closed before the answer"),
    ],
)
def test_why_a_connection_failed_is_said_in_plain_words(
    cause: BaseException, expected: str
) -> None:
    reason = unreachable_reason(_wrapped(cause))
    assert expected in reason
    assert "errno" not in reason.lower()


def test_an_unknown_connection_failure_keeps_its_words_without_the_errno() -> None:
    reason = unreachable_reason(_wrapped(OSError(99, "Something odd happened")), KEY)
    assert reason == "Something odd happened."
    leaked = unreachable_reason(httpx.ConnectError(f"odd: {KEY}"), KEY)
    assert KEY not in leaked


# -- streams that break after they started ---------------------------------------------------


def test_error_event_mid_stream_keeps_partial_and_is_not_retried(
    offline_server: FaultyServer,
) -> None:
    offline_server.push(Fault.error_event(after_deltas=3))
    with pytest.raises(errors.StreamInterruptedError) as info:
        run(complete(client_for(offline_server), ask("tell me more")))
    exc = info.value
    assert exc.partial is not None
    assert exc.partial.text
    assert exc.error_type == "overloaded_error"
    assert "interrupted" in str(exc)
    assert len(offline_server.received) == 1


def test_dropped_stream_keeps_partial(offline_server: FaultyServer) -> None:
    offline_server.push(Fault.drop(after_deltas=4))
    with pytest.raises(errors.StreamInterruptedError) as info:
        run(complete(client_for(offline_server), ask("tell me more")))
    assert info.value.partial is not None
    assert len(info.value.partial.text) > 0
    assert len(offline_server.received) == 1


def test_stalled_stream_times_out_as_interrupted(offline_server: FaultyServer) -> None:
    offline_server.push(Fault.stall(after_deltas=2, seconds=5.0))
    started = time.monotonic()
    with pytest.raises(
        errors.StreamInterruptedError, match=r"sent nothing for 0\.5 seconds"
    ) as info:
        run(complete(client_for(offline_server, idle_timeout=0.5), ask("tell me more")))
    assert time.monotonic() - started < 4.0
    assert info.value.partial is not None
    assert info.value.partial.text


def test_slow_stream_is_not_a_stall(offline_server: FaultyServer) -> None:
    offline_server.push(Fault.slow(0.05))
    message = run(complete(client_for(offline_server, idle_timeout=0.5), ask("hi")))
    assert message.stop_reason == "end_turn"


def test_pings_count_as_traffic() -> None:
    """A stream that only pings for longer than the idle timeout stays alive."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        )
        writer.write(t.message_start() + t.block_start(0, {"type": "text", "text": ""}))
        for _ in range(6):
            writer.write(t.ping())
            await writer.drain()
            await asyncio.sleep(0.15)
        writer.write(t.text_delta(0, "done") + t.block_stop(0) + t.message_delta())
        writer.write(t.message_stop())
        await writer.drain()
        writer.close()

    async def go() -> tuple[Message, int]:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pings = 0
        try:
            async with (
                MessagesClient(
                    KEY, base_url=f"http://127.0.0.1:{port}", idle_timeout=0.4
                ) as client,
                client.stream(ask(), HAIKU) as stream,
            ):
                async for event in stream:
                    pings += isinstance(event, PingEvent)
                return stream.message, pings
        finally:
            server.close()
            await server.wait_closed()

    message, pings = run(go())
    assert pings == 6
    assert message.text == "done"


# -- cancellation --------------------------------------------------------------------------


def test_cancelling_closes_the_stream_at_once_and_keeps_what_arrived(
    offline_server: FaultyServer,
) -> None:
    offline_server.push(Fault.slow(0.05))
    got_three = asyncio.Event()
    holder: dict[str, Any] = {}

    async def consume(client: MessagesClient) -> None:
        async with client.stream(ask("/long"), HAIKU) as stream:
            holder["stream"] = stream
            deltas = 0
            async for event in stream:
                if isinstance(event, ContentBlockDeltaEvent):
                    deltas += 1
                    if deltas == 3:
                        got_three.set()

    async def go() -> tuple[str, bool, float, str]:
        async with client_for(offline_server) as client:
            task = asyncio.create_task(consume(client))
            await asyncio.wait_for(got_three.wait(), 10)
            started = time.monotonic()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            took = time.monotonic() - started
            stream = holder["stream"]
            partial = stream.message.text
            closed = stream._response.is_closed
            # The same client still works afterwards.
            again = await client.create(ask("again"), HAIKU)
            return partial, closed, took, again.text

    partial, closed, took, again = run(go())
    assert partial
    assert closed
    assert took < 0.5
    assert "again" in again


# -- the limiter in the loop ---------------------------------------------------------------


def test_client_paces_with_the_limiter_and_reads_server_headers(
    offline_server: FaultyServer,
) -> None:
    reset = datetime.fromtimestamp(time.time() + 1.0, tz=UTC).isoformat()
    offline_server.push(
        Fault.headers(
            {
                "anthropic-ratelimit-requests-limit": "50",
                "anthropic-ratelimit-requests-remaining": "0",
                "anthropic-ratelimit-requests-reset": reset,
            }
        )
    )
    limiter = RateLimiter(CATALOG.tier("tier-4"))

    async def go() -> float:
        async with client_for(offline_server, limiter=limiter) as client:
            await client.create(ask("one"), HAIKU)
            snapshot = limiter.snapshot("haiku")
            assert snapshot.server["requests"].limit == 50
            assert snapshot.server["requests"].remaining == 0
            started = time.monotonic()
            await client.create(ask("two"), HAIKU)
            return time.monotonic() - started

    assert run(go()) >= 0.7


# -- models --------------------------------------------------------------------------------


def test_list_models_and_merge(offline_server: FaultyServer) -> None:
    async def go() -> list[dict[str, Any]]:
        async with client_for(offline_server) as client:
            return await client.list_models()

    models = run(go())
    ids = {m["id"] for m in models}
    assert {"claude-opus-4-7", "claude-haiku-4-5"} <= ids
    catalog = Catalog.load()
    catalog.merge_remote(models)
    assert catalog.get("claude-opus-4-7").known


# -- the key stays secret ------------------------------------------------------------------


def test_key_never_appears_in_logs_or_errors(
    offline_server: FaultyServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    offline_server.push(
        Fault.status(401, "authentication_error", message=f"invalid x-api-key {KEY}"),
    )
    with pytest.raises(errors.AuthenticationError) as info:
        run(complete(client_for(offline_server), ask()))
    offline_server.push(Fault.error_event(after_deltas=1, message=f"oops {KEY}"))
    with pytest.raises(errors.StreamInterruptedError) as interrupted:
        run(complete(client_for(offline_server), ask()))
    offline_server.push(Fault.drop(None), Fault.drop(None), Fault.drop(None))
    with pytest.raises(errors.APIConnectionError) as dropped:
        run(complete(client_for(offline_server), ask()))
    run(complete(client_for(offline_server), ask()))
    for exc in (info.value, interrupted.value, dropped.value):
        assert KEY not in str(exc)
        assert KEY not in exc.summary()
        assert KEY not in repr(exc)
    assert caplog.records
    assert KEY not in caplog.text
    assert KEY not in repr(client_for(offline_server))


def test_key_echoed_in_the_request_id_never_reaches_the_log(
    offline_server: FaultyServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="iris")
    offline_server.push(Fault.headers({"request-id": KEY.upper()}))

    async def go() -> str | None:
        async with client_for(offline_server) as client, client.stream(ask(), HAIKU) as stream:
            await stream.until_done()
            return stream.request_id

    assert run(go()) == "[redacted]"
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("iris"))
    assert "/v1/messages -> 200 ([redacted])" in ours
    assert KEY.upper() not in ours


def test_demo_key_constant_is_accepted(offline_server: FaultyServer) -> None:
    message = run(complete(client_for(offline_server, key=DEMO_API_KEY), ask()))
    assert message.text
