"""``TurnRunner``: one exchange with the model, from the stored prompt to the stored reply.

A run stores the prompt, streams the reply into the session, saves it as it
arrives, and, when the model asks for tools and a :class:`ToolExecutor` is given,
runs them, sends their results and goes on until the model stops (a tool round).
It reports what happens as typed :data:`RunEvent` values to the caller's handler.

Whatever happens (Stop, a network or service error, a full disk, a bug), one
``try``/``finally`` gives every turn a final status, saves what can be saved and
ends with :class:`RunFinished`: the window can never stay busy, and no turn stays
"streaming". Stop is the task being cancelled; the run then finishes cleanly
(keeping what arrived) and returns instead of re-raising.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from desktop_app.core.api.retry import RetryNotice
from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.conversation.options import RequestOptions
from desktop_app.core.conversation.ports import ReplySaver, ToolExecutor
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.errors import (
    APIError,
    ConfigurationError,
    IrisError,
    StoreError,
    StreamInterruptedError,
)
from desktop_app.core.wire.blocks import Role, ToolResultBlock, ToolUseBlock
from desktop_app.core.wire.events import ContentBlockStopEvent, StreamEvent

if TYPE_CHECKING:
    # Loaded by the caller on first use: the window shows before httpx is imported.
    from desktop_app.core.api.client import MessagesClient

log = logging.getLogger("iris.runner")

T = TypeVar("T")

DEFAULT_MAX_ROUNDS = 25
FLUSH_INTERVAL = 1.0
STOPPED_BEFORE_REPLY = "Stopped before a reply arrived."
UNEXPECTED = "Something went wrong in Iris while sending this message; details are in the log."
TOOL_STOPPED = "Stopped by the user before the tool finished."


# -- events ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _ReplyEvent:
    reply: Turn


class ReplyStarted(_ReplyEvent):
    """A reply was added and its request is on its way."""


class ReplyStreaming(_ReplyEvent):
    """The service accepted the request; the reply streams from now on."""


class ReplyFinished(_ReplyEvent):
    """A reply ended with its final status (it may have been removed, when nothing arrived)."""


@dataclasses.dataclass(frozen=True)
class RetryScheduled(_ReplyEvent):
    """The request failed and will be sent again after ``notice.delay`` seconds."""

    notice: RetryNotice


@dataclasses.dataclass(frozen=True)
class ReplyProgress(_ReplyEvent):
    """A stream event was applied to ``reply.message``."""

    event: StreamEvent


@dataclasses.dataclass(frozen=True)
class ToolCallsRequested:
    """The model asked for tools; they run now."""

    reply: Turn
    calls: tuple[ToolUseBlock, ...]


@dataclasses.dataclass(frozen=True)
class ToolResultsAdded:
    """The tools' results were added as a turn and will be sent back."""

    turn: Turn


@dataclasses.dataclass(frozen=True)
class RoundLimitReached:
    """The model kept asking for tools; the run stopped after ``rounds`` rounds."""

    rounds: int


@dataclasses.dataclass(frozen=True)
class StoreFailed:
    """Something could not be saved; ``message`` says what, for people."""

    message: str


@dataclasses.dataclass(frozen=True)
class RunFinished:
    """The run is over; always the last event.

    Attributes:
        prompt: The prompt the run answered.
        reply: The last reply, or None when none was kept.
        status: The final status of the last reply, or of the prompt when none was kept.
        rounds: How many replies the run asked for (more than one with tools).
        error: What ended the run early, if anything: for callers that want the
            details (the command line prints the HTTP status and request id).
    """

    prompt: Turn
    reply: Turn | None
    status: TurnStatus
    rounds: int
    error: IrisError | None = None


RunEvent: TypeAlias = (
    ReplyStarted
    | RetryScheduled
    | ReplyStreaming
    | ReplyProgress
    | ReplyFinished
    | ToolCallsRequested
    | ToolResultsAdded
    | RoundLimitReached
    | StoreFailed
    | RunFinished
)

EventHandler: TypeAlias = Callable[[RunEvent], object]


def _ignore(_event: RunEvent) -> None:
    return None


