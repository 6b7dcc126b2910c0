"""Desktop app benchmarks: cold start, idle memory, streaming stalls, long conversations.

Run with ``.venv/bin/python tests/benchmarks/bench_ui.py`` (offscreen). Figures
are medians or maxima over the run, next to a baseline from the same run:

- ``iris --smoke-test`` as a whole process, against a bare PySide6 window;
- idle RSS of the built window, against the bare window's RSS;
- streaming 500 deltas per second for 20 s: the longest event-loop stall, seen by
  a 10 ms timer until the reply's final render is on screen, against the same
  timer with no stream;
- a 1,000-message conversation of Markdown and code: time to open it, the longest
  stall while scrolling to the top, and RSS afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BARE_WINDOW = """
import time; t = time.perf_counter()
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([]); w = QMainWindow(); w.resize(1180, 780); w.show(); app.processEvents()
print(f"startup_ms={(time.perf_counter() - t) * 1000:.0f}")
print("rss_kb=" + [l for l in open("/proc/self/status") if l.startswith("VmRSS")][0].split()[1])
"""

IDLE_WINDOW = """
import os, sys
sys.argv = ["iris"]
from PySide6.QtWidgets import QApplication
import asyncio, qasync
app = QApplication([])
loop = qasync.QEventLoop(app); asyncio.set_event_loop(loop)
from desktop_app.ui.app_context import AppContext
from desktop_app.core.paths import app_paths
from desktop_app.ui.main_window import MainWindow
ctx = AppContext(app_paths().ensure(), demo=True)
w = MainWindow(ctx); w.show()
from desktop_app.ui.launch import _warm_up
loop.run_until_complete(asyncio.to_thread(_warm_up))  # as the app does once shown
loop.run_until_complete(asyncio.sleep(0.5))
print("rss_kb=" + [l for l in open("/proc/self/status") if l.startswith("VmRSS")][0].split()[1])
loop.close()  # joins the worker threads, as the app does when it quits
"""


def _env(tmp: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        IRIS_CONFIG_DIR=f"{tmp}/config",
        IRIS_DATA_DIR=f"{tmp}/data",
        IRIS_CACHE_DIR=f"{tmp}/cache",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    env.pop("ANTHROPIC_API_KEY", None)
    return env


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, dict[str, str]]:
    started = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - started
    values = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return wall, values


def _until_shown(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``argv`` to its ``startup_ms=`` line: the whole process,
    interpreter start included, up to the window shown (not its shutdown)."""
    started = time.perf_counter()
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("startup_ms="):
                shown = time.perf_counter() - started
                break
        else:
            raise RuntimeError(f"{argv} printed no startup_ms")
        proc.stdout.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} exited with {proc.returncode}")
    return shown


def _long_history(data_dir: Path, messages: int) -> None:
    """A store whose last conversation has ``messages`` turns of Markdown and code."""
    from desktop_app.core.conversation.model import Turn, TurnStatus
    from desktop_app.core.history.files import current_store_path
    from desktop_app.core.history.service import LAST_CONVERSATION_FILE
    from desktop_app.core.history.store import HistoryStore
    from desktop_app.core.wire.blocks import Role, TextBlock
    from desktop_app.core.wire.message import Message

    data_dir.mkdir(parents=True, exist_ok=True)
    sample = (ROOT / "README.md").read_text(encoding="utf-8")[:600]
    code = "```python\ndef f(x):\n    return [i * x for i in range(10)]\n```\n"
    with HistoryStore.open(current_store_path(data_dir)) as store:
        conversation = store.create_conversation("A long conversation")
        for i in range(messages):
            if i % 2 == 0:
                turn = Turn(Role.USER, [TextBlock(f"Question {i}")])
            else:
                text = f"## Answer {i}\n\n{sample}\n\n{code}"
                turn = Turn(Role.ASSISTANT, message=Message(content=[TextBlock(text)]))
            turn.status = TurnStatus.DONE
            store.add_message(conversation, turn)
    (data_dir / LAST_CONVERSATION_FILE).write_text(str(conversation), encoding="ascii")


