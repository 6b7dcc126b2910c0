"""Markdown to Qt rich-text HTML: structure, code blocks, safety and themes."""

from __future__ import annotations

import dataclasses
import html
import re
import subprocess
import sys
import textwrap
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app.core.render import markdown
from desktop_app.core.render.markdown import (
    COPY_SCHEME,
    RenderedMarkdown,
    escape_plain,
    render_markdown,
)

VOID = {"br", "hr", "img"}


@dataclasses.dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    ancestors: tuple[str, ...]
    text: str = ""


class Tree(HTMLParser):
    """Every element of an HTML fragment with its ancestors and its text."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.feed(source)
        self.close()
        assert not self.stack, f"unclosed: {[e.tag for e in self.stack]}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, tuple(e.tag for e in self.stack))
        self.elements.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"stray </{tag}>"
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text += data

    def find(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    def one(self, tag: str) -> Element:
        found = self.find(tag)
        assert len(found) == 1, f"{len(found)} <{tag}>"
        return found[0]


def tree(text: str, *, dark: bool = False) -> Tree:
    return Tree(render_markdown(text, dark=dark).html)


def pre_text(rendered: RenderedMarkdown, index: int) -> str:
    """The text shown in code block ``index``: the <pre> minus the line breaks Qt drops."""
    text = Tree(rendered.html).find("pre")[index].text
    assert text.startswith("\n")
    assert text.endswith("\n")
    return text[1:-1]


# --- block and inline structure ----------------------------------------------------


@pytest.mark.parametrize("level", range(1, 7))
def test_headings(level: int) -> None:
    heading = tree("#" * level + " Title *here*").one(f"h{level}")
    assert heading.text == "Title here"
    assert "font-size" in heading.attrs["style"]


def test_emphasis_strong_and_strikethrough() -> None:
    doc = tree("*it* **bold** ~~gone~~ ***both***")
    assert [e.text for e in doc.find("em")] == ["it", "both"]
    assert [e.text for e in doc.find("strong")] == ["bold", "both"]
    assert doc.one("s").text == "gone"


def test_inline_code_is_monospace_with_background_and_escaped() -> None:
    rendered = render_markdown("Use `a<b && c>d` here.")
    code = Tree(rendered.html).one("code")
    assert code.text == "a<b && c>d"
    assert "monospace" in code.attrs["style"]
    assert "background-color: #" in code.attrs["style"]
    assert "a&lt;b &amp;&amp; c&gt;d" in rendered.html
    assert rendered.code_blocks == ()


def test_nested_lists() -> None:
    source = textwrap.dedent("""\
        - fruit
          1. apple
          2. pear
             - green
        - veg
        """)
    doc = tree(source)
    assert len(doc.find("ul")) == 2
    ol = doc.one("ol")
    assert ol.ancestors == ("ul", "li")
    inner_ul = doc.find("ul")[1]
    assert inner_ul.ancestors == ("ul", "li", "ol", "li")
    assert [li.text.split("\n")[0] for li in doc.find("li")] == [
        "fruit",
        "apple",
        "pear",
        "green",
        "veg",
    ]


def test_ordered_list_keeps_its_start_number() -> None:
    assert tree("3. three\n4. four\n").one("ol").attrs["start"] == "3"


def test_table_has_qt_borders_padding_and_alignment() -> None:
    source = textwrap.dedent("""\
        | Name | Qty | Price |
        |:-----|:---:|------:|
        | apple | 1 | 0.50 |
        | **pear** | 12 | 1.00 |
        """)
    doc = tree(source)
    table = doc.one("table")
    assert table.attrs["border"] == "1"
    assert table.attrs["cellspacing"] == "0"
    assert table.attrs["cellpadding"] == "4"
    assert [th.text for th in doc.find("th")] == ["Name", "Qty", "Price"]
    assert all("bgcolor" in th.attrs for th in doc.find("th"))
    assert [td.text for td in doc.find("td")] == ["apple", "1", "0.50", "pear", "12", "1.00"]
    assert [td.attrs.get("align") for td in doc.find("td")[:3]] == ["left", "center", "right"]
    assert doc.one("strong").ancestors[-1] == "td"


def test_blockquote_hr_and_hard_break() -> None:
    doc = tree("> quoted *text*\n\n---\n\nline one  \nline two\n")
    assert doc.one("blockquote").text.strip() == "quoted text"
    assert doc.one("em").ancestors == ("blockquote", "p")
    assert len(doc.find("hr")) == 1
    assert len(doc.find("br")) == 1


def test_output_is_html4_not_xhtml() -> None:
    assert "/>" not in render_markdown("a  \nb\n\n***\n").html


# --- links and images --------------------------------------------------------------


def test_web_and_mail_links_are_kept() -> None:
    doc = tree(
        '[docs](https://example.com/a?b=1&c="2" "The docs") <http://auto.example> <me@example.org>'
    )
    anchors = doc.find("a")
    assert [(a.attrs["href"], a.text) for a in anchors] == [
        ("https://example.com/a?b=1&c=%222%22", "docs"),
        ("http://auto.example", "http://auto.example"),
        ("mailto:me@example.org", "me@example.org"),
    ]
    assert anchors[0].attrs["title"] == "The docs"


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "&#106;avascript:alert(1)",
        "vbscript:msgbox",
        "file:///etc/passwd",
        "data:text/html;base64,PHNjcmlwdD4=",
        "iris-copy:0",
        "relative/path.html",
        "#fragment",
        "ftp://example.com/file",
    ],
)
def test_other_link_targets_become_plain_text(target: str) -> None:
    rendered = render_markdown(f"[click me]({target}) and <{target}>")
    doc = Tree(rendered.html)
    assert doc.find("a") == []
    assert "click me" in doc.one("p").text
    assert "href" not in rendered.html


def test_remote_image_becomes_a_link_and_is_never_an_img() -> None:
    rendered = render_markdown('![a *cat*](http://example.com/cat.png "title")')
    assert "<img" not in rendered.html
    anchor = Tree(rendered.html).one("a")
    assert anchor.attrs["href"] == "http://example.com/cat.png"
    assert anchor.text == "\N{FRAME WITH PICTURE} a cat"


def test_image_without_alt_gets_a_label() -> None:
    assert Tree(render_markdown("![](https://e.org/x.png)").html).one("a").text.endswith("image")


def test_data_image_becomes_a_link() -> None:
    rendered = render_markdown("![dot](data:image/png;base64,iVBORw0KGgo=)")
    assert "<img" not in rendered.html
    assert Tree(rendered.html).one("a").attrs["href"] == "data:image/png;base64,iVBORw0KGgo="


@pytest.mark.parametrize("src", ["data:text/html,<b>x</b>", "javascript:alert(1)", "local.png"])
def test_unsafe_image_sources_become_plain_text(src: str) -> None:
    rendered = render_markdown(f"![pic]({src})")
    assert "<img" not in rendered.html
    assert "<a" not in rendered.html


def test_image_inside_link_makes_one_anchor() -> None:
    doc = tree("[![logo](https://e.org/logo.png)](https://e.org)")
    anchor = doc.one("a")
    assert anchor.attrs["href"] == "https://e.org"
    assert anchor.text == "\N{FRAME WITH PICTURE} logo"


# --- raw HTML ----------------------------------------------------------------------


def test_raw_html_is_shown_escaped() -> None:
    source = '<script>alert("x")</script>\n\nHello <b onclick="f()">bold</b> &amp; <img src=x>\n'
    rendered = render_markdown(source)
    doc = Tree(rendered.html)
    assert [e.tag for e in doc.elements] == ["p", "p"]
    assert "&lt;script&gt;" in rendered.html
    assert doc.elements[1].text == 'Hello <b onclick="f()">bold</b> & <img src=x>'


def test_html_comment_and_block_tags_are_escaped() -> None:
    doc = tree('<div style="x">\n<!-- hidden -->\n</div>\n')
    assert {e.tag for e in doc.elements} == {"p"}
    assert "<!-- hidden -->" in doc.one("p").text


# --- code blocks -------------------------------------------------------------------


def test_fenced_block_header_copy_link_and_source() -> None:
    source = "Intro\n\n```python\ndef f(x):\n    return x  # <done>\n```\n"
    rendered = render_markdown(source)
    assert rendered.code_blocks == ("def f(x):\n    return x  # <done>",)
    doc = Tree(rendered.html)
    copy = [a for a in doc.find("a") if a.text == "Copy"]
    assert [a.attrs["href"] for a in copy] == [f"{COPY_SCHEME}:0"]
    label = [e for e in doc.find("span") if e.text == "python"]
    assert len(label) == 1
    assert pre_text(rendered, 0) == rendered.code_blocks[0]
    pre = doc.one("pre")
    assert pre.ancestors[-3:] == ("table", "tr", "td")
    assert "monospace" in pre.attrs["style"]
    assert doc.find("table")[0].attrs["width"] == "100%"
    assert "bgcolor" in doc.find("table")[0].attrs


def test_python_is_highlighted_with_inline_colours() -> None:
    rendered = render_markdown("```python\nimport os\nprint('hi')  # note\n```\n")
    pre = Tree(rendered.html).one("pre")
    spans = [e for e in Tree(rendered.html).elements if e.ancestors[-1:] == ("pre",)]
    assert spans
    assert all(e.tag == "span" for e in spans)
    assert all(re.fullmatch(r"(?:[a-z-]+: [^;]+; ?)+", e.attrs["style"]) for e in spans)
    assert any("color: #" in e.attrs["style"] for e in spans if e.text == "import")
    assert pre.text == "\nimport os\nprint('hi')  # note\n"


def test_language_lookup_ignores_case_and_extra_info() -> None:
    rendered = render_markdown("```Python title=x.py\nx = 1\n```\n")
    doc = Tree(rendered.html)
    assert [e.text for e in doc.find("span") if e.ancestors[-1] == "td"] == ["Python"]
    assert any(e.ancestors[-1] == "pre" for e in doc.find("span"))


@pytest.mark.parametrize(
    "source",
    [
        "```\nimport os\n```\n",
        "```no-such-language\nimport os\n```\n",
        "    import os\n",
    ],
)
def test_blocks_without_a_known_language_are_plain(source: str) -> None:
    rendered = render_markdown(source)
    assert rendered.code_blocks == ("import os",)
    assert all(e.ancestors[-1:] != ("pre",) for e in Tree(rendered.html).elements)
    assert pre_text(rendered, 0) == "import os"


def test_several_blocks_are_numbered_in_order() -> None:
    source = textwrap.dedent("""\
        ```sh
        echo one
        ```

        text

            indented two

        1. item

           ```js
           let three = 3;
           ```
        """)
    rendered = render_markdown(source)
    assert rendered.code_blocks == ("echo one", "indented two", "let three = 3;")
    hrefs = [a.attrs["href"] for a in Tree(rendered.html).find("a")]
    assert hrefs == [f"{COPY_SCHEME}:{n}" for n in range(3)]
    assert [pre_text(rendered, n) for n in range(3)] == list(rendered.code_blocks)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", ""),
        ("x\n", "x"),
        ("\n\n  lead\n\n  \ntrail  \n\n", "\n\n  lead\n\n  \ntrail  \n"),
        ("\tTab\t<&>\"'\n", "\tTab\t<&>\"'"),
        ("no newline at end", "no newline at end"),
    ],
)
def test_code_is_kept_exactly_minus_the_final_line_break(body: str, expected: str) -> None:
    for language in ("", "python"):
        fence = f"```{language}\n{body}" + ("" if body.endswith("\n") or not body else "\n")
        rendered = render_markdown(fence + "```\n")
        assert rendered.code_blocks == (expected,)
        assert pre_text(rendered, 0) == expected


def test_language_label_is_escaped() -> None:
    rendered = render_markdown('```<b>"x"\ncode\n```\n')
    assert "<b>" not in rendered.html
    assert "&lt;b&gt;&quot;x&quot;" in rendered.html


def test_highlighting_stops_at_the_budget_but_blocks_stay_copyable() -> None:
    big = "x = 1\n" * (markdown._HIGHLIGHT_BUDGET // 6 + 1)
    source = f"```python\n{big}```\n\n```python\ny = 2\n```\n"
    rendered = render_markdown(source)
    assert rendered.code_blocks == (big.removesuffix("\n"), "y = 2")
    doc = Tree(rendered.html)
    first, second = doc.find("pre")
    assert "<span" not in rendered.html.split("</pre>")[0].split("<pre")[1]
    assert first.text[1:-1] == rendered.code_blocks[0]
    assert any(e.ancestors[-1] == "pre" for e in doc.find("span"))
    assert second.text[1:-1] == "y = 2"


# --- themes ------------------------------------------------------------------------


def _colours(source: str) -> set[str]:
    return set(re.findall(r"#[0-9a-fA-F]{6}\b", source))


def test_dark_and_light_use_different_colours() -> None:
    source = "`x` [l](https://e.org)\n\n| a |\n|---|\n| b |\n\n```python\nimport os\n```\n"
    light = render_markdown(source)
    dark = render_markdown(source, dark=True)
    assert light.code_blocks == dark.code_blocks
    assert Tree(light.html).find("pre")[0].text == Tree(dark.html).find("pre")[0].text
    assert markdown._LIGHT.code_bg in light.html
    assert markdown._DARK.code_bg in dark.html
    assert markdown._DARK.code_bg not in light.html
    assert not _colours(light.html) & {markdown._DARK.code_bg, markdown._DARK.link}
    assert _colours(light.html) != _colours(dark.html)


@pytest.mark.parametrize("theme", [markdown._LIGHT, markdown._DARK])
def test_code_background_is_the_pygments_style_background(theme: markdown._Theme) -> None:
    from pygments.styles import get_style_by_name

    style = get_style_by_name(theme.pygments_style)
    assert style.background_color.lower() == theme.code_bg


# --- plain streaming text ----------------------------------------------------------


def test_escape_plain_escapes_and_keeps_layout() -> None:
    out = escape_plain('a <b> & "c"\r\n\n  indented\tx')
    assert out.startswith('<span style="white-space: pre-wrap;">')
    inner = out.removeprefix('<span style="white-space: pre-wrap;">').removesuffix("</span>")
    assert "<" not in inner
    assert html.unescape(inner) == 'a <b> & "c"\n\n  indented\tx'


def test_escape_plain_of_nothing_is_nothing() -> None:
    assert escape_plain("") == ""


# --- properties --------------------------------------------------------------------

MARKDOWN_BITS = st.sampled_from(
    [
        "*", "**", "_", "~~", "`", "```", "```python\n", "    ", "\n", "\n\n", "> ", "- ", "1. ",
        "# ", "|", "|---|", "[", "]", "(", ")", "![", "<", ">", "&", '"', "'", "\\", "http://e.org",
        "javascript:x", "iris-copy:0", "data:image/png,x", "<img src=x>", "<script>", "text ",
    ]
)  # fmt: skip
SAFE_HREF = re.compile(r"(?:https?:|mailto:|data:image/(?:png|gif|jpeg|webp)[;,]|iris-copy:\d+$)")


@settings(max_examples=300, deadline=None)
@given(st.lists(MARKDOWN_BITS, max_size=40).map("".join), st.booleans())
def test_any_input_gives_balanced_safe_html(source: str, dark: bool) -> None:
    rendered = render_markdown(source, dark=dark)
    doc = Tree(rendered.html)
    tags = {e.tag for e in doc.elements}
    assert tags <= {
        "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "em", "strong", "s", "code", "pre",
        "span", "a", "ul", "ol", "li", "blockquote", "table", "thead", "tbody", "tr", "th", "td",
    }  # fmt: skip
    for anchor in doc.find("a"):
        assert SAFE_HREF.match(anchor.attrs["href"]), anchor.attrs["href"]
    copies = [a.attrs["href"] for a in doc.find("a") if a.attrs["href"].startswith(COPY_SCHEME)]
    assert copies == [f"{COPY_SCHEME}:{n}" for n in range(len(rendered.code_blocks))]
    for n, code in enumerate(rendered.code_blocks):
        assert pre_text(rendered, n) == code


# --- performance-sensitive behaviour -----------------------------------------------


def test_repeat_renders_are_equal_and_shared() -> None:
    source = "# Title\n\n```python\nx = 1\n```\n"
    assert render_markdown(source) is render_markdown(source)
    assert render_markdown(source) != render_markdown(source, dark=True)


def test_libraries_load_only_when_needed() -> None:
    script = textwrap.dedent("""\
        import sys
        from desktop_app.core.render.markdown import render_markdown
        assert "markdown_it" not in sys.modules
        render_markdown("# plain *text* and `code`\\n\\n    indented block\\n")
        assert "markdown_it" in sys.modules
        assert "pygments" not in sys.modules
        render_markdown("```python\\nx = 1\\n```\\n")
        assert "pygments" in sys.modules
        """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
