"""``ConversationDelegate``: how a row of the conversation list is drawn.

A conversation is one line: its title, cut with an ellipsis, and the time or date
small on the right. A search hit adds its snippet, the matched words in bold. A
date heading is small muted text. Every colour comes from the palette, so the list
reads in light and dark themes alike.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QPen,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from desktop_app.ui.history.conversation_list_model import (
    MATCH_MARKS,
    ConversationRole,
    RowKind,
)

#: Gap between a row's rounded background and the list's edges.
MARGIN = 4
#: Space inside a row's background around its text.
PAD_X = 8
PAD_Y = 6
#: Room kept for the row's buttons, so a heading-free row is never shorter than they are.
BUTTON_HEIGHT = 24
_RADIUS = 6.0
_SNIPPET_LINES = 2
_Index = QModelIndex | QPersistentModelIndex


def small_font(font: QFont) -> QFont:
    """``font`` a step smaller: the time on a row, headings, snippets."""
    small = QFont(font)
    if font.pointSizeF() > 0:
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.86))
    elif font.pixelSize() > 0:
        small.setPixelSize(max(8, round(font.pixelSize() * 0.86)))
    return small


def mixed(a: QColor, b: QColor, amount: float) -> QColor:
    """``a`` moved ``amount`` (0 to 1) of the way towards ``b``."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * amount,
        a.greenF() + (b.greenF() - a.greenF()) * amount,
        a.blueF() + (b.blueF() - a.blueF()) * amount,
        a.alphaF() + (b.alphaF() - a.alphaF()) * amount,
    )


