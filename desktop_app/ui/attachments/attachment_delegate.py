"""``AttachmentDelegate``: how one attachment row is painted: thumbnail, facts or error."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from desktop_app.ui.attachments.attachment_model import AttachmentRole, AttachmentStatus

_THUMB_BOX = 64
_PADDING = 6
_TEXT_LINES = 4


def error_colour(palette: QPalette) -> QColor:
    """A red that reads well on the palette's base colour, light or dark."""
    dark = palette.color(QPalette.ColorRole.Base).lightnessF() < 0.5
    return QColor.fromHslF(0.0, 0.75, 0.72 if dark else 0.4)


class AttachmentDelegate(QStyledItemDelegate):
    """Paints a thumbnail and the facts of one attachment, or its error."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        """Draw one attachment."""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget: QWidget | None = opt.widget  # None when painted outside a view
        style = widget.style() if widget is not None else QApplication.style()
        # The style paints the background, selection and focus; the content is ours.
        opt.text = ""
        # An icon left in the option is still drawn for selected rows, into an empty rect.
        opt.icon = QIcon()
        opt.features &= ~QStyleOptionViewItem.ViewItemFeature.HasDecoration
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)

        palette: QPalette = opt.palette
        state: QStyle.StateFlag = opt.state
        rect: QRect = opt.rect.adjusted(_PADDING, _PADDING, -_PADDING, -_PADDING)
        group = (
            QPalette.ColorGroup.Normal
            if state & QStyle.StateFlag.State_Enabled
            else QPalette.ColorGroup.Disabled
        )
        selected = bool(state & QStyle.StateFlag.State_Selected)
        primary = palette.color(
            group,
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text,
        )
        secondary = (
            primary if selected else palette.color(group, QPalette.ColorRole.PlaceholderText)
        )

        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        box = QRect(rect.left(), rect.top(), _THUMB_BOX, _THUMB_BOX)
        thumbnail = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(thumbnail, QImage) and not thumbnail.isNull():
            size = thumbnail.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(box.center())
            painter.drawImage(target, thumbnail)
        else:
            painter.setPen(QPen(palette.color(group, QPalette.ColorRole.Mid), 1))
            painter.drawRect(box.adjusted(0, 0, -1, -1))

        text_rect = rect.adjusted(_THUMB_BOX + _PADDING, 0, 0, 0)
        base_font: QFont = opt.font
        metrics = QFontMetrics(base_font)
        line = metrics.lineSpacing()
        bold = QFont(base_font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(primary)
        name = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        painter.drawText(
            QRect(text_rect.left(), text_rect.top(), text_rect.width(), line),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            QFontMetrics(bold).elidedText(name, Qt.TextElideMode.ElideMiddle, text_rect.width()),
        )
        painter.setFont(base_font)
        rest = text_rect.adjusted(0, line, 0, 0)
        status = index.data(AttachmentRole.STATUS)
        if status is AttachmentStatus.FAILED:
            painter.setPen(primary if selected else error_colour(palette))
            painter.setClipRect(rest)
            painter.drawText(
                rest,
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                str(index.data(AttachmentRole.ERROR) or ""),
            )
        elif status is AttachmentStatus.READY:
            rows = [
                (str(index.data(AttachmentRole.DIMENSIONS) or ""), primary),
                (str(index.data(AttachmentRole.DETAILS) or ""), primary),
                (str(index.data(AttachmentRole.NOTES) or ""), secondary),
            ]
            for offset, (text, colour) in enumerate(rows):
                painter.setPen(colour)
                painter.drawText(
                    QRect(rest.left(), rest.top() + offset * line, rest.width(), line),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                    metrics.elidedText(text, Qt.TextElideMode.ElideRight, rest.width()),
                )
        else:
            painter.setPen(secondary)
            painter.drawText(
                QRect(rest.left(), rest.top(), rest.width(), line),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                "Preparing\u2026",
            )
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        """Room for the thumbnail and four lines of text."""
        metrics = QFontMetrics(option.font)
        height = max(_THUMB_BOX, _TEXT_LINES * metrics.lineSpacing()) + 2 * _PADDING
        return QSize(_THUMB_BOX + 3 * _PADDING + 30 * metrics.averageCharWidth(), height)