def cold_start(runs: int) -> dict[str, float]:
    """Whole-process ``--smoke-test`` against a bare window, medians."""
    iris = str(Path(sys.executable).with_name("iris"))
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "desktop_app")], check=True
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(tmp)
        _run([iris, "--smoke-test"], env)  # warm the file cache
        _run([sys.executable, "-c", BARE_WINDOW], env)
        # Interleaved, so a busy moment on the machine costs both alike.
        iris_wall: list[float] = []
        bare_wall: list[float] = []
        for _ in range(runs):
            iris_wall.append(_until_shown([iris, "--smoke-test"], env))
            bare_wall.append(_until_shown([sys.executable, "-c", BARE_WINDOW], env))
        _wall, bare = _run([sys.executable, "-c", BARE_WINDOW], env)
        _wall, idle = _run([sys.executable, "-c", IDLE_WINDOW], env)
        _long_history(Path(tmp, "long"), 1000)
        long_env = dict(env, IRIS_DATA_DIR=f"{tmp}/long")
        _run([iris, "--smoke-test"], long_env)
        pairs = [
            (_run([iris, "--smoke-test"], env)[1], _run([iris, "--smoke-test"], long_env)[1])
            for _ in range(runs)
        ]
        empty_ms = statistics.median(float(a["startup_ms"]) for a, _b in pairs)
        long_ms = statistics.median(float(b["startup_ms"]) for _a, b in pairs)
    return {
        "smoke_test_wall_ms": 1000 * statistics.median(iris_wall),
        "bare_window_wall_ms": 1000 * statistics.median(bare_wall),
        "smoke_test_vs_bare": statistics.median(iris_wall) / statistics.median(bare_wall),
        "idle_rss_mb": int(idle["rss_kb"]) / 1024,
        "bare_window_rss_mb": int(bare["rss_kb"]) / 1024,
        "startup_empty_ms": empty_ms,
        "startup_1000_ms": long_ms,
        "startup_ratio": long_ms / empty_ms,
    }


