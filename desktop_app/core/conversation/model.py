"""A conversation as the user sees it: turns, their state, and what gets sent.

Every turn the user ever saw stays in :attr:`Conversation.turns`. Only turns that
can be sent make it into :func:`request_messages`, which is the one rule for what
the service sees:

* A prompt whose request failed stays on screen, marked, and is left out, so one
  rejected turn (a bad image, say) never poisons the rest of the conversation.
* A refused exchange (the prompt and the refusal) is left out too: the model
  declined it, and sending it again would get every later message refused.
* A reply that was stopped or broke off still happened: what arrived is sent.
* Roles always alternate; neighbours with the same role are merged, tool results
  first, as the API requires.
* A ``tool_use`` is never sent without its ``tool_result`` in the next message,
  nor a result without its call: an unmatched one is dropped from the request.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import time
from collections.abc import Iterable, Sequence

from desktop_app.core.wire.blocks import (
    ContentBlock,
    ImageBlock,
    RedactedThinkingBlock,
    Role,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from desktop_app.core.wire.message import Message, MessageParam, Usage

_ids = itertools.count(1)

TITLE_LENGTH = 60


class TurnStatus(enum.Enum):
    """Where a turn stands."""

    DONE = "done"  # complete, or a user turn that was answered
    PENDING = "pending"  # a user turn waiting for its reply
    STREAMING = "streaming"  # an assistant reply arriving now
    STOPPED = "stopped"  # the user pressed Stop; what arrived is kept
    INTERRUPTED = "interrupted"  # the stream broke off; what arrived is kept
    FAILED = "failed"  # no reply at all: the request failed
    REFUSED = "refused"  # the model declined: the exchange is left out of later requests


@dataclasses.dataclass
class Turn:
    """One user or assistant turn.

    Attributes:
        role: Who it is from.
        content: The blocks of a user turn (text, images, documents, tool results).
        message: The assistant's message, complete or partial.
        status: See :class:`TurnStatus`.
        error: A plain-language error for FAILED and INTERRUPTED turns.
        notes: Facts shown under a user turn (image sizes, tokens, conversions).
        model: The model that answered, for assistant turns.
    """

    role: Role
    content: list[ContentBlock] = dataclasses.field(default_factory=list)
    message: Message | None = None
    status: TurnStatus = TurnStatus.DONE
    error: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    model: str = ""
    id: int = dataclasses.field(default_factory=lambda: next(_ids))
    created: float = dataclasses.field(default_factory=time.time)

    @property
    def blocks(self) -> list[ContentBlock]:
        """The turn's content blocks, whichever side it is from."""
        return self.message.content if self.message is not None else self.content

    @property
    def text(self) -> str:
        """The turn's text: what a person reads."""
        if self.message is not None:
            return self.message.text
        return "\n\n".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def image_blocks(self) -> list[ImageBlock]:
        """The image blocks of a user turn."""
        return [b for b in self.content if isinstance(b, ImageBlock)]

    @property
    def tool_results(self) -> list[ToolResultBlock]:
        """The tool results a user turn carries back to the model."""
        return [b for b in self.content if isinstance(b, ToolResultBlock)]

    @property
    def is_tool_results(self) -> bool:
        """True for a user turn made of tool results (not something a person typed)."""
        return self.role is Role.USER and bool(self.content) and bool(self.tool_results)

    @property
    def tool_calls(self) -> list[ToolUseBlock]:
        """The client tool calls of a reply (server tool calls are the service's)."""
        if self.message is None:
            return []
        return [
            b
            for b in self.message.content
            if isinstance(b, ToolUseBlock) and b.block_type == "tool_use"
        ]

    @property
    def usage(self) -> Usage | None:
        """Token usage of an assistant turn."""
        return self.message.usage if self.message is not None else None

    @property
    def refused(self) -> bool:
        """True for a reply the model declined (also one stored before REFUSED existed)."""
        return self.status is TurnStatus.REFUSED or (
            self.message is not None and self.message.stop_reason == "refusal"
        )


def user_turn(
    text: str = "", attachments: Iterable[ContentBlock] = (), notes: Iterable[str] = ()
) -> Turn:
    """A new prompt: ``attachments`` (images, documents) first, then ``text``.

    Images go first, as the API recommends; an empty text adds no block.

    Raises:
        ValueError: There is neither text nor an attachment.
    """
    content = list(attachments)
    if text.strip():
        content.append(TextBlock(text))
    if not content:
        raise ValueError("a message needs text or at least one attachment")
    return Turn(Role.USER, content, status=TurnStatus.PENDING, notes=list(notes))


def title_from(text: str) -> str:
    """A conversation title from the first prompt's text."""
    return " ".join(text.split())[:TITLE_LENGTH]


