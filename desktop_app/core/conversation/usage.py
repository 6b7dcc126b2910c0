"""Token usage as people read it: per reply, per conversation, and one formatter.

A reply stopped or cut off before the service reported its final usage only has
the figure from its first event (often 1 output token); its output is then
estimated from the text that arrived, and marked as an estimate.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.wire.blocks import TextBlock, ThinkingBlock, ToolUseBlock

# Characters per token for an estimate: English prose and code average about 4.
CHARS_PER_TOKEN = 4.0


@dataclasses.dataclass(frozen=True)
class UsageFigures:
    """Token counts to show.

    Attributes:
        input_tokens: Input not read from or written to the cache.
        output_tokens: Output, exact or estimated.
        cache_write: Input written to the cache.
        cache_read: Input read from the cache.
        estimated: True when ``output_tokens`` is (or includes) an estimate.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write: int = 0
    cache_read: int = 0
    estimated: bool = False

    def __add__(self, other: UsageFigures) -> UsageFigures:
        return UsageFigures(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_write + other.cache_write,
            self.cache_read + other.cache_read,
            self.estimated or other.estimated,
        )

    @property
    def empty(self) -> bool:
        """True when there is nothing to show."""
        return not (self.input_tokens or self.output_tokens or self.cache_write or self.cache_read)


def estimate_tokens(text: str) -> int:
    """A rough token count for ``text``."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def _output_text(turn: Turn) -> str:
    parts: list[str] = []
    for block in turn.blocks:
        if isinstance(block, TextBlock):
            parts.append(block.text)
        elif isinstance(block, ThinkingBlock):
            parts.append(block.thinking)
        elif isinstance(block, ToolUseBlock):
            parts.append(block.partial_json or json.dumps(block.input))
    return "".join(parts)


def reply_usage(turn: Turn) -> UsageFigures | None:
    """The usage of one reply, with its output estimated when the final count never came."""
    message = turn.message
    if message is None:
        return None
    usage = message.usage
    output = usage.output_tokens
    # Final usage arrives with the stop reason; without it, the count is the first event's.
    estimated = turn.status in (TurnStatus.STOPPED, TurnStatus.INTERRUPTED) and (
        message.stop_reason is None
    )
    if estimated:
        output = max(output, estimate_tokens(_output_text(turn)))
    return UsageFigures(
        usage.input_tokens,
        output,
        usage.cache_creation_input_tokens,
        usage.cache_read_input_tokens,
        estimated,
    )


def conversation_usage(turns: Iterable[Turn]) -> UsageFigures:
    """Usage summed over every reply."""
    total = UsageFigures()
    for turn in turns:
        figures = reply_usage(turn)
        if figures is not None:
            total = total + figures
    return total


def format_usage(figures: UsageFigures | None) -> str:
    """``in 1,234 · out 56 · cache write 0 · cache read 1,100``; ``out ≈56 (estimate)``."""
    if figures is None or (figures.input_tokens == 0 and figures.output_tokens == 0):
        return ""
    out = (
        f"≈{figures.output_tokens:,} (estimate)"
        if figures.estimated
        else (f"{figures.output_tokens:,}")
    )
    parts = [f"in {figures.input_tokens:,}", f"out {out}"]
    if figures.cache_write or figures.cache_read:
        parts.append(f"cache write {figures.cache_write:,}")
        parts.append(f"cache read {figures.cache_read:,}")
    return " · ".join(parts)


def summarise_usage(figures: UsageFigures | None) -> str:
    """``12,548 tokens used``: one number a person can follow; "" before any reply.

    Every token the service counted: input, output, and input written to or read
    from the cache. :func:`format_usage` gives the parts.
    """
    if figures is None or (figures.input_tokens == 0 and figures.output_tokens == 0):
        return ""
    total = figures.input_tokens + figures.output_tokens + figures.cache_write + figures.cache_read
    return f"≈{total:,} tokens used (estimate)" if figures.estimated else f"{total:,} tokens used"
