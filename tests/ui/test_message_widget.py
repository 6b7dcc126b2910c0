"""One message on screen: long replies render off the UI thread in parts, links and copy."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication, QTextDocument

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.render.breaks import RUN_LIMIT, unbreak
from desktop_app.core.render.markdown import render_markdown
from desktop_app.core.render.turn_html import LARGE_MESSAGE, build_html, split_html
from desktop_app.core.wire.blocks import Role, TextBlock, ThinkingBlock
from desktop_app.core.wire.message import Message
from desktop_app.ui.chat.message_body import AutoHeightBrowser
from desktop_app.ui.chat.message_widget import MessageWidget
from tests.support.qt import arm, eventually, wait


def reply(text: str, *, thinking: str = "") -> Turn:
    blocks: list[Any] = [ThinkingBlock(thinking, "sig")] if thinking else []
    blocks.append(TextBlock(text))
    return Turn(Role.ASSISTANT, message=Message(content=blocks), status=TurnStatus.DONE)


def thinking_view(widget: MessageWidget) -> AutoHeightBrowser | None:
    return widget.thinking_view


def shown_widget(qtbot: Any, loop: asyncio.AbstractEventLoop, turn: Turn) -> MessageWidget:
    """A widget for ``turn``, made while the event loop runs (as in the app), then shown."""

    async def build() -> MessageWidget:
        return MessageWidget(turn)

    widget = loop.run_until_complete(build())
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    widget.show()
    return widget


def test_long_reply_is_rendered_in_a_worker_then_shown(
    qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    paragraph = "Some **bold** words and `code` here.\n\n"
    text = "# Big heading\n\n" + paragraph * (LARGE_MESSAGE // len(paragraph) + 10)
    assert len(text) > LARGE_MESSAGE

    widget = shown_widget(qtbot, qloop, reply(text))
    task = widget._render_task
    assert task is not None  # rendered by a worker, not on the UI thread
    qloop.run_until_complete(asyncio.wait_for(task, 20))  # raises what the worker raised
    eventually(
        qloop,
        lambda: (
            "**" not in widget.body.toPlainText() and "Big heading" in widget.body.toPlainText()
        ),
    )
    assert "# Big" not in widget.body.toPlainText()
    assert widget.body.height() > 400


def test_short_reply_renders_at_once_with_code_copy(qtbot: Any) -> None:
    widget = MessageWidget(reply("Hi\n\n```python\nprint('x')\n```\n", thinking="hmm"))
    qtbot.addWidget(widget)
    assert widget.body.code_blocks == ("print('x')",)
    widget.body.link_clicked.emit(QUrl("iris-copy:0"))
    assert QGuiApplication.clipboard().text() == "print('x')"
    toggle = widget.thinking_toggle
    assert toggle is not None
    assert toggle.isVisibleTo(widget)
    assert thinking_view(widget) is None  # collapsed by default: not even made
    toggle.click()
    thinking = thinking_view(widget)
    assert thinking is not None
    assert thinking.isVisibleTo(widget)
    assert toggle.accessibleName() == "Hide thinking"
    toggle.click()
    assert not thinking.isVisibleTo(widget)


def long_text(blocks: int = 120) -> str:
    return "".join(
        f"## Part {i}\n\nWords with **bold** and `code` {i}.\n\n```python\nprint({i})\n```\n\n"
        for i in range(blocks)
    )


def test_split_html_cuts_only_between_top_level_blocks() -> None:
    html = render_markdown(long_text() + "- a\n- b\n\n> quote\n").html
    pieces = split_html(html, 2_000)
    assert len(pieces) > 5
    assert "".join(pieces) == html
    for piece in pieces:
        # Every piece is whole blocks: it starts and ends at the top level.
        assert piece.lstrip().startswith(("<h2", "<p", "<table", "<ul", "<blockquote"))
        assert piece.count("<table") == piece.count("</table>")
        assert piece.count("<ul") == piece.count("</ul>")
    whole = QTextDocument()
    whole.setHtml(html)
    texts = []
    for piece in pieces:
        document = QTextDocument()
        document.setHtml(piece)
        texts.append(document.toPlainText())
    # Nothing lost, doubled or moved (Qt may add a space where a document ends).
    assert " ".join(texts).split() == whole.toPlainText().split()
    # A block longer than the size is kept whole.
    assert split_html("<p>" + "x" * 50 + "</p>\n<p>y</p>\n", 10) == [
        "<p>" + "x" * 50 + "</p>\n",
        "<p>y</p>\n",
    ]
    assert split_html("<p>short</p>\n", 1_000) == ["<p>short</p>\n"]


def test_copy_links_index_the_whole_message_across_text_blocks() -> None:
    first = "```\nfirst\n```\n"
    second = "".join(f"```\nsecond {i}\n```\n" for i in range(11))
    turn = Turn(
        Role.ASSISTANT,
        message=Message(content=[TextBlock(first), TextBlock(second)]),
        status=TurnStatus.DONE,
    )
    rendered = build_html(turn, dark=False)
    html = "".join(rendered.parts)
    assert rendered.code_blocks == ("first", *(f"second {i}" for i in range(11)))
    for i in range(len(rendered.code_blocks)):
        assert html.count(f'href="iris-copy:{i}"') == 1


def test_a_long_reply_split_into_views_copies_and_links_as_one(
    qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    text = long_text()
    turn = reply(text)

    widget = shown_widget(qtbot, qloop, turn)
    eventually(qloop, lambda: not widget.rendering)
    parts = widget.body.parts
    assert len(parts) > 2
    assert all(part.isVisible() for part in parts)
    # Stacked in order, without gaps.
    tops = [part.y() for part in parts]
    assert tops == sorted(tops)
    shown = widget.body.toPlainText()
    assert "**" not in shown
    assert shown.index("Part 0") < shown.index("Part 60") < shown.index("Part 119")
    assert [p.accessibleName() for p in parts[:2]] == [
        f"Message from Claude, part 1 of {len(parts)}",
        f"Message from Claude, part 2 of {len(parts)}",
    ]
    # "Copy" copies the whole message, not one view.
    widget.copy_button.click()
    assert QGuiApplication.clipboard().text() == text
    # A copy link in the last view copies the last code block.
    parts[-1].anchorClicked.emit(QUrl("iris-copy:119"))
    assert QGuiApplication.clipboard().text() == "print(119)"
    # Text is selectable in every view.
    flags = parts[-1].textInteractionFlags()
    assert flags & Qt.TextInteractionFlag.TextSelectableByMouse


def test_streamed_text_stays_until_every_part_is_ready(
    qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    text = long_text()
    turn = Turn(Role.ASSISTANT, status=TurnStatus.STREAMING)

    widget = shown_widget(qtbot, qloop, turn)
    turn.message = Message(content=[TextBlock(text)])
    widget.refresh()
    assert widget.body.toPlainText() == text
    turn.status = TurnStatus.DONE
    widget.refresh()
    seen: list[tuple[int, str]] = []

    def rendered() -> bool:
        # Until the swap, the streamed text is shown whole, never half replaced.
        seen.append((len(widget.body.parts), widget.body.toPlainText()))
        return not widget.rendering

    eventually(qloop, rendered, interval=0.002)
    assert len(seen) > 3
    assert set(seen[:-1]) == {(1, text)}
    assert len(widget.body.parts) > 2
    assert "**" not in widget.body.toPlainText()


def test_thinking_is_made_and_filled_when_first_shown(qtbot: Any) -> None:
    widget = MessageWidget(reply("Hi", thinking="a long train of thought"))
    qtbot.addWidget(widget)
    toggle = widget.thinking_toggle
    assert toggle is not None
    assert thinking_view(widget) is None
    toggle.click()
    thinking = thinking_view(widget)
    assert thinking is not None
    assert thinking.toPlainText() == "a long train of thought"


def test_rendered_is_signalled_once_the_text_is_on_screen(
    qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    for text in ("# Big heading\n\n" + "Some words.\n\n" * (LARGE_MESSAGE // 12), long_text()):

        async def build(text: str = text) -> MessageWidget:
            return MessageWidget(reply(text))

        widget = qloop.run_until_complete(build())
        qtbot.addWidget(widget)
        done = arm(widget.rendered)
        assert widget.rendering
        wait(qloop, done)
        assert not widget.body.filling
        assert "#" not in widget.body.toPlainText()


class _MailHandler(QObject):
    """Receives the URLs Qt would hand the system's mail program."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def handle(self, url: QUrl) -> None:
        self.opened.append(url.toString(QUrl.ComponentFormattingOption.FullyEncoded))


