"""Break opportunities in long unbroken runs of text, for display only.

Qt lays out a line with no break opportunity very slowly: one 256 KB "word" (a
base64 blob, a minified file) takes seconds, on the UI thread. Text handed to Qt
gets a zero-width space (U+200B, invisible, a break opportunity) after every
:data:`RUN_LIMIT` characters of a run without one; runs that short, which is
nearly all text, are left alone. What people copy (the Copy button, a code
block's Copy link) comes from the original text, never from the display.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["BREAK", "RUN_LIMIT", "break_long_runs", "break_long_runs_html", "unbreak"]

BREAK: Final = "\u200b"
"""The zero-width space inserted: invisible, and a place a line may wrap."""
RUN_LIMIT: Final = 64
"""Characters of a run before a break is inserted (a line of text is about this wide)."""

# A break opportunity: any white space, or a zero-width space already there.
_BREAKS: Final = r"\s\u200b"
_LEADING: Final = re.compile(rf"[^{_BREAKS}]*")
_LAST_BREAK: Final = re.compile(rf"[{_BREAKS}][^{_BREAKS}]*\Z")
_TAG: Final = re.compile(r"(<[^>]*>)")
# Entities are at most this long (``&quot;``, ``&#x1F600;``); a break never splits one.
_ENTITY_LENGTH: Final = 10


def _long_runs(limit: int) -> re.Pattern[str]:
    return re.compile(rf"[^{_BREAKS}]{{{limit + 1},}}")


_LONG_RUNS: Final = _long_runs(RUN_LIMIT)


def _after_entity(text: str, position: int) -> int:
    """Move ``position`` past the end of an HTML entity it would split."""
    amp = text.rfind("&", max(0, position - _ENTITY_LENGTH), position)
    if amp == -1:
        return position
    semicolon = text.find(";", amp, position + _ENTITY_LENGTH)
    return semicolon + 1 if semicolon >= position else position


def _split_run(run: str, first: int, limit: int, html: bool) -> str:
    """``run`` with a break after ``first`` characters, then after every ``limit``."""
    pieces = []
    # A first piece of 0 puts the break before the run: the earlier text filled it.
    start, position = 0, max(0, first)
    while position < len(run):
        if html:
            position = _after_entity(run, position)
            if position >= len(run):
                break
        pieces.append(run[start:position])
        start, position = position, position + limit
    pieces.append(run[start:])
    return BREAK.join(pieces)


def _break(text: str, carry: int, limit: int, html: bool) -> tuple[str, int]:
    """Break the runs of ``text``, whose first run continues one ``carry`` long."""
    lead = _LEADING.match(text)
    assert lead is not None  # matches the empty string at least
    head = ""
    rest = text
    if carry and lead.end() and carry + lead.end() > limit:
        head = _split_run(text[: lead.end()], limit - carry, limit, html)
        rest = text[lead.end() :]
    pattern = _LONG_RUNS if limit == RUN_LIMIT else _long_runs(limit)
    body = pattern.sub(lambda match: _split_run(match.group(), limit, limit, html), rest)
    out = head + body
    # Each run now ends within a limit (and an entity) of a break, or the text is one
    # run too short to need any.
    tail = out[-(limit + _ENTITY_LENGTH + 1) :]
    last = _LAST_BREAK.search(tail)
    if last is not None:
        return out, last.end() - last.start() - 1
    return out, carry + len(out)


def break_long_runs(text: str, *, carry: int = 0, limit: int = RUN_LIMIT) -> tuple[str, int]:
    """Insert a break into every run of more than ``limit`` characters without one.

    Args:
        text: Plain text (streamed, say), possibly the continuation of earlier text.
        carry: Length of the unbroken run the earlier text ended with, which the
            first run of ``text`` continues.
        limit: The longest run left as it is.

    Returns:
        The text to display, and the length of the run it ends with (the ``carry``
        for the text that follows).
    """
    return _break(text, carry, limit, html=False)


def break_long_runs_html(html: str, *, limit: int = RUN_LIMIT) -> str:
    """Insert breaks into the long runs of an HTML fragment's text, never into a tag.

    A run continues across tags (``<span>abc</span>def`` is one run of six), as Qt
    lays it out, and a break never splits an entity such as ``&amp;``.
    """
    parts = _TAG.split(html)
    carry = 0
    # Even items are text between tags, odd items are the tags.
    for index in range(0, len(parts), 2):
        if parts[index]:
            parts[index], carry = _break(parts[index], carry, limit, html=True)
    return "".join(parts)


def unbreak(text: str) -> str:
    """Remove the inserted breaks (and any other zero-width space) from ``text``."""
    return text.replace(BREAK, "")
