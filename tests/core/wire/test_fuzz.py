"""Seeded fuzzing of the stream pipeline: SSEDecoder → parse_events → MessageAccumulator.

Recorded transcripts and the offline server's replies are mutated thousands of
times (byte flips, truncation, fields swapped for values of other types or added
where they do not belong, events duplicated, dropped or reordered, huge indexes,
deep nesting, odd line endings, unknown types) and fed through the pipeline in
random chunks. Every run must end
in a message or in a clean :class:`IrisError`; whatever arrived must stay a message
that can be saved as JSON and read back. The seed is fixed, so a failure names the
run that reproduces it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from desktop_app.core.catalog import Catalog
from desktop_app.core.errors import IrisError
from desktop_app.core.wire.events import MessageAccumulator, parse_events
from desktop_app.core.wire.message import Message
from desktop_app.core.wire.sse import SSEDecoder
from desktop_app.offline.replies import InputUsage, plan_reply
from desktop_app.offline.validation import validate_messages
from tests.support import transcripts as t

SEED = 20_260_611
RUNS = 3_200
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    },
}


def offline_reply(prompt: str, **body: Any) -> bytes:
    """The offline server's streamed reply to ``prompt``, as bytes on the wire."""
    request = {
        "model": "claude-haiku-4-5",
        "max_tokens": 400,
        "stream": True,
        "messages": [{"role": "user", "content": prompt}],
        **body,
    }
    checked = validate_messages(request, {}, Catalog.load())
    reply = plan_reply(checked, "msg_fuzz", InputUsage(12, 3, 2))
    return b"".join(event.encode() for event in reply.events())


def corpus() -> list[bytes]:
    streams = [path.read_bytes() for path in sorted(t.FIXTURES.glob("*.sse"))]
    streams += [
        offline_reply("hello"),
        offline_reply("/markdown"),
        offline_reply("/think why is the sky blue"),
        offline_reply("/tool Paris", tools=[WEATHER_TOOL]),
        offline_reply("/refuse"),
        offline_reply("/cite"),
        offline_reply("/long tides", max_tokens=60),
        t.every_block_reply(),
    ]
    assert len(streams) >= 12
    return streams


# -- mutations ------------------------------------------------------------------------------

DEEP = "__deep__"


def odd_value(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            False,
            0,
            -1,
            7,
            1.5,
            10**30,
            -(10**18),
            "",
            "x",
            "0",
            "sk-ant-ish \x1b[31m\u202e",
            "half a pair \ud83d",
            "é" * 200,
            [],
            [1, "a"],
            {},
            {"type": "text_delta", "text": 5},
            {"a": {"b": [None]}},
            DEEP,
        ]
    )


def split_events(data: bytes) -> list[bytes]:
    return [block for block in data.split(b"\n\n") if block]


def join_events(events: list[bytes]) -> bytes:
    return b"".join(event + b"\n\n" for event in events)


def event_json(event: bytes) -> tuple[bytes, Any] | None:
    head, sep, data = event.partition(b"\ndata: ")
    if not sep:
        return None
    try:
        return head, json.loads(data)
    except (ValueError, RecursionError):
        return None


def with_json(head: bytes, value: Any, rng: random.Random) -> bytes:
    text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
    depth = rng.choice([3, 60, 70, 900, 3_000, 50_000])
    text = text.replace(json.dumps(DEEP), "[" * depth + "]" * depth)
    return head + b"\ndata: " + text.encode("utf-8", "surrogatepass")


def containers(value: Any) -> list[Any]:
    found: list[Any] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list) and item:
            found.append(item)
            stack.extend(item.values() if isinstance(item, dict) else item)
    return found


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def swap_field(data: bytes, rng: random.Random) -> bytes:
    events = split_events(data)
    if not events:
        return data
    position = rng.randrange(len(events))
    parsed = event_json(events[position])
    if parsed is None:
        return data
    head, value = parsed
    for _ in range(rng.randint(1, 3)):
        targets = containers(value)
        if not targets:
            break
        target = rng.choice(targets)
        if isinstance(target, dict):
            target[rng.choice(list(target))] = odd_value(rng)
        else:
            target[rng.randrange(len(target))] = odd_value(rng)
    events[position] = with_json(head, value, rng)
    return join_events(events)