def marked_ranges(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` without the match marks, and the (start, length) of each marked part."""
    start_mark, end_mark = MATCH_MARKS
    plain: list[str] = []
    ranges: list[tuple[int, int]] = []
    opened: int | None = None
    length = 0
    for char in text:
        if char == start_mark:
            opened = length
        elif char == end_mark:
            if opened is not None and length > opened:
                ranges.append((opened, length - opened))
            opened = None
        else:
            plain.append(char)
            length += 1
    return "".join(plain), ranges


def one_line(text: str) -> str:
    """``text`` with every run of white space (line breaks too) as one space."""
    return " ".join(text.split())


class ConversationDelegate(QStyledItemDelegate):
    """Draws headings, conversations and search hits; edits titles in place."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """Draw rows for the list ``parent``."""
        super().__init__(parent)
        #: Width kept free at a row's right end for the buttons shown over it.
        self.reserved_width: Callable[[_Index], int] = lambda _index: 0

    # -- sizes ---------------------------------------------------------------------------------

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        """A heading's, a conversation's or a hit's height; the width is the list's."""
        font = option.font
        metrics = QFontMetrics(font)
        small = QFontMetrics(small_font(font))
        kind = index.data(ConversationRole.KIND)
        if kind == RowKind.HEADER:
            top = PAD_Y if index.row() == 0 else 3 * PAD_Y
            height = top + QFontMetrics(_heading_font(font)).height() + PAD_Y // 2
        elif kind == RowKind.HIT:
            height = 2 * PAD_Y + metrics.height() + 2 + _SNIPPET_LINES * small.lineSpacing()
        else:
            height = 2 * PAD_Y + max(metrics.height(), BUTTON_HEIGHT - PAD_Y)
        return QSize(100, height)

    # -- painting ------------------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """Draw the row at ``index``."""
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        kind = index.data(ConversationRole.KIND)
        if kind == RowKind.HEADER:
            self._paint_header(painter, option, index)
        else:
            self._paint_item(painter, option, index, kind == RowKind.HIT)
        painter.restore()

    def _paint_header(
        self, painter: QPainter, option: QStyleOptionViewItem, index: _Index
    ) -> None:
        rect: QRect = option.rect
        palette: QPalette = option.palette
        font = _heading_font(option.font)
        painter.setFont(font)
        painter.setPen(_muted(palette, selected=False))
        text_rect = rect.adjusted(MARGIN + PAD_X, 0, -MARGIN - PAD_X, -PAD_Y // 2)
        text = QFontMetrics(font).elidedText(
            str(index.data()), Qt.TextElideMode.ElideRight, text_rect.width()
        )
        painter.drawText(
            text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, text
        )

    def _paint_item(
        self, painter: QPainter, option: QStyleOptionViewItem, index: _Index, hit: bool
    ) -> None:
        rect: QRect = option.rect
        palette: QPalette = option.palette
        state: QStyle.StateFlag = option.state
        font: QFont = option.font
        selected = bool(state & QStyle.StateFlag.State_Selected)
        reserved = self.reserved_width(index)
        hovered = bool(state & QStyle.StateFlag.State_MouseOver) or reserved > 0
        group = (
            QPalette.ColorGroup.Active
            if state & QStyle.StateFlag.State_Active
            else QPalette.ColorGroup.Inactive
        )
        background = QRectF(rect.adjusted(MARGIN, 1, -MARGIN, -1))
        painter.setPen(Qt.PenStyle.NoPen)
        if selected:
            painter.setBrush(palette.color(group, QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(background, _RADIUS, _RADIUS)
        elif hovered:
            shade = QColor(palette.color(QPalette.ColorRole.Text))
            shade.setAlphaF(0.08)
            painter.setBrush(shade)
            painter.drawRoundedRect(background, _RADIUS, _RADIUS)
        if state & QStyle.StateFlag.State_HasFocus:
            # Where the keyboard is, drawn over the selection too.
            ring = QColor(
                palette.color(group, QPalette.ColorRole.HighlightedText)
                if selected
                else palette.color(group, QPalette.ColorRole.Highlight)
            )
            if selected:
                ring.setAlphaF(0.6)
            painter.setPen(QPen(ring, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(background.adjusted(1, 1, -1, -1), _RADIUS - 1, _RADIUS - 1)

        text_colour = palette.color(
            group, QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        title_rect, when_rect, when = self._layout(option, index, hit)
        if when:
            painter.setFont(small_font(font))
            painter.setPen(_muted(palette, selected, group))
            painter.drawText(
                when_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, when
            )
        painter.setFont(font)
        painter.setPen(text_colour)
        painter.drawText(
            title_rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self.displayed_title(option, index),
        )
        content = rect.adjusted(MARGIN + PAD_X, PAD_Y, -MARGIN - PAD_X, -PAD_Y)
        if hit:
            painter.setPen(mixed(text_colour, _muted(palette, selected, group), 0.35))
            self._paint_snippet(
                painter,
                small_font(font),
                str(index.data(ConversationRole.SNIPPET) or ""),
                QRect(
                    content.left(),
                    title_rect.bottom() + 3,
                    content.width(),
                    content.bottom() - title_rect.bottom() - 2,
                ),
            )

    def _layout(
        self, option: QStyleOptionViewItem, index: _Index, hit: bool
    ) -> tuple[QRect, QRect, str]:
        """Where the title goes, where the time goes, and the time's text ("" for none)."""
        rect: QRect = option.rect
        font: QFont = option.font
        metrics = QFontMetrics(font)
        content = rect.adjusted(MARGIN + PAD_X, PAD_Y, -MARGIN - PAD_X, -PAD_Y)
        reserved = self.reserved_width(index)
        # The buttons over a row take the time's place.
        when = "" if hit or reserved else str(index.data(ConversationRole.WHEN) or "")
        when_rect = QRect()
        right = reserved
        if when:
            when_width = QFontMetrics(small_font(font)).horizontalAdvance(when)
            when_rect = QRect(
                content.right() - when_width + 1, content.top(), when_width, content.height()
            )
            right = when_width + PAD_X
        title_rect = QRect(
            content.left(), content.top(), content.width() - right, metrics.height()
        )
        if not hit:
            title_rect.moveTop(content.top() + (content.height() - metrics.height()) // 2)
        return title_rect, when_rect, when

    def displayed_title(self, option: QStyleOptionViewItem, index: _Index) -> str:
        """The title as the row shows it: one line, cut with an ellipsis to fit."""
        hit = index.data(ConversationRole.KIND) == RowKind.HIT
        title_rect, _when_rect, _when = self._layout(option, index, hit)
        title = one_line(str(index.data(ConversationRole.TITLE) or ""))
        metrics = QFontMetrics(option.font)
        return metrics.elidedText(title, Qt.TextElideMode.ElideRight, max(0, title_rect.width()))

    def _paint_snippet(self, painter: QPainter, font: QFont, snippet: str, rect: QRect) -> None:
        text, ranges = marked_ranges(one_line(snippet))
        layout = QTextLayout(text, font)
        bold = QTextCharFormat()
        bold.setFontWeight(QFont.Weight.Bold)
        formats = []
        for start, length in ranges:
            part = QTextLayout.FormatRange()
            part.start, part.length, part.format = start, length, bold
            formats.append(part)
        layout.setFormats(formats)
        wrap = QTextOption()
        wrap.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(wrap)
        ellipsis = "…"
        ellipsis_width = QFontMetrics(font).horizontalAdvance(ellipsis)
        layout.beginLayout()
        y = 0.0
        last = None
        for number in range(_SNIPPET_LINES):
            line = layout.createLine()
            if not line.isValid():
                break
            final = number == _SNIPPET_LINES - 1
            line.setLineWidth(max(1, rect.width() - (ellipsis_width if final else 0)))
            line.setPosition(QPointF(0, y))
            y += line.height()
            last = line
        layout.endLayout()
        layout.draw(painter, QPointF(rect.topLeft()))
        if last is not None and last.textStart() + last.textLength() < len(text):
            painter.setFont(font)
            painter.drawText(
                QPointF(
                    rect.left() + last.naturalTextWidth(), rect.top() + last.y() + last.ascent()
                ),
                ellipsis,
            )

    # -- renaming ------------------------------------------------------------------------------

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: _Index
    ) -> QWidget:
        """A one-line field for the new title."""
        editor = QLineEdit(parent)
        editor.setObjectName("conversationTitleEditor")
        editor.setAccessibleName("Conversation title")
        editor.setMaxLength(500)
        return editor

    def setEditorData(self, editor: QWidget, index: _Index) -> None:
        """Start from the current title, all of it selected."""
        if isinstance(editor, QLineEdit):
            editor.setText(str(index.data(Qt.ItemDataRole.EditRole) or ""))
            editor.selectAll()

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: _Index) -> None:
        """Hand the edited title to the model (which ignores a blank one)."""
        if isinstance(editor, QLineEdit):
            model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(
        self, editor: QWidget, option: QStyleOptionViewItem, index: _Index
    ) -> None:
        """Over the row's text, inside its background."""
        rect: QRect = option.rect
        editor.setGeometry(rect.adjusted(MARGIN + 2, 2, -MARGIN - 2, -2))


def _heading_font(font: QFont) -> QFont:
    heading = small_font(font)
    heading.setWeight(QFont.Weight.DemiBold)
    return heading


def _muted(
    palette: QPalette, selected: bool, group: QPalette.ColorGroup = QPalette.ColorGroup.Active
) -> QColor:
    """Secondary text: the text colour moved towards the background."""
    if selected:
        return mixed(
            palette.color(group, QPalette.ColorRole.HighlightedText),
            palette.color(group, QPalette.ColorRole.Highlight),
            0.3,
        )
    return mixed(
        palette.color(group, QPalette.ColorRole.Text),
        palette.color(group, QPalette.ColorRole.Base),
        0.42,
    )
