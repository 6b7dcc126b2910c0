"""``ConversationModel``: the Qt list-model adapter over a core Conversation."""

from __future__ import annotations

import enum
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from desktop_app.core.conversation.model import Conversation, Turn, TurnStatus

_ROOT = QModelIndex()


class TurnRole(enum.IntEnum):
    """Custom data roles of :class:`ConversationModel`."""

    TURN = Qt.ItemDataRole.UserRole
    ROLE = Qt.ItemDataRole.UserRole + 1
    STATUS = Qt.ItemDataRole.UserRole + 2
    TEXT = Qt.ItemDataRole.UserRole + 3


class ConversationModel(QAbstractListModel):
    """One row per turn. Every change to the conversation goes through this adapter.

    Streaming updates emit ``dataChanged`` for the one row that changed.
    """

    def __init__(self, conversation: Conversation | None = None, parent: QObject | None = None):
        """Wrap ``conversation`` (a new, empty one when None)."""
        super().__init__(parent)
        self._conversation = conversation or Conversation()

    @property
    def conversation(self) -> Conversation:
        """The wrapped conversation."""
        return self._conversation

    # -- Qt model interface ------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        """Number of turns (0 for any child index: this is a flat list)."""
        if parent.isValid():
            return 0
        return len(self._conversation.turns)

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Data for one turn."""
        if not index.isValid() or not 0 <= index.row() < len(self._conversation.turns):
            return None
        turn = self._conversation.turns[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, TurnRole.TEXT):
            return turn.text
        if role == Qt.ItemDataRole.AccessibleTextRole:
            speaker = "You" if turn.role == "user" else "Claude"
            return f"{speaker}: {turn.text}"
        if role == TurnRole.TURN:
            return turn
        if role == TurnRole.ROLE:
            return turn.role
        if role == TurnRole.STATUS:
            return turn.status.value
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, for debugging and QML."""
        names = dict(super().roleNames())
        names.update({r.value: QByteArray(r.name.lower().encode()) for r in TurnRole})
        return names

    # -- mutations -----------------------------------------------------------------------------

    def turn(self, row: int) -> Turn:
        """The turn at ``row``."""
        return self._conversation.turns[row]

    def row_of(self, turn: Turn) -> int:
        """The row of ``turn``, or -1."""
        for row, candidate in enumerate(self._conversation.turns):
            if candidate is turn:
                return row
        return -1

    def add_user(self, text: str, images: list[dict[str, Any]], notes: list[str]) -> Turn:
        """Append a user turn."""
        row = len(self._conversation.turns)
        self.beginInsertRows(_ROOT, row, row)
        try:
            turn = self._conversation.add_user(text, images, notes)
        finally:
            self.endInsertRows()
        return turn

    def start_reply(self, model: str) -> Turn:
        """Append an assistant turn that is about to stream."""
        row = len(self._conversation.turns)
        self.beginInsertRows(_ROOT, row, row)
        turn = self._conversation.start_reply(model)
        self.endInsertRows()
        return turn

    def remove(self, turn: Turn) -> None:
        """Remove ``turn`` (a failed empty reply, say)."""
        row = self.row_of(turn)
        if row < 0:
            return
        self.beginRemoveRows(_ROOT, row, row)
        del self._conversation.turns[row]
        self.endRemoveRows()

    def set_status(self, turn: Turn, status: TurnStatus, error: str | None = None) -> None:
        """Change a turn's status (and error text)."""
        turn.status = status
        turn.error = error
        self.touch(turn)

    def touch(self, turn: Turn) -> None:
        """Tell views that ``turn`` changed (new streamed text, usage, status)."""
        row = self.row_of(turn)
        if row >= 0:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, [])

    def reset(self, conversation: Conversation | None = None) -> None:
        """Replace the whole conversation (New conversation)."""
        self.beginResetModel()
        self._conversation = conversation or Conversation()
        self.endResetModel()
