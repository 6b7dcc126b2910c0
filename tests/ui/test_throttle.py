"""Throttle and next_turn_timer: which calls run, and when, told by their own timer and clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

from desktop_app.ui import throttle
from desktop_app.ui.throttle import Throttle, next_turn_timer
from tests.support.qt import arm, wait

INTERVAL_MS = 20


class Clock:
    """Stands in for the throttle's ``time`` module: time moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, ms: float) -> None:
        self.now += ms / 1000.0


class Recorder:
    """The throttled function: records each run, and what it saw then."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.value = 0
        self.seen: list[int] = []
        self._next: asyncio.Future[None] | None = None

    def __call__(self) -> None:
        self.seen.append(self.value)
        if self._next is not None and not self._next.done():
            self._next.set_result(None)

    def next_run(self) -> asyncio.Future[None]:
        """A future for the next run; take it BEFORE the run can happen."""
        self._next = self.loop.create_future()
        return self._next


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(throttle, "time", fake)
    return fake


@pytest.fixture
def owner(qloop: asyncio.AbstractEventLoop) -> Iterator[QObject]:
    parent = QObject()
    yield parent
    shiboken6.delete(parent)


@pytest.fixture
def made(qloop: asyncio.AbstractEventLoop, owner: QObject) -> tuple[Throttle, Recorder, QTimer]:
    """A throttle, its function, and its own timer."""
    func = Recorder(qloop)
    throttled = Throttle(func, INTERVAL_MS, owner)
    timer = throttled.findChild(QTimer)
    assert timer is not None
    return throttled, func, timer


def interval_ends(loop: asyncio.AbstractEventLoop, timer: QTimer) -> None:
    """Run the loop until the throttle's own timer says the interval is over."""
    assert timer.isActive()
    wait(loop, arm(timer.timeout))


def test_the_first_call_runs_at_once(made: tuple[Throttle, Recorder, QTimer]) -> None:
    throttled, func, timer = made
    throttled()
    assert func.seen == [0]
    assert timer.isActive()  # and the interval starts


def test_calls_during_the_interval_fold_into_one_run_at_its_end(
    qloop: asyncio.AbstractEventLoop, made: tuple[Throttle, Recorder, QTimer]
) -> None:
    throttled, func, timer = made
    throttled()
    ran = func.next_run()
    for _ in range(5):
        throttled()
    assert func.seen == [0]  # none of them ran on the spot
    wait(qloop, ran)
    assert func.seen == [0, 0]  # five requests, one run
    # That run starts a new interval; with nothing requested meanwhile, its end runs nothing.
    interval_ends(qloop, timer)
    assert func.seen == [0, 0]
    assert not timer.isActive()


def test_the_last_request_always_runs(
    qloop: asyncio.AbstractEventLoop, made: tuple[Throttle, Recorder, QTimer]
) -> None:
    throttled, func, _timer = made
    throttled()
    ran = func.next_run()
    for value in (1, 2, 3):
        func.value = value
        throttled()
    wait(qloop, ran)
    assert func.seen == [0, 3]  # the folded run sees the state of the last request


def test_after_a_quiet_interval_the_next_call_runs_at_once(
    qloop: asyncio.AbstractEventLoop, clock: Clock, made: tuple[Throttle, Recorder, QTimer]
) -> None:
    throttled, func, timer = made
    throttled()
    interval_ends(qloop, timer)
    clock.advance(INTERVAL_MS + 1)  # past the end of the interval
    throttled()
    assert func.seen == [0, 0]


def test_a_call_soon_after_a_run_waits_for_the_rest_of_the_interval(
    qloop: asyncio.AbstractEventLoop, clock: Clock, made: tuple[Throttle, Recorder, QTimer]
) -> None:
    throttled, func, timer = made
    throttled()
    interval_ends(qloop, timer)  # the timer is idle again...
    clock.advance(INTERVAL_MS / 2)  # ...but by the throttle's clock the interval is not over
    ran = func.next_run()
    throttled()
    assert func.seen == [0]
    assert timer.isActive()
    wait(qloop, ran)
    assert func.seen == [0, 0]


def test_flush_runs_a_pending_call_now_and_only_once(
    qloop: asyncio.AbstractEventLoop, made: tuple[Throttle, Recorder, QTimer]
) -> None:
    throttled, func, timer = made
    throttled.flush()
    assert func.seen == []  # nothing pending, nothing to run
    throttled()
    throttled()
    throttled.flush()
    assert func.seen == [0, 0]
    interval_ends(qloop, timer)
    assert func.seen == [0, 0]  # the flushed call does not run again at the interval's end


def test_cancel_drops_the_pending_call(
    qloop: asyncio.AbstractEventLoop, clock: Clock, made: tuple[Throttle, Recorder, QTimer]
) -> None:
    throttled, func, timer = made
    throttled()
    throttled()
    throttled.cancel()
    assert not timer.isActive()  # nothing is left to fire
    assert func.seen == [0]
    # The throttle still works afterwards, and the dropped call never comes back.
    clock.advance(INTERVAL_MS + 1)  # past the end of the interval
    func.value = 7
    throttled()
    assert func.seen == [0, 7]
    interval_ends(qloop, timer)
    assert func.seen == [0, 7]


# -- next_turn_timer ---------------------------------------------------------------------------


class Posted(QObject):
    """Records the custom events it receives."""

    KIND = QEvent.Type(QEvent.registerEventType())

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def event(self, event: QEvent) -> bool:
        if event.type() == self.KIND:
            self.log.append("posted event")
            return True
        return super().event(event)


def counting(log: list[str], name: str) -> Callable[[], None]:
    return lambda: log.append(name)


def test_next_turn_timer_runs_once_per_start_in_a_later_turn(
    qloop: asyncio.AbstractEventLoop, owner: QObject
) -> None:
    log: list[str] = []
    timer = next_turn_timer(owner, counting(log, "slot"))
    assert timer.parent() is owner
    timer.start()
    timer.start()  # started again before it fired: still one run
    assert log == []  # not on the spot
    wait(qloop, arm(timer.timeout))
    assert log == ["slot"]
    assert not timer.isActive()
    timer.start()
    wait(qloop, arm(timer.timeout))
    assert log == ["slot", "slot"]


def test_next_turn_timer_runs_after_the_events_already_posted(
    qloop: asyncio.AbstractEventLoop, owner: QObject
) -> None:
    log: list[str] = []
    receiver = Posted(log)
    QCoreApplication.postEvent(receiver, QEvent(Posted.KIND))
    timer = next_turn_timer(owner, counting(log, "slot"))
    timer.start()
    wait(qloop, arm(timer.timeout))
    assert log == ["posted event", "slot"]


def test_next_turn_timer_goes_with_its_parent(qloop: asyncio.AbstractEventLoop) -> None:
    log: list[str] = []
    parent = QObject()
    timer = next_turn_timer(parent, counting(log, "slot"))
    timer.start()
    shiboken6.delete(parent)
    assert not shiboken6.isValid(timer)  # deleted with it, so it can never fire
