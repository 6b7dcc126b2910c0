"""``ConversationListView``: the conversation list, with buttons on the row in use.

The buttons (Rename, Export…, Delete; one "More actions" button when the list is
narrow) sit over the row under the mouse, or, while the keyboard is in the list,
over the selected row. They always act on the row they sit over. The arrow keys,
Home, End and Page Up/Down skip the date headings; the Menu key and Shift+F10
open a row's menu as a right click does.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QCursor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QListView,
    QToolButton,
    QWidget,
)

from desktop_app.ui import icons
from desktop_app.ui.history.conversation_delegate import (
    MARGIN,
    PAD_X,
    PAD_Y,
    ConversationDelegate,
    mixed,
)
from desktop_app.ui.history.conversation_list_model import ConversationRole, RowKind

#: Below this list width the row shows one "More actions" button instead of three.
COMPACT_WIDTH = 240
_BUTTON = QSize(24, 24)
_ICON = QSize(16, 16)
_Index = QModelIndex | QPersistentModelIndex


class RowActions(QWidget):
    """The buttons shown over one row of the list."""

    def __init__(self, parent: QWidget) -> None:
        """Build the buttons, hidden until a row needs them."""
        super().__init__(parent)
        self.setObjectName("conversationRowActions")
        self.rename_button = self._button("renameConversationButton", "Rename (F2)")
        self.export_button = self._button("exportConversationButton", "Export…")
        self.delete_button = self._button("deleteConversationButton", "Delete (Del)")
        self.more_button = self._button("conversationActionsButton", "More actions (Menu key)")
        self.more_button.hide()
        self._icon_colour = QColor()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for button in self.buttons():
            layout.addWidget(button)
        self.set_title("")
        self.set_icon_colour(self.palette().color(QPalette.ColorRole.Text))
        self.hide()

    def _button(self, name: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(name)
        button.setAutoRaise(True)
        button.setFixedSize(_BUTTON)
        button.setIconSize(_ICON)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        return button

    def buttons(self) -> list[QToolButton]:
        """Every button, in Tab order."""
        return [self.rename_button, self.export_button, self.delete_button, self.more_button]

    def set_title(self, title: str) -> None:
        """Name the buttons after the conversation they act on, for screen readers."""
        named = f"“{title}”" if title else "the conversation"
        self.rename_button.setAccessibleName(f"Rename {named}")
        self.export_button.setAccessibleName(f"Export {named}")
        self.delete_button.setAccessibleName(f"Delete {named}")
        self.more_button.setAccessibleName(f"More actions for {named}")

    def set_compact(self, compact: bool, can_rename: bool) -> None:
        """Three buttons, or the one that opens the menu (a narrow list)."""
        self.rename_button.setVisible(not compact and can_rename)
        self.export_button.setVisible(not compact)
        self.delete_button.setVisible(not compact)
        self.more_button.setVisible(compact)
        self.adjustSize()

    def set_icon_colour(self, colour: QColor) -> None:
        """Tint the icons (text colour on a plain row, highlighted text on the selected one)."""
        if colour == self._icon_colour:
            return
        self._icon_colour = QColor(colour)
        names = ("pencil", "download", "trash-2", "ellipsis")
        for button, name in zip(self.buttons(), names, strict=True):
            button.setIcon(icons.icon(name, colour))

    def has_focus_within(self) -> bool:
        """Whether the keyboard is on one of the buttons."""
        focus = QApplication.focusWidget()
        return focus is not None and (focus is self or self.isAncestorOf(focus))


class ConversationListView(QListView):
    """The list of conversations (or search hits), with buttons over the row in use.

    Signals:
        menu_requested: Show the menu of a row (its index, where, in screen pixels).
        row_actions_moved: The buttons moved to another row, or went.
    """

    menu_requested = Signal(QModelIndex, QPoint)
    row_actions_moved = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        """An empty list; give it a :class:`ConversationListModel`."""
        super().__init__(parent)
        self.setObjectName("conversationList")
        self.setAccessibleName("Conversations")
        self.setMouseTracking(True)
        self.setUniformItemSizes(False)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.delegate = ConversationDelegate(self)
        self.delegate.reserved_width = self._reserved_width
        self.setItemDelegate(self.delegate)
        self.row_actions = RowActions(self.viewport())
        self.placeholder = ""
        self._hovered = QPersistentModelIndex()
        self._target = QPersistentModelIndex()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus_changed)

    def setModel(self, model: QAbstractItemModel | None) -> None:
        """Show ``model``; the row buttons follow its changes."""
        super().setModel(model)
        if model is None:
            return
        for signal in (
            model.modelReset,
            model.rowsInserted,
            model.rowsRemoved,
            model.layoutChanged,
            model.dataChanged,
        ):
            signal.connect(self._on_rows_changed)
        self.selectionModel().selectionChanged.connect(self.update_row_actions)

    # -- the row the buttons act on ------------------------------------------------------------

    def actions_index(self) -> QModelIndex:
        """The row the buttons act on: the one under the mouse, else the selected one."""
        if self._hovered.isValid():
            return self.model().index(self._hovered.row(), 0)
        return self.selected_item()

    def selected_item(self) -> QModelIndex:
        """The selected conversation or search hit, or an invalid index."""
        selection: QItemSelectionModel | None = self.selectionModel()
        if selection is None:
            return QModelIndex()  # before a model is set
        rows = [i for i in selection.selectedIndexes() if _is_item(i)]
        return rows[0] if rows else QModelIndex()

    def update_row_actions(self) -> None:
        """Put the buttons over the row they act on, or hide them; keep them named for it."""
        actions = self.row_actions
        target = self.actions_index()
        keyboard_here = self.hasFocus() or actions.has_focus_within()
        shown = target.isValid() and (self._hovered.isValid() or keyboard_here)
        actions.delete_button.setEnabled(target.isValid())
        actions.export_button.setEnabled(target.isValid())
        actions.more_button.setEnabled(target.isValid())
        can_rename = bool(target.flags() & Qt.ItemFlag.ItemIsEditable)
        actions.rename_button.setEnabled(can_rename)
        actions.set_title(str(target.data(ConversationRole.TITLE) or ""))
        actions.set_compact(self.viewport().width() < COMPACT_WIDTH, can_rename)
        selection: QItemSelectionModel | None = self.selectionModel()
        selected = selection is not None and selection.isSelected(target)
        palette = self.palette()
        actions.set_icon_colour(
            palette.color(
                QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
            )
        )
        if shown:
            rect = self.visualRect(target)
            size = actions.sizeHint()
            top = rect.top() + PAD_Y // 2
            if target.data(ConversationRole.KIND) != RowKind.HIT:
                top = rect.top() + (rect.height() - size.height()) // 2
            actions.setGeometry(
                QRect(QPoint(rect.right() - MARGIN - PAD_X // 2 - size.width() + 1, top), size)
            )
        actions.setVisible(shown)
        moved = QPersistentModelIndex(target) if shown else QPersistentModelIndex()
        if moved != self._target:
            self._target = moved
            self.viewport().update()
            self.row_actions_moved.emit()

    def _reserved_width(self, index: _Index) -> int:
        if self._target.isValid() and self._target == QPersistentModelIndex(index):
            return self.row_actions.sizeHint().width() + PAD_X // 2
        return 0

    def _set_hovered(self, index: QModelIndex) -> None:
        if self.row_actions.has_focus_within():
            return  # the keyboard is on the buttons: they stay where they are
        hovered = QPersistentModelIndex(index) if _is_item(index) else QPersistentModelIndex()
        if hovered != self._hovered:
            self._hovered = hovered
            self.update_row_actions()

    def _hover_at_cursor(self) -> None:
        viewport = self.viewport()
        position = viewport.mapFromGlobal(QCursor.pos())
        inside = viewport.rect().contains(position) and viewport.underMouse()
        self._set_hovered(self.indexAt(position) if inside else QModelIndex())

    def _on_rows_changed(self, *_: object) -> None:
        self._hover_at_cursor()
        self.update_row_actions()
        self._describe()

    def _on_focus_changed(self, _old: QWidget | None, _new: QWidget | None) -> None:
        self.update_row_actions()

    # -- events --------------------------------------------------------------------------------

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Follow the mouse with the row buttons."""
        super().mouseMoveEvent(event)
        self._set_hovered(self.indexAt(event.position().toPoint()))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """A right click opens a row's menu without selecting the row.

        The selected row is the open conversation; a menu for another row should
        not move the selection away from it.
        """
        if event.button() == Qt.MouseButton.RightButton:
            event.accept()
            return
        super().mousePressEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:
        """The mouse left the list: the buttons go back to the selected row."""
        if event.type() in (QEvent.Type.Leave, QEvent.Type.HoverLeave):
            self._set_hovered(QModelIndex())
        return super().viewportEvent(event)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        """Keep the buttons on their row while the list scrolls."""
        super().scrollContentsBy(dx, dy)
        self._hover_at_cursor()
        self.update_row_actions()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the buttons at the row's right end."""
        super().resizeEvent(event)
        self.update_row_actions()

    def changeEvent(self, event: QEvent) -> None:
        """Tint the buttons again when the palette changes (light and dark)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.row_actions.set_icon_colour(QColor())
            self.update_row_actions()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """The Menu key and Shift+F10 open the current row's menu."""
        key, modifiers = event.key(), event.modifiers()
        if (key == Qt.Key.Key_Menu and modifiers == Qt.KeyboardModifier.NoModifier) or (
            key == Qt.Key.Key_F10 and modifiers == Qt.KeyboardModifier.ShiftModifier
        ):
            event.accept()
            self.open_menu(self.currentIndex())
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """A right click opens the menu of the row under the mouse."""
        if event.reason() == QContextMenuEvent.Reason.Mouse:
            index = self.indexAt(event.pos())
            if _is_item(index):
                event.accept()
                self.menu_requested.emit(index, event.globalPos())
            return
        event.accept()
        self.open_menu(self.currentIndex())

    def open_menu(self, index: QModelIndex) -> None:
        """Open the menu of the row at ``index`` (from the keyboard), below its title."""
        if not _is_item(index):
            return
        self.scrollTo(index)
        rect = self.visualRect(index)
        where = QPoint(rect.left() + MARGIN + PAD_X, rect.bottom())
        self.menu_requested.emit(index, self.viewport().mapToGlobal(where))

    def moveCursor(
        self, cursor_action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        """Move as a list does, never onto a heading."""
        model = self.model()
        rows = model.rowCount()
        action = QAbstractItemView.CursorAction
        usable = [r for r in range(rows) if _is_item(model.index(r, 0))]
        if not usable:
            return QModelIndex()
        if cursor_action == action.MoveHome:
            return model.index(usable[0], 0)
        if cursor_action == action.MoveEnd:
            return model.index(usable[-1], 0)
        moved = super().moveCursor(cursor_action, modifiers)
        if not moved.isValid() or _is_item(moved):
            return moved
        # Landed on a heading (Page Up/Down can): the nearest row in the direction of
        # travel, else the nearest the other way.
        backwards = cursor_action in (
            action.MoveUp,
            action.MovePageUp,
            action.MovePrevious,
            action.MoveLeft,
        )
        ahead = [r for r in usable if (r < moved.row() if backwards else r > moved.row())]
        if ahead:
            return model.index(ahead[-1] if backwards else ahead[0], 0)
        behind = [r for r in usable if r not in ahead]
        return model.index(behind[0] if backwards else behind[-1], 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        """The rows, or a line saying why there are none."""
        super().paintEvent(event)
        if self.placeholder and self.model().rowCount() == 0:
            painter = QPainter(self.viewport())
            palette = self.palette()
            painter.setPen(
                mixed(
                    palette.color(QPalette.ColorRole.Text),
                    palette.color(QPalette.ColorRole.Base),
                    0.42,
                )
            )
            area = self.viewport().rect().adjusted(2 * PAD_X, 3 * PAD_Y, -2 * PAD_X, 0)
            painter.drawText(
                area,
                int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
                | int(Qt.TextFlag.TextWordWrap),
                self.placeholder,
            )
            painter.end()

    def set_placeholder(self, text: str) -> None:
        """What an empty list says ("No conversations yet"); screen readers get it too."""
        if text != self.placeholder:
            self.placeholder = text
            self._describe()
            self.viewport().update()

    def _describe(self) -> None:
        """Say the placeholder to screen readers while it shows, and nothing otherwise."""
        description = self.placeholder if self.model().rowCount() == 0 else ""
        if self.accessibleDescription() != description:
            self.setAccessibleDescription(description)


def _is_item(index: _Index) -> bool:
    """A conversation or a search hit (not a heading, not nothing)."""
    return index.isValid() and index.data(ConversationRole.KIND) in (
        RowKind.CONVERSATION,
        RowKind.HIT,
    )