FIELD_NAMES = ["type", "index", "delta", "text", "content", "usage", "id", "role", "model"]
FIELD_NAMES += ["message", "stop_reason", "stop_details", "citations", "input", "error"]


def add_field(data: bytes, rng: random.Random) -> bytes:
    events = split_events(data)
    if not events:
        return data
    position = rng.randrange(len(events))
    parsed = event_json(events[position])
    if parsed is None:
        return data
    head, value = parsed
    objects = [item for item in containers(value) if isinstance(item, dict)]
    if not objects:
        return data
    rng.choice(objects)[rng.choice(FIELD_NAMES)] = odd_value(rng)
    events[position] = with_json(head, value, rng)
    return join_events(events)


def set_index(data: bytes, rng: random.Random) -> bytes:
    events = split_events(data)
    indexed = [i for i, event in enumerate(events) if b'"index"' in event]
    if not indexed:
        return data
    position = rng.choice(indexed)
    parsed = event_json(events[position])
    if parsed is None or not isinstance(parsed[1], dict):
        return data
    head, value = parsed
    value["index"] = rng.choice(
        [10**18, 2**63, 10**300, 99_999, -1, -(2**70), "1", [0], 0.5, None, True]
    )
    events[position] = with_json(head, value, rng)
    return join_events(events)


