"""The window's excepthooks: every bug in the log with its traceback, one notice for people."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QObject, Signal

from desktop_app.core import logs
from desktop_app.core.paths import AppPaths
from desktop_app.ui import excepthook, notify
from desktop_app.ui.app_context import AppContext
from desktop_app.ui.asyncslot import async_slot
from desktop_app.ui.main_window import MainWindow
from tests.support.offline import FaultyServer
from tests.support.qt import arm, send_prompt, wait

KEY = "sk-ant-api03-window-log-test-0123456789"
MARKER = "cerulean-pangolin-5823"


class LogWatch(logging.Handler):
    """Resolves a future on the loop once a record whose text holds ``needle`` is handled."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self._wanted: list[tuple[str, asyncio.Future[None]]] = []

    def expect(self, needle: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._loop.create_future()
        self._wanted.append((needle, future))
        return future

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage() + (self.format(record) if record.exc_info else "")
        for needle, future in self._wanted:
            if needle in text:
                # Records come from worker threads too.
                self._loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@contextlib.contextmanager
def window_hooks(
    loop: asyncio.AbstractEventLoop, folder: Path
) -> Iterator[tuple[logs.ExceptionHooks, Path, LogWatch]]:
    """The window's logging and hooks, as launch installs them.

    Installed inside the test, not in a fixture: pytest and pytest-qt put their own
    excepthooks in place for the test's body, and these must come after them.
    """
    setup = logs.configure(folder)
    assert setup.path is not None
    watch = LogWatch(loop)
    logging.getLogger().addHandler(watch)
    hooks = excepthook.install(loop, setup.path)
    try:
        yield hooks, setup.path, watch
    finally:
        hooks.uninstall()
        logging.getLogger().removeHandler(watch)
        setup.close()


@pytest.fixture
def shown() -> Iterator[list[notify.UserMessage]]:
    """Messages the bridge delivers during the test."""
    got: list[notify.UserMessage] = []
    notify.bridge.flush()
    notify.bridge.shown.connect(got.append)
    yield got
    notify.bridge.shown.disconnect(got.append)
    notify.bridge.reset()


class Broken(QObject):
    """Slots with bugs in them."""

    poked = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.poked.connect(self.on_poked)

    @async_slot(str)
    async def on_poked(self, why: str) -> None:
        await asyncio.sleep(0)
        raise RuntimeError(why)


def fail_in_a_thread(why: str) -> None:
    def work() -> None:
        raise ValueError(why)

    worker = threading.Thread(target=work, name="iris-test-worker")
    worker.start()
    worker.join()


def fail_in_a_callback(loop: asyncio.AbstractEventLoop, why: str) -> None:
    def callback() -> None:
        raise LookupError(why)

    loop.call_soon(callback)


def test_a_bug_in_an_async_slot_is_logged_and_told_once(
    qloop: asyncio.AbstractEventLoop, tmp_path: Path, shown: list[notify.UserMessage]
) -> None:
    broken = Broken()
    with window_hooks(qloop, tmp_path / "logs") as (hooks, log_file, _watch):
        noticed = arm(notify.bridge.shown)
        broken.poked.emit("the slot broke")
        (message,) = wait(qloop, noticed)
    assert message == notify.UserMessage(notify.Level.ERROR, hooks.notice)
    assert str(log_file) in message.text
    assert "Traceback" not in message.text
    text = log_file.read_text(encoding="utf-8")
    assert "Unhandled exception on the main thread" in text
    assert "Traceback (most recent call last)" in text
    assert "in on_poked" in text
    assert "RuntimeError: the slot broke" in text
    assert shown == [message]


def test_a_bug_in_a_worker_thread_is_logged_and_told_once(
    qloop: asyncio.AbstractEventLoop, tmp_path: Path, shown: list[notify.UserMessage]
) -> None:
    with window_hooks(qloop, tmp_path / "logs") as (hooks, log_file, _watch):
        noticed = arm(notify.bridge.shown)
        fail_in_a_thread("the worker broke")
        (message,) = wait(qloop, noticed)
    assert message.text == hooks.notice
    text = log_file.read_text(encoding="utf-8")
    assert "Unhandled exception in thread iris-test-worker" in text
    assert "Traceback (most recent call last)" in text
    assert "ValueError: the worker broke" in text
    assert shown == [message]


def test_a_bug_in_a_loop_callback_is_logged_and_told_once(
    qloop: asyncio.AbstractEventLoop, tmp_path: Path, shown: list[notify.UserMessage]
) -> None:
    with window_hooks(qloop, tmp_path / "logs") as (hooks, log_file, _watch):
        noticed = arm(notify.bridge.shown)
        fail_in_a_callback(qloop, "the callback broke")
        (message,) = wait(qloop, noticed)
    assert message.text == hooks.notice
    text = log_file.read_text(encoding="utf-8")
    assert "Unhandled exception in the event loop" in text
    assert "Traceback (most recent call last)" in text
    assert "LookupError: the callback broke" in text
    assert shown == [message]


def test_a_bug_in_a_plain_qt_slot_is_logged_and_told(
    qloop: asyncio.AbstractEventLoop, tmp_path: Path, shown: list[notify.UserMessage]
) -> None:
    class Sender(QObject):
        fired = Signal()

    sender = Sender()

    def slot() -> None:
        raise KeyError("a plain slot broke")

    sender.fired.connect(slot)
    with window_hooks(qloop, tmp_path / "logs") as (hooks, log_file, _watch):
        noticed = arm(notify.bridge.shown)
        sender.fired.emit()
        (message,) = wait(qloop, noticed)
    assert message.text == hooks.notice
    assert "KeyError: 'a plain slot broke'" in log_file.read_text(encoding="utf-8")


def test_later_bugs_are_logged_but_bring_no_second_notice(
    qloop: asyncio.AbstractEventLoop, tmp_path: Path, shown: list[notify.UserMessage]
) -> None:
    broken = Broken()
    with window_hooks(qloop, tmp_path / "logs") as (hooks, log_file, watch):
        noticed = arm(notify.bridge.shown)
        broken.poked.emit("first")
        wait(qloop, noticed)

        logged = [
            watch.expect("RuntimeError: second"),
            watch.expect("ValueError: third"),
            watch.expect("LookupError: fourth"),
        ]
        broken.poked.emit("second")
        fail_in_a_thread("third")
        fail_in_a_callback(qloop, "fourth")
        wait(qloop, asyncio.gather(*logged))
        # A notice for any of them would have been posted before its record was
        # written; deliver everything posted so far.
        QCoreApplication.sendPostedEvents()
    assert [m.text for m in shown] == [hooks.notice]
    text = log_file.read_text(encoding="utf-8")
    assert text.count("Traceback (most recent call last)") == 4


def test_the_window_at_debug_level_logs_neither_the_key_nor_the_conversation(
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    paths: AppPaths,
    server: FaultyServer,
    tmp_path: Path,
) -> None:
    notify.bridge.reset()
    setup = logs.configure(tmp_path / "logs", verbose=True)
    assert setup.path is not None
    try:
        context = AppContext(paths)
        context.api_key.use_for_session(KEY)
        context.settings.update(
            base_url=server.base_url,
            model="claude-haiku-4-5",
            system_prompt=f"Remember {MARKER}.",
        )
        window = MainWindow(context)
        qtbot.addWidget(window)
        window.show()
        turn = send_prompt(window, qloop, f"Please repeat {MARKER}")
        assert MARKER in turn.text
        assert server.received[-1].headers["x-api-key"] == KEY
        window.close()
        qloop.run_until_complete(window.aclose())
        text = setup.path.read_text(encoding="utf-8")
    finally:
        setup.close()
        notify.bridge.reset()
    assert "POST /v1/messages -> 200" in text
    assert KEY not in text
    assert MARKER not in text