@dataclasses.dataclass
class Conversation:
    """The turns of one conversation, oldest first."""

    turns: list[Turn] = dataclasses.field(default_factory=list)
    title: str = ""

    def request_messages(self) -> list[MessageParam]:
        """The messages to send next; see :func:`request_messages`."""
        return request_messages(self.turns)

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

    def image_count(self) -> int:
        """Images the next request carries, tool results included (the many-image rule)."""
        count = 0
        for message in self.request_messages():
            for block in message.content:
                if isinstance(block, ImageBlock):
                    count += 1
                elif isinstance(block, ToolResultBlock) and not isinstance(block.content, str):
                    count += sum(isinstance(part, ImageBlock) for part in block.content)
        return count


# -- what is sent ---------------------------------------------------------------------


def _left_out(turns: Sequence[Turn]) -> set[int]:
    """Ids of turns that are not sent: failed prompts, refused exchanges, empty replies."""
    out: set[int] = set()
    for index, turn in enumerate(turns):
        if turn.role is Role.USER:
            if turn.status not in (TurnStatus.DONE, TurnStatus.PENDING):
                out.add(turn.id)
            continue
        if turn.refused:
            out.add(turn.id)
            # The exchange it ends goes too: back to the prompt a person typed,
            # with any tool rounds in between.
            for earlier in reversed(turns[:index]):
                out.add(earlier.id)
                if earlier.role is Role.USER and not earlier.is_tool_results:
                    break
            continue
        if turn.message is None or turn.status not in (
            TurnStatus.DONE,
            TurnStatus.STOPPED,
            TurnStatus.INTERRUPTED,
        ):
            out.add(turn.id)
    return out


def _sendable_blocks(turn: Turn) -> list[ContentBlock]:
    # The API rejects empty text blocks (an image-only turn is fine without one),
    # and a thinking block cut off before its signature arrived.
    blocks = [
        b
        for b in turn.blocks
        if not (isinstance(b, TextBlock) and not b.text)
        and not (isinstance(b, ThinkingBlock) and not b.signature)
    ]
    return blocks if _has_substance(blocks) else []


def _has_substance(blocks: Sequence[ContentBlock]) -> bool:
    # Thinking alone is not a message: the service strips it from earlier turns,
    # which would leave an empty one.
    return any(not isinstance(b, ThinkingBlock | RedactedThinkingBlock) for b in blocks)


def _merge(
    messages: list[tuple[Role, list[ContentBlock]]],
) -> list[tuple[Role, list[ContentBlock]]]:
    merged: list[tuple[Role, list[ContentBlock]]] = []
    for role, blocks in messages:
        if not blocks:
            continue
        if merged and merged[-1][0] is role:
            joined = merged[-1][1] + blocks
            if role is Role.USER:
                # Tool results must come first in a user message.
                results = [b for b in joined if isinstance(b, ToolResultBlock)]
                joined = results + [b for b in joined if not isinstance(b, ToolResultBlock)]
            merged[-1] = (role, joined)
        else:
            merged.append((role, list(blocks)))
    return merged


def _pair_tool_calls(
    messages: list[tuple[Role, list[ContentBlock]]],
) -> list[tuple[Role, list[ContentBlock]]]:
    """Drop client tool calls without results in the next message, and results without calls."""
    out: list[tuple[Role, list[ContentBlock]]] = []
    for index, (role, blocks) in enumerate(messages):
        if role is Role.ASSISTANT:
            following = messages[index + 1] if index + 1 < len(messages) else None
            answered = (
                {b.tool_use_id for b in following[1] if isinstance(b, ToolResultBlock)}
                if following is not None and following[0] is Role.USER
                else set()
            )
            blocks = [
                b
                for b in blocks
                if not (
                    isinstance(b, ToolUseBlock)
                    and b.block_type == "tool_use"
                    and b.id not in answered
                )
            ]
        else:
            previous = out[-1] if out else None
            called = (
                {
                    b.id
                    for b in previous[1]
                    if isinstance(b, ToolUseBlock) and b.block_type == "tool_use"
                }
                if previous is not None and previous[0] is Role.ASSISTANT
                else set()
            )
            blocks = [
                b
                for b in blocks
                if not (isinstance(b, ToolResultBlock) and b.tool_use_id not in called)
            ]
        out.append((role, blocks if _has_substance(blocks) else []))
    return out


def request_messages(turns: Sequence[Turn]) -> list[MessageParam]:
    """The alternating user/assistant messages to send, oldest first.

    See the module description for the rules.
    """
    left_out = _left_out(turns)
    raw = [(t.role, _sendable_blocks(t)) for t in turns if t.id not in left_out]
    messages = _merge(raw)
    # Dropping an unmatched call can empty a message and make neighbours meet:
    # merge again, then pair again, until nothing changes (at most a few passes).
    while True:
        paired = _merge(_pair_tool_calls(messages))
        if paired == messages:
            break
        messages = paired
    while messages and messages[0][0] is not Role.USER:
        messages.pop(0)
    return [MessageParam(role, tuple(blocks)) for role, blocks in messages]
