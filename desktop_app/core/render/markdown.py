"""Chat Markdown to the HTML subset that Qt's rich-text engine renders well.

``QTextDocument`` understands a small slice of HTML4 and CSS, so the output sticks
to what it honours: tables with ``bgcolor``/``cellpadding`` attributes, ``pre``,
``code``, ``a``, inline ``style`` colours and the usual block tags. The module is
Qt-free and the rendering pure, so tests need no display.

Safety rules, because message text is untrusted:

* raw HTML in a message is escaped and shown, never interpreted;
* only ``http``, ``https`` and ``mailto`` links stay links. markdown-it itself
  refuses ``javascript:``, ``vbscript:``, ``file:`` and non-image ``data:``
  targets, which then show as their Markdown source; any other target (relative
  paths, custom schemes such as our own ``iris-copy:``) is reduced to its link text;
* no ``<img>`` is ever produced, so nothing is fetched: an image becomes a link
  to its URL labelled "🖼 alt".

Code blocks are collected in :attr:`RenderedMarkdown.code_blocks` and each gets a
``<a href="iris-copy:N">Copy</a>`` link in its header, drawn as a small tinted
label (:data:`COPY_LABEL`; the window shows :data:`COPIED_LABEL` there for a moment
after a copy). An entry holds the block's text exactly, minus the line break that
ends its last line, so that pasting a shell command does not also run it. The same
text is what the rendered ``<pre>`` shows; long lines wrap inside the block
(``white-space: pre-wrap``) rather than run past the edge of the message.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from desktop_app.core.render.breaks import break_long_runs

if TYPE_CHECKING:
    # Both libraries load on first use: importing this module stays cheap at start-up.
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict
    from pygments.lexer import Lexer

__all__ = [
    "COPIED_LABEL",
    "COPY_LABEL",
    "COPY_SCHEME",
    "RenderedMarkdown",
    "code_block_html",
    "escape_plain",
    "render_markdown",
]

COPY_SCHEME: Final = "iris-copy"
"""Scheme of the per-block copy links; ``iris-copy:N`` copies ``code_blocks[N]``."""
COPY_LABEL: Final = "Copy"
"""The text of a code block's copy link."""
COPIED_LABEL: Final = "Copied \N{CHECK MARK}"
"""What the window shows in place of :data:`COPY_LABEL` for a moment after a copy."""

_SAFE_SCHEMES: Final = frozenset({"http", "https", "mailto"})
# Inline images that browsers and Qt treat as inert data; anything else is text.
_SAFE_DATA_IMAGE: Final = re.compile(r"data:image/(?:png|gif|jpeg|webp)[;,]", re.IGNORECASE)
_SCHEME: Final = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_HEADING_SIZES: Final = {"h1": "x-large", "h2": "large"}
_IMAGE_MARK: Final = "\N{FRAME WITH PICTURE} "
# Characters of code per message that get syntax colours. Pygments needs a few
# microseconds per character, so this caps the cost of a huge reply; blocks past
# the budget render as plain monospace text.
_HIGHLIGHT_BUDGET: Final = 12_000
# Generic "monospace" alone does not resolve on every platform, so list real fonts.
_MONO_FONTS: Final = (
    "'JetBrains Mono', 'Cascadia Mono', Consolas, Menlo, 'DejaVu Sans Mono', "
    "'Liberation Mono', 'Courier New', monospace"
)


@dataclasses.dataclass(frozen=True, slots=True)
class RenderedMarkdown:
    """One message rendered for a ``QTextDocument``.

    Attributes:
        html: The HTML fragment to pass to ``setHtml``.
        code_blocks: The source of each fenced or indented code block, in order;
            ``iris-copy:N`` in ``html`` refers to ``code_blocks[N]``. Each entry is
            the block's text without the line break after its last line.
    """

    html: str
    code_blocks: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class _Theme:
    """Colours for one appearance; code colours match the Pygments style."""

    pygments_style: str
    code_bg: str
    code_fg: str
    header_bg: str
    header_fg: str
    inline_code_bg: str
    link: str
    muted: str
    border: str
    table_header_bg: str
    chip_bg: str
    tool_header_bg: str


