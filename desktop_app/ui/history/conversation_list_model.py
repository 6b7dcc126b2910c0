"""``ConversationListModel``: the sidebar's rows, conversations or search hits."""

from __future__ import annotations

import enum
import time
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from desktop_app.core.history.store import ConversationSummary, SearchHit

_ROOT = QModelIndex()


class ConversationRole(enum.IntEnum):
    """Custom data roles of :class:`ConversationListModel`."""

    ID = Qt.ItemDataRole.UserRole
    MESSAGE_ID = Qt.ItemDataRole.UserRole + 1


class ConversationListModel(QAbstractListModel):
    """The sidebar's rows: conversations newest first, or search hits.

    Signals:
        rename_requested: A title was edited in place (conversation id, new title).
    """

    rename_requested = Signal(int, str)

    def __init__(self, parent: QObject | None = None) -> None:
        """Start empty."""
        super().__init__(parent)
        self._rows: list[ConversationSummary | SearchHit] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        """Number of rows (0 for child indexes)."""
        return 0 if parent.isValid() else len(self._rows)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Title (and snippet for search hits), id and message id."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            title = row.title or "Untitled conversation"
            if isinstance(row, SearchHit) and role == Qt.ItemDataRole.DisplayRole:
                return f"{title}\n{row.snippet}"
            return title
        if role == Qt.ItemDataRole.ToolTipRole and isinstance(row, ConversationSummary):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.updated))
            return f"{row.message_count} messages · last changed {when}"
        if role == ConversationRole.ID:
            return row.id if isinstance(row, ConversationSummary) else row.conversation_id
        if role == ConversationRole.MESSAGE_ID:
            return row.message_id if isinstance(row, SearchHit) else None
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        """Conversations can be renamed in place; search hits cannot."""
        flags = super().flags(index)
        if index.isValid() and isinstance(self._rows[index.row()], ConversationSummary):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(
        self,
        index: QModelIndex | QPersistentModelIndex,
        value: Any,
        role: int = Qt.ItemDataRole.EditRole,
    ) -> bool:
        """Rename a conversation in place."""
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        row = self._rows[index.row()]
        title = " ".join(str(value).split())
        if not isinstance(row, ConversationSummary) or not title:
            return False
        self._rows[index.row()] = row._replace(title=title)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
        self.rename_requested.emit(row.id, title)
        return True

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, for debugging."""
        names = dict(super().roleNames())
        names.update({r.value: QByteArray(r.name.lower().encode()) for r in ConversationRole})
        return names

    def set_rows(self, rows: list[ConversationSummary] | list[SearchHit]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_for(self, conversation_id: int) -> int:
        """The row showing ``conversation_id``, or -1."""
        for row, item in enumerate(self._rows):
            if isinstance(item, ConversationSummary) and item.id == conversation_id:
                return row
        return -1
