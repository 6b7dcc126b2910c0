"""``ConversationModel``: the Qt list-model adapter over a core :class:`ConversationSession`.

The session owns the turns and every change to them; this adapter only turns
its events into ``begin*``/``end*`` pairs and one-row ``dataChanged`` signals, so
views can follow without the core knowing Qt.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from desktop_app.core.conversation.model import Conversation, Turn
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.wire.blocks import Role

_ROOT = QModelIndex()


class TurnRole(enum.IntEnum):
    """Custom data roles of :class:`ConversationModel`."""

    TURN = Qt.ItemDataRole.UserRole
    ROLE = Qt.ItemDataRole.UserRole + 1
    STATUS = Qt.ItemDataRole.UserRole + 2
    TEXT = Qt.ItemDataRole.UserRole + 3


def speaker(turn: Turn) -> str:
    """Who a turn is from, as people say it."""
    if turn.role is Role.ASSISTANT:
        return "Claude"
    return "Tool results" if turn.is_tool_results else "You"


class ConversationModel(QAbstractListModel):
    """One row per turn of the session's conversation."""

    def __init__(self, session: ConversationSession, parent: QObject | None = None) -> None:
        """Follow ``session``."""
        super().__init__(parent)
        self._session = session
        self._disconnect: list[Callable[[], None]] = [
            session.inserting.connect(
                lambda first, last: self.beginInsertRows(_ROOT, first, last)
            ),
            session.inserted.connect(lambda _first, _last: self.endInsertRows()),
            session.removing.connect(lambda first, last: self.beginRemoveRows(_ROOT, first, last)),
            session.removed.connect(lambda _first, _last: self.endRemoveRows()),
            session.resetting.connect(self.beginResetModel),
            session.reset.connect(self.endResetModel),
            session.changed.connect(self.touch),
        ]
        self.destroyed.connect(self._detach)

    def _detach(self) -> None:
        for disconnect in self._disconnect:
            disconnect()
        self._disconnect = []

    @property
    def session(self) -> ConversationSession:
        """The session this model shows."""
        return self._session

    @property
    def conversation(self) -> Conversation:
        """The conversation shown."""
        return self._session.conversation

    # -- Qt model interface ------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        """Number of turns (0 for any child index: this is a flat list)."""
        if parent.isValid():
            return 0
        return len(self._session.turns)

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Data for one turn."""
        turns = self._session.turns
        if not index.isValid() or not 0 <= index.row() < len(turns):
            return None
        turn = turns[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, TurnRole.TEXT):
            return turn.text
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{speaker(turn)}: {turn.text}"
        if role == TurnRole.TURN:
            return turn
        if role == TurnRole.ROLE:
            return turn.role.value
        if role == TurnRole.STATUS:
            return turn.status.value
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, for debugging and QML."""
        names = dict(super().roleNames())
        names.update({r.value: QByteArray(r.name.lower().encode()) for r in TurnRole})
        return names

    # -- lookups -------------------------------------------------------------------------------

    def turn(self, row: int) -> Turn:
        """The turn at ``row``."""
        return self._session.turns[row]

    def row_of(self, turn: Turn) -> int:
        """The row of ``turn``, or -1."""
        return self._session.row_of(turn)

    def touch(self, turn: Turn) -> None:
        """Tell views that ``turn`` changed (new streamed text, usage, status)."""
        row = self._session.row_of(turn)
        if row >= 0:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, [])
