"""``MessageWidget``: one turn of the transcript, with its notices and actions."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import json
import math
import re
from collections.abc import Sequence
from typing import Any, ClassVar

import shiboken6
from PySide6.QtCore import QSizeF, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QGuiApplication,
    QImage,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.conversation import Turn, TurnStatus
from desktop_app.core.markdown import COPY_SCHEME, escape_plain, render_markdown
from desktop_app.core.messages import (
    OtherBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from desktop_app.ui.throttle import next_turn_timer

THUMBNAIL_SIZE = 96


def is_dark(widget: QWidget) -> bool:
    """True when the widget's palette is dark (follows the system theme)."""
    return widget.palette().window().color().lightnessF() < 0.5


def format_usage(turn: Turn) -> str:
    """``in 1,234 · out 56 · cache write 0 · cache read 1,100`` for a reply."""
    usage = turn.usage
    if usage is None or (usage.input_tokens == 0 and usage.output_tokens == 0):
        return ""
    parts = [f"in {usage.input_tokens:,}", f"out {usage.output_tokens:,}"]
    if usage.cache_creation_input_tokens or usage.cache_read_input_tokens:
        parts.append(f"cache write {usage.cache_creation_input_tokens:,}")
        parts.append(f"cache read {usage.cache_read_input_tokens:,}")
    return " · ".join(parts)


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


def build_html(turn: Turn, dark: bool) -> RenderedTurn:
    """Render every block of a finished turn. Pure: safe in a worker thread."""
    parts: list[str] = []
    code: list[str] = []
    thinking: list[str] = []
    if turn.message is None:
        rendered = render_markdown(turn.text, dark=dark)
        return RenderedTurn(tuple(split_html(rendered.html)), rendered.code_blocks, ())
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
            pretty = json.dumps(block.input, indent=2, ensure_ascii=False)
            parts.append(
                f"<p><b>Tool call:</b> <code>{html.escape(block.name)}</code></p>"
                f"<pre>{html.escape(pretty)}</pre>"
            )
            if block.input_error:
                parts.append(f"<p><i>{html.escape(block.input_error)}</i></p>")
        elif isinstance(block, OtherBlock):
            parts.append(f"<p><i>[{html.escape(block.type)} block]</i></p>")
    return RenderedTurn(tuple(split_html("".join(parts))), tuple(code), tuple(thinking))


def follow_link(url: QUrl, code_blocks: Sequence[str]) -> None:
    """Copy a code block for ``iris-copy:N``; open web and mail links in the system browser."""
    scheme = url.scheme()
    if scheme == COPY_SCHEME:
        try:
            index = int(url.path() or url.toString().split(":", 1)[1])
        except ValueError:
            return
        if 0 <= index < len(code_blocks):
            QGuiApplication.clipboard().setText(code_blocks[index])
    elif scheme in ("http", "https", "mailto"):
        QDesktopServices.openUrl(url)


