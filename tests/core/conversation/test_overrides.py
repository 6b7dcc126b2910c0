"""A conversation's own settings: how they apply, and how the session keeps them."""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from desktop_app.core.api.client import MessagesClient
from desktop_app.core.catalog import Catalog
from desktop_app.core.conversation.memory import MemoryHistory
from desktop_app.core.conversation.model import TurnStatus, user_turn
from desktop_app.core.conversation.options import ConversationOverrides, RequestOptions
from desktop_app.core.conversation.ports import HistoryPort
from desktop_app.core.conversation.runner import RunEvent, TurnRunner
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.engine import Engine
from desktop_app.core.history.service import HistoryService
from desktop_app.core.paths import AppPaths
from desktop_app.core.settings import Settings
from desktop_app.offline.server import DEMO_API_KEY
from tests.support.offline import FaultyServer

T = TypeVar("T")
DEFAULTS = Settings(
    model="claude-sonnet-4-6",
    max_tokens=2000,
    temperature=0.3,
    system_prompt="Default system.",
    stop_sequences=("END",),
)
OWN = ConversationOverrides(
    model="claude-haiku-4-5",
    system="Answer like a pirate.",
    max_tokens=321,
    temperature=0.9,
    top_p=0.75,
)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


def run(loop: asyncio.AbstractEventLoop, work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await work()

    return loop.run_until_complete(main())


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


# -- the value ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"model": ""},
        {"model": "   "},
        {"max_tokens": 0},
        {"max_tokens": True},
        {"max_tokens": 2.5},
        {"temperature": 1.5},
        {"temperature": -0.1},
        {"temperature": math.nan},
        {"top_p": 2.0},
        {"system": 3},
    ],
)
def test_values_the_settings_would_refuse_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        ConversationOverrides(**bad)


def test_stored_overrides_read_back_forgivingly() -> None:
    assert ConversationOverrides.from_dict(OWN.to_dict()) == OWN
    assert ConversationOverrides().to_dict() == {}
    assert ConversationOverrides(system="").to_dict() == {"system": ""}
    # What cannot be used is dropped; the rest is kept.
    read = ConversationOverrides.from_dict(
        {"model": 7, "system": "", "max_tokens": -4, "temperature": 1, "top_p": "high", "x": 1}
    )
    assert read == ConversationOverrides(system="", temperature=1.0)
    junk: object
    for junk in (None, [], "text", 3):
        assert ConversationOverrides.from_dict(junk).is_empty


# -- the one mapping to a request ---------------------------------------------------------------


def test_overrides_replace_only_what_they_set() -> None:
    catalog = Catalog.load()
    plain = RequestOptions.from_settings(DEFAULTS, catalog)
    assert RequestOptions.from_settings(DEFAULTS, catalog, ConversationOverrides()) == plain

    own = RequestOptions.from_settings(DEFAULTS, catalog, OWN)
    assert own.model.id == "claude-haiku-4-5"
    assert (own.system, own.max_tokens, own.temperature, own.top_p) == (
        "Answer like a pirate.",
        321,
        0.9,
        0.75,
    )
    # What a conversation cannot set still comes from the settings.
    assert (own.stop_sequences, own.cache) == (("END",), True)

    partial = RequestOptions.from_settings(DEFAULTS, catalog, ConversationOverrides(max_tokens=50))
    assert (partial.model.id, partial.system, partial.max_tokens, partial.temperature) == (
        "claude-sonnet-4-6",
        "Default system.",
        50,
        0.3,
    )
    # An empty system prompt of its own means none, whatever the default says.
    assert (
        RequestOptions.from_settings(DEFAULTS, catalog, ConversationOverrides(system="")).system
        is None
    )


def test_the_engine_and_the_command_line_share_the_mapping(tmp_path: Path) -> None:
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "k").ensure()
    engine = Engine(paths, DEFAULTS, with_history=False)
    assert engine.options() == RequestOptions.from_settings(DEFAULTS, engine.catalog)
    assert engine.options(OWN) == RequestOptions.from_settings(DEFAULTS, engine.catalog, OWN)
    assert engine.options(OWN).model.id == "claude-haiku-4-5"


# -- the session keeps them ----------------------------------------------------------------------


def test_overrides_set_before_the_first_message_are_stored_with_it(
    history: HistoryPort, loop: asyncio.AbstractEventLoop
) -> None:
    session = ConversationSession(history)
    session.new(model="claude-sonnet-4-6", system="Default system.")
    changes: list[ConversationOverrides] = []
    session.overrides_changed.connect(lambda: changes.append(session.overrides))
    run(loop, lambda: session.set_overrides(OWN))  # nothing stored yet: kept for later
    assert changes == [OWN]
    prompt = session.add_prompt(user_turn("hello"))
    run(loop, lambda: session.store(prompt))
    conversation_id = session.conversation_id
    assert conversation_id is not None

    other = ConversationSession(history)
    assert run(loop, lambda: other.open(conversation_id))
    assert other.overrides == OWN