class StallMeter:
    """A 10 ms timer; the largest gap beyond 10 ms between ticks is the worst stall."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.gaps.clear()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000.0 - 10.0)
        self._last = now

    @property
    def worst_ms(self) -> float:
        return max(self.gaps, default=0.0)


async def _sse_server(rate: int, seconds: float) -> tuple[asyncio.Server, int]:
    from tests.support import transcripts as t

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in (await reader.read(65536)).split(b"\r\n"):
            if line.lower().startswith(b"content-length"):
                length = int(line.split(b":")[1])
        del length
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        )
        writer.write(t.message_start() + t.block_start(0, {"type": "text", "text": ""}))
        total = int(rate * seconds)
        batch = max(1, rate // 100)  # send every 10 ms
        words = ["stream ", "of ", "**bold** ", "`code` ", "words ", "and\n\n", "more "]
        for i in range(0, total, batch):
            writer.write(b"".join(t.text_delta(0, words[(i + j) % 7]) for j in range(batch)))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(t.block_stop(0) + t.message_delta() + t.message_stop())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def in_process(stream_seconds: float, messages: int, styled: bool = True) -> dict[str, Any]:
    """Streaming stalls and the long conversation, in one process with the real window.

    With ``styled`` the app's style sheet is installed, as the launcher does.
    """
    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop_app.core.conversation.model import Conversation, Turn, TurnStatus
    from desktop_app.core.paths import AppPaths
    from desktop_app.core.wire.blocks import Role, TextBlock
    from desktop_app.core.wire.message import Message
    from desktop_app.ui.app_context import AppContext
    from desktop_app.ui.launch import _idle, _warm_up
    from desktop_app.ui.main_window import MainWindow
    from tests.support.qt import arm

    _warm_up()  # as the app does in a worker once its window is shown
    sys.setswitchinterval(0.001)  # as the app does
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    if styled:
        from desktop_app.ui import style

        style.install(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = AppPaths(Path(tmp, "c"), Path(tmp, "d"), Path(tmp, "k")).ensure()
        context = AppContext(paths)
        context.api_key.use_for_session("sk-bench-key")
        window = MainWindow(context)
        window.show()
        gc.freeze()  # as the app does once its window is shown
        meter = StallMeter()

        async def idle_baseline() -> None:
            meter.start()
            await asyncio.sleep(2.0)
            meter.stop()

        loop.run_until_complete(idle_baseline())
        # As the app does at start-up: load the Markdown libraries in a worker.
        from desktop_app.core.render.turn_html import warm_up_renderer

        loop.run_until_complete(asyncio.to_thread(warm_up_renderer))
        results["idle_worst_gap_ms"] = meter.worst_ms

        async def stream() -> None:
            server, port = await _sse_server(500, stream_seconds)
            context.settings.update(base_url=f"http://127.0.0.1:{port}")
            done = arm(window.chat.reply_finished)
            window.chat.prompt.setPlainText("stream please")
            meter.start()
            window.chat.send()
            await asyncio.wait_for(done, stream_seconds + 30)
            # The final Markdown render of the reply belongs to the stream too.
            reply = window.chat.model.conversation.turns[-1]
            widget = window.chat.view.widget_for(reply)
            if widget is not None and widget.rendering:
                await asyncio.wait_for(arm(widget.rendered), 30)
            await asyncio.sleep(0.2)
            meter.stop()
            server.close()

        loop.run_until_complete(stream())
        results["stream_worst_stall_ms"] = meter.worst_ms
        results["stream_p99_stall_ms"] = sorted(meter.gaps)[int(len(meter.gaps) * 0.99)]
        reply = window.chat.model.conversation.turns[-1]
        results["stream_chars"] = len(reply.text)

        sample = (ROOT / "README.md").read_text(encoding="utf-8")[:600]
        code = "```python\ndef f(x):\n    return [i * x for i in range(10)]  # squares\n```\n"
        conversation = Conversation()
        for i in range(messages):
            if i % 2 == 0:
                conversation.turns.append(
                    Turn(Role.USER, [TextBlock(f"Question {i}: explain this.")])
                )
            else:
                text = f"## Answer {i}\n\n{sample}\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n{code}"
                conversation.turns.append(
                    Turn(
                        Role.ASSISTANT,
                        message=Message(content=[TextBlock(text)]),
                        status=TurnStatus.DONE,
                    )
                )

        async def open_and_scroll() -> None:
            started = time.perf_counter()
            window.chat.session.new(conversation)
            await _idle()  # built, laid out and painted
            results["open_1000_ms"] = (time.perf_counter() - started) * 1000
            bar = window.chat.view.verticalScrollBar()
            meter.start()
            for _ in range(2000):
                if bar.value() == 0 and window.chat.view.loaded_rows >= messages:
                    break
                bar.setValue(max(0, bar.value() - 400))
                await asyncio.sleep(0.005)
            meter.stop()
            results["scroll_worst_stall_ms"] = meter.worst_ms
            results["scroll_loaded_rows"] = window.chat.view.loaded_rows

        loop.run_until_complete(open_and_scroll())
        status = Path("/proc/self/status").read_text()
        rss_kb = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")
        )
        results["rss_after_1000_mb"] = rss_kb / 1024
        window.close()
        loop.run_until_complete(window.aclose())
    loop.close()  # joins the loop's worker threads, as the app does when it quits
    asyncio.set_event_loop(None)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stream-seconds", type=float, default=20.0)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--plain", action="store_true", help="leave out the style sheet (to see what it costs)"
    )
    args = parser.parse_args()
    results = cold_start(args.runs)
    results.update(in_process(args.stream_seconds, args.messages, styled=not args.plain))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    rows = [
        (
            "cold start, --smoke-test (whole process)",
            results["smoke_test_wall_ms"],
            "ms",
            600,
            f"bare PySide6 window {results['bare_window_wall_ms']:.0f} ms"
            f" (Iris {results['smoke_test_vs_bare']:.1f}x; the target assumes 0.12 s, 5x)",
        ),
        (
            "idle RSS",
            results["idle_rss_mb"],
            "MB",
            150,
            f"bare window {results['bare_window_rss_mb']:.0f} MB",
        ),
        (
            "streaming 500 deltas/s: worst stall",
            results["stream_worst_stall_ms"],
            "ms",
            50,
            f"idle timer worst gap {results['idle_worst_gap_ms']:.1f} ms",
        ),
        ("1,000 messages: open", results["open_1000_ms"], "ms", 500, ""),
        (
            "1,000 messages: worst scroll stall",
            results["scroll_worst_stall_ms"],
            "ms",
            50,
            f"{results['scroll_loaded_rows']} rows loaded",
        ),
        ("1,000 messages: RSS", results["rss_after_1000_mb"], "MB", 300, ""),
        (
            "start-up with a 1,000-message conversation",
            results["startup_ratio"],
            "x",
            1.5,
            f"{results['startup_1000_ms']:.0f} ms vs {results['startup_empty_ms']:.0f} ms empty",
        ),
    ]
    print(f"{'benchmark':44} {'value':>9} {'target':>8}  baseline (same run)")
    for name, value, unit, target, baseline in rows:
        verdict = "ok" if value < target else "OVER"
        shown = f"{value:7.2f}" if unit == "x" else f"{value:7.0f}"
        print(f"{name:44} {shown}{unit:>2} {target:6}{unit:>2}  {baseline}  [{verdict}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
