"""A finished turn as Qt rich-text HTML, cut into parts: pure Python, safe in a worker.

The HTML is for display only: long unbroken runs get invisible break opportunities
(:func:`~desktop_app.core.render.breaks.break_long_runs_html`), so Qt lays a 256 KB
"word" out in milliseconds instead of seconds. Copying uses the turn's own text and
:attr:`RenderedTurn.code_blocks`, which are exact.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re

from desktop_app.core.conversation.model import Turn
from desktop_app.core.render.breaks import break_long_runs_html
from desktop_app.core.render.markdown import COPY_SCHEME, code_block_html, render_markdown
from desktop_app.core.wire.blocks import (
    OtherBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)

# Characters: longer messages are rendered off the UI thread. Rendering, parsing
# and laying out 4,000 characters of Markdown with code takes about 10 ms on a
# 2-core machine (12,000 take 25 ms, and more when the machine is busy).
LARGE_MESSAGE = 4_000
# Characters of HTML per text view of a message. Qt parses and lays out about
# 16 KB of rendered code (the costliest kind) in 10-20 ms, so filling one view
# per event-loop turn keeps every turn short, however long the reply.
PART_HTML = 16_000

_COPY_LINK = re.compile(rf'(?<=href="{COPY_SCHEME}:)(\d+)(?=")')
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>")
_VOID_TAGS = frozenset({"br", "hr", "img"})


@dataclasses.dataclass(frozen=True)
class RenderedTurn:
    """A turn's body as rich text, its code blocks, and its thinking texts.

    ``parts`` together are the body's HTML, cut between top-level blocks into
    pieces of about :data:`PART_HTML` characters; each is shown in its own text
    view. Copy links (``iris-copy:N``) index ``code_blocks`` in every part.
    """

    parts: tuple[str, ...]
    code_blocks: tuple[str, ...]
    thinking: tuple[str, ...]


def warm_up_renderer() -> None:
    """Load the Markdown and highlighting libraries (call in a worker thread)."""
    render_markdown("*warm* `up`\n\n```python\nx = 1\n```\n", dark=False)


def split_html(text: str, size: int = PART_HTML) -> list[str]:
    """Cut rendered HTML between top-level blocks into pieces of about ``size``.

    A piece is longer than ``size`` only when one block is. The HTML comes from
    our renderer, so it is well formed and ``<``/``>`` never occur in text or in
    attribute values; counting open tags finds the top level.
    """
    if len(text) <= size:
        return [text]
    pieces: list[str] = []
    start = last = depth = 0
    for match in _TAG.finditer(text):
        closing, name, self_closing = match.groups()
        if closing:
            depth = max(0, depth - 1)
        elif not self_closing and name.lower() not in _VOID_TAGS:
            depth += 1
        if depth:
            continue
        end = match.end()
        if text.startswith("\n", end):
            end += 1
        if end - start > size and last > start:
            pieces.append(text[start:last])
            start = last
        last = end
    pieces.append(text[start:])
    return [piece for piece in pieces if piece]


def _shift_copy_links(text: str, offset: int) -> str:
    if not offset:
        return text
    return _COPY_LINK.sub(lambda match: str(int(match.group(1)) + offset), text)


def tool_label(block: ToolUseBlock) -> str:
    """The header of a tool call: ``⚙ Tool call · name``."""
    who = "Tool call" if block.block_type == "tool_use" else "Tool call by the service"
    return f"\N{GEAR} {who} \N{MIDDLE DOT} {block.name}"


def build_html(turn: Turn, dark: bool) -> RenderedTurn:
    """Render every block of a finished turn. Pure: safe in a worker thread."""
    parts: list[str] = []
    code: list[str] = []
    thinking: list[str] = []
    if turn.message is None:
        rendered = render_markdown(turn.text, dark=dark)
        shown = break_long_runs_html(rendered.html)
        return RenderedTurn(tuple(split_html(shown)), rendered.code_blocks, ())
    for block in turn.message.content:
        if isinstance(block, TextBlock):
            rendered = render_markdown(block.text, dark=dark)
            # Renumber copy links so they index this message's list of blocks.
            parts.append(_shift_copy_links(rendered.html, len(code)))
            code.extend(rendered.code_blocks)
        elif isinstance(block, ThinkingBlock):
            thinking.append(block.thinking)
        elif isinstance(block, RedactedThinkingBlock):
            thinking.append("(Part of the thinking was redacted by the service.)")
        elif isinstance(block, ToolUseBlock):
            # Shown as a code block of its input under a labelled header (the gear
            # and the words mark it, not the colour alone); Copy gives the JSON.
            pretty = json.dumps(block.input, indent=2, ensure_ascii=False)
            parts.append(code_block_html(pretty, tool_label(block), len(code), dark=dark))
            code.append(pretty)
            if block.input_error:
                parts.append(f"<p><i>{html.escape(block.input_error)}</i></p>")
        elif isinstance(block, OtherBlock):
            parts.append(f"<p><i>[{html.escape(block.type)} block]</i></p>")
    shown = break_long_runs_html("".join(parts))
    return RenderedTurn(tuple(split_html(shown)), tuple(code), tuple(thinking))
