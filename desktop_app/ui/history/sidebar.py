"""``Sidebar``: search, new conversation, the conversation list, and undo for deletes."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.errors import StoreClosedError, StoreError
from desktop_app.core.history.service import UNDO_SECONDS, HistoryService
from desktop_app.core.history.store import ConversationSummary, SearchHit
from desktop_app.ui import icons, notify
from desktop_app.ui.asyncslot import async_slot
from desktop_app.ui.history.conversation_list_model import (
    MATCH_MARKS,
    ConversationListModel,
    ConversationRole,
)
from desktop_app.ui.history.conversation_list_view import ConversationListView
from desktop_app.ui.history.dates import seconds_to_midnight

UNDO_KEY = "conversation-deleted"  # one Undo at a time: a newer delete replaces it


class Sidebar(QWidget):
    """Search and New conversation above the conversation list; undo for deletes.

    Conversations are listed newest first under date headings; a search lists its
    hits instead. Each row has Rename, Export… and Delete, as buttons over the row
    in use and in its menu (right click, the Menu key, Shift+F10).

    Signals:
        open_requested: Open a conversation (id, message id to show or None).
        new_requested: Start a new conversation.
        export_requested: Export a conversation (id, its title for the file name).
        refreshed: The list was read again from the history.
    """

    open_requested = Signal(int, object)
    new_requested = Signal()
    export_requested = Signal(int, str)
    refreshed = Signal()

    def __init__(self, history: HistoryService, parent: QWidget | None = None) -> None:
        """Build the sidebar on ``history``."""
        super().__init__(parent)
        self.setObjectName("historySidebar")
        self._history = history
        self._deleted: tuple[int, str] | None = None
        self._generation = 0
        self.current_id: int | None = None

        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("historySearchEdit")
        self.search_edit.setAccessibleName("Search all conversations")
        self.search_edit.setPlaceholderText("Search conversations…")
        self.search_edit.setClearButtonEnabled(True)
        self._search_icon = self.search_edit.addAction(
            icons.icon_for(self, "search"), QLineEdit.ActionPosition.LeadingPosition
        )
        self._search_icon.setText("Search")  # the name screen readers give its button
        self.new_button = QToolButton()
        self.new_button.setObjectName("newConversationButton")
        self.new_button.setAccessibleName("New conversation (Ctrl+N)")
        self.new_button.setToolTip("New conversation (Ctrl+N)")
        self.new_button.setIcon(icons.icon_for(self, "square-pen"))
        self.new_button.setAutoRaise(True)
        self.new_button.clicked.connect(self.new_requested)

        self.model = ConversationListModel(self)
        self.list_view = ConversationListView()
        self.list_view.setModel(self.model)
        self.list_view.setEditTriggers(
            ConversationListView.EditTrigger.EditKeyPressed
            | ConversationListView.EditTrigger.DoubleClicked
        )
        self.row_actions = self.list_view.row_actions
        self.delete_button = self.row_actions.delete_button
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
        # At midnight "Today" becomes "Yesterday": sort the list under its headings again.
        self._midnight_timer = QTimer(self)
        self._midnight_timer.setSingleShot(True)
        self._midnight_timer.timeout.connect(self._on_midnight)
        self._start_midnight_timer()

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(4)
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.list_view, 1)
        QWidget.setTabOrder(self.search_edit, self.new_button)
        QWidget.setTabOrder(self.new_button, self.list_view)
        previous: QWidget = self.list_view
        for button in self.row_actions.buttons():
            QWidget.setTabOrder(previous, button)
            previous = button

        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.list_view.activated.connect(self._on_activated)
        self.list_view.clicked.connect(self._on_activated)
        self.list_view.menu_requested.connect(self._on_menu_requested)
        self.row_actions.rename_button.clicked.connect(
            lambda: self.rename(self.list_view.actions_index())
        )
        self.row_actions.export_button.clicked.connect(
            lambda: self.export(self.list_view.actions_index())
        )
        self.delete_button.clicked.connect(lambda: self.delete(self.list_view.actions_index()))
        self.row_actions.more_button.clicked.connect(self._on_more_clicked)
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
                rows = await self._history.search(query, 100, marks=MATCH_MARKS)
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
        if query:
            self.list_view.set_placeholder(f"No conversation mentions “{query}”.")
        else:
            self.list_view.set_placeholder("No conversations yet.")
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

    def _start_midnight_timer(self) -> None:
        seconds = seconds_to_midnight(self.model.clock()) + 1
        self._midnight_timer.start(int(min(seconds, 24 * 3600) * 1000))

    def _on_midnight(self) -> None:
        self.model.regroup()
        self._select_current()
        self._start_midnight_timer()

    # -- actions -------------------------------------------------------------------------------

    def _on_activated(self, index: QModelIndex) -> None:
        conversation_id = index.data(ConversationRole.ID)
        if conversation_id is not None:
            self.open_requested.emit(int(conversation_id), index.data(ConversationRole.MESSAGE_ID))

    def selected_conversation(self) -> int | None:
        """The conversation of the selected row, or None when nothing is selected."""
        conversation_id = self.list_view.selected_item().data(ConversationRole.ID)
        return None if conversation_id is None else int(conversation_id)

    def row_menu(self, index: QModelIndex) -> QMenu:
        """The menu of the row at ``index``: Rename, Export…, Delete, for that row only."""
        menu = QMenu(self)
        menu.setObjectName("conversationMenu")
        title = str(index.data(ConversationRole.TITLE) or "")
        menu.setAccessibleName(f"Actions for “{title}”")
        # The row's conversation is fixed now: a refresh meanwhile cannot retarget these.
        conversation_id = index.data(ConversationRole.ID)
        rename = QAction(icons.icon_for(menu, "pencil"), "&Rename", menu)
        rename.setShortcut(QKeySequence(Qt.Key.Key_F2))
        rename.setEnabled(bool(index.flags() & Qt.ItemFlag.ItemIsEditable))
        rename.triggered.connect(lambda: self._rename_id(conversation_id))
        export = QAction(icons.icon_for(menu, "download"), "&Export…", menu)
        export.triggered.connect(lambda: self.export_requested.emit(int(conversation_id), title))
        delete = QAction(icons.icon_for(menu, "trash-2"), "&Delete", menu)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.triggered.connect(lambda: self._delete_id(int(conversation_id), title))
        for action in (rename, export):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(delete)
        return menu

    def _on_menu_requested(self, index: QModelIndex, where: QPoint) -> None:
        menu = self.row_menu(index)
        menu.exec(where)
        menu.deleteLater()

    def _on_more_clicked(self) -> None:
        index = self.list_view.actions_index()
        if index.isValid():
            button = self.row_actions.more_button
            self._on_menu_requested(index, button.mapToGlobal(button.rect().bottomLeft()))

    def rename(self, index: QModelIndex) -> None:
        """Edit the title of the row at ``index`` in place."""
        if index.isValid() and index.flags() & Qt.ItemFlag.ItemIsEditable:
            self.list_view.edit(index)

    def _rename_id(self, conversation_id: object) -> None:
        if isinstance(conversation_id, int) and (row := self.model.row_for(conversation_id)) >= 0:
            self.rename(self.model.index(row, 0))

    def export(self, index: QModelIndex) -> None:
        """Ask the window to export the conversation of the row at ``index``."""
        conversation_id = index.data(ConversationRole.ID)
        if conversation_id is not None:
            self.export_requested.emit(
                int(conversation_id), str(index.data(ConversationRole.TITLE) or "")
            )

    def delete(self, index: QModelIndex) -> None:
        """Delete the conversation of the row at ``index`` (Undo is offered)."""
        conversation_id = index.data(ConversationRole.ID)
        if conversation_id is not None:
            self._delete_id(int(conversation_id), str(index.data(ConversationRole.TITLE) or ""))

    def _delete_id(self, conversation_id: int, title: str) -> None:
        self.delete_conversation(conversation_id, title)

    @async_slot()
    async def _on_delete_clicked(self) -> None:
        # The Delete key: only ever the selected conversation, never one merely open.
        index = self.list_view.selected_item()
        conversation_id = index.data(ConversationRole.ID)
        if conversation_id is None:
            return
        title = str(index.data(ConversationRole.TITLE) or "")
        await self.delete_conversation(int(conversation_id), title)

    @async_slot(int, str)
    async def delete_conversation(self, conversation_id: int, title: str) -> None:
        """Delete ``conversation_id`` and offer Undo for a while."""
        try:
            await self._history.delete(conversation_id)
        except StoreError as exc:
            notify.error(f"The conversation could not be deleted: {exc}")
            return
        replaced, self._deleted = self._deleted, (conversation_id, title)
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
