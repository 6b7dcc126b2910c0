"""What screen readers get from the text of a message: its words, without the document's markers.

Qt's own accessibility for a text view hands out the document's raw characters:
each table cell (a code block is a table too) starts with U+FDD0, a table ends
with U+FDD1, and a line break inside a paragraph is U+2028. A screen reader then
reads the cells of a row run together and shows the markers in braille.

The interface here is Qt's, with that one difference: the same characters, one
for one, so every offset, caret position and character rectangle stays where Qt
has it, with each marker as the white space it stands for: a tab between the
cells of a row, a line break before a row and after a table, a line break for
U+2028 and U+2029. Headings, lists and links stay text (Qt's text views give
them no objects of their own); their words come out clean.

Selections are not reported: the call that reports one has output arguments,
which PySide cannot implement in Python.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, QPoint, QRect
from PySide6.QtGui import (
    QAccessible,
    QAccessibleInterface,
    QAccessibleTextInterface,
    QTextCursor,
    QTextDocument,
    QTextFrame,
    QTextTable,
)
from PySide6.QtWidgets import QAccessibleWidget, QTextEdit

_SEPARATORS = {0x2028: "\n", 0x2029: "\n", 0xFDD0: "\n", 0xFDD1: "\n"}

_served: list[type[QTextEdit]] = []


def clean_text(document: QTextDocument) -> str:
    """The document's characters, one for each position, with its markers as white space."""
    cursor = QTextCursor(document)
    cursor.setPosition(document.characterCount() - 1, QTextCursor.MoveMode.KeepAnchor)
    characters = list(cursor.selectedText())
    for table in _tables(document.rootFrame()):
        for row in range(table.rows()):
            for column in range(table.columns()):
                cell = table.cellAt(row, column)
                marker = cell.firstPosition() - 1
                if cell.column() == column and cell.row() == row and 0 <= marker < len(characters):
                    characters[marker] = "\t" if column else "\n"
    return "".join(characters).translate(_SEPARATORS)


def _tables(frame: QTextFrame) -> list[QTextTable]:
    found: list[QTextTable] = []
    for child in frame.childFrames():
        if isinstance(child, QTextTable):
            found.append(child)
        found += _tables(child)
    return found


class _Text(QAccessibleTextInterface):
    """The text of a read-only view, as :func:`clean_text` gives it."""

    def __init__(self, view: QTextEdit) -> None:
        super().__init__()
        self._view = view
        self._text: str | None = None
        view.document().contentsChanged.connect(self._forget)

    def _forget(self) -> None:
        self._text = None

    def whole(self) -> str:
        if self._text is None:
            self._text = clean_text(self._view.document())
        return self._text

    def characterCount(self) -> int:
        return self._view.document().characterCount() - 1

    def text(self, start_offset: int, end_offset: int) -> str:
        return self.whole()[max(0, start_offset) : max(0, end_offset)]

    def cursorPosition(self) -> int:
        return self._view.textCursor().position()

    def setCursorPosition(self, position: int) -> None:
        cursor = self._view.textCursor()
        cursor.setPosition(self._clamp(position))
        self._view.setTextCursor(cursor)

    def selectionCount(self) -> int:
        return 0  # see the module's docstring

    def addSelection(self, start_offset: int, end_offset: int) -> None:
        self.setSelection(0, start_offset, end_offset)

    def setSelection(self, selection_index: int, start_offset: int, end_offset: int) -> None:
        if selection_index != 0:
            return
        cursor = self._view.textCursor()
        cursor.setPosition(self._clamp(start_offset))
        cursor.setPosition(self._clamp(end_offset), QTextCursor.MoveMode.KeepAnchor)
        self._view.setTextCursor(cursor)

    def removeSelection(self, selection_index: int) -> None:
        if selection_index == 0:
            cursor = self._view.textCursor()
            cursor.clearSelection()
            self._view.setTextCursor(cursor)

    def characterRect(self, offset: int) -> QRect:
        if not 0 <= offset < self.characterCount():
            return QRect()
        here = self._caret_rect(offset)
        after = self._caret_rect(offset + 1)
        if after.top() == here.top() and after.left() > here.left():
            width = after.left() - here.left()
        else:  # the last character of a line
            width = self._view.fontMetrics().horizontalAdvance(self.whole()[offset])
        box = QRect(here.left(), here.top(), max(1, width), here.height())
        return QRect(self._view.viewport().mapToGlobal(box.topLeft()), box.size())

    def offsetAtPoint(self, point: QPoint) -> int:
        viewport = self._view.viewport()
        inside = viewport.mapFromGlobal(point)
        if not viewport.rect().contains(inside):
            return -1
        return self._view.cursorForPosition(inside).position()

    def scrollToSubstring(self, start_index: int, end_index: int) -> None:
        cursor = QTextCursor(self._view.document())
        cursor.setPosition(self._clamp(start_index))
        self._view.setTextCursor(cursor)
        self._view.ensureCursorVisible()

    def _caret_rect(self, offset: int) -> QRect:
        cursor = QTextCursor(self._view.document())
        cursor.setPosition(self._clamp(offset))
        return self._view.cursorRect(cursor)

    def _clamp(self, offset: int) -> int:
        return max(0, min(offset, self.characterCount()))


class MessageTextAccessible(QAccessibleWidget):
    """A read-only text view as Qt presents one, with the text of :class:`_Text`."""

    def __init__(self, view: QTextEdit) -> None:
        super().__init__(view, QAccessible.Role.StaticText)
        self._view = view
        self._text: _Text | None = _Text(view)
        # The interface outlives the view (PySide keeps it); its text must not.
        view.destroyed.connect(self._drop)

    def _drop(self) -> None:
        self._text = None

    def interface_cast(self, kind: QAccessible.InterfaceType) -> object:  # type: ignore[override]
        """The text interface, and no other.

        A widget's action interface (its one action moves the focus) is left out:
        its address cannot be had from Python, where the base class's
        ``interface_cast`` crashes when called.
        """
        # Qt wants the address of a C++ object (or 0), which a VoidPtr carries:
        # any other Python value would be taken for one.
        if kind is not QAccessible.InterfaceType.TextInterface or self._text is None:
            return shiboken6.VoidPtr(0)
        return shiboken6.VoidPtr(shiboken6.getCppPointer(self._text)[0])

    def state(self) -> QAccessible.State:
        """As for any widget, and read-only, multi-line, with selectable text."""
        state = super().state()
        state.readOnly = self._view.isReadOnly()
        state.editable = not self._view.isReadOnly()
        state.multiLine = True
        state.selectableText = True
        return state

    def text(self, kind: QAccessible.Text) -> str:
        """The name and description of the view; its value is the clean text."""
        if kind is QAccessible.Text.Value and self._text is not None:
            return self._text.whole()
        return super().text(kind)


def _factory(_class_name: str, target: QObject) -> QAccessibleInterface | None:
    if isinstance(target, QTextEdit) and isinstance(target, tuple(_served)):
        return MessageTextAccessible(target)
    return None


def serve(view_class: type[QTextEdit]) -> None:
    """Give every ``view_class`` (a read-only text view) the clean text; once is enough."""
    if view_class in _served:
        return
    if not _served:
        QAccessible.installFactory(_factory)
    _served.append(view_class)
