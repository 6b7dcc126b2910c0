"""A process killed mid-reply loses at most the last second of it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.conversation.model import TurnStatus
from desktop_app.core.history.store import HistoryStore
from tests.support.offline import Fault, FaultyServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def slow_server() -> Iterator[FaultyServer]:
    server = FaultyServer(delay=0.0).start()
    try:
        yield server
    finally:
        server.stop()


def saved_text(db: Path) -> str:
    """The reply text on disk, read through a fresh connection like a new process would."""
    connection = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True)
    try:
        row = connection.execute(
            "SELECT text FROM messages WHERE role = 'assistant' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    except sqlite3.OperationalError:
        return ""
    finally:
        connection.close()
    return "" if row is None else str(row[0])


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_reply_keeps_the_partial_reply(
    slow_server: FaultyServer, tmp_path: Path
) -> None:
    # The full reply, for comparison, from an undisturbed request.
    full = _full_reply(slow_server, tmp_path / "reference")
    slow_server.push(Fault.slow(0.05))
    data = tmp_path / "crash"
    db = data / "history.sqlite3"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.stream_to_store",
            str(data),
            slow_server.base_url,
            "/long",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        deadline = time.monotonic() + 20
        partial = ""
        while not partial and time.monotonic() < deadline:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            time.sleep(0.05)
            if db.exists():
                partial = saved_text(db)
        assert partial, "no partial reply reached the disk"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
    assert child.returncode == -signal.SIGKILL
    with HistoryStore.open(db) as store:
        [summary] = store.list_conversations()
        assert summary.title == "/long"
        prompt, reply = store.load_active_path(summary.id)
        assert prompt.turn.text == "/long"
        assert reply.turn.status is TurnStatus.INTERRUPTED
        assert reply.turn.error
        text = reply.turn.text
        assert text
        assert len(partial) <= len(text) < len(full)
        assert full.startswith(text)


def _full_reply(server: FaultyServer, data: Path) -> str:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.stream_to_store",
            str(data),
            server.base_url,
            "/long",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    with HistoryStore.open(data / "history.sqlite3") as store:
        [summary] = store.list_conversations()
        reply = store.load_active_path(summary.id)[-1].turn
        assert reply.status is TurnStatus.DONE
        return reply.text
