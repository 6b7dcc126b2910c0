"""Break opportunities in long unbroken runs: display only, never in tags or entities."""

from __future__ import annotations

import html
import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.render.breaks import (
    BREAK,
    RUN_LIMIT,
    break_long_runs,
    break_long_runs_html,
    unbreak,
)
from desktop_app.core.render.markdown import escape_plain, render_markdown
from desktop_app.core.render.turn_html import build_html
from desktop_app.core.wire.blocks import Role, TextBlock, ToolUseBlock
from desktop_app.core.wire.message import Message

TOKEN = "".join(chr(ord("a") + (i * 7) % 26) for i in range(256 * 1024))
TAG = re.compile(r"<[^>]*>")
ENTITY = re.compile(r"&#?\w+;")


def longest_run(text: str) -> int:
    return max(len(run) for run in re.split(r"[\s\u200b]", text))


def visible_text(fragment: str) -> str:
    """The text of an HTML fragment, entities decoded, as Qt would lay it out."""
    return html.unescape(TAG.sub("", fragment))


def test_normal_text_is_left_alone() -> None:
    text = "Some words, a https://example.com/short/url and\ttabs\n\nnew lines."
    assert break_long_runs(text) == (text, len("lines."))
    rendered = render_markdown(text).html
    assert break_long_runs_html(rendered) == rendered


def test_a_long_token_gets_a_break_every_limit_characters() -> None:
    shown, carry = break_long_runs(TOKEN)
    assert unbreak(shown) == TOKEN
    assert longest_run(shown) == RUN_LIMIT
    assert shown.count(BREAK) == (len(TOKEN) - 1) // RUN_LIMIT
    assert carry == len(shown.rsplit(BREAK, 1)[1])


def test_streamed_pieces_break_the_run_they_continue() -> None:
    shown, carry = "", 0
    for start in range(0, len(TOKEN), 1000):
        piece, carry = break_long_runs(TOKEN[start : start + 1000], carry=carry)
        shown += piece
    assert unbreak(shown) == TOKEN
    assert longest_run(shown) <= RUN_LIMIT


@settings(max_examples=200)
@given(
    pieces=st.lists(
        st.text(alphabet=st.sampled_from("ab \n\u200b&é"), max_size=300), min_size=1, max_size=8
    )
)
def test_any_text_streamed_in_any_pieces_keeps_runs_within_the_limit(pieces: list[str]) -> None:
    shown, carry = "", 0
    for piece in pieces:
        out, carry = break_long_runs(piece, carry=carry, limit=16)
        shown += out
    assert longest_run(shown) <= 16
    # Only breaks are added, and only where they were needed.
    assert shown.replace(BREAK, "") == "".join(pieces).replace(BREAK, "")
    assert len(re.split(r"[\s\u200b]", shown)[-1]) == carry


def test_html_breaks_go_into_text_only_never_into_tags_or_entities() -> None:
    url = "https://example.com/" + "x" * 300
    text = f"[link]({url}) " + '&<>"' * 200 + " `" + "y" * 300 + "`"
    rendered = render_markdown(text).html
    shown = break_long_runs_html(rendered)
    assert unbreak(shown) == rendered
    # Tags come through untouched: the link still goes to the whole address.
    assert TAG.findall(shown) == TAG.findall(rendered)
    assert f'href="{url}"' in shown
    # No entity is cut in two.
    assert ENTITY.findall(unbreak(shown)) == ENTITY.findall(shown)
    assert longest_run(visible_text(shown)) <= RUN_LIMIT


def test_a_run_split_across_tags_is_still_broken() -> None:
    fragment = "<p>" + "".join(f"<em>ab</em>cd{i % 10}" for i in range(500)) + "</p>"
    shown = break_long_runs_html(fragment)
    assert longest_run(visible_text(shown)) <= RUN_LIMIT
    assert unbreak(shown) == fragment


def test_a_turn_rendered_for_display_has_breaks_but_copies_exactly() -> None:
    code = "B" * 100_000
    text = f"Here: {TOKEN[:50_000]}\n\n```\n{code}\n```\n"
    turn = Turn(
        Role.ASSISTANT,
        message=Message(
            content=[TextBlock(text), ToolUseBlock("t1", "save", {"blob": TOKEN[:20_000]})]
        ),
        status=TurnStatus.DONE,
    )
    rendered = build_html(turn, dark=False)
    shown = "".join(rendered.parts)
    assert longest_run(visible_text(shown)) <= RUN_LIMIT
    # The tool call's input is a code block too, and its Copy gives the exact JSON.
    assert rendered.code_blocks == (code, json.dumps({"blob": TOKEN[:20_000]}, indent=2))
    assert TOKEN[:50_000] in unbreak(visible_text(shown))
    assert turn.text == text  # the Copy button copies this


def test_plain_escape_for_display_breaks_long_runs() -> None:
    shown = escape_plain(TOKEN[:10_000] + " <tail>")
    assert longest_run(visible_text(shown)) <= RUN_LIMIT
    assert visible_text(unbreak(shown)) == TOKEN[:10_000] + " <tail>"
