"""Benchmark the history store at 10,000 conversations and 200,000 messages.

Run with ``python tests/benchmarks/bench_store.py [--conversations N] [--runs N]``.
Generates the history into a temporary file with big ``executemany`` transactions
(the triggers fill the search index as they would in use), then measures opening
the store, the first page of the conversation list, opening the last conversation
(its newest page), a full-text search, and ReplyWriter.update on the caller's
thread while a reply streams.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.wire.blocks import Role, TextBlock
from desktop_app.core.wire.message import Message

WORDS = [
    "falcon",
    "kestrel",
    "river",
    "mountain",
    "python",
    "query",
    "index",
    "window",
    "stream",
    "reply",
    "image",
    "pixel",
    "budget",
    "cache",
    "token",
    "model",
    "branch",
    "draft",
    "search",
    "export",
    "import",
    "sqlite",
    "thread",
    "quick",
    "orange",
    "violet",
    "copper",
    "silver",
    "garden",
    "harbour",
    "lantern",
    "meadow",
    "orchard",
    "quartz",
]
PAGE = 50


# Real prose follows Zipf's law: a few words everywhere, most words rare. 5,000
# made-up words with 1/rank weights give the index a realistic spread.
_SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ra", "to", "vi", "be", "do", "fu", "gi"]
_VOCABULARY = WORDS + [
    "".join(random.Random(n).choice(_SYLLABLES) for _ in range(3 + n % 3)) + str(n % 7)
    for n in range(5000)
]
_CUMULATIVE = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(_VOCABULARY))))


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(_VOCABULARY, cum_weights=_CUMULATIVE, k=words))


def generate(path: Path, conversations: int, per_conversation: int) -> float:
    started = time.perf_counter()
    rng = random.Random(7)
    with HistoryStore.open(path) as store:
        db = store._db
        now = time.time() - conversations * 60
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO conversations(id, title, created, updated, model) VALUES (?, ?, ?, ?, ?)",
            [
                (c, _text(rng, 5), now + c * 60, now + c * 60, "claude-sonnet-4-6")
                for c in range(1, conversations + 1)
            ],
        )
        message_id = 0
        batch: list[tuple[object, ...]] = []
        leaves = []
        for c in range(1, conversations + 1):
            parent = None
            for i in range(per_conversation):
                message_id += 1
                role = "user" if i % 2 == 0 else "assistant"
                text = _text(rng, 12 if role == "user" else 60)
                content = json.dumps([{"type": "text", "text": text}]) if role == "user" else "[]"
                message = (
                    None
                    if role == "user"
                    else json.dumps(
                        Message(model="claude-sonnet-4-6", content=[TextBlock(text)]).to_dict()
                    )
                )
                batch.append(
                    (message_id, c, parent, role, content, message, text, "done", now + c * 60 + i)
                )
                parent = message_id
            leaves.append((parent, c))
            if len(batch) >= 20_000:
                _insert(db, batch)
                batch.clear()
        _insert(db, batch)
        db.executemany("UPDATE conversations SET active_leaf_id = ? WHERE id = ?", leaves)
        db.execute("COMMIT")
    return time.perf_counter() - started


def _insert(db: object, rows: list[tuple[object, ...]]) -> None:
    db.executemany(  # type: ignore[attr-defined]
        "INSERT INTO messages(id, conversation_id, parent_id, role, content_json, message_json, "
        "text, status, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def timed(action: Callable[[], object], runs: int) -> tuple[float, float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return min(samples), statistics.median(samples), max(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    per = max(2, args.messages // args.conversations)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.sqlite3"
        seconds = generate(path, args.conversations, per)
        size = path.stat().st_size / 1e6
        print(
            f"generated {args.conversations:,} conversations, {args.conversations * per:,} "
            f"messages in {seconds:.1f} s ({size:.0f} MB)"
        )
        rows: list[tuple[str, tuple[float, float, float], float]] = []
        started = time.perf_counter()
        store = HistoryStore.open(path)
        rows.append(
            ("open store (quick_check), cold", ((time.perf_counter() - started) * 1000,) * 3, 0)
        )
        with store:
            rows.append(
                (
                    "list: first page of 50",
                    timed(lambda: store.list_conversations(PAGE), args.runs),
                    300,
                )
            )
            last = store.list_conversations(1)[0].id
            rows.append(
                (
                    "open last conversation: last 50",
                    timed(lambda: store.load_active_path(last, limit=PAGE), args.runs),
                    300,
                )
            )
            rows.append(
                (
                    "open last conversation: all 20",
                    timed(lambda: store.load_active_path(last), args.runs),
                    300,
                )
            )
            rows.append(
                (
                    "search 'kestrel harbour' (top 50)",
                    timed(lambda: store.search("kestrel harbour"), args.runs),
                    100,
                )
            )
            rows.append(
                (
                    "search 'quartz' (common word)",
                    timed(lambda: store.search("quartz"), args.runs),
                    100,
                )
            )
            rows.append(
                ("search 'ora' (prefix)", timed(lambda: store.search("ora"), args.runs), 100)
            )
            rows.append(
                ("search 'zzzz' (no match)", timed(lambda: store.search("zzzz"), args.runs), 100)
            )
            # Streaming: 3,000 deltas at 2 ms, the writer saving once a second.
            message = Message(model="claude-sonnet-4-6", content=[TextBlock()])
            reply_id = store.add_message(
                last, Turn(Role.ASSISTANT, message=message, status=TurnStatus.STREAMING)
            )
            writer = store.reply_writer(reply_id)
            block = message.content[0]
            assert isinstance(block, TextBlock)
            costs = []
            for i in range(3000):
                block.append(f"word{i} ")
                begin = time.perf_counter()
                writer.update(message)
                costs.append((time.perf_counter() - begin) * 1000)
                time.sleep(0.002)
            begin = time.perf_counter()
            writer.finish(TurnStatus.DONE, message)
            finish = (time.perf_counter() - begin) * 1000
            rows.append(
                (
                    "ReplyWriter.update per call",
                    (min(costs), statistics.median(costs), max(costs)),
                    16,
                )
            )
            rows.append(("ReplyWriter.finish (waits for commit)", (finish, finish, finish), 16))
            print(f"reply writer: {writer.writes} writes for 3,000 deltas")
    print(f"\n{'measure':40} {'best ms':>9} {'median':>9} {'worst':>9} {'target':>8}")
    for name, (best, median, worst), target in rows:
        goal = f"< {target}" if target else ""
        print(f"{name:40} {best:9.3f} {median:9.3f} {worst:9.3f} {goal:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