class AutoHeightBrowser(QTextBrowser):
    """A read-only, selectable rich-text view as tall as its content.

    Links never navigate inside it: copy links copy, web links open in the system
    browser only when clicked, and remote resources are never fetched. With
    ``follow_links`` off, clicks are only reported by ``anchorClicked``.
    """

    def __init__(self, parent: QWidget | None = None, *, follow_links: bool = True) -> None:
        """Build the browser."""
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.viewport().setAutoFillBackground(False)
        # We set the wrap width ourselves (set_text_width): QTextEdit lays the
        # whole document out again on every resize it takes for a new width, the
        # first one after a show included, even when the width is unchanged. And
        # no layout at all until the width is known: a null page size skips it.
        self.setLineWrapMode(QTextEdit.LineWrapMode.FixedPixelWidth)
        self.document().setPageSize(QSizeF(0, 0))
        self.document().setDocumentMargin(2)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.code_blocks: tuple[str, ...] = ()
        if follow_links:
            self.anchorClicked.connect(self._follow_link)
        # A fixed height, always that of the document, is all layouts need: no
        # sizeHint override, which would call into Python on every layout pass.
        self._fit()

    def set_text_width(self, width: int) -> None:
        """Lay the text out for a view ``width`` pixels wide (before it is shown, say)."""
        if width > 0 and width != self.lineWrapColumnOrWidth():
            self.setLineWrapColumnOrWidth(width)
            self._fit()

    def loadResource(self, type: int, name: QUrl | str) -> Any:
        """Refuse every external resource: nothing is fetched for a message."""
        return None

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Re-wrap to a new width and fit the height."""
        super().resizeEvent(event)
        # Only a new width needs a new layout; our own height changes must not
        # re-lay out the whole document on every streamed piece.
        self.set_text_width(self.viewport().width())

    def _content_height(self) -> int:
        return math.ceil(self.document().size().height()) + 4

    def _follow_link(self, url: QUrl) -> None:
        follow_link(url, self.code_blocks)

    def _fit(self, *_args: object) -> None:
        height = self._content_height()
        if self.height() != height:
            self.setFixedHeight(height)


class MessageBody(QWidget):
    """A message's text: one text view, or several stacked for a long reply.

    A long reply is shown in several views ("parts"), each holding about
    :data:`PART_HTML` characters of HTML: parsing and laying out one part fits in
    an event-loop turn, while a whole long reply would freeze the window. The
    first part is filled at once and the others one per turn. Text that streamed
    in stays until every part is ready, then they replace it in one turn.

    Text is selectable within a part; the message's Copy button copies all of it.

    Signals:
        link_clicked: A link in any part was clicked (the URL); it is followed.
        filled: Every part of the HTML last set is on screen.
    """

    link_clicked = Signal(QUrl)
    filled = Signal()

    def __init__(self, speaker: str, parent: QWidget | None = None) -> None:
        """Build an empty body for a message from ``speaker``."""
        super().__init__(parent)
        self.setObjectName("messageBody")
        self._speaker = speaker
        self.setAccessibleName(f"Message from {speaker}")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self.code_blocks: tuple[str, ...] = ()
        self._parts: list[AutoHeightBrowser] = []
        self._pending: tuple[str, ...] = ()  # HTML of the parts still to fill, in order
        self._incoming: list[AutoHeightBrowser] | None = None  # filled, shown all at once
        self._plain = False  # the parts show streamed plain text
        self._timer: QTimer | None = None  # made when a message first needs several parts
        self.link_clicked.connect(self._follow_link)
        self._add_part()
        self._name_parts()

    @property
    def parts(self) -> list[AutoHeightBrowser]:
        """The text views shown now, top to bottom."""
        return list(self._parts)

    @property
    def filling(self) -> bool:
        """True while parts are still being filled."""
        return bool(self._pending) or self._incoming is not None

    def toPlainText(self) -> str:
        """The text shown, all parts."""
        return "\n".join(part.toPlainText() for part in self._parts)

    def set_plain_text(self, text: str) -> None:
        """Show ``text`` as it streams in, in one view."""
        self._stop_filling()
        self._keep_parts(1)
        self._parts[0].setPlainText(text)
        self._plain = True
        self._name_parts()

    def append_plain_text(self, text: str) -> None:
        """Add ``text`` at the end of the streamed text."""
        cursor = self._parts[-1].textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(text)

    def set_html(self, parts: Sequence[str], code_blocks: tuple[str, ...]) -> None:
        """Show rendered ``parts``: the first in this turn, the others in the next turns.

        While streamed text is on screen and there are several parts, it stays
        until all are filled (off screen) and then they replace it at once.
        """
        self._stop_filling()
        self.code_blocks = code_blocks
        for part in self._parts:
            part.code_blocks = code_blocks
        pieces = tuple(parts) or ("",)
        if self._plain and len(pieces) > 1:
            self._incoming = []
            self._pending = pieces
            self._next_turn()
            return
        self._plain = False
        self._keep_parts(1)
        self._parts[0].setHtml(pieces[0])
        self._pending = pieces[1:]
        self._name_parts()
        if self._pending:
            self._next_turn()
        else:
            self.filled.emit()

    def _fill_next(self) -> None:
        if not self._pending:
            if self._incoming is not None:
                self._swap_in()
            return
        part = self._add_part(hidden=self._incoming is not None)
        part.setHtml(self._pending[0])
        self._pending = self._pending[1:]
        if self._incoming is not None:
            self._incoming.append(part)
        self._name_parts()
        if self._pending or self._incoming is not None:
            self._next_turn()
        else:
            self.filled.emit()

    def _swap_in(self) -> None:
        incoming, self._incoming = self._incoming or [], None
        self._keep_parts(0)
        self._parts = incoming
        self._plain = False
        for part in incoming:
            part.show()
        self._name_parts()
        self.filled.emit()

    def _add_part(self, *, hidden: bool = False) -> AutoHeightBrowser:
        part = AutoHeightBrowser(follow_links=False)
        part.setObjectName("messageBodyPart")
        part.code_blocks = self.code_blocks
        part.anchorClicked.connect(self.link_clicked)
        if self._parts:
            # Laid out once, for the width it will have, and never again.
            part.set_text_width(self._parts[0].lineWrapColumnOrWidth())
        if hidden:
            part.hide()
        else:
            self._parts.append(part)
        self._layout.addWidget(part)
        return part

    def _follow_link(self, url: QUrl) -> None:
        follow_link(url, self.code_blocks)

    def _keep_parts(self, count: int) -> None:
        for part in self._parts[count:]:
            self._layout.removeWidget(part)
            part.hide()
            part.deleteLater()
        del self._parts[count:]

    def _next_turn(self) -> None:
        if self._timer is None:
            self._timer = next_turn_timer(self, self._fill_next)
        self._timer.start()

    def _stop_filling(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._pending = ()
        for part in self._incoming or []:
            self._layout.removeWidget(part)
            part.deleteLater()
        self._incoming = None

    def _name_parts(self) -> None:
        # Parts still to come count too: a name never changes once given.
        count = len(self._parts) + (len(self._pending) if self._incoming is None else 0)
        for i, part in enumerate(self._parts, 1):
            name = f"Message from {self._speaker}"
            part.setAccessibleName(name if count == 1 else f"{name}, part {i} of {count}")


class MessageWidget(QFrame):
    """One user or assistant turn.

    Signals:
        retry_requested: The user asked to send a failed or interrupted turn again.
        continue_requested: The user asked to continue a reply cut at max_tokens.
        regenerate_requested: The user asked for another version of a reply.
        edit_requested: The user wants to edit this prompt and branch from it.
        version_requested: Show another version of this turn (turn, -1 or +1).
        remove_requested: The user wants a failed turn gone.
        rendered: The finished turn's text is on screen, fully rendered.
    """

    retry_requested = Signal(object)
    continue_requested = Signal(object)
    regenerate_requested = Signal(object)
    edit_requested = Signal(object)
    remove_requested = Signal(object)
    version_requested = Signal(object, int)
    rendered = Signal()

    def __init__(
        self,
        turn: Turn,
        thumbnails: list[QImage] | None = None,
        parent: QWidget | None = None,
        *,
        prerendered: RenderedTurn | None = None,
    ) -> None:
        """Build the widget for ``turn``; ``prerendered`` skips rendering it here."""
        super().__init__(parent)
        self.turn = turn
        self.setObjectName("userMessage" if turn.role == "user" else "assistantMessage")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._streamed = ""
        self._rendered_final = False
        self._render_task: asyncio.Future[None] | None = None
        self._awaiting_render = False
        self._prerendered = prerendered

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(4)

        header = QHBoxLayout()
        speaker = "You" if turn.role == "user" else "Claude"
        self._who = QLabel(f"<b>{speaker}</b>")
        self._who.setTextFormat(Qt.TextFormat.RichText)
        header.addWidget(self._who)
        header.addStretch(1)
        self._usage = QLabel()
        self._usage.setObjectName("usageLabel")
        self._usage.setAccessibleName("Token usage")
        self._usage.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        header.addWidget(self._usage)
        # Built on first use: most messages never need them, and a long
        # conversation has a thousand messages.
        self._header = header
        self._navigator: tuple[QToolButton, QLabel, QToolButton] | None = None
        self._action = QToolButton()
        if turn.role == "user":
            self._action.setText("Edit")
            self._action.setObjectName("editMessageButton")
            self._action.setAccessibleName("Edit this message and branch")
            self._action.setToolTip("Edit and send again: a new branch, the old one is kept")
            self._action.clicked.connect(lambda: self.edit_requested.emit(self.turn))
        else:
            self._action.setText("Regenerate")
            self._action.setObjectName("regenerateButton")
            self._action.setAccessibleName("Regenerate this reply")
            self._action.setToolTip("Ask again: a new version, the old one is kept")
            self._action.clicked.connect(lambda: self.regenerate_requested.emit(self.turn))
        header.addWidget(self._action)
        self._copy = QToolButton()
        self._copy.setText("Copy")
        self._copy.setObjectName("copyMessageButton")
        self._copy.setAccessibleName(f"Copy message from {speaker}")
        self._copy.setToolTip("Copy the whole message")
        self._copy.clicked.connect(self._on_copy_clicked)
        header.addWidget(self._copy)
        layout.addLayout(header)

        self.thumbnails = list(thumbnails or [])
        if thumbnails:
            row = QHBoxLayout()
            for image in thumbnails:
                label = QLabel()
                label.setAccessibleName("Attached image")
                label.setPixmap(
                    QPixmap.fromImage(image).scaled(
                        THUMBNAIL_SIZE,
                        THUMBNAIL_SIZE,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                )
                row.addWidget(label)
            row.addStretch(1)
            layout.addLayout(row)

        self._thinking_button = QToolButton()
        self._thinking_button.setObjectName("thinkingToggle")
        self._thinking_button.setAccessibleName("Show thinking")
        self._thinking_button.setCheckable(True)
        self._thinking_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._thinking_button.setArrowType(Qt.ArrowType.RightArrow)
        self._thinking_button.setText("Thinking")
        self._thinking_button.toggled.connect(self._on_thinking_toggled)
        self._thinking_button.hide()
        layout.addWidget(self._thinking_button)
        # Built only for replies that have thinking: a text browser is not cheap,
        # and a long conversation has many messages.
        self._thinking: AutoHeightBrowser | None = None
        # Filled when first shown: thinking is often long, and mostly never opened.
        self._thinking_html = ""

        self.body = MessageBody(speaker)
        self.body.filled.connect(self._on_body_filled)
        layout.addWidget(self.body)

        self._notes = QLabel()
        self._notes.setObjectName("imageNotes")
        self._notes.setWordWrap(True)
        self._notes.hide()
        layout.addWidget(self._notes)

        notice_row = QHBoxLayout()
        self.notice = QLabel()
        self.notice.setObjectName("turnNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        notice_row.addWidget(self.notice, 1)
        self._notice_row = notice_row
        self._buttons: dict[str, QPushButton] = {}
        layout.addLayout(notice_row)

        self.refresh()

    # -- rendering ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Bring the widget up to date with its turn."""
        turn = self.turn
        if turn.status is TurnStatus.STREAMING:
            self._show_streaming()
        else:
            self._show_final()
        self._usage.setText(format_usage(turn))
        # No new version while a reply is being written.
        self._action.setEnabled(turn.status is not TurnStatus.STREAMING)
        self._show_notice()

    @property
    def rendering(self) -> bool:
        """True while the final text is still being rendered or filled in."""
        return self._awaiting_render or self.body.filling

    def set_versions(self, version: int, versions: int) -> None:
        """Show ``‹ version/versions ›`` when the turn has more than one version."""
        shown = versions > 1
        if self._navigator is None:
            if not shown:
                return
            self._navigator = self._make_navigator()
        older, label, newer = self._navigator
        label.setText(f"{version}/{versions}")
        label.setAccessibleName(f"Version {version} of {versions}")
        for widget in (older, label, newer):
            widget.setVisible(shown)
        older.setEnabled(version > 1)
        newer.setEnabled(version < versions)

    def _make_navigator(self) -> tuple[QToolButton, QLabel, QToolButton]:
        older = QToolButton()
        older.setObjectName("olderVersionButton")
        older.setText("‹")
        older.setAccessibleName("Previous version")
        older.clicked.connect(lambda: self.version_requested.emit(self.turn, -1))
        label = QLabel()
        label.setObjectName("versionLabel")
        newer = QToolButton()
        newer.setObjectName("newerVersionButton")
        newer.setText("›")
        newer.setAccessibleName("Next version")
        newer.clicked.connect(lambda: self.version_requested.emit(self.turn, 1))
        # Before the usage label, the Edit/Regenerate and Copy buttons.
        position = self._header.indexOf(self._usage)
        for offset, widget in enumerate((older, label, newer)):
            self._header.insertWidget(position + offset, widget)
        return older, label, newer

    @property
    def version_text(self) -> str:
        """``2/3`` when the turn has versions, else ``""``."""
        return self._navigator[1].text() if self._navigator is not None else ""

    def show_version(self, step: int) -> None:
        """Press ‹ (-1) or › (+1)."""
        if self._navigator is not None:
            (self._navigator[0] if step < 0 else self._navigator[2]).click()

    def set_countdown(self, seconds: float | None, reason: str = "") -> None:
        """Show (or clear, with None) a visible retry countdown on this turn."""
        if seconds is None:
            self._show_notice()
            return
        self.notice.setText(f"{reason} Retrying in {math.ceil(seconds)} s…".strip())
        self.notice.show()

    def _show_streaming(self) -> None:
        text = self.turn.text
        if not self._streamed and not text:
            self.body.set_plain_text("…")
            return
        if text.startswith(self._streamed) and self._streamed:
            # Append only what is new: a long reply stays cheap to stream.
            self.body.append_plain_text(text[len(self._streamed) :])
        else:
            self.body.set_plain_text(text)
        self._streamed = text

    def restyle(self) -> None:
        """Render a finished message again, for a palette that turned light or dark."""
        if not self._rendered_final or self.turn.status is TurnStatus.STREAMING:
            return  # rendered with the current palette once it finishes
        self._prerendered = None
        self._rendered_final = False
        self._show_final()

    def _show_final(self) -> None:
        if self._rendered_final:
            return
        self._rendered_final = True
        turn = self.turn
        dark = is_dark(self)
        if self._prerendered is not None:
            self._apply(self._prerendered)
            self._prerendered = None
            return
        if len(turn.text) < LARGE_MESSAGE:
            self._apply(build_html(turn, dark))
            return
        # A long reply is rendered in a worker thread, so finishing it never
        # freezes the window; the streamed plain text stays until then. Only
        # pure Python runs there: PySide keeps the GIL while a QTextDocument
        # parses HTML, so parsing in a worker would stall this thread as much.
        with contextlib.suppress(RuntimeError):  # no running loop: render here
            asyncio.get_running_loop()
            self._awaiting_render = True
            self._render_task = asyncio.ensure_future(self._render_off_thread(turn, dark))
            return
        self._apply(build_html(turn, dark))

    async def _render_off_thread(self, turn: Turn, dark: bool) -> None:
        try:
            rendered = await asyncio.to_thread(build_html, turn, dark)
        finally:
            if shiboken6.isValid(self):
                self._awaiting_render = False
        if shiboken6.isValid(self):
            self._apply(rendered)

    def _apply(self, rendered: RenderedTurn) -> None:
        parts = rendered.parts
        if not any(parts):
            parts = (escape_plain(self.turn.text),)
        self.body.set_html(parts, rendered.code_blocks)
        if rendered.thinking:
            if self._thinking is None:
                self._thinking = AutoHeightBrowser()
                self._thinking.setAccessibleName("Thinking")
                self._thinking.hide()
                layout = self.layout()
                assert isinstance(layout, QVBoxLayout)
                layout.insertWidget(layout.indexOf(self._thinking_button) + 1, self._thinking)
            self._thinking_html = "<br><br>".join(escape_plain(t) for t in rendered.thinking)
            self._thinking_button.show()
        if self.turn.notes:
            self._notes.setText(" · ".join(self.turn.notes))
            self._notes.show()

    def _show_notice(self) -> None:
        turn = self.turn
        message = turn.message
        text = ""
        retry = continue_ = False
        if turn.status is TurnStatus.FAILED:
            text = turn.error or "The request failed."
            retry = True
        elif turn.status is TurnStatus.INTERRUPTED:
            text = turn.error or "The reply was interrupted; what arrived is kept."
            retry = True
        elif turn.status is TurnStatus.STOPPED:
            text = "Stopped. What arrived is kept."
        elif message is not None and turn.status is TurnStatus.DONE:
            if message.stop_reason == "refusal":
                details = message.stop_details or {}
                why = details.get("explanation") or "the request was declined for safety reasons"
                text = f"Claude declined to answer: {why}"
            elif message.stop_reason == "max_tokens":
                text = "The reply reached the max tokens limit."
                continue_ = True
            elif message.stop_reason == "model_context_window_exceeded":
                text = "The conversation is longer than the model's context window."
            elif message.stop_reason == "pause_turn":
                text = "The model paused a long turn."
                continue_ = True
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
        for name, wanted in (
            ("retry", retry),
            ("remove", turn.status is TurnStatus.FAILED),
            ("continue", continue_),
        ):
            if wanted or name in self._buttons:
                self._button(name).setVisible(wanted)

    _BUTTONS: ClassVar[dict[str, tuple[str, str, str]]] = {
        "retry": ("Retry", "retryButton", "Retry this message"),
        "remove": ("Remove", "removeTurnButton", "Remove this message"),
        "continue": ("Continue", "continueButton", "Continue the reply"),
    }

    def _button(self, name: str) -> QPushButton:
        button = self._buttons.get(name)
        if button is None:
            text, object_name, accessible = self._BUTTONS[name]
            button = QPushButton(text)
            button.setObjectName(object_name)
            button.setAccessibleName(accessible)
            signal = {
                "retry": self.retry_requested,
                "remove": self.remove_requested,
                "continue": self.continue_requested,
            }[name]
            button.clicked.connect(lambda: signal.emit(self.turn))
            button.hide()
            self._notice_row.addWidget(button)
            self._buttons[name] = button
        return button

    @property
    def retry_button(self) -> QPushButton:
        """The Retry button (made on first use)."""
        return self._button("retry")

    @property
    def remove_button(self) -> QPushButton:
        """The Remove button (made on first use)."""
        return self._button("remove")

    @property
    def continue_button(self) -> QPushButton:
        """The Continue button (made on first use)."""
        return self._button("continue")

    # -- actions -------------------------------------------------------------------------------

    def _on_body_filled(self) -> None:
        if self._rendered_final and not self.rendering:
            self.rendered.emit()

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.turn.text)

    def _on_thinking_toggled(self, shown: bool) -> None:
        if self._thinking is not None:
            if shown and self._thinking.document().isEmpty():
                self._thinking.setHtml(self._thinking_html)
            self._thinking.setVisible(shown)
        self._thinking_button.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        self._thinking_button.setAccessibleName("Hide thinking" if shown else "Show thinking")