def deep_data(data: bytes, rng: random.Random) -> bytes:
    events = split_events(data)
    depth = rng.choice([70, 900, 1_200, 20_000, 200_000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    nested = opener * depth + "1" + closer * depth
    name = rng.choice([b"content_block_delta", b"message_delta", b"future_event", b"error"])
    events.insert(
        rng.randrange(len(events) + 1), b"event: " + name + b"\ndata: " + nested.encode()
    )
    return join_events(events)


def duplicate(data: bytes, rng: random.Random) -> bytes:
    events = split_events(data)
    if events:
        event = rng.choice(events)
        for _ in range(rng.randint(1, 4)):
            events.insert(rng.randrange(len(events) + 1), event)
    return join_events(events)


def reorder(data: bytes, rng: random.Random) -> bytes:
    events = split_events(data)
    if len(events) > 1:
        if rng.random() < 0.5:
            i, j = rng.randrange(len(events)), rng.randrange(len(events))
            events[i], events[j] = events[j], events[i]
        else:
            rng.shuffle(events)
    return join_events(events)


def drop(data: bytes, rng: random.Random) -> bytes:
    events = split_events(data)
    for _ in range(rng.randint(1, 3)):
        if events:
            events.pop(rng.randrange(len(events)))
    return join_events(events)


def rename(data: bytes, rng: random.Random) -> bytes:
    events = split_events(data)
    if not events:
        return data
    position = rng.randrange(len(events))
    parsed = event_json(events[position])
    if parsed is None or not isinstance(parsed[1], dict):
        return data
    _, value = parsed
    kinds = ["message_start", "content_block_start", "content_block_delta"]
    kinds += ["content_block_stop", "message_delta", "message_stop", "error", "ping"]
    kind = rng.choice([*kinds, "brand_new_event"])
    value["type"] = kind
    for inner in ("delta", "content_block"):
        if isinstance(value.get(inner), dict) and rng.random() < 0.5:
            value[inner]["type"] = rng.choice(["text_delta", "thinking", "future_thing", "text"])
    events[position] = with_json(b"event: " + kind.encode(), value, rng)
    return join_events(events)


def line_noise(data: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(6)
    if choice == 0:
        return data.replace(b"\n", b"\r\n")
    if choice == 1:
        return data.replace(b"\n", b"\r")
    noise = rng.choice(
        [b": comment\n", b"\n\n\n", b"id: 7\n", b"retry: 10\n", b"\xff\xfe\x00", b"data:\n"]
    )
    position = rng.randrange(len(data) + 1)
    return data[:position] + noise + data[position:]


def split_data_lines(data: bytes, rng: random.Random) -> bytes:
    events = split_events(data)
    if not events:
        return data
    position = rng.randrange(len(events))
    event = events[position]
    cut = rng.randrange(len(event) + 1)
    events[position] = event[:cut] + b"\ndata: " + event[cut:]
    return join_events(events)


def _block_starts(count: int, shuffled: bool) -> bytes:
    indexes = list(range(count))
    if shuffled:
        random.Random(count).shuffle(indexes)
    return b"".join(t.block_start(i, {"type": "text", "text": ""}) for i in indexes)


# Built once: ten thousand events are slow to encode in every run that uses them.
_MANY_BLOCKS = [_block_starts(10_001, False), _block_starts(10_050, True)]


def many_blocks(data: bytes, rng: random.Random) -> bytes:
    # Past the accumulator's block limit, in order or not.
    return data + rng.choice(_MANY_BLOCKS)


Mutation = Callable[[bytes, random.Random], bytes]
MUTATIONS: list[tuple[Mutation, float]] = [
    (flip_bytes, 6),
    (truncate, 4),
    (swap_field, 10),
    (add_field, 5),
    (set_index, 4),
    (deep_data, 2),
    (duplicate, 3),
    (reorder, 3),
    (drop, 2),
    (rename, 4),
    (line_noise, 3),
    (split_data_lines, 2),
    (many_blocks, 0.3),  # rare: each such run parses ten thousand events
]


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    functions = [m for m, _ in MUTATIONS]
    weights = [w for _, w in MUTATIONS]
    applied: list[str] = []
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        mutation = rng.choices(functions, weights)[0]
        if mutation is many_blocks and "many_blocks" in applied:
            continue
        data = mutation(data, rng)
        applied.append(mutation.__name__)
    return data, applied


# -- the pipeline ---------------------------------------------------------------------------


def run_pipeline(data: bytes, rng: random.Random) -> tuple[Message, IrisError | None, bool]:
    """Feed ``data`` in random chunks; return the message, the error if any, and finished."""
    decoder = SSEDecoder()
    acc = MessageAccumulator()
    try:
        position = 0
        while position < len(data):
            size = rng.choice([1, 7, 64, 512, 4096, 1 << 16])
            for event in parse_events(decoder.feed(data[position : position + size])):
                acc.feed(event)
            position += size
        for event in parse_events(decoder.flush()):
            acc.feed(event)
        for block in acc.message.content:
            if hasattr(block, "finish"):
                block.finish()
    except IrisError as exc:
        return acc.message, exc, acc.finished
    return acc.message, None, acc.finished


def check_message(message: Message) -> None:
    """What arrived can be shown, saved as JSON and read back, as the app does."""
    assert isinstance(message.text, str)
    message.text.encode("utf-8")  # printable to a terminal: no lone surrogates
    saved = json.dumps(message.to_dict(), ensure_ascii=False)
    saved.encode("utf-8")  # storable in the history database
    again = Message.from_dict(json.loads(saved))
    assert again.text == message.text
    assert [b.type for b in again.content] == [b.type for b in message.content]


def test_mutated_streams_end_in_a_message_or_a_clean_error() -> None:
    streams = corpus()
    rng = random.Random(SEED)
    outcomes = {"finished": 0, "unfinished": 0, "error": 0}
    used: set[str] = set()
    for run in range(RUNS):
        source = rng.randrange(len(streams))
        data, applied = mutate(streams[source], rng)
        used.update(applied)
        try:
            message, error, finished = run_pipeline(data, rng)
            if error is not None:
                text = str(error)
                assert text
                assert "Traceback" not in text
                assert len(text) < 300, text
            check_message(message)
        except Exception as exc:
            raise AssertionError(
                f"run {run} (stream {source}, mutations {applied}) raised "
                f"{type(exc).__name__}: {exc!s:.300}; data starts {data[:300]!r}"
            ) from exc
        outcomes["error" if error else "finished" if finished else "unfinished"] += 1
    assert used == {m.__name__ for m, _ in MUTATIONS}
    # The mutations must exercise both outcomes a good deal, not only one.
    assert outcomes["error"] > RUNS // 10, outcomes
    assert outcomes["finished"] > RUNS // 10, outcomes


def test_unmutated_streams_all_finish() -> None:
    rng = random.Random(SEED)
    for data in corpus():
        message, error, finished = run_pipeline(data, rng)
        assert error is None
        assert finished
        check_message(message)