# "default" and "github-dark" have the best worst-case token contrast of the
# bundled Pygments styles (WCAG AA) on their own backgrounds, which we reuse.
_LIGHT: Final = _Theme(
    pygments_style="default",
    code_bg="#f8f8f8",
    code_fg="#1f2328",
    header_bg="#eaeef2",
    header_fg="#57606a",
    inline_code_bg="#eceff2",
    link="#0969da",
    muted="#57606a",
    border="#d0d7de",
    table_header_bg="#f6f8fa",
    chip_bg="#dde4ea",
    tool_header_bg="#dfe7f7",
)
_DARK: Final = _Theme(
    pygments_style="github-dark",
    code_bg="#0d1117",
    code_fg="#e6edf3",
    header_bg="#1f2630",
    header_fg="#9198a1",
    inline_code_bg="#343a42",
    link="#58a6ff",
    muted="#9198a1",
    border="#3d444d",
    table_header_bg="#212830",
    chip_bg="#2d3540",
    tool_header_bg="#1e2a40",
)


def _is_safe_url(url: str, *, image: bool = False) -> bool:
    """Tell whether a (normalised) link target may stay clickable."""
    if image and _SAFE_DATA_IMAGE.match(url):
        return True
    match = _SCHEME.match(url)
    return match is not None and match.group(1).lower() in _SAFE_SCHEMES


def _escape(text: str) -> str:
    """Escape text for element content and double-quoted attribute values."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


@dataclasses.dataclass(slots=True)
class _RenderState:
    """Per-call state kept in markdown-it's ``env`` so one parser serves every call."""

    theme: _Theme
    code_blocks: list[str] = dataclasses.field(default_factory=list)
    # One entry per open link: whether it was emitted as an anchor.
    links: list[bool] = dataclasses.field(default_factory=list)
    highlight_budget: int = 0


def _state(env: EnvType) -> _RenderState:
    state = env["iris"]
    assert isinstance(state, _RenderState)
    return state


# Render rules. markdown-it binds each to its renderer, hence the ``renderer``
# first parameter; ``tokens[idx]`` is the token being rendered.