def test_a_change_is_stored_and_a_new_conversation_uses_the_defaults(
    history: HistoryPort, loop: asyncio.AbstractEventLoop
) -> None:
    session = ConversationSession(history)
    prompt = session.add_prompt(user_turn("hello"))
    run(loop, lambda: session.store(prompt))
    first = session.conversation_id
    assert first is not None
    assert session.overrides.is_empty
    run(loop, lambda: session.set_overrides(ConversationOverrides(top_p=0.5)))

    changes: list[ConversationOverrides] = []
    session.overrides_changed.connect(lambda: changes.append(session.overrides))
    session.new()
    assert session.overrides.is_empty
    assert changes == [ConversationOverrides()]
    assert run(loop, lambda: session.open(first))
    assert session.overrides == ConversationOverrides(top_p=0.5)
    assert changes[-1] == ConversationOverrides(top_p=0.5)


def test_storing_goes_to_the_conversation_the_change_was_made_in(
    history: HistoryPort, loop: asyncio.AbstractEventLoop
) -> None:
    session = ConversationSession(history)
    ids = []
    for text in ("one", "two"):
        session.new()
        prompt = session.add_prompt(user_turn(text))
        run(loop, functools.partial(session.store, prompt))
        assert session.conversation_id is not None
        ids.append(session.conversation_id)
    assert run(loop, lambda: session.open(ids[0]))
    storing = session.set_overrides(ConversationOverrides(max_tokens=77))
    # Another conversation is opened before the change reaches the history.
    assert run(loop, lambda: session.open(ids[1]))
    assert session.overrides.is_empty
    run(loop, lambda: storing)
    assert session.overrides.is_empty
    assert run(loop, lambda: session.open(ids[0]))
    assert session.overrides == ConversationOverrides(max_tokens=77)


def test_overrides_survive_a_restart(tmp_path: Path, loop: asyncio.AbstractEventLoop) -> None:
    data = tmp_path / "data"
    service = HistoryService(data)
    session = ConversationSession(service)
    prompt = session.add_prompt(user_turn("hello"))
    run(loop, lambda: session.store(prompt))
    conversation_id = session.conversation_id
    assert conversation_id is not None
    run(loop, lambda: session.set_overrides(OWN))
    run(loop, service.aclose)

    again = HistoryService(data)
    try:
        reopened = ConversationSession(again)
        assert run(loop, lambda: reopened.open(conversation_id))
        assert reopened.overrides == OWN
    finally:
        run(loop, again.aclose)


# -- end to end: the request carries them -----------------------------------------------------


def ask(
    session: ConversationSession, engine: Engine, server: FaultyServer, text: str
) -> TurnStatus:
    prompt = session.add_prompt(user_turn(text))

    async def main() -> TurnStatus:
        async with MessagesClient(DEMO_API_KEY, base_url=server.base_url) as client:
            finished = await TurnRunner(lambda: client).run(
                session, prompt, engine.options(session.overrides), _ignore
            )
        return finished.status

    return asyncio.run(main())


def _ignore(_event: RunEvent) -> None:
    return None


def test_a_request_from_a_conversation_carries_its_overrides(
    offline_server: FaultyServer, tmp_path: Path
) -> None:
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "k").ensure()
    engine = Engine(paths, DEFAULTS, with_history=False)
    history = MemoryHistory()
    session = ConversationSession(history)
    asyncio.run(_apply(session, OWN))
    assert ask(session, engine, offline_server, "hello") is TurnStatus.DONE
    body = offline_server.received[-1].json
    assert body["model"] == "claude-haiku-4-5"
    assert body["max_tokens"] == 321
    assert (body["temperature"], body["top_p"]) == (0.9, 0.75)
    assert "Answer like a pirate." in str(body["system"])
    assert body["stop_sequences"] == ["END"]  # not overridable: the default's
    reply_id = max(history.settings)
    assert history.settings[reply_id]["model"] == "claude-haiku-4-5"
    assert history.settings[reply_id]["system"] == "Answer like a pirate."

    # A new conversation asks with the defaults.
    session.new()
    assert ask(session, engine, offline_server, "again") is TurnStatus.DONE
    body = offline_server.received[-1].json
    assert body["model"] == "claude-sonnet-4-6"
    assert body["max_tokens"] == 2000
    assert body["temperature"] == 0.3
    assert "top_p" not in body
    assert "Default system." in str(body["system"])


async def _apply(session: ConversationSession, overrides: ConversationOverrides) -> None:
    await session.set_overrides(overrides)