def test_mail_links_keep_only_the_address_subject_and_body(qtbot: Any) -> None:
    href = (
        "mailto:someone@example.com?subject=Hello%20there&attach=%2Fhome%2Fme%2F.ssh%2Fid_rsa"
        "&ATTACHMENT=/etc/passwd&cc=spy@example.net&body=Line%201%26more&bcc=x@example.net"
    )
    widget = MessageWidget(reply(f"Write to [me]({href})."))
    qtbot.addWidget(widget)
    document = widget.body.parts[0].document()
    block = document.begin()
    links = []
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            if it.fragment().charFormat().anchorHref():
                links.append(it.fragment().charFormat().anchorHref())
            it += 1
        block = block.next()
    assert len(links) == 1
    handler = _MailHandler()
    # PySide6 takes the slot's name as str at run time; its stubs say bytes.
    QDesktopServices.setUrlHandler("mailto", handler, "handle")  # type: ignore[arg-type]
    try:
        widget.body.parts[0].anchorClicked.emit(QUrl(links[0]))
    finally:
        QDesktopServices.unsetUrlHandler("mailto")
    assert handler.opened == [
        "mailto:someone@example.com?subject=Hello%20there&body=Line%201%26more"
    ]


# -- long unbroken runs ----------------------------------------------------------------------

