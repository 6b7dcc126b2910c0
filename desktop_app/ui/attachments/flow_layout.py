"""``FlowLayout``: widgets side by side, wrapping onto a new row when the width runs out."""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget, QWidgetItem


class FlowLayout(QLayout):
    """Lays its items out left to right in rows, like words in a paragraph.

    A row is as tall as its tallest item; the layout's height depends on its width,
    so a box layout above it asks :meth:`heightForWidth`.
    """

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        """Build an empty layout with ``spacing`` px between items and rows."""
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self.setContentsMargins(0, 0, 0, 0)

    # -- the items -------------------------------------------------------------------------

    def addItem(self, item: QLayoutItem) -> None:
        """Append ``item`` (called by ``addWidget``)."""
        self._items.append(item)

    def insertWidget(self, index: int, widget: QWidget) -> None:
        """Put ``widget`` at ``index`` (the end when out of range)."""
        self.addChildWidget(widget)
        position = index if 0 <= index <= len(self._items) else len(self._items)
        self._items.insert(position, QWidgetItem(widget))
        self.invalidate()

    def count(self) -> int:
        """Number of items."""
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        """The item at ``index``, or None."""
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        """Remove and return the item at ``index``, or None."""
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    # -- geometry --------------------------------------------------------------------------

    def expandingDirections(self) -> Qt.Orientation:
        """Never asks for more room than its items need."""
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        """The height depends on the width: narrower means more rows."""
        return True

    def heightForWidth(self, width: int) -> int:
        """The height the items need when laid out ``width`` px wide."""
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        """Place the items inside ``rect``."""
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        """As wide as every item in one row would need, as tall as the tallest item."""
        margins: QMargins = self.contentsMargins()
        visible = [i.sizeHint() for i in self._items if not i.isEmpty()]
        width = sum(s.width() for s in visible) + self._gap * max(0, len(visible) - 1)
        height = max((s.height() for s in visible), default=0)
        return QSize(
            width + margins.left() + margins.right(), height + margins.top() + margins.bottom()
        )

    def minimumSize(self) -> QSize:
        """Room for the widest item, one per row."""
        size = QSize()
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        margins: QMargins = self.contentsMargins()
        return size.grownBy(margins)

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        margins: QMargins = self.contentsMargins()
        area = rect.marginsRemoved(margins)
        x, y = area.x(), area.y()
        row_height = 0
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint()
            if item.hasHeightForWidth():
                # A chip with a wrapped line of text is taller at its own width.
                hint.setHeight(max(hint.height(), item.heightForWidth(hint.width())))
            if x > area.x() and x + hint.width() > area.right() + 1:
                x = area.x()
                y += row_height + self._gap
                row_height = 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._gap
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + margins.bottom()
