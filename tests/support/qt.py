"""Helpers for GUI tests that run on a qasync loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import SignalInstance


def arm(signal: SignalInstance) -> asyncio.Future[tuple[Any, ...]]:
    """A future for the next emission of ``signal``; arm it BEFORE triggering.

    ``qtbot.waitSignal`` spins a nested Qt loop, which a running qasync task cannot
    re-enter; awaiting this future with ``loop.run_until_complete`` can.
    """
    future: asyncio.Future[tuple[Any, ...]] = asyncio.get_event_loop().create_future()

    def on_emit(*args: Any) -> None:
        if not future.done():
            future.set_result(args)

    signal.connect(on_emit)
    future.add_done_callback(lambda _f: signal.disconnect(on_emit))
    return future


def wait(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], seconds: float = 10) -> Any:
    """Run ``loop`` until ``future`` resolves (or fail after ``seconds``)."""
    return loop.run_until_complete(asyncio.wait_for(future, seconds))


def eventually(
    loop: asyncio.AbstractEventLoop,
    predicate: Callable[[], object],
    seconds: float = 10,
    interval: float = 0.02,
) -> None:
    """Run ``loop`` until ``predicate()`` is true; fail after ``seconds``."""

    async def poll() -> None:
        deadline = loop.time() + seconds
        # Polling is the point here: the condition has no signal of its own.
        while not predicate():
            if loop.time() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(interval)

    loop.run_until_complete(poll())


def send_prompt(window: Any, loop: asyncio.AbstractEventLoop, text: str) -> Any:
    """Type ``text`` in a main window, press Send, and return the finished reply turn."""
    done = arm(window.chat.reply_finished)
    window.chat.prompt.setPlainText(text)
    window.chat.send_button.click()
    (turn,) = wait(loop, done, 20)
    return turn
