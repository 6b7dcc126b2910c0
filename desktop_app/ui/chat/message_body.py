"""The text of a message: auto-height rich-text views, one or several per message."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QMimeData, QSizeF, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAccessible,
    QAccessibleAnnouncementEvent,
    QDesktopServices,
    QGuiApplication,
    QResizeEvent,
    QTextBlockFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QTextEdit, QVBoxLayout, QWidget

from desktop_app.core.render.breaks import break_long_runs, unbreak
from desktop_app.core.render.markdown import COPIED_LABEL, COPY_LABEL, COPY_SCHEME
from desktop_app.ui.chat import message_accessible
from desktop_app.ui.throttle import next_turn_timer

# Line height of running text, in percent of the font's own line spacing: a little
# air between lines makes long replies easier to read. Code keeps its own.
LINE_HEIGHT = 135
_TEXT_STYLE = f"p, li, blockquote {{ line-height: {LINE_HEIGHT}%; }}"
# How long a copy link says "Copied" after a click.
COPIED_MS = 1500

# What a mail link may ask the mail program to fill in. Anything else (attach=,
# attachment=, cc=, bcc= ...) is dropped: a message must not attach local files
# or add hidden recipients to a mail the user sends.
_MAILTO_FIELDS = ("subject", "body")


def safe_mailto(url: QUrl) -> QUrl:
    """``url`` with only its address and its first subject and body kept."""
    encoded = QUrl.ComponentFormattingOption.FullyEncoded
    kept: dict[str, str] = {}
    for item in url.query(encoded).split("&"):
        key, _sep, value = item.partition("=")
        name = key.lower()
        if name in _MAILTO_FIELDS and name not in kept:
            kept[name] = value
    query = "&".join(f"{name}={kept[name]}" for name in _MAILTO_FIELDS if name in kept)
    safe = QUrl()
    safe.setScheme("mailto")
    safe.setPath(url.path(encoded), QUrl.ParsingMode.StrictMode)
    if query:
        safe.setQuery(query, QUrl.ParsingMode.StrictMode)
    return safe


def announce(widget: QWidget, text: str) -> None:
    """Have screen readers say ``text`` (politely), on behalf of ``widget``."""
    QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(widget, text))


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
    elif scheme in ("http", "https"):
        QDesktopServices.openUrl(url)
    elif scheme == "mailto":
        QDesktopServices.openUrl(safe_mailto(url))


class AutoHeightBrowser(QTextBrowser):
    """A read-only, selectable rich-text view as tall as its content.

    Links never navigate inside it: copy links copy, web links open in the system
    browser only when clicked, and remote resources are never fetched. With
    ``follow_links`` off, clicks are only reported by ``anchorClicked``.
    """

    def __init__(self, parent: QWidget | None = None, *, follow_links: bool = True) -> None:
        """Build the browser."""
        super().__init__(parent)
        # Screen readers get its words without the document's table markers.
        message_accessible.serve(AutoHeightBrowser)
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
        self.document().setDefaultStyleSheet(_TEXT_STYLE)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.code_blocks: tuple[str, ...] = ()
        self._sideways = False
        self.anchorClicked.connect(self._on_anchor)
        if follow_links:
            self.anchorClicked.connect(self._follow_link)
        # A fixed height, always that of the document, is all layouts need: no
        # sizeHint override, which would call into Python on every layout pass.
        self._fit()

    def set_plain_text(self, text: str) -> None:
        """Show ``text`` as it is, with the line height of rendered text."""
        self.setPlainText(text)
        cursor = QTextCursor(self.document())
        cursor.select(QTextCursor.SelectionType.Document)
        spacing = QTextBlockFormat()
        spacing.setLineHeight(
            LINE_HEIGHT, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value
        )
        # New lines typed at the end (streamed text) take the format of the last one.
        cursor.mergeBlockFormat(spacing)

    def show_copied(self, href: str) -> bool:
        """Say "Copied" on the copy link ``href`` for a moment; False if it is not here."""
        if not self._relabel(href, COPY_LABEL, COPIED_LABEL):
            return False
        announce(self, "Copied")
        QTimer.singleShot(COPIED_MS, self, lambda: self._relabel(href, COPIED_LABEL, COPY_LABEL))
        return True

    def link_label(self, href: str) -> str:
        """The text of the link to ``href`` (``Copy``, say), or ``""``."""
        found = self._find_link(href)
        return found[2] if found is not None else ""

    def _find_link(self, href: str) -> tuple[int, int, str] | None:
        block = self.document().begin()
        while block.isValid():
            fragments = block.begin()
            while not fragments.atEnd():
                fragment = fragments.fragment()
                if fragment.isValid() and fragment.charFormat().anchorHref() == href:
                    return fragment.position(), fragment.length(), fragment.text()
                fragments += 1
            block = block.next()
        return None

    def _relabel(self, href: str, old: str, new: str) -> bool:
        found = self._find_link(href)
        if found is None or found[2] != old:
            return False  # the text was set again meanwhile
        position, length, _text = found
        cursor = QTextCursor(self.document())
        cursor.setPosition(position + 1)  # the format of the link's own text
        link_format = cursor.charFormat()
        cursor.setPosition(position)
        cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(new, link_format)
        return True

    def set_text_width(self, width: int) -> None:
        """Lay the text out for a view ``width`` pixels wide (before it is shown, say)."""
        if width > 0 and width != self.lineWrapColumnOrWidth():
            self.setLineWrapColumnOrWidth(width)
            self._fit()

    def createMimeDataFromSelection(self) -> QMimeData:
        """Copy a selection without the break opportunities added for display."""
        mime = super().createMimeDataFromSelection()
        if mime.hasHtml():
            mime.setHtml(unbreak(mime.html()))
        if mime.hasText():
            mime.setText(unbreak(mime.text()))
        return mime

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

    @property
    def scrolls_sideways(self) -> bool:
        """True when the text is wider than the view and scrolls sideways in it."""
        return self._sideways

    def _follow_link(self, url: QUrl) -> None:
        follow_link(url, self.code_blocks)

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab to the next link in the text (Qt's), and say which it is.

        Qt selects a link reached with Tab but tells screen readers nothing of it,
        so the link is announced.
        """
        moved = super().focusNextPrevChild(next)
        if moved and self.hasFocus():
            cursor = self.textCursor()
            inside = QTextCursor(self.document())
            inside.setPosition(cursor.selectionStart() + 1)
            if cursor.hasSelection() and inside.charFormat().isAnchor():
                announce(self, f"Link: {unbreak(cursor.selectedText())}")
        return moved

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == COPY_SCHEME:
            self.show_copied(url.toString())

    def _fit(self, *_args: object) -> None:
        height = self._content_height()
        # Text wraps to the view's width; only a table with more columns than fit
        # can be wider. It then scrolls sideways inside the view, never cut off.
        wrap = self.lineWrapColumnOrWidth()
        sideways = wrap > 0 and self.document().size().width() > wrap + 0.5
        if sideways != self._sideways:
            self._sideways = sideways
            self.setHorizontalScrollBarPolicy(
                Qt.ScrollBarPolicy.ScrollBarAlwaysOn
                if sideways
                else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
            )
        if sideways:
            height += self.horizontalScrollBar().sizeHint().height()
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
        self._run = 0  # length of the unbroken run the streamed text ends with
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

    def ideal_width(self, width: int) -> float:
        """The width the text needs when it may be ``width`` pixels wide.

        Measured on copies, so the views shown are not laid out again.
        """
        best = 0.0
        for part in self._parts:
            original = part.document()
            copy = original.clone()
            copy.setDocumentMargin(original.documentMargin())  # not copied by clone()
            copy.setTextWidth(width)
            best = max(best, copy.idealWidth())
        return best

    def set_plain_text(self, text: str) -> None:
        """Show ``text`` as it streams in, in one view."""
        self._stop_filling()
        self._keep_parts(1)
        shown, self._run = break_long_runs(text)
        self._parts[0].set_plain_text(shown)
        self._plain = True
        self._name_parts()

    def append_plain_text(self, text: str) -> None:
        """Add ``text`` at the end of the streamed text."""
        # A run that continues across pieces is broken where it passes the limit.
        shown, self._run = break_long_runs(text, carry=self._run)
        cursor = self._parts[-1].textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(shown)

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
        # Focused by a click (to select and copy) or by Tab through the message,
        # which keeps its own order; never a stop on the window's chain.
        part.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
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
