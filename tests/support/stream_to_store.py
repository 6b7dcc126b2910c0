"""Stream one reply from a Messages API server into a history store.

Run as ``python -m tests.support.stream_to_store DB BASE_URL PROMPT``: it stores
the prompt and a streaming reply, saves the reply through a ReplyWriter as it
arrives, and prints ``started <message id>`` once the stream is open. The crash
test kills it mid-reply.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from desktop_app.core.api.client import MessagesClient
from desktop_app.core.catalog import Catalog
from desktop_app.core.conversation.model import Conversation, TurnStatus
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.wire.events import ContentBlockStopEvent
from desktop_app.core.wire.request import MessageRequest
from desktop_app.offline.server import DEMO_API_KEY


async def stream(db: Path, base_url: str, prompt: str) -> int:
    model = Catalog.load().get("claude-sonnet-4-6")
    conversation = Conversation()
    with HistoryStore.open(db) as store:
        conversation_id = store.create_conversation()
        prompt_turn = conversation.add_user(prompt)
        store.add_message(conversation_id, prompt_turn)
        request = MessageRequest(model=model.id, messages=conversation.request_messages())
        reply = conversation.start_reply(model.id)
        reply_id = store.add_message(conversation_id, reply, settings={"max_tokens": 4096})
        writer = store.reply_writer(reply_id)
        async with (
            MessagesClient(DEMO_API_KEY, base_url=base_url) as client,
            client.stream(request, model) as response,
        ):
            print(f"started {reply_id}", flush=True)
            async for event in response:
                writer.update(response.message)
                if isinstance(event, ContentBlockStopEvent):
                    writer.block_stopped(response.message)
            writer.finish(TurnStatus.DONE, response.message)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(stream(Path(sys.argv[1]), sys.argv[2], sys.argv[3])))