async def _finish_even_if_stopped(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` to the end even when the task is cancelled meanwhile.

    Saving the outcome of a run must not be cut short by a second Stop (or the
    app closing); the store calls it waits for are short and bounded.
    """
    future = asyncio.ensure_future(awaitable)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(future)
        except asyncio.CancelledError:
            if future.done():
                raise
            cancelled = True
            continue
        if cancelled:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        return result


class _Round:
    """The state of one reply while it runs."""

    def __init__(self, reply: Turn) -> None:
        self.reply = reply
        self.saver: ReplySaver | None = None
        self.streaming = False  # the service accepted the request


class TurnRunner:
    """Runs exchanges for a session; one run at a time per session."""

    def __init__(
        self,
        client: Callable[[], MessagesClient],
        *,
        tools: ToolExecutor | None = None,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        flush_interval: float = FLUSH_INTERVAL,
    ) -> None:
        """Build a runner.

        Args:
            client: Returns the client to use; may raise ConfigurationError (no key).
            tools: Runs tool calls; without it a tool request simply ends the run.
            max_rounds: At most this many replies per run (tool rounds).
            flush_interval: Seconds between saves of a reply that went quiet.
        """
        self._client = client
        self._tools = tools
        self.max_rounds = max(1, max_rounds)
        self._flush_interval = flush_interval

    async def run(
        self,
        session: ConversationSession,
        prompt: Turn,
        options: RequestOptions,
        on_event: EventHandler = _ignore,
    ) -> RunFinished:
        """Answer ``prompt`` (already in the session) and return how the run ended.

        Never raises for anything that can go wrong with the network, the
        service or the disk; those end the run with a status and a message.
        Cancelling the task stops the run; it still finishes cleanly.
        """
        emit = on_event
        current: _Round | None = None
        rounds = 0
        tools_stopped = False
        error: IrisError | None = None
        store_problems: list[str] = []
        try:
            error = await self._store_prompt(session, prompt, store_problems)
            if error is None:
                client = self._client()
                while True:
                    rounds += 1
                    current = _Round(session.start_reply(options.model.id))
                    emit(ReplyStarted(current.reply))
                    await self._stream(session, client, options, current, emit)
                    reply = current.reply
                    self._settle(session, prompt, reply)
                    calls = tuple(reply.tool_calls)
                    if not self._wants_tools(reply, calls):
                        break
                    if rounds >= self.max_rounds:
                        emit(RoundLimitReached(rounds))
                        break
                    await self._save_reply(session, current, store_problems)
                    emit(ReplyFinished(reply))
                    current = None
                    if not await self._run_tools(session, reply, calls, emit):
                        tools_stopped = True
                        break
        except asyncio.CancelledError:
            self._on_stopped(session, prompt, current)
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        except ConfigurationError as exc:
            error = exc
            self._on_failed(session, prompt, current, str(exc), store_problems)
        except StreamInterruptedError as exc:
            error = exc
            if current is not None:
                if exc.partial is not None:
                    current.reply.message = exc.partial
                session.set_status(prompt, TurnStatus.DONE)
                session.set_status(current.reply, TurnStatus.INTERRUPTED, str(exc))
        except APIError as exc:
            error = exc
            self._on_failed(session, prompt, current, str(exc), store_problems)
        except StoreError as exc:
            error = exc
            self._on_failed(
                session, prompt, current, f"{exc} Nothing more was sent.", store_problems
            )
        except Exception:
            log.exception("a run failed unexpectedly")
            self._on_failed(session, prompt, current, UNEXPECTED, store_problems)
        finally:
            if current is not None:
                await _finish_even_if_stopped(self._save_reply(session, current, store_problems))
            await _finish_even_if_stopped(self._save(session, prompt, store_problems))
        for problem in dict.fromkeys(store_problems):
            emit(StoreFailed(problem))
        last = current.reply if current is not None else None
        if last is not None:
            emit(ReplyFinished(last))
        kept = last if last is not None and session.row_of(last) >= 0 else None
        if kept is not None:
            status = kept.status
        elif tools_stopped:
            status = TurnStatus.STOPPED
        else:
            status = prompt.status
        finished = RunFinished(prompt, kept, status, rounds, error)
        emit(finished)
        return finished

    def _wants_tools(self, reply: Turn, calls: Sequence[ToolUseBlock]) -> bool:
        return (
            self._tools is not None
            and bool(calls)
            and reply.status is TurnStatus.DONE
            and reply.message is not None
            and reply.message.stop_reason == "tool_use"
        )

    # -- steps ---------------------------------------------------------------------------

    @staticmethod
    async def _store_prompt(
        session: ConversationSession, prompt: Turn, problems: list[str]
    ) -> StoreError | None:
        """Store the prompt first, so a crash never loses it; the error when that failed."""
        if prompt.status is not TurnStatus.PENDING:
            session.set_status(prompt, TurnStatus.PENDING)
        try:
            await session.store(prompt)
        except StoreError as exc:
            message = f"{exc} Nothing was sent; Retry when the problem is solved."
            session.set_status(prompt, TurnStatus.FAILED, message)
            problems.append(str(exc))
            return exc
        return None

    async def _stream(
        self,
        session: ConversationSession,
        client: MessagesClient,
        options: RequestOptions,
        current: _Round,
        emit: EventHandler,
    ) -> None:
        reply = current.reply
        # Built from the turns before this reply: the empty reply itself is not sendable.
        tools = self._tools.definitions() if self._tools is not None else ()
        request = options.request(session.conversation.request_messages(), tools)
        current.saver = await session.reply_saver(reply, options.record())
        saver = current.saver
        flusher = asyncio.ensure_future(self._flush_while_quiet(saver))
        try:

            def on_retry(notice: RetryNotice) -> None:
                emit(RetryScheduled(reply, notice))

            async with client.stream(request, options.model, on_retry=on_retry) as stream:
                current.streaming = True
                emit(ReplyStreaming(reply))
                async for event in stream:
                    reply.message = stream.message
                    saver.update(stream.message)
                    if isinstance(event, ContentBlockStopEvent):
                        saver.block_stopped(stream.message)
                    emit(ReplyProgress(reply, event))
                reply.message = stream.message
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher

    async def _flush_while_quiet(self, saver: ReplySaver) -> None:
        # A stream that goes silent still gets its last pieces saved within a second.
        while True:
            await asyncio.sleep(self._flush_interval)
            saver.flush()

    @staticmethod
    def _settle(session: ConversationSession, prompt: Turn, reply: Turn) -> None:
        """Give a completed reply and its prompt their final status."""
        if reply.refused:
            # Both are left out of later requests; see conversation.model.
            session.set_status(prompt, TurnStatus.REFUSED)
            session.set_status(reply, TurnStatus.REFUSED)
            return
        session.set_status(prompt, TurnStatus.DONE)
        session.set_status(reply, TurnStatus.DONE)

    async def _run_tools(
        self,
        session: ConversationSession,
        reply: Turn,
        calls: Sequence[ToolUseBlock],
        emit: EventHandler,
    ) -> bool:
        """Run the calls and add their results as a turn; False when they were stopped.

        Stopped calls still get (error) results, so the conversation stays sendable.
        """
        assert self._tools is not None
        emit(ToolCallsRequested(reply, tuple(calls)))
        stopped = False
        try:
            results = await self._tools.run(calls)
        except asyncio.CancelledError:
            results, stopped = [], True
        by_id = {r.tool_use_id: r for r in results}
        # Every call gets exactly one result, in call order, or the next request is refused.
        blocks = [
            by_id.get(call.id) or ToolResultBlock(call.id, TOOL_STOPPED, is_error=True)
            for call in calls
        ]
        # Sent with the next message even after Stop: the model learns the call ended.
        turn = session.append(Turn(Role.USER, list(blocks), status=TurnStatus.DONE))
        await _finish_even_if_stopped(session.store(turn))
        emit(ToolResultsAdded(turn))
        if stopped:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                task.uncancel()
            return False
        return True

    @staticmethod
    def _asked(session: ConversationSession, prompt: Turn, current: _Round | None) -> Turn:
        """The user turn the current reply answers: the prompt, or a tool round's results."""
        if current is not None:
            row = session.row_of(current.reply)
            if row > 0 and session.turns[row - 1].role is Role.USER:
                return session.turns[row - 1]
        return prompt

    def _on_stopped(
        self, session: ConversationSession, prompt: Turn, current: _Round | None
    ) -> None:
        asked = self._asked(session, prompt, current)
        if current is None:
            if asked.status is TurnStatus.PENDING:
                session.set_status(asked, TurnStatus.FAILED, STOPPED_BEFORE_REPLY)
            return
        if current.streaming:
            session.set_status(asked, TurnStatus.DONE)
            session.set_status(current.reply, TurnStatus.STOPPED)
        else:
            # Stopped before anything arrived: nothing to keep but the question.
            session.remove(current.reply)
            session.set_status(asked, TurnStatus.FAILED, STOPPED_BEFORE_REPLY)

    def _on_failed(
        self,
        session: ConversationSession,
        prompt: Turn,
        current: _Round | None,
        message: str,
        problems: list[str],
    ) -> None:
        asked = self._asked(session, prompt, current)
        if current is not None and current.streaming and current.reply.text:
            # Something arrived: keep it, marked.
            session.set_status(asked, TurnStatus.DONE)
            session.set_status(current.reply, TurnStatus.INTERRUPTED, message)
            return
        if current is not None:
            session.remove(current.reply)
        if current is not None or asked.status is TurnStatus.PENDING:
            session.set_status(asked, TurnStatus.FAILED, message)
        else:
            # Between rounds (saving a tool result, say): the exchange itself stands.
            problems.append(message)

    async def _save_reply(
        self, session: ConversationSession, current: _Round, problems: list[str]
    ) -> None:
        reply = current.reply
        with _noted(problems, "The reply could not be saved"):
            if session.row_of(reply) < 0:
                if current.saver is not None:
                    await current.saver.finish(TurnStatus.FAILED, None, None)
                await session.forget(reply)
            elif current.saver is not None:
                await current.saver.finish(reply.status, reply.message, reply.error)
            else:
                await session.save(reply)

    @staticmethod
    async def _save(session: ConversationSession, turn: Turn, problems: list[str]) -> None:
        with _noted(problems, "The message's state could not be saved"):
            await session.save(turn)


@contextlib.contextmanager
def _noted(problems: list[str], what: str) -> Iterator[None]:
    """Note a failure to save in ``problems`` (told once, at the end) instead of raising."""
    try:
        yield
    except StoreError as exc:
        problems.append(f"{what}: {exc}")
    except Exception:
        log.exception("%s", what)
        problems.append(f"{what}; details are in the log.")
