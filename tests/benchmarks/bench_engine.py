"""Engine benchmarks: import time, ``iris ask --demo`` wall time, stream decoding.

Run with ``.venv/bin/python tests/benchmarks/bench_engine.py``. Each figure is the
median of several runs, next to a baseline measured in the same run:

- importing ``desktop_app.core`` plus the engine, against importing httpx alone;
- ``iris ask --demo "hi"`` as a whole process, against a bare ``python -c pass``;
- decoding and accumulating 100,000 text deltas, against httpx-sse's decoder
  (when installed: ``pip install -e '.[bench]'``) feeding the same accumulator.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from desktop_app.core.wire.events import MessageAccumulator, parse_events  # noqa: E402
from desktop_app.core.wire.sse import ServerSentEvent, SSEDecoder  # noqa: E402

DELTAS = 100_000
CHUNK = 4096


def _python_time(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return float(out.strip().splitlines()[-1])


def import_seconds(module: str) -> float:
    """Seconds to import ``module`` in a fresh interpreter (start-up excluded)."""
    return _python_time(
        f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    )


def process_seconds(*argv: str) -> float:
    """Wall seconds for a whole process."""
    started = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True, cwd=ROOT)
    return time.perf_counter() - started


def stream_bytes(count: int = DELTAS) -> bytes:
    """A realistic reply of ``count`` text deltas, as the API sends it."""
    head = (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_b",'
        b'"type":"message","role":"assistant","content":[],"model":"claude-haiku-4-5",'
        b'"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":1}}}'
        b'\n\nevent: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"text","text":""}}\n\n'
    )
    body = b"".join(
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":" word%d"}}\n\n' % i
        for i in range(count)
    )
    tail = (
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn",'
        b'"stop_sequence":null},"usage":{"output_tokens":%d}}\n\n'
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n' % count
    )
    return head + body + tail


def chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


def decode_iris(data: bytes) -> int:
    decoder = SSEDecoder()
    acc = MessageAccumulator()
    for chunk in chunks(data):
        for event in parse_events(decoder.feed(chunk)):
            acc.feed(event)
    assert acc.finished
    return len(acc.message.text)


def decode_httpx_sse(data: bytes) -> int:
    """httpx-sse's decoder over text lines (as its ``aiter_sse`` does), same accumulator."""
    from httpx._decoders import LineDecoder, TextDecoder
    from httpx_sse._decoders import SSEDecoder as Baseline

    text = TextDecoder()
    lines = LineDecoder()
    sse = Baseline()
    acc = MessageAccumulator()
    for chunk in chunks(data):
        for line in lines.decode(text.decode(chunk)):
            event = sse.decode(line)
            if event is not None:
                for typed in parse_events([ServerSentEvent(event.event, event.data)]):
                    acc.feed(typed)
    assert acc.finished
    return len(acc.message.text)


def median(fn: Callable[[], float], runs: int) -> float:
    fn()  # warm the file cache
    return statistics.median(fn() for _ in range(runs))


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    iris = str(Path(sys.executable).with_name("iris"))
    # An installed wheel has its bytecode compiled by pip; an editable checkout run
    # with PYTHONDONTWRITEBYTECODE would otherwise recompile every module each run.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "desktop_app")], check=True
    )

    results: dict[str, float | None] = {}
    engine_ms = 1000 * median(
        lambda: import_seconds("desktop_app.core, desktop_app.core.api.client"), args.runs
    )
    httpx_ms = 1000 * median(lambda: import_seconds("httpx"), args.runs)
    asyncio_ms = 1000 * median(lambda: import_seconds("asyncio"), args.runs)
    results["import_engine_ms"] = engine_ms
    results["import_httpx_ms"] = httpx_ms
    results["import_asyncio_ms"] = asyncio_ms
    results["ask_demo_ms"] = 1000 * median(
        lambda: process_seconds(iris, "ask", "--demo", "hi"), args.runs
    )
    results["python_startup_ms"] = 1000 * median(
        lambda: process_seconds(sys.executable, "-c", "pass"), args.runs
    )
    data = stream_bytes()
    results["decode_100k_ms"] = 1000 * median(lambda: timed(lambda: decode_iris(data)), 5)
    try:
        import httpx_sse  # noqa: F401
    except ImportError:
        results["decode_100k_httpx_sse_ms"] = None
    else:
        assert decode_httpx_sse(data) == decode_iris(data)
        results["decode_100k_httpx_sse_ms"] = 1000 * median(
            lambda: timed(lambda: decode_httpx_sse(data)), 5
        )

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    baseline_decode = results["decode_100k_httpx_sse_ms"]
    ours_decode = results["decode_100k_ms"]
    assert ours_decode is not None
    rows = [
        (
            "import desktop_app.core + engine",
            results["import_engine_ms"],
            150.0,
            f"httpx alone {httpx_ms:.0f} ms ({engine_ms / httpx_ms:.2f}x), "
            f"asyncio alone {asyncio_ms:.0f} ms",
        ),
        (
            'iris ask --demo "hi" (whole process)',
            results["ask_demo_ms"],
            500.0,
            f"python -c pass {results['python_startup_ms']:.0f} ms",
        ),
        (
            "decode + accumulate 100,000 deltas",
            results["decode_100k_ms"],
            1000.0,
            "httpx-sse not installed"
            if baseline_decode is None
            else f"httpx-sse {baseline_decode:.0f} ms "
            f"({baseline_decode / ours_decode:.1f}x slower)",
        ),
    ]
    print(f"{'benchmark':40} {'median':>9} {'target':>9}  baseline (same run)")
    for name, value, target, baseline in rows:
        assert value is not None
        verdict = "ok" if value < target else "OVER"
        print(f"{name:40} {value:7.0f}ms {target:7.0f}ms  {baseline}  [{verdict}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