def _fence(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    from markdown_it.common.utils import unescapeAll

    token = tokens[idx]
    info = unescapeAll(token.info).strip() if token.info else ""
    language = info.split(maxsplit=1)[0] if info else ""
    return _code_block(token.content, language, _state(env))


def _indented_code(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return _code_block(tokens[idx].content, "", _state(env))


def _code_inline(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    theme = _state(env).theme
    return (
        f'<code style="font-family: {_MONO_FONTS}; background-color: {theme.inline_code_bg};">'
        f"{_escape(tokens[idx].content)}</code>"
    )


def _link_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    state = _state(env)
    href = str(tokens[idx].attrGet("href") or "")
    # CommonMark forbids nested links; the check keeps that true for our output too.
    keep = _is_safe_url(href) and not any(state.links)
    state.links.append(keep)
    if not keep:
        return ""
    title = tokens[idx].attrGet("title")
    title_attr = f' title="{_escape(str(title))}"' if title else ""
    return f'<a href="{_escape(href)}"{title_attr} style="color: {state.theme.link};">'


def _link_close(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    state = _state(env)
    return "</a>" if state.links and state.links.pop() else ""


def _image(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # Never an <img>: Qt would load the resource, and a chat must not fetch remote
    # images behind the user's back.
    state = _state(env)
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env) or "image"
    label = _escape(_IMAGE_MARK + alt)
    src = str(token.attrGet("src") or "")
    if any(state.links) or not _is_safe_url(src, image=True):
        return label
    return f'<a href="{_escape(src)}" style="color: {state.theme.link};">{label}</a>'


def _table_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    theme = _state(env).theme
    # Qt draws borders and padding from these attributes, not from CSS on cells.
    return (
        '<table border="1" cellspacing="0" cellpadding="4" '
        f'style="border-collapse: collapse; border-color: {theme.border};">\n'
    )


def _cell_align(token: Token) -> str:
    # markdown-it writes style="text-align:right"; the align attribute is what
    # Qt reliably honours on cells.
    style = str(token.attrGet("style") or "")
    side = style.removeprefix("text-align:")
    return f' align="{side}"' if side in ("left", "center", "right") else ""


def _th_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    theme = _state(env).theme
    return f'<th bgcolor="{theme.table_header_bg}"{_cell_align(tokens[idx])}>'


def _td_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return f"<td{_cell_align(tokens[idx])}>"


def _heading_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # Qt's own heading sizes (h1 at twice the text size) suit pages, not chat bubbles.
    tag = tokens[idx].tag
    return f'<{tag} style="font-size: {_HEADING_SIZES.get(tag, "medium")};">'


def _blockquote_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # Qt has no border-left; its blockquote indent plus a muted colour stands out enough.
    return f'<blockquote style="color: {_state(env).theme.muted};">\n'


def _raw_html(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # Unreachable while the parser has html off; there so raw HTML could never pass.
    return _escape(tokens[idx].content)


_RULES: Final = {
    "fence": _fence,
    "code_block": _indented_code,
    "code_inline": _code_inline,
    "link_open": _link_open,
    "link_close": _link_close,
    "image": _image,
    "table_open": _table_open,
    "th_open": _th_open,
    "td_open": _td_open,
    "heading_open": _heading_open,
    "blockquote_open": _blockquote_open,
    "html_block": _raw_html,
    "html_inline": _raw_html,
}


def _code_block(content: str, language: str, state: _RenderState) -> str:
    """Render one code block: a header with label and copy link, then the code."""
    theme = state.theme
    code = content.removesuffix("\n")
    index = len(state.code_blocks)
    state.code_blocks.append(code)
    if language and len(code) <= state.highlight_budget:
        state.highlight_budget -= len(code)
        body = _highlight(code, language.lower(), theme.pygments_style)
    else:
        body = _escape(code)
    label = f'<span style="color: {theme.header_fg}; font-size: small;">{_escape(language)}</span>'
    return _code_table(label, body, index, theme)


def _code_table(
    label: str, body: str, index: int, theme: _Theme, header_bg: str | None = None
) -> str:
    """A code block: ``label`` (HTML) and a copy link over ``body`` (escaped code)."""
    header_bg = header_bg or theme.header_bg
    # One table gives the block a full-width background, which Qt does not paint
    # for a <pre> alone. Qt drops a line break right after <pre> and one right
    # before </pre>; the two added here are the ones it drops, so every blank line
    # of the code survives. pre-wrap keeps every space and tab but lets a long
    # line wrap inside the block instead of running past the message's edge.
    return (
        '<table width="100%" border="0" cellspacing="0" cellpadding="6" '
        f'bgcolor="{theme.code_bg}" style="margin-top: 6px; margin-bottom: 6px;">\n'
        f'<tr><td bgcolor="{header_bg}">{label}'
        f'</td><td bgcolor="{header_bg}" align="right">'
        f'<a href="{COPY_SCHEME}:{index}" style="color: {theme.link}; '
        f"background-color: {theme.chip_bg}; font-size: small; font-weight: 600; "
        f'text-decoration: none;">{COPY_LABEL}</a></td></tr>\n'
        f'<tr><td colspan="2"><pre style="margin: 0; white-space: pre-wrap; '
        f'font-family: {_MONO_FONTS}; color: {theme.code_fg};">\n{body}\n</pre></td></tr>\n'
        "</table>\n"
    )


def code_block_html(code: str, label: str, index: int, *, dark: bool = False) -> str:
    """A block of plain ``code`` under ``label``: a code block with a tinted header.

    For text that is not Markdown but reads best as code (a tool call's input); the
    header's own tint tells it from the code blocks of the reply.

    Args:
        code: The text, shown exactly (escaped here).
        label: Plain text for the header (escaped here).
        index: What its copy link copies: ``iris-copy:{index}``.
        dark: Use the dark palette.
    """
    theme = _DARK if dark else _LIGHT
    header = f'<span style="color: {theme.header_fg}; font-size: small;">{_escape(label)}</span>'
    return _code_table(header, _escape(code), index, theme, theme.tool_header_bg)


@functools.lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer | None:
    """Return the shared Pygments lexer for a fence's language, or None if unknown."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        # stripnl would eat the block's leading and trailing blank lines.
        lexer: Lexer = get_lexer_by_name(language, stripnl=False, ensurenl=True)
    except ClassNotFound:
        return None
    return lexer


@functools.cache
def _pygments_style(style_name: str) -> Any:
    from pygments.styles import get_style_by_name

    return get_style_by_name(style_name)


# (style name, token type) -> inline CSS. Token types are a fixed, small set.
_TOKEN_CSS: dict[tuple[str, Any], str] = {}


def _css_for(token_type: Any, style_name: str) -> str:
    """Return the inline CSS for a Pygments token type in one style."""
    key = (style_name, token_type)
    css = _TOKEN_CSS.get(key)
    if css is None:
        from pygments.token import Whitespace

        rule = _pygments_style(style_name).style_for_token(token_type)
        parts: list[str] = []
        # Some styles colour whitespace for "show whitespace" modes; it is invisible.
        if rule["color"] and token_type not in Whitespace:
            parts.append(f"color: #{rule['color']};")
        if rule["bgcolor"]:
            parts.append(f"background-color: #{rule['bgcolor']};")
        if rule["bold"]:
            parts.append("font-weight: bold;")
        if rule["italic"]:
            parts.append("font-style: italic;")
        if rule["underline"]:
            parts.append("text-decoration: underline;")
        css = _TOKEN_CSS[key] = " ".join(parts)
    return css


# A message re-rendered (theme switch, reloaded history) repeats its blocks.
@functools.lru_cache(maxsize=256)
def _highlight(code: str, language: str, style_name: str) -> str:
    """Return ``code`` as escaped HTML with inline-coloured spans."""
    lexer = _lexer(language)
    if lexer is None:
        return _escape(code)
    # Merge neighbouring tokens that look the same: fewer spans for Qt to lay out.
    runs: list[list[str]] = []
    for token_type, value in lexer.get_tokens(code + "\n"):
        css = _css_for(token_type, style_name)
        if runs and runs[-1][0] == css:
            runs[-1][1] += value
        elif value:
            runs.append([css, value])
    # The lexer was given one extra line break, because some lexers only close a
    # line comment or a statement on one; take it off again.
    if runs and runs[-1][1].endswith("\n"):
        runs[-1][1] = runs[-1][1][:-1]
    return "".join(
        f'<span style="{css}">{_escape(value)}</span>' if css else _escape(value)
        for css, value in runs
        if value
    )


@functools.cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # markdown-it's own link check stays on: it already refuses javascript:,
    # vbscript:, file: and non-image data: targets, which then show as source text.
    md = MarkdownIt("commonmark", {"html": False, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    for name, rule in _RULES.items():
        md.add_render_rule(name, rule)
    return md


def render_markdown(text: str, *, dark: bool = False) -> RenderedMarkdown:
    """Render a chat message's Markdown to HTML for ``QTextDocument``.

    Args:
        text: The message in CommonMark with GitHub tables and strikethrough.
        dark: Use the dark palette (code colours, links, borders).

    Returns:
        The HTML fragment and the source of each code block, in order. Recent
        results are cached and shared between callers; the object is immutable.
    """
    return _render(text, dark)


# Rendering is pure and the result immutable, so repeats (a theme switched back,
# a message laid out again) are served from here.
@functools.lru_cache(maxsize=32)
def _render(text: str, dark: bool) -> RenderedMarkdown:
    state = _RenderState(theme=_DARK if dark else _LIGHT, highlight_budget=_HIGHLIGHT_BUDGET)
    html = _parser().render(text, {"iris": state})
    return RenderedMarkdown(html=html, code_blocks=tuple(state.code_blocks))


def escape_plain(text: str) -> str:
    """Turn streaming plain text into an HTML fragment that keeps its layout.

    Used while a reply streams, before the final Markdown render. Markup
    characters are escaped, and a ``white-space: pre-wrap`` span, which
    ``QTextDocument`` honours, keeps line breaks, runs of spaces and tabs exactly
    while long lines still wrap. Very long unbroken runs get invisible break
    opportunities (see :mod:`desktop_app.core.render.breaks`).

    Args:
        text: Raw text as it arrives, possibly ending mid-line.

    Returns:
        HTML-safe markup for a rich-text label or document; empty for empty text.
    """
    if not text:
        return ""
    shown, _carry = break_long_runs(text.replace("\r\n", "\n").replace("\r", "\n"))
    escaped = _escape(shown)
    return f'<span style="white-space: pre-wrap;">{escaped}</span>'
