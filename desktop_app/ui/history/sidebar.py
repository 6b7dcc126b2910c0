"""``Sidebar``: new conversation, search, the conversation list, and undo for deletes."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.errors import StoreClosedError, StoreError
from desktop_app.core.history.service import UNDO_SECONDS, HistoryService
from desktop_app.core.history.store import ConversationSummary, SearchHit
from desktop_app.ui import notify
from desktop_app.ui.asyncslot import async_slot
from desktop_app.ui.history.conversation_list_model import ConversationListModel, ConversationRole

UNDO_KEY = "conversation-deleted"  # one Undo at a time: a newer delete replaces it


class Sidebar(QWidget):
    """New conversation, search, the conversation list, and undo for deletes.

    Signals:
        open_requested: Open a conversation (id, message id to show or None).
        new_requested: Start a new conversation.
        refreshed: The list was read again from the history.
    """

    open_requested = Signal(int, object)
    new_requested = Signal()
    refreshed = Signal()

    def __init__(self, history: HistoryService, parent: QWidget | None = None) -> None:
        """Build the sidebar on ``history``."""
        super().__init__(parent)
        self.setObjectName("historySidebar")
        self._history = history
        self._deleted: tuple[int, str] | None = None
        self._generation = 0
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
        self.delete_button.setEnabled(False)  # until a conversation is selected
        delete_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list_view)
        delete_key.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete_key.activated.connect(self._on_delete_clicked)
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.setInterval(int(UNDO_SECONDS * 1000))
        self._undo_timer.timeout.connect(self._on_undo_expired)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(self.refresh)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.list_view, 1)
        layout.addWidget(self.delete_button)

        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.list_view.activated.connect(self._on_activated)
        self.list_view.clicked.connect(self._on_activated)
        self.delete_button.clicked.connect(self._on_delete_clicked)
        self.list_view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.model.rename_requested.connect(self._on_rename_requested)

    # -- loading -------------------------------------------------------------------------------

    @async_slot()
    async def refresh(self) -> None:
        """Reload the list (or the search results)."""
        query = self.search_edit.text().strip()
        # Reads can finish out of order; only the newest one may fill the list.
        self._generation += 1
        generation = self._generation
        rows: list[ConversationSummary] | list[SearchHit]
        try:
            if query:
                rows = await self._history.search(query, 100)
            else:
                rows = await self._history.list_conversations(500)
        except StoreClosedError:
            return  # the app is closing
        except StoreError as exc:
            notify.error(f"The conversation list could not be read: {exc}")
            return
        if not shiboken6.isValid(self.model) or generation != self._generation:
            return  # the window closed meanwhile, or a newer read is on its way
        self.model.set_rows(rows)
        self._select_current()
        self.refreshed.emit()

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

    def selected_conversation(self) -> int | None:
        """The conversation selected in the list, or None (nothing, or a search hit)."""
        rows = self.list_view.selectionModel().selectedIndexes()
        if not rows:
            return None
        conversation_id = rows[0].data(ConversationRole.ID)
        return None if conversation_id is None else int(conversation_id)

    def _on_selection_changed(self, *_: object) -> None:
        self.delete_button.setEnabled(self.selected_conversation() is not None)

    @async_slot()
    async def _on_delete_clicked(self) -> None:
        # Only ever the conversation selected here: never one that is merely open.
        conversation_id = self.selected_conversation()
        if conversation_id is None:
            return
        index = self.list_view.selectionModel().selectedIndexes()[0]
        title = str(index.data(Qt.ItemDataRole.EditRole))
        try:
            await self._history.delete(int(conversation_id))
        except StoreError as exc:
            notify.error(f"The conversation could not be deleted: {exc}")
            return
        replaced, self._deleted = self._deleted, (int(conversation_id), title)
        notify.info(
            f"Deleted “{title}”.",
            action=notify.Action("Undo", self._on_undo_clicked),
            key=UNDO_KEY,
            timeout=UNDO_SECONDS,
        )
        self._undo_timer.start()
        if conversation_id == self.current_id:
            self.new_requested.emit()
        if replaced is not None:  # its Undo is gone: delete it for good
            await self._history.purge_deleted(replaced[0])

    @async_slot()
    async def _on_undo_expired(self) -> None:
        expired, self._deleted = self._deleted, None
        if expired is not None:  # too late for Undo: delete it for good
            await self._history.purge_deleted(expired[0])

    @async_slot()
    async def _on_undo_clicked(self) -> None:
        if self._deleted is None:
            return
        conversation_id, _title = self._deleted
        self._undo_timer.stop()
        self._deleted = None
        try:
            await self._history.undelete(conversation_id)
        except StoreError as exc:
            notify.error(f"The conversation could not be brought back: {exc}")
            return
        self.open_requested.emit(conversation_id, None)

    @async_slot(int, str)
    async def _on_rename_requested(self, conversation_id: int, title: str) -> None:
        try:
            await self._history.rename(conversation_id, title)
        except StoreError as exc:
            notify.error(f"The conversation could not be renamed: {exc}")
