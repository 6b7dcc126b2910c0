"""The conversation history in the window: the store on its own thread, and the sidebar.

SQLite connections belong to the thread that made them, and the UI thread must
never wait on the disk, so one worker thread owns the :class:`HistoryStore` and
every call goes through :meth:`HistoryService.call`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.store import (
    ConversationSummary,
    HistoryStore,
    SearchHit,
    open_or_start_fresh,
)
from desktop_app.ui.asyncslot import async_slot

T = TypeVar("T")
_ROOT = QModelIndex()
LAST_CONVERSATION_FILE = "last-conversation"


class HistoryService(QObject):
    """Owns the history store on one worker thread.

    Signals:
        conversations_changed: The list of conversations changed (new, renamed, deleted).
    """

    conversations_changed = Signal()

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        """Prepare the worker; :meth:`open` opens the store."""
        super().__init__(parent)
        self.data_dir = data_dir
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "iris-history")
        self._store: HistoryStore | None = None
        self._opening: asyncio.Future[str | None] | None = None
        self._closed = False

    @property
    def is_open(self) -> bool:
        """True once the store is open."""
        return self._store is not None

    async def open(self) -> str | None:
        """Open the store (once); return a message for the user, if there is one."""
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open())
        return await asyncio.shield(self._opening)

    async def _open(self) -> str | None:
        def work() -> tuple[HistoryStore, str | None]:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return open_or_start_fresh(self.data_dir)

        loop = asyncio.get_running_loop()
        self._store, message = await loop.run_in_executor(self._executor, work)
        return message

    async def call(self, fn: Callable[[HistoryStore], T]) -> T:
        """Run ``fn(store)`` on the store's thread and return its result.

        Raises:
            asyncio.CancelledError: The app is closing and the store is closed; a
                slot still waiting for it simply stops.
        """
        await self.open()
        store = self._store
        if store is None or self._closed:
            raise asyncio.CancelledError
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, store)

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise asyncio.CancelledError
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def last_conversation(self) -> int | None:
        """The conversation that was open when the app last closed."""
        path = self.data_dir / LAST_CONVERSATION_FILE

        def read() -> int | None:
            try:
                return int(path.read_text(encoding="ascii").strip())
            except (OSError, ValueError):
                return None

        return await self._run(read)

    async def remember_conversation(self, conversation_id: int | None) -> None:
        """Note the open conversation, to reopen it next time."""
        path = self.data_dir / LAST_CONVERSATION_FILE

        def write() -> None:
            if conversation_id is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(str(conversation_id), encoding="ascii")

        await self._run(write)

    async def aclose(self) -> None:
        """Close the store and stop the worker."""
        self._closed = True
        if self._opening is not None:
            await asyncio.gather(self._opening, return_exceptions=True)
        store, self._store = self._store, None
        if store is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, store.close)
        self._executor.shutdown(wait=True)


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


class Sidebar(QWidget):
    """New conversation, search, the conversation list, and undo for deletes.

    Signals:
        open_requested: Open a conversation (id, message id to show or None).
        new_requested: Start a new conversation.
    """

    open_requested = Signal(int, object)
    new_requested = Signal()

    def __init__(self, history: HistoryService, parent: QWidget | None = None) -> None:
        """Build the sidebar on ``history``."""
        super().__init__(parent)
        self.setObjectName("historySidebar")
        self._history = history
        self._deleted: tuple[int, str] | None = None
        self.current_id: int | None = None

        self.new_button = QPushButton("New conversation")
        self.new_button.setObjectName("newConversationButton")
        self.new_button.setAccessibleName("New conversation")
        self.new_button.setToolTip("New conversation (Ctrl+N)")
        self.new_button.clicked.connect(self.new_requested)
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("historySearchEdit")
        self.search_edit.setAccessibleName("Search all conversations")
        self.search_edit.setPlaceholderText("Search conversations…")
        self.search_edit.setClearButtonEnabled(True)
        self.model = ConversationListModel(self)
        self.list_view = QListView()
        self.list_view.setObjectName("conversationList")
        self.list_view.setAccessibleName("Conversations")
        self.list_view.setModel(self.model)
        self.list_view.setWordWrap(True)
        self.list_view.setUniformItemSizes(False)
        self.list_view.setEditTriggers(
            QListView.EditTrigger.EditKeyPressed | QListView.EditTrigger.DoubleClicked
        )
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("deleteConversationButton")
        self.delete_button.setAccessibleName("Delete the selected conversation")
        self.undo_label = QLabel()
        self.undo_label.setObjectName("undoDeleteLabel")
        self.undo_label.setWordWrap(True)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setObjectName("undoDeleteButton")
        self.undo_button.setAccessibleName("Undo delete")
        self.undo_button.clicked.connect(self._on_undo_clicked)
        undo_row = QHBoxLayout()
        undo_row.addWidget(self.undo_label, 1)
        undo_row.addWidget(self.undo_button)
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.setInterval(15_000)
        self._undo_timer.timeout.connect(self._hide_undo)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(self.refresh)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.list_view, 1)
        layout.addLayout(undo_row)
        layout.addWidget(self.delete_button)
        self._hide_undo()

        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.list_view.activated.connect(self._on_activated)
        self.list_view.clicked.connect(self._on_activated)
        self.delete_button.clicked.connect(self._on_delete_clicked)
        self.model.rename_requested.connect(self._on_rename_requested)
        history.conversations_changed.connect(self.refresh)

    # -- loading -------------------------------------------------------------------------------

    @async_slot()
    async def refresh(self) -> None:
        """Reload the list (or the search results)."""
        query = self.search_edit.text().strip()
        rows: list[ConversationSummary] | list[SearchHit]
        if query:
            rows = await self._history.call(lambda s: s.search(query, 100))
        else:
            rows = await self._history.call(lambda s: s.list_conversations(500))
        if not shiboken6.isValid(self.model):  # the window closed meanwhile
            return
        self.model.set_rows(rows)
        self._select_current()

    def set_current(self, conversation_id: int | None) -> None:
        """Highlight the open conversation."""
        self.current_id = conversation_id
        self._select_current()

    def _select_current(self) -> None:
        if self.current_id is None:
            self.list_view.clearSelection()
            return
        row = self.model.row_for(self.current_id)
        if row >= 0:
            self.list_view.setCurrentIndex(self.model.index(row, 0))

    # -- actions -------------------------------------------------------------------------------

    def _on_activated(self, index: QModelIndex) -> None:
        conversation_id = index.data(ConversationRole.ID)
        if conversation_id is not None:
            self.open_requested.emit(int(conversation_id), index.data(ConversationRole.MESSAGE_ID))

    @async_slot()
    async def _on_delete_clicked(self) -> None:
        index = self.list_view.currentIndex()
        conversation_id = index.data(ConversationRole.ID) if index.isValid() else None
        if conversation_id is None:
            return
        title = str(index.data(Qt.ItemDataRole.EditRole))
        await self._history.call(lambda s: s.delete(int(conversation_id)))
        self._deleted = (int(conversation_id), title)
        self.undo_label.setText(f"Deleted “{title}”.")
        self.undo_label.show()
        self.undo_button.show()
        self._undo_timer.start()
        if conversation_id == self.current_id:
            self.new_requested.emit()
        self._history.conversations_changed.emit()

    @async_slot()
    async def _on_undo_clicked(self) -> None:
        if self._deleted is None:
            return
        conversation_id, _title = self._deleted
        await self._history.call(lambda s: s.undelete(conversation_id))
        self._hide_undo()
        self._history.conversations_changed.emit()
        self.open_requested.emit(conversation_id, None)

    def _hide_undo(self) -> None:
        self._deleted = None
        self.undo_label.hide()
        self.undo_button.hide()

    @async_slot(int, str)
    async def _on_rename_requested(self, conversation_id: int, title: str) -> None:
        await self._history.call(lambda s: s.rename(conversation_id, title))
