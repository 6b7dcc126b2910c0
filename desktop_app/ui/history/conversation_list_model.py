"""``ConversationListModel``: the sidebar's rows, conversations under date headings, or hits."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from PySide6 import QtGui
from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QDate,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTime,
    Signal,
)

from desktop_app.core.history.store import ConversationSummary, SearchHit
from desktop_app.core.render.markdown import escape_plain
from desktop_app.ui.history.dates import (
    GROUP_ORDER,
    DateGroup,
    date_group,
    local_now,
    local_time,
)

_ROOT = QModelIndex()
UNTITLED = "Untitled conversation"
#: Put around each matched word of a search snippet (never shown: the delegate
#: draws those words in bold, and the display text leaves them out).
MATCH_MARKS = ("\x02", "\x03")


class RowKind(enum.Enum):
    """What a row of :class:`ConversationListModel` shows."""

    HEADER = "header"
    CONVERSATION = "conversation"
    HIT = "hit"


class ConversationRole(enum.IntEnum):
    """Custom data roles of :class:`ConversationListModel`."""

    ID = Qt.ItemDataRole.UserRole
    MESSAGE_ID = Qt.ItemDataRole.UserRole + 1
    #: A :class:`RowKind`.
    KIND = Qt.ItemDataRole.UserRole + 2
    #: The time or date shown small on a conversation's row ("14:05", "Mon", "3 Mar").
    WHEN = Qt.ItemDataRole.UserRole + 3
    #: A search hit's snippet with :data:`MATCH_MARKS` around the matched words.
    SNIPPET = Qt.ItemDataRole.UserRole + 4
    #: The conversation's title alone (a search hit's display text adds the snippet).
    TITLE = Qt.ItemDataRole.UserRole + 5


class _Header(NamedTuple):
    group: DateGroup


_Row = _Header | ConversationSummary | SearchHit


def plain_tooltip(text: str) -> str:
    """``text`` as a tooltip that shows exactly as written.

    Qt shows a tooltip that looks like HTML as rich text (and loads its images); a
    title can look like anything, so such text is escaped.
    """
    return escape_plain(text) if QtGui.Qt.mightBeRichText(text) else text


def strip_marks(text: str) -> str:
    """``text`` without the match marks."""
    return text.replace(MATCH_MARKS[0], "").replace(MATCH_MARKS[1], "")


def grouped(
    conversations: Sequence[ConversationSummary], now: datetime
) -> list[tuple[DateGroup, list[ConversationSummary]]]:
    """``conversations`` under their date headings, in heading order, empty ones left out.

    Within a heading the given order is kept (the history lists newest first).
    """
    groups: dict[DateGroup, list[ConversationSummary]] = {group: [] for group in GROUP_ORDER}
    for conversation in conversations:
        groups[date_group(conversation.updated, now)].append(conversation)
    return [(group, rows) for group, rows in groups.items() if rows]


class ConversationListModel(QAbstractListModel):
    """The sidebar's rows: conversations newest first under date headings, or search hits.

    Headings (Today, Yesterday, Previous 7 days, Previous 30 days, Older) are rows
    of their own that cannot be selected or reached with the keyboard; search hits
    come without headings, best first.

    Signals:
        rename_requested: A title was edited in place (conversation id, new title).
    """

    rename_requested = Signal(int, str)

    def __init__(
        self, parent: QObject | None = None, clock: Callable[[], datetime] = local_now
    ) -> None:
        """Start empty; ``clock`` tells the present moment (naive: local time)."""
        super().__init__(parent)
        self.clock = clock
        self._rows: list[_Row] = []
        self._conversations: list[ConversationSummary] = []
        self._now = clock()
        self._locale = QLocale()

    # -- Qt model ------------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        """Number of rows (0 for child indexes)."""
        return 0 if parent.isValid() else len(self._rows)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Texts, tooltip and ids of a row (see :class:`ConversationRole`)."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == ConversationRole.KIND:
            return _kind(row)
        if isinstance(row, _Header):
            return self._header_data(row, role)
        if isinstance(row, SearchHit):
            return self._hit_data(row, role)
        return self._conversation_data(row, role)

    def _header_data(self, row: _Header, role: int) -> Any:
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return row.group.label
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return "Heading"
        return None

    def _conversation_data(self, row: ConversationSummary, role: int) -> Any:
        title = row.title or UNTITLED
        if role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.EditRole,
            ConversationRole.TITLE,
        ):
            return title
        if role == ConversationRole.WHEN:
            return self._short_when(row.updated)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{title}, {self._spoken_when(row.updated)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            count = f"{row.message_count} message{'' if row.message_count == 1 else 's'}"
            return plain_tooltip(f"{title}\n{count} · last changed {self._full_when(row.updated)}")
        if role == ConversationRole.ID:
            return row.id
        return None

    def _hit_data(self, row: SearchHit, role: int) -> Any:
        title = row.title or UNTITLED
        snippet = strip_marks(row.snippet)
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{title}\n{snippet}"
        if role in (Qt.ItemDataRole.EditRole, ConversationRole.TITLE):
            return title
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{title}: {snippet}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(f"{title}\n{snippet}")
        if role == ConversationRole.SNIPPET:
            return row.snippet
        if role == ConversationRole.ID:
            return row.conversation_id
        if role == ConversationRole.MESSAGE_ID:
            return row.message_id
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        """Headings take no part; conversations can also be renamed in place."""
        if not index.isValid():
            return super().flags(index)
        row = self._rows[index.row()]
        if isinstance(row, _Header):
            # Disabled: never selected, never current, skipped by the arrow keys.
            return Qt.ItemFlag.NoItemFlags
        flags = super().flags(index) | Qt.ItemFlag.ItemNeverHasChildren
        if isinstance(row, ConversationSummary):
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
        renamed = row._replace(title=title)
        self._rows[index.row()] = renamed
        self._conversations = [renamed if c.id == row.id else c for c in self._conversations]
        self.dataChanged.emit(index, index)
        self.rename_requested.emit(row.id, title)
        return True

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, for debugging."""
        names = dict(super().roleNames())
        names.update({r.value: QByteArray(r.name.lower().encode()) for r in ConversationRole})
        return names

    # -- filling -------------------------------------------------------------------------------

    def set_rows(
        self,
        rows: Sequence[ConversationSummary] | Sequence[SearchHit],
        now: datetime | None = None,
    ) -> None:
        """Replace every row: conversations go under date headings, search hits do not.

        Args:
            rows: Conversations (newest first) or search hits (best first).
            now: The present moment for the headings; by default the model's clock.
        """
        conversations = [r for r in rows if isinstance(r, ConversationSummary)]
        hits = [r for r in rows if isinstance(r, SearchHit)]
        self.beginResetModel()
        self._now = now if now is not None else self.clock()
        self._conversations = conversations
        if hits:
            self._rows = list(hits)
        else:
            self._rows = []
            for group, members in grouped(conversations, self._now):
                self._rows.append(_Header(group))
                self._rows.extend(members)
        self.endResetModel()

    def regroup(self, now: datetime | None = None) -> None:
        """Sort the conversations under their headings again (the day has changed)."""
        if self._rows and not any(isinstance(r, SearchHit) for r in self._rows):
            self.set_rows(self._conversations, now)

    # -- queries -------------------------------------------------------------------------------

    def row_for(self, conversation_id: int) -> int:
        """The row showing ``conversation_id``, or -1 (search hits are not looked at)."""
        for row, item in enumerate(self._rows):
            if isinstance(item, ConversationSummary) and item.id == conversation_id:
                return row
        return -1

    def item_rows(self) -> list[int]:
        """The rows that show a conversation or a search hit: every row but the headings."""
        return [row for row, item in enumerate(self._rows) if not isinstance(item, _Header)]

    def item(self, number: int) -> QModelIndex:
        """The ``number``-th conversation or search hit (headings not counted)."""
        rows = self.item_rows()
        return self.index(rows[number], 0) if 0 <= number < len(rows) else QModelIndex()

    def is_header(self, row: int) -> bool:
        """Whether ``row`` is a date heading."""
        return 0 <= row < len(self._rows) and isinstance(self._rows[row], _Header)

    def headers(self) -> list[str]:
        """The headings shown, in order."""
        return [item.group.label for item in self._rows if isinstance(item, _Header)]

    # -- dates ---------------------------------------------------------------------------------

    def _short_when(self, timestamp: float) -> str:
        when = local_time(timestamp, self._now)
        group = date_group(timestamp, self._now)
        if group in (DateGroup.TODAY, DateGroup.YESTERDAY):
            return self._locale.toString(_qtime(when), QLocale.FormatType.ShortFormat)
        if group is DateGroup.PREVIOUS_7_DAYS:
            return self._locale.dayName(when.isoweekday(), QLocale.FormatType.ShortFormat)
        pattern = "d MMM" if when.year == self._now.year else "d MMM yyyy"
        return self._locale.toString(_qdate(when), pattern)

    def _spoken_when(self, timestamp: float) -> str:
        when = local_time(timestamp, self._now)
        group = date_group(timestamp, self._now)
        clock = self._locale.toString(_qtime(when), QLocale.FormatType.ShortFormat)
        if group is DateGroup.TODAY:
            return f"today at {clock}"
        if group is DateGroup.YESTERDAY:
            return f"yesterday at {clock}"
        if group is DateGroup.PREVIOUS_7_DAYS:
            return self._locale.dayName(when.isoweekday(), QLocale.FormatType.LongFormat)
        return self._locale.toString(_qdate(when), QLocale.FormatType.LongFormat)

    def _full_when(self, timestamp: float) -> str:
        when = local_time(timestamp, self._now)
        date = self._locale.toString(_qdate(when), QLocale.FormatType.ShortFormat)
        clock = self._locale.toString(_qtime(when), QLocale.FormatType.ShortFormat)
        return f"{date} {clock}"


def _kind(row: _Row) -> RowKind:
    if isinstance(row, _Header):
        return RowKind.HEADER
    if isinstance(row, SearchHit):
        return RowKind.HIT
    return RowKind.CONVERSATION


def _qdate(when: datetime) -> QDate:
    return QDate(when.year, when.month, when.day)


def _qtime(when: datetime) -> QTime:
    return QTime(when.hour, when.minute, when.second)
