"""Limits that keep a hostile stream from pinning the CPU or growing memory.

The SSE decoder keeps an unfinished event as its chunks and joins them once, so a
long line costs linear time, and it refuses an event or line over its limit. The
accumulator places blocks in order without re-sorting, and caps their number.
"""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.core.errors import ProtocolError
from desktop_app.core.wire import events as event_module
from desktop_app.core.wire.blocks import TextBlock
from desktop_app.core.wire.events import (
    MAX_BLOCKS,
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    MessageAccumulator,
    TextDelta,
    parse_events,
)
from desktop_app.core.wire.sse import MAX_EVENT_BYTES, ServerSentEvent, SSEDecoder
from tests.support import transcripts as t

MiB = 1024 * 1024


def feed_repeatedly(decoder: SSEDecoder, chunk: bytes, count: int, fed: list[int]) -> None:
    """Feed ``chunk`` ``count`` times, counting the bytes that went in."""
    for _ in range(count):
        decoder.feed(chunk)
        fed[0] += len(chunk)


def start_blocks(acc: MessageAccumulator, count: int) -> None:
    for index in range(count):
        acc.feed(start(index))


def feed_in_chunks(decoder: SSEDecoder, data: bytes, size: int) -> list[ServerSentEvent]:
    events: list[ServerSentEvent] = []
    for start in range(0, len(data), size):
        events += decoder.feed(data[start : start + size])
    return events


# -- the decoder -------------------------------------------------------------------------------


def test_a_long_event_in_small_chunks_takes_linear_time() -> None:
    # 12 MB in 1 KB chunks: re-joining the buffer on every chunk would copy about
    # 75 GB; keeping the chunks and joining once copies 12 MB.
    body = b"x" * (12 * MiB)
    data = b"event: big\ndata: " + body + b"\n\n"
    decoder = SSEDecoder()
    started = time.perf_counter()
    events = feed_in_chunks(decoder, data, 1024)
    elapsed = time.perf_counter() - started
    assert len(events) == 1
    assert events[0].event == "big"
    assert len(events[0].data) == len(body)
    assert elapsed < 5, elapsed


def test_an_endless_line_is_refused_at_the_limit() -> None:
    decoder = SSEDecoder(max_event_bytes=64 * 1024)
    decoder.feed(b"event: a\ndata: ok\n\n")
    fed = [0]
    with pytest.raises(ProtocolError, match="longer than 65,536 bytes"):
        feed_repeatedly(decoder, b"y" * 1000, 1000, fed)  # a megabyte: far past the limit
    # It struck at the limit, not after everything was taken in.
    assert 64 * 1024 - 1000 <= fed[0] <= 64 * 1024


def test_the_default_limit_is_sixteen_megabytes() -> None:
    assert 16 * MiB == MAX_EVENT_BYTES
    decoder = SSEDecoder()
    decoder.feed(b"data: ")
    piece = b"z" * MiB
    for _ in range(15):
        assert decoder.feed(piece) == []
    with pytest.raises(ProtocolError, match="longer than 16 MB"):
        decoder.feed(piece)


def test_an_oversized_event_in_a_single_chunk_is_refused() -> None:
    decoder = SSEDecoder(max_event_bytes=1000)
    with pytest.raises(ProtocolError, match="longer than 1,000 bytes"):
        decoder.feed(b"data: " + b"a" * 2000 + b"\n\nevent: b\ndata: c\n\n")


def test_many_comment_lines_without_a_blank_line_count_as_one_event() -> None:
    decoder = SSEDecoder(max_event_bytes=10_000)
    with pytest.raises(ProtocolError):
        feed_repeatedly(decoder, b": keep-alive\n", 10_000, [0])


def test_events_under_the_limit_still_decode_across_any_chunking() -> None:
    data = t.text_reply(["Hello", " there", "!" * 5000])
    rng = random.Random(7)
    for _ in range(50):
        decoder = SSEDecoder(max_event_bytes=8000)
        events: list[ServerSentEvent] = []
        position = 0
        while position < len(data):
            size = rng.choice([1, 2, 3, 50, 700, 4096])
            events += decoder.feed(data[position : position + size])
            position += size
        events += decoder.flush()
        acc = MessageAccumulator()
        for event in parse_events(events):
            acc.feed(event)
        assert acc.finished
        assert acc.message.text == "Hello there" + "!" * 5000


def test_blank_lines_split_across_chunks_end_events() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [ServerSentEvent("message", "a")]
    assert decoder.feed(b"data: b\r") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\r\n") == [ServerSentEvent("message", "b")]


# -- the accumulator ---------------------------------------------------------------------------


def start(index: int) -> ContentBlockStartEvent:
    return ContentBlockStartEvent(index, TextBlock(f"b{index}"))


def test_two_hundred_thousand_new_blocks_are_refused_quickly() -> None:
    acc = MessageAccumulator()
    started = time.perf_counter()
    with pytest.raises(ProtocolError, match="more than 10,000 content blocks"):
        start_blocks(acc, 200_000)
    assert time.perf_counter() - started < 2
    assert len(acc.message.content) == MAX_BLOCKS
    assert acc.message.content[-1].to_dict()["text"] == f"b{MAX_BLOCKS - 1}"


def test_blocks_up_to_the_limit_are_placed_in_linear_time() -> None:
    acc = MessageAccumulator()
    started = time.perf_counter()
    for index in range(MAX_BLOCKS):
        acc.feed(start(index * 3))
        acc.feed(ContentBlockDeltaEvent(index * 3, TextDelta("!")))
    assert time.perf_counter() - started < 2
    assert len(acc.message.content) == MAX_BLOCKS
    assert acc.message.text.count("!") == MAX_BLOCKS
    # A delta for a block that never started counts towards the limit too.
    with pytest.raises(ProtocolError):
        acc.feed(ContentBlockDeltaEvent(10**12, TextDelta("x")))


def test_a_huge_index_is_just_a_position() -> None:
    acc = MessageAccumulator()
    acc.feed(start(10**30))
    acc.feed(start(0))
    acc.feed(ContentBlockDeltaEvent(10**30, TextDelta("!")))
    assert acc.message.text == "b0b1000000000000000000000000000000!"


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=60))
def test_any_index_order_gives_content_sorted_by_index(indexes: list[int]) -> None:
    acc = MessageAccumulator()
    latest: dict[int, TextBlock] = {}
    for n, index in enumerate(indexes):
        block = TextBlock(f"{index}:{n}")
        latest[index] = block  # a repeated start replaces the block
        acc.feed(ContentBlockStartEvent(index, block))
    assert acc.message.content == [latest[i] for i in sorted(latest)]


def test_content_replaced_from_outside_is_rebuilt_from_the_blocks() -> None:
    acc = MessageAccumulator()
    acc.feed(start(0))
    acc.message.content = []
    acc.feed(start(1))
    assert [b.to_dict()["text"] for b in acc.message.content] == ["b0", "b1"]


def test_a_reply_that_never_ends_is_cut_at_the_size_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(event_module, "MAX_REPLY_CHARS", 1_000)
    accumulator = MessageAccumulator()
    accumulator.feed(ContentBlockStartEvent(0, TextBlock()))
    piece = TextDelta("x" * 100)
    for _ in range(10):
        accumulator.feed(ContentBlockDeltaEvent(0, piece))
    with pytest.raises(ProtocolError, match="longer than 1,000 characters"):
        accumulator.feed(ContentBlockDeltaEvent(0, piece))
    # What arrived before the limit is kept.
    assert accumulator.message.text == "x" * 1_000