N = 256 * 1024
TOKEN = "".join(chr(ord("a") + (i * 7) % 26) for i in range(N))
WORDS = " ".join(f"w{i:06d}" for i in range(N // 8))[:N]


def _runs_handed_to_qt(widget: MessageWidget) -> int:
    """The longest run without a break opportunity in any text view of the message."""
    return max(
        len(run)
        for part in widget.body.parts
        for run in re.split(r"[\s\u200b]", part.toPlainText())
    )


def _laid_out(widget: MessageWidget) -> None:
    for part in widget.body.parts:
        assert part.lineWrapColumnOrWidth() > 0  # a real width, so a real layout
        part.document().size()


def _show_final(qtbot: Any, qloop: asyncio.AbstractEventLoop, text: str) -> float:
    """UI-thread seconds to show a finished reply and lay it out (rendered beforehand)."""
    turn = reply(text)
    rendered = build_html(turn, dark=False)  # the worker's part, not timed
    start = time.perf_counter()
    widget = MessageWidget(turn, prerendered=rendered)
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    widget.show()
    while widget.rendering:
        qloop.run_until_complete(asyncio.sleep(0))
    qtbot.waitExposed(widget)
    _laid_out(widget)
    elapsed = time.perf_counter() - start
    assert RUN_LIMIT <= _runs_handed_to_qt(widget) <= RUN_LIMIT + 8 or text is WORDS
    return elapsed


def _show_streaming(qtbot: Any, qloop: asyncio.AbstractEventLoop, text: str) -> float:
    """UI-thread seconds to show ``text`` streaming in, in two pieces, and lay it out."""
    turn = Turn(Role.ASSISTANT, status=TurnStatus.STREAMING)
    widget = shown_widget(qtbot, qloop, turn)
    qtbot.waitExposed(widget)
    start = time.perf_counter()
    for end in (len(text) // 2, len(text)):
        turn.message = Message(content=[TextBlock(text[:end])])
        widget.refresh()
        _laid_out(widget)
    elapsed = time.perf_counter() - start
    assert unbreak(widget.body.toPlainText()) == text
    if text is TOKEN:
        assert _runs_handed_to_qt(widget) <= RUN_LIMIT
    return elapsed


def test_a_reply_that_is_one_huge_token_shows_about_as_fast_as_words(
    qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    # Without break opportunities, Qt needs seconds for the token and a fraction of
    # one for words of the same size; compared with each other, load on the machine
    # affects both alike.
    for show in (_show_final, _show_streaming):
        words = show(qtbot, qloop, WORDS)
        token = show(qtbot, qloop, TOKEN)
        assert token < 3 * words + 0.05, (show.__name__, token, words)


def test_a_huge_token_copies_exactly(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> None:
    code = TOKEN[:40_000].upper()
    text = f"{TOKEN[:100_000]}\n\n```\n{code}\n```\n"
    widget = shown_widget(qtbot, qloop, reply(text))
    eventually(qloop, lambda: not widget.rendering)
    assert _runs_handed_to_qt(widget) <= RUN_LIMIT + 8
    # The Copy button and the code block's Copy link give the original text.
    widget.copy_button.click()
    assert QGuiApplication.clipboard().text() == text
    widget.body.link_clicked.emit(QUrl("iris-copy:0"))
    assert QGuiApplication.clipboard().text() == code
    # So does selecting all of a view and copying it.
    part = widget.body.parts[0]
    part.selectAll()
    part.copy()
    copied = QGuiApplication.clipboard().text()
    assert "\u200b" not in copied
    assert copied.strip() == TOKEN[:100_000]  # Qt ends a paragraph with a space
