"""The turn runner, with no QApplication: a real client over loopback, an in-memory history."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from desktop_app.core.api.client import MessagesClient
from desktop_app.core.catalog import Catalog
from desktop_app.core.conversation.memory import MemoryHistory
from desktop_app.core.conversation.model import Turn, TurnStatus, user_turn
from desktop_app.core.conversation.options import RequestOptions
from desktop_app.core.conversation.ports import StoredVersion
from desktop_app.core.conversation.runner import (
    STOPPED_BEFORE_REPLY,
    TOOL_STOPPED,
    UNEXPECTED,
    ReplyFinished,
    ReplyProgress,
    ReplyStarted,
    ReplyStreaming,
    RetryScheduled,
    RoundLimitReached,
    RunEvent,
    RunFinished,
    StoreFailed,
    ToolCallsRequested,
    TurnRunner,
)
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.errors import InvalidRequestError, StoreError
from desktop_app.core.wire.blocks import Role, TextBlock, ToolResultBlock, ToolUseBlock
from desktop_app.core.wire.message import Message
from desktop_app.offline.server import DEMO_API_KEY
from tests.support.offline import Fault, FaultyServer

OPTIONS = RequestOptions(Catalog.load().get("claude-sonnet-4-6"), max_tokens=1024)
LOOKUP = {
    "name": "lookup",
    "description": "Look something up.",
    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
}


class Recorder:
    """Collects events; can cancel the running task when one arrives."""

    def __init__(self, stop_on: type | None = None) -> None:
        self.events: list[RunEvent] = []
        self._stop_on = stop_on
        self.task: asyncio.Task[Any] | None = None

    def __call__(self, event: RunEvent) -> None:
        self.events.append(event)
        if self._stop_on is not None and isinstance(event, self._stop_on):
            self._stop_on = None
            assert self.task is not None
            self.task.cancel()

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


def run(
    session: ConversationSession,
    prompt: Turn,
    server: FaultyServer,
    recorder: Recorder | None = None,
    **runner_options: Any,
) -> tuple[RunFinished, Recorder]:
    recorder = recorder or Recorder()

    async def main() -> RunFinished:
        recorder.task = asyncio.current_task()
        async with MessagesClient(DEMO_API_KEY, base_url=server.base_url) as client:
            finished = await TurnRunner(lambda: client, **runner_options).run(
                session, prompt, OPTIONS, recorder
            )
        # A stopped run finishes cleanly: the task is not left cancelled.
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0
        return finished

    return asyncio.run(main()), recorder


def new_session(history: MemoryHistory | None = None) -> tuple[ConversationSession, MemoryHistory]:
    history = history or MemoryHistory()
    return ConversationSession(history), history


def ask(session: ConversationSession, text: str) -> Turn:
    return session.add_prompt(user_turn(text))


def test_a_reply_streams_into_the_session_and_is_stored(offline_server: FaultyServer) -> None:
    session, history = new_session()
    prompt = ask(session, "hello there")
    finished, recorder = run(session, prompt, offline_server)

    reply = finished.reply
    assert reply is not None
    assert (prompt.status, reply.status, finished.status) == (TurnStatus.DONE,) * 3
    assert "hello there" in reply.text
    kinds = recorder.kinds()
    assert kinds[:2] == ["ReplyStarted", "ReplyStreaming"]
    assert "ReplyProgress" in kinds
    assert kinds[-2:] == ["ReplyFinished", "RunFinished"]
    assert session.turns == [prompt, reply]
    assert session.conversation_id is not None
    stored = history.stored_path(session.conversation_id)
    assert [t.text for t in stored] == ["hello there", reply.text]
    assert [t.status for t in stored] == [TurnStatus.DONE, TurnStatus.DONE]
    assert history.savers[0].finished


def test_stop_before_anything_arrived_keeps_only_the_question(
    offline_server: FaultyServer,
) -> None:
    offline_server.push(Fault.slow(0.2))
    session, history = new_session()
    prompt = ask(session, "slow one")
    finished, recorder = run(session, prompt, offline_server, Recorder(stop_on=ReplyStarted))

    assert finished.reply is None
    assert finished.status is TurnStatus.FAILED
    assert (prompt.status, prompt.error) == (TurnStatus.FAILED, STOPPED_BEFORE_REPLY)
    assert session.turns == [prompt]
    assert recorder.kinds()[-1] == "RunFinished"
    assert session.conversation_id is not None
    stored = history.stored_path(session.conversation_id)
    assert [(t.text, t.status) for t in stored] == [("slow one", TurnStatus.FAILED)]


def test_stop_mid_stream_keeps_what_arrived(offline_server: FaultyServer) -> None:
    offline_server.push(Fault.slow(0.02))
    session, history = new_session()
    prompt = ask(session, "/long")
    finished, recorder = run(session, prompt, offline_server, Recorder(stop_on=ReplyProgress))

    reply = finished.reply
    assert reply is not None
    assert (prompt.status, reply.status) == (TurnStatus.DONE, TurnStatus.STOPPED)
    assert finished.status is TurnStatus.STOPPED
    assert recorder.kinds()[-2:] == ["ReplyFinished", "RunFinished"]
    assert session.conversation_id is not None
    stored = history.stored_path(session.conversation_id)[-1]
    assert stored.status is TurnStatus.STOPPED
    assert stored.text == reply.text


def test_a_broken_stream_keeps_the_partial_reply_marked(offline_server: FaultyServer) -> None:
    offline_server.push(Fault.drop(after_deltas=3))
    session, _history = new_session()
    prompt = ask(session, "/long")
    finished, _recorder = run(session, prompt, offline_server)

    reply = finished.reply
    assert reply is not None
    assert reply.status is TurnStatus.INTERRUPTED
    assert reply.error
    assert "interrupted" in reply.error
    assert reply.text
    assert finished.error is not None


def test_a_retry_is_announced_with_its_delay_and_then_succeeds(
    offline_server: FaultyServer,
) -> None:
    offline_server.push(Fault.status(529, "overloaded_error", headers={"retry-after-ms": "20"}))
    session, _history = new_session()
    prompt = ask(session, "again")
    finished, recorder = run(session, prompt, offline_server)

    [retry] = [e for e in recorder.events if isinstance(e, RetryScheduled)]
    assert retry.notice.delay == pytest.approx(0.02)
    assert retry.notice.error.status == 529
    assert recorder.kinds().index("RetryScheduled") < recorder.kinds().index("ReplyStreaming")
    assert finished.status is TurnStatus.DONE
    assert len(offline_server.received) == 2


def test_a_rejected_request_fails_the_prompt_and_leaves_no_reply(
    offline_server: FaultyServer,
) -> None:
    offline_server.push(Fault.status(400, "invalid_request_error", message="bad image"))
    session, history = new_session()
    prompt = ask(session, "this one")
    finished, _recorder = run(session, prompt, offline_server)

    assert isinstance(finished.error, InvalidRequestError)
    assert prompt.status is TurnStatus.FAILED
    assert prompt.error is not None
    assert "bad image" in prompt.error
    assert session.turns == [prompt]
    assert session.conversation_id is not None
    assert [t.text for t in history.stored_path(session.conversation_id)] == ["this one"]


class BrokenHistory(MemoryHistory):
    """Fails the writes it is told to, as a full disk or a locked file would."""

    def __init__(self, *, fail_prompt: bool = False, fail_finish: bool = False) -> None:
        super().__init__()
        self.fail_prompt = fail_prompt
        self.fail_finish = fail_finish

    async def add_turn(
        self,
        conversation_id: int,
        turn: Turn,
        parent_id: int | None,
        settings: Mapping[str, Any] | None = None,
    ) -> StoredVersion:
        if self.fail_prompt and turn.role is Role.USER:
            raise StoreError("The conversation history could not be saved (disk is full).")
        return await super().add_turn(conversation_id, turn, parent_id, settings)

    async def reply_saver(self, message_id: int) -> Any:
        saver = await super().reply_saver(message_id)
        if self.fail_finish:

            async def finish(
                status: TurnStatus, message: Message | None, error: str | None
            ) -> None:
                raise StoreError("The conversation history could not be saved (disk is full).")

            saver.finish = finish  # type: ignore[method-assign]
        return saver


def test_when_the_prompt_cannot_be_stored_nothing_is_sent(offline_server: FaultyServer) -> None:
    session, _history = new_session(BrokenHistory(fail_prompt=True))
    prompt = ask(session, "important")
    finished, recorder = run(session, prompt, offline_server)

    assert offline_server.received == []
    assert prompt.status is TurnStatus.FAILED
    assert prompt.error is not None
    assert "Nothing was sent" in prompt.error
    assert prompt.text == "important"  # still on screen, ready to retry
    [problem] = [e for e in recorder.events if isinstance(e, StoreFailed)]
    assert "disk is full" in problem.message
    assert recorder.kinds()[-1] == "RunFinished"
    assert isinstance(finished.error, StoreError)


def test_a_reply_that_cannot_be_saved_stays_on_screen_and_says_so(
    offline_server: FaultyServer,
) -> None:
    session, _history = new_session(BrokenHistory(fail_finish=True))
    prompt = ask(session, "hello")
    finished, recorder = run(session, prompt, offline_server)

    assert finished.reply is not None
    assert finished.reply.status is TurnStatus.DONE
    assert finished.reply.text
    kinds = recorder.kinds()
    assert kinds[-3:] == ["StoreFailed", "ReplyFinished", "RunFinished"]


def test_an_unexpected_error_ends_the_run_with_a_message_and_a_log(
    offline_server: FaultyServer, caplog: pytest.LogCaptureFixture
) -> None:
    session, _history = new_session()
    prompt = ask(session, "hello")

    def broken_client() -> MessagesClient:
        raise RuntimeError("a bug")

    recorder = Recorder()

    async def main() -> RunFinished:
        return await TurnRunner(broken_client).run(session, prompt, OPTIONS, recorder)

    with caplog.at_level(logging.ERROR, logger="iris.runner"):
        finished = asyncio.run(main())
    assert prompt.status is TurnStatus.FAILED
    assert prompt.error == UNEXPECTED
    assert "a bug" not in (prompt.error or "")
    assert finished.status is TurnStatus.FAILED
    assert recorder.kinds()[-1] == "RunFinished"
    assert any("a bug" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_a_refusal_is_left_out_of_the_next_request(offline_server: FaultyServer) -> None:
    session, _history = new_session()
    first = ask(session, "fine question")
    run(session, first, offline_server)
    refused_prompt = ask(session, "/refuse")
    finished, _recorder = run(session, refused_prompt, offline_server)
    assert finished.reply is not None
    assert (refused_prompt.status, finished.reply.status) == (TurnStatus.REFUSED,) * 2
    assert finished.status is TurnStatus.REFUSED

    after = ask(session, "an ordinary follow-up")
    run(session, after, offline_server)
    sent = offline_server.received[-1].json["messages"]
    texts = [b.get("text") for m in sent for b in m["content"]]
    assert "/refuse" not in texts
    assert texts[-1] == "an ordinary follow-up"
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]


class ScriptedTools:
    """Answers every call with a fixed text; can hang until cancelled."""

    def __init__(self, answer: str = "sunny", hang: bool = False) -> None:
        self.answer = answer
        self.hang = hang
        self.calls: list[ToolUseBlock] = []
        self.cancelled = False

    def definitions(self) -> Sequence[Mapping[str, Any]]:
        return [LOOKUP]

    async def run(self, calls: Sequence[ToolUseBlock]) -> list[ToolResultBlock]:
        self.calls.extend(calls)
        if self.hang:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        return [ToolResultBlock(call.id, self.answer) for call in calls]


def test_a_tool_round_runs_the_calls_and_sends_their_results_back(
    offline_server: FaultyServer,
) -> None:
    tools = ScriptedTools("sunny")
    session, history = new_session()
    prompt = ask(session, "/tool Paris")
    finished, recorder = run(session, prompt, offline_server, tools=tools)

    assert finished.rounds == 2
    assert [call.name for call in tools.calls] == ["lookup"]
    first_reply, results_turn, last_reply = session.turns[1:]
    assert first_reply.tool_calls
    assert first_reply.status is TurnStatus.DONE
    assert results_turn.is_tool_results
    [result] = results_turn.tool_results
    assert result.tool_use_id == first_reply.tool_calls[0].id
    assert "sunny" in last_reply.text
    kinds = recorder.kinds()
    assert kinds.index("ToolCallsRequested") < kinds.index("ToolResultsAdded")
    # The tools were offered, and the second request carried the result first.
    second = offline_server.received[-1].json
    assert second["tools"] == [LOOKUP]
    assert second["messages"][-1]["content"][0]["type"] == "tool_result"
    assert session.conversation_id is not None
    assert len(history.stored_path(session.conversation_id)) == 4


def test_the_round_limit_stops_a_model_that_keeps_asking(offline_server: FaultyServer) -> None:
    session, _history = new_session()
    prompt = ask(session, "/tool again")
    finished, recorder = run(session, prompt, offline_server, tools=ScriptedTools(), max_rounds=1)
    assert finished.rounds == 1
    assert any(isinstance(e, RoundLimitReached) and e.rounds == 1 for e in recorder.events)
    # The call that was never run is not sent again.
    follow = ask(session, "thanks")
    run(session, follow, offline_server)
    sent = offline_server.received[-1].json["messages"]
    assert all(b["type"] != "tool_use" for m in sent for b in m["content"])


def test_stop_during_a_tool_call_still_answers_it(offline_server: FaultyServer) -> None:
    tools = ScriptedTools(hang=True)
    session, _history = new_session()
    prompt = ask(session, "/tool slow")
    finished, _recorder = run(
        session, prompt, offline_server, Recorder(stop_on=ToolCallsRequested), tools=tools
    )
    assert tools.cancelled
    assert finished.status is TurnStatus.STOPPED
    results_turn = session.turns[-1]
    [result] = results_turn.tool_results
    assert result.is_error
    assert result.text == TOOL_STOPPED
    # The conversation is still one the service accepts: every call has its result.
    sent = session.conversation.request_messages()
    calls = [b.id for m in sent for b in m.content if isinstance(b, ToolUseBlock)]
    answered = [b.tool_use_id for m in sent for b in m.content if isinstance(b, ToolResultBlock)]
    assert calls == answered == [result.tool_use_id]


def test_events_arrive_in_order_for_every_outcome(offline_server: FaultyServer) -> None:
    outcomes: list[Callable[[], None]] = [
        lambda: offline_server.push(Fault.status(400, "invalid_request_error")),
        lambda: offline_server.push(Fault.drop(after_deltas=2)),
        lambda: None,
    ]
    for prepare in outcomes:
        prepare()
        session, _history = new_session()
        _finished, recorder = run(session, ask(session, "hi"), offline_server)
        assert isinstance(recorder.events[-1], RunFinished)
        assert sum(isinstance(e, RunFinished) for e in recorder.events) == 1
        started = [e for e in recorder.events if isinstance(e, ReplyStarted)]
        ended = [e for e in recorder.events if isinstance(e, ReplyFinished)]
        assert len(started) == len(ended) == 1
        assert not any(
            t.status in (TurnStatus.STREAMING, TurnStatus.PENDING) for t in session.turns
        )
        assert any(isinstance(e, ReplyStreaming) for e in recorder.events) or (
            session.turns[0].status is TurnStatus.FAILED
        )


def test_a_new_conversation_takes_over_its_draft(offline_server: FaultyServer) -> None:
    session, history = new_session()

    async def prepare() -> None:
        await session.save_draft("typed before sending", [])

    asyncio.run(prepare())
    prompt = ask(session, "typed before sending")
    run(session, prompt, offline_server)
    # The draft of "a conversation not started yet" must not come back.
    assert history.new_draft.text == ""
    assert isinstance(prompt.content[0], TextBlock)


def test_a_stored_reply_keeps_the_settings_it_was_asked_for_with(
    offline_server: FaultyServer,
) -> None:
    session, history = new_session()
    finished, _recorder = run(session, ask(session, "hello"), offline_server)
    assert finished.reply is not None
    reply_id = session.message_id(finished.reply)
    assert reply_id is not None
    assert history.settings[reply_id] == OPTIONS.record()
    assert history.settings[reply_id]["model"] == "claude-sonnet-4-6"
    assert history.settings[reply_id]["max_tokens"] == 1024
