"""A finished turn as HTML: tool calls as labelled blocks, code that wraps, copy links."""

from __future__ import annotations

import json

import pytest

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.render import markdown
from desktop_app.core.render.markdown import COPY_LABEL, COPY_SCHEME, render_markdown
from desktop_app.core.render.turn_html import build_html
from desktop_app.core.wire.blocks import ContentBlock, Role, TextBlock, ToolUseBlock
from desktop_app.core.wire.message import Message
from tests.core.render.test_markdown import Tree


def turn_of(*blocks: ContentBlock) -> Turn:
    return Turn(Role.ASSISTANT, message=Message(content=list(blocks)), status=TurnStatus.DONE)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_tool_call_is_a_labelled_block_whose_copy_gives_its_json(dark: bool) -> None:
    hostile = "<b>lookup</b>"
    call = ToolUseBlock("toolu_1", hostile, {"city": "Paris", "note": "<i>&</i>"})
    rendered = build_html(turn_of(TextBlock("```\nfirst\n```\n"), call), dark)
    html = "".join(rendered.parts)
    pretty = json.dumps(call.input, indent=2, ensure_ascii=False)
    assert rendered.code_blocks == ("first", pretty)
    doc = Tree(html)
    assert [a.attrs["href"] for a in doc.find("a")] == [f"{COPY_SCHEME}:0", f"{COPY_SCHEME}:1"]
    assert all(a.text == COPY_LABEL for a in doc.find("a"))
    label = [e.text for e in doc.find("span") if "Tool call" in e.text]
    assert label == [f"\N{GEAR} Tool call \N{MIDDLE DOT} {hostile}"]  # shown, not read
    assert "<b>" not in html
    # Its header has its own tint, unlike the reply's code blocks.
    theme = markdown._DARK if dark else markdown._LIGHT
    headers = [e.attrs["bgcolor"] for e in doc.find("td") if "bgcolor" in e.attrs]
    assert theme.header_bg in headers
    assert theme.tool_header_bg in headers
    assert doc.find("pre")[1].text.strip("\n") == pretty


def test_a_tool_call_by_the_service_says_so() -> None:
    call = ToolUseBlock("srvtoolu_1", "web_search", {"query": "x"}, block_type="server_tool_use")
    html = "".join(build_html(turn_of(call), dark=False).parts)
    assert "Tool call by the service \N{MIDDLE DOT} web_search" in html


def test_code_wraps_inside_its_block_and_keeps_every_space() -> None:
    code = "\tx = '" + "a " * 200 + "'\n\n    indented"
    rendered = render_markdown(f"```\n{code}\n```\n")
    pre = Tree(rendered.html).one("pre")
    assert "white-space: pre-wrap" in pre.attrs["style"]
    assert pre.text[1:-1] == code
    assert rendered.code_blocks == (code,)
