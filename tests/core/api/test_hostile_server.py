"""Hostile servers, end to end through MessagesClient over real loopback sockets.

Every scenario is bounded on both sides: the fault stops by itself (a byte count or
a time limit, and whenever the client hangs up), and the client's own limits are
expected to strike long before. Each test also asserts how quickly that happened.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from desktop_app.core import errors
from desktop_app.core.api.client import MessagesClient
from desktop_app.core.catalog import Catalog
from desktop_app.core.wire.blocks import Role
from desktop_app.core.wire.message import Message, MessageParam
from desktop_app.core.wire.request import MessageRequest
from tests.support import transcripts as t
from tests.support.offline import Fault, FaultyServer

T = TypeVar("T")
KEY = "sk-ant-api03-HostileServerTest-Zq7Xv0Lm3Np8Rt2Wy5"
HAIKU = Catalog.load().get("claude-haiku-4-5")
MiB = 1024 * 1024
# What a reply looks like before the hostile part starts.
HEAD = t.message_start() + t.block_start(0, {"type": "text", "text": ""}) + t.text_delta(0, "Hi")


def run(coro: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await coro

    return asyncio.run(wrapper())


def ask_once(server: FaultyServer, max_tokens: int = 4096, **options: Any) -> Message:
    async def go() -> Message:
        request = MessageRequest(
            HAIKU.id, [MessageParam.text(Role.USER, "hello")], max_tokens=max_tokens
        )
        async with MessagesClient(KEY, base_url=server.base_url, **options) as client:
            return await client.create(request, HAIKU)

    return run(go())


def key_pieces(text: str, width: int = errors.MIN_KEY_ECHO) -> list[str]:
    """Every run of ``width`` characters of the key found in ``text``, in any case."""
    low, key = text.lower(), KEY.lower()
    return [key[i : i + width] for i in range(len(key) - width + 1) if key[i : i + width] in low]


def iris_ask(server: FaultyServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(
        ANTHROPIC_API_KEY=KEY,
        ANTHROPIC_BASE_URL=server.base_url,
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", "ask", *args, "hello"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


# -- a line that never ends --------------------------------------------------------------


def test_a_fifty_megabyte_line_is_refused_quickly_in_bounded_memory(
    offline_server: FaultyServer,
) -> None:
    head = HEAD + b"event: content_block_delta\ndata: "
    offline_server.push(Fault.flood(head, b"x" * (64 * 1024), 50 * MiB))
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(errors.StreamInterruptedError) as caught:
            ask_once(offline_server)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "longer than 16 MB" in str(caught.value)
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Hi"  # what arrived before it is kept
    assert elapsed < 15, elapsed
    # The decoder holds at most its 16 MB limit; the rest of the 50 MB never piles up.
    assert peak < 40 * MiB, peak / MiB


# -- keep-alive traffic without content ---------------------------------------------------


@pytest.mark.parametrize(
    ("beat", "every"),
    [
        (t.ping(), 0.05),  # pings, as the API sends them while it works
        (b": keep-alive\n\n", 0.05),  # SSE comments
        (b" ", 0.05),  # one byte at a time, so the idle timeout never strikes
        (t.ping(), 0.0005),  # pings so fast that waiting for a chunk never times out
    ],
    ids=["pings", "comments", "single-bytes", "ping-flood"],
)
def test_keep_alive_without_content_ends_at_the_stall_deadline(
    offline_server: FaultyServer, beat: bytes, every: float
) -> None:
    offline_server.push(Fault.drip(HEAD, beat, every=every, for_seconds=30))
    started = time.monotonic()
    with pytest.raises(errors.StreamInterruptedError) as caught:
        ask_once(offline_server, stall_timeout=0.5, idle_timeout=20)
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 10, elapsed
    assert "no new content for 0.5 seconds" in str(caught.value)
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Hi"


def test_content_keeps_a_slow_reply_alive(offline_server: FaultyServer) -> None:
    # Eight deltas 0.1 s apart: longer than the deadline in all, never without content.
    offline_server.push(Fault.slow(0.1))
    started = time.monotonic()
    message = ask_once(offline_server, max_tokens=8, stall_timeout=0.35)
    assert time.monotonic() - started > 0.7
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 8


def test_iris_ask_stall_timeout_option_ends_a_pinging_reply(
    offline_server: FaultyServer,
) -> None:
    offline_server.push(Fault.drip(HEAD, t.ping(), every=0.05, for_seconds=30))
    started = time.monotonic()
    result = iris_ask(offline_server, "--stall-timeout", "0.5")
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert result.stdout.startswith("Hi")  # what arrived stays on stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith("iris: Reply interrupted")
    assert "no new content for 0.5 seconds" in line


# -- the key echoed back -----------------------------------------------------------------


ECHOES = [
    pytest.param(
        Fault.status(
            401,
            f"authentication_error {KEY}",
            message=f"invalid x-api-key {KEY.upper()}",
            headers={"request-id": KEY},
        ),
        id="whole-key-in-type-message-and-request-id",
    ),
    pytest.param(
        Fault.status(
            403,
            f"permission_error:{KEY[10:30].upper()}",
            message=f"key {KEY[:16]}… ends {KEY[-9:]}",
            headers={"request-id": f"req_{KEY[12:40]}"},
        ),
        id="partial-echoes",
    ),
    pytest.param(
        Fault.raw(
            HEAD
            + t.event(
                "error",
                {"type": "error", "error": {"type": KEY, "message": f"for {KEY.lower()}"}},
            ),
            headers={"request-id": KEY.swapcase()},
        ),
        id="mid-stream-error-event",
    ),
]


@pytest.mark.parametrize("fault", ECHOES)
def test_an_echoed_key_never_reaches_the_error(offline_server: FaultyServer, fault: Fault) -> None:
    offline_server.push(fault)
    with pytest.raises(errors.APIError) as caught:
        ask_once(offline_server, max_retries=0)
    exc = caught.value
    shown = " ".join(
        [
            str(exc),
            exc.summary(),
            repr(exc.args),
            str(exc.error_type),
            str(exc.request_id),
            str(exc.api_message),
            repr(exc.details),
        ]
    )
    assert key_pieces(shown) == []
    assert "[redacted]" in shown


@pytest.mark.parametrize("fault", ECHOES)
def test_an_echoed_key_is_never_printed_by_iris_ask(
    offline_server: FaultyServer, fault: Fault
) -> None:
    offline_server.push(fault)
    result = iris_ask(offline_server)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert key_pieces(result.stdout + result.stderr) == []
    (line,) = result.stderr.splitlines()
    assert "[redacted]" in line
    # The request really went out with the key: the server is the one echoing it.
    assert offline_server.received[0].headers["x-api-key"] == KEY


# -- terminal escapes in error text --------------------------------------------------------


HOSTILE_TEXT = (
    "Overloaded\x1b]0;owned title\x07\x1b[2J\x1b[31m, red\x1b[0m\r\n"
    "iris: forged second line\x9b1A\x08\x00 end"
)


@pytest.mark.parametrize(
    "fault",
    [
        Fault.status(529, "overloaded_error", message=HOSTILE_TEXT),
        Fault.error_event(after_deltas=1, message=HOSTILE_TEXT),
    ],
    ids=["status", "error-event"],
)
def test_escape_sequences_in_error_text_never_reach_the_terminal(
    offline_server: FaultyServer, fault: Fault
) -> None:
    offline_server.push(fault, fault, fault)  # a 529 is retried twice: fail every time
    result = iris_ask(offline_server)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "retrying" not in line]
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("iris: ")
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in line), repr(line)
    assert "Overloaded, red iris: forged second line end" in line
    assert "owned title" not in line

    offline_server.push(fault)
    with pytest.raises(errors.APIError) as caught:
        ask_once(offline_server, max_retries=0)
    for text in (str(caught.value), caught.value.summary()):
        assert "\x1b" not in text
        assert "\n" not in text
