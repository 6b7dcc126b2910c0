"""A conversation as the user sees it: turns, their state, and what gets sent.

Every turn the user ever saw stays in :attr:`Conversation.turns`. Only turns that
can be sent make it into :meth:`Conversation.request_messages`: a user turn whose
reply failed is kept on screen, marked, and left out, so one rejected turn (a bad
image, say) never poisons the rest of the conversation.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import time
from collections.abc import Iterable
from typing import Any

from desktop_app.core.wire.message import Message, Usage

_ids = itertools.count(1)


class TurnStatus(enum.Enum):
    """Where a turn stands."""

    DONE = "done"  # complete, or a user turn that was answered
    PENDING = "pending"  # a user turn waiting for its reply
    STREAMING = "streaming"  # an assistant reply arriving now
    STOPPED = "stopped"  # the user pressed Stop; what arrived is kept
    INTERRUPTED = "interrupted"  # the stream broke off; what arrived is kept
    FAILED = "failed"  # no reply at all: the request failed


@dataclasses.dataclass
class Turn:
    """One user or assistant turn.

    Attributes:
        role: ``user`` or ``assistant``.
        content: Wire-format content blocks of a user turn (text and images).
        message: The assistant's message, complete or partial.
        status: See :class:`TurnStatus`.
        error: A plain-language error for FAILED and INTERRUPTED turns.
        notes: Image facts shown under a user turn (size, tokens, conversions).
        model: The model that answered, for assistant turns.
    """

    role: str
    content: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    message: Message | None = None
    status: TurnStatus = TurnStatus.DONE
    error: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    model: str = ""
    id: int = dataclasses.field(default_factory=lambda: next(_ids))
    created: float = dataclasses.field(default_factory=time.time)

    @property
    def text(self) -> str:
        """The turn's text: what a person reads."""
        if self.message is not None:
            return self.message.text
        return "\n\n".join(str(b.get("text", "")) for b in self.content if b.get("type") == "text")

    @property
    def image_blocks(self) -> list[dict[str, Any]]:
        """The image blocks of a user turn."""
        return [b for b in self.content if b.get("type") == "image"]

    @property
    def usage(self) -> Usage | None:
        """Token usage of an assistant turn."""
        return self.message.usage if self.message is not None else None

    def sendable(self) -> bool:
        """True when this turn belongs in the next request."""
        if self.role == "user":
            return self.status in (TurnStatus.DONE, TurnStatus.PENDING)
        # A reply cut short still happened: the model should see what it said.
        return self.message is not None and self.status in (
            TurnStatus.DONE,
            TurnStatus.STOPPED,
            TurnStatus.INTERRUPTED,
        )


@dataclasses.dataclass
class Conversation:
    """The turns of one conversation, oldest first."""

    turns: list[Turn] = dataclasses.field(default_factory=list)
    title: str = ""

    def add_user(
        self, text: str, images: Iterable[dict[str, Any]] = (), notes: Iterable[str] = ()
    ) -> Turn:
        """Append a user turn with ``images`` (content blocks) before ``text``.

        Images go first, as the API recommends; an empty text adds no block.
        """
        content = [dict(b) for b in images]
        if text.strip():
            content.append({"type": "text", "text": text})
        if not content:
            raise ValueError("a message needs text or at least one image")
        turn = Turn("user", content, status=TurnStatus.PENDING, notes=list(notes))
        self.turns.append(turn)
        if not self.title and text.strip():
            self.title = " ".join(text.split())[:60]
        return turn

    def start_reply(self, model: str) -> Turn:
        """Append an empty assistant turn that is about to stream."""
        turn = Turn(
            "assistant", message=Message(model=model), status=TurnStatus.STREAMING, model=model
        )
        self.turns.append(turn)
        return turn

    def request_messages(self) -> list[dict[str, Any]]:
        """The alternating user/assistant messages to send, oldest first.

        Failed user turns and empty replies are left out; a user turn that ends up
        next to another user turn is merged into it, so roles always alternate.
        """
        out: list[dict[str, Any]] = []
        for turn in self.turns:
            if not turn.sendable():
                continue
            if turn.message is None:
                blocks = [dict(b) for b in turn.content]
            else:
                blocks = [b.to_dict() for b in turn.message.content]
                blocks = [b for b in blocks if not (b.get("type") == "text" and not b.get("text"))]
                if not blocks:
                    continue
            if out and out[-1]["role"] == turn.role:
                out[-1]["content"].extend(blocks)
            else:
                out.append({"role": turn.role, "content": blocks})
        while out and out[0]["role"] != "user":
            out.pop(0)
        return out

    def total_usage(self) -> Usage:
        """Usage summed over every reply."""
        total = Usage()
        for turn in self.turns:
            usage = turn.usage
            if usage is None:
                continue
            total.input_tokens += usage.input_tokens
            total.output_tokens += usage.output_tokens
            total.cache_creation_input_tokens += usage.cache_creation_input_tokens
            total.cache_read_input_tokens += usage.cache_read_input_tokens
        return total
