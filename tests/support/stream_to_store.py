"""Stream one reply from a Messages API server into the history, as the window does.

Run as ``python -m tests.support.stream_to_store DATA_DIR BASE_URL PROMPT``: it runs
one exchange through the real engine (a :class:`TurnRunner` saving through the
:class:`HistoryService` into ``DATA_DIR/history.sqlite3``) and prints ``started``
once the reply streams. The crash test kills it mid-reply.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from desktop_app.core.api.client import MessagesClient
from desktop_app.core.catalog import Catalog
from desktop_app.core.conversation.model import user_turn
from desktop_app.core.conversation.options import RequestOptions
from desktop_app.core.conversation.runner import ReplyStreaming, RunEvent, TurnRunner
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.history.service import HistoryService
from desktop_app.offline.server import DEMO_API_KEY


async def stream(data_dir: Path, base_url: str, prompt: str) -> int:
    options = RequestOptions(Catalog.load().get("claude-sonnet-4-6"))
    history = HistoryService(data_dir)
    await history.open()
    session = ConversationSession(history)
    turn = session.add_prompt(user_turn(prompt))

    def on_event(event: RunEvent) -> None:
        if isinstance(event, ReplyStreaming):
            print("started", flush=True)

    async with MessagesClient(DEMO_API_KEY, base_url=base_url) as client:
        await TurnRunner(lambda: client).run(session, turn, options, on_event)
    await history.aclose()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(stream(Path(sys.argv[1]), sys.argv[2], sys.argv[3])))
