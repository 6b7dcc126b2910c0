"""The session's branch operations, on the in-memory history and on the real SQLite one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from desktop_app.core.conversation.memory import MemoryHistory
from desktop_app.core.conversation.model import Turn, TurnStatus, user_turn
from desktop_app.core.conversation.ports import HistoryPort
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.history.service import HistoryService
from desktop_app.core.wire.blocks import Base64Source, ImageBlock, Role, TextBlock
from desktop_app.core.wire.message import Message

T = TypeVar("T")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    # One loop per test: the history service belongs to the loop that opened it.
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


@pytest.fixture(params=["memory", "sqlite"])
def history(
    request: pytest.FixtureRequest, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> Iterator[HistoryPort]:
    if request.param == "memory":
        yield MemoryHistory()
        return
    service = HistoryService(tmp_path / "data")
    yield service
    loop.run_until_complete(service.aclose())


def run(loop: asyncio.AbstractEventLoop, work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await work()

    return loop.run_until_complete(main())


def reply(text: str) -> Turn:
    return Turn(Role.ASSISTANT, message=Message(content=[TextBlock(text)]), status=TurnStatus.DONE)


class Events:
    """Every structural event of a session, in order."""

    def __init__(self, session: ConversationSession) -> None:
        self.log: list[tuple[str, Any]] = []
        for name in ("inserting", "inserted", "removing", "removed"):
            getattr(session, name).connect(
                lambda first, last, name=name: self.log.append((name, (first, last)))
            )
        session.resetting.connect(lambda: self.log.append(("resetting", None)))
        session.reset.connect(lambda: self.log.append(("reset", None)))


def test_every_change_is_announced_before_and_after(
    history: HistoryPort, loop: asyncio.AbstractEventLoop
) -> None:
    session = ConversationSession(history)
    events = Events(session)
    prompt = session.add_prompt(user_turn("hi"))
    answer = session.append(reply("hello"))
    session.remove(answer)
    session.truncate(0)
    session.new()
    assert events.log == [
        ("inserting", (0, 0)),
        ("inserted", (0, 0)),
        ("inserting", (1, 1)),
        ("inserted", (1, 1)),
        ("removing", (1, 1)),
        ("removed", (1, 1)),
        ("removing", (0, 0)),
        ("removed", (0, 0)),
        ("resetting", None),
        ("reset", None),
    ]
    assert prompt.role is Role.USER


def test_editing_a_prompt_stores_a_new_version_and_keeps_the_old_branch(
    history: HistoryPort, loop: asyncio.AbstractEventLoop
) -> None:
    session = ConversationSession(history)

    async def work() -> None:
        first = session.add_prompt(user_turn("original"))
        await session.store(first)
        await session.store(session.append(reply("answer one")))
        follow = session.add_prompt(user_turn("follow-up"))
        await session.store(follow)
        await session.store(session.append(reply("answer two")))
        edited = session.add_prompt(user_turn("edited"), editing=first)
        await session.store(edited)
        assert [t.text for t in session.turns] == ["edited"]
        assert session.versions(edited) == (2, 2)
        assert session.conversation_id is not None
        # Back to the first version: the old branch, all of it, comes back.
        assert await session.switch_version(session.turns[0], -1)
        assert [t.text for t in session.turns] == [
            "original",
            "answer one",
            "follow-up",
            "answer two",
        ]
        assert session.versions(session.turns[0]) == (1, 2)
        assert not await session.switch_version(session.turns[0], -1)

    run(loop, work)


def test_regenerating_stores_the_new_reply_as_a_sibling(
    history: HistoryPort, loop: asyncio.AbstractEventLoop
) -> None:
    session = ConversationSession(history)

    async def work() -> None:
        prompt = session.add_prompt(user_turn("question"))
        await session.store(prompt)
        old = session.append(reply("first answer"))
        await session.store(old)
        session.truncate(session.row_of(old))
        new = session.append(reply("second answer"))
        await session.store(new)
        assert session.versions(new) == (2, 2)
        conversation_id = session.conversation_id
        assert conversation_id is not None
        assert await session.open(conversation_id)
        assert [t.text for t in session.turns] == ["question", "second answer"]

    run(loop, work)


def test_forgetting_a_turn_removes_it_and_what_follows_from_the_history(
    history: HistoryPort, loop: asyncio.AbstractEventLoop
) -> None:
    session = ConversationSession(history)

    async def work() -> None:
        kept = session.add_prompt(user_turn("kept"))
        await session.store(kept)
        await session.store(session.append(reply("fine")))
        bad = session.add_prompt(user_turn("bad"))
        await session.store(bad)
        session.remove(bad)
        await session.forget(bad)
        assert session.conversation_id is not None
        assert await session.open(session.conversation_id)
        assert [t.text for t in session.turns] == ["kept", "fine"]

    run(loop, work)


def test_drafts_keep_text_and_images_per_conversation(
    history: HistoryPort, loop: asyncio.AbstractEventLoop
) -> None:
    session = ConversationSession(history)
    image = ImageBlock(Base64Source("image/png", "AAAA"))

    async def work() -> None:
        await session.save_draft("not started", [image])
        draft = await session.load_draft()
        assert (draft.text, draft.attachments) == ("not started", [image])
        # The first message takes the draft over: a new conversation starts empty again.
        prompt = session.add_prompt(user_turn("not started", [image]))
        await session.store(prompt)
        session.new()
        assert (await session.load_draft()).text == ""

    run(loop, work)


def test_a_missing_conversation_does_not_open(
    history: HistoryPort, loop: asyncio.AbstractEventLoop
) -> None:
    session = ConversationSession(history)
    assert run(loop, lambda: session.open(12345)) is False
    assert session.conversation_id is None


def test_a_reply_s_settings_are_kept_in_the_history_without_secrets(
    tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    service = HistoryService(tmp_path / "data")
    session = ConversationSession(service)

    async def work() -> dict[str, Any]:
        await session.store(session.add_prompt(user_turn("hi")))
        answer = session.append(reply("hello"))
        message_id = await session.store(answer, {"max_tokens": 5, "api_key": "sk-ant-x"})
        return await service.call(lambda store: store.message_settings(message_id))

    try:
        assert run(loop, work) == {"max_tokens": 5}
    finally:
        loop.run_until_complete(service.aclose())
