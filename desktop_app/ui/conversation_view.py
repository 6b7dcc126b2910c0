"""``ConversationView``: the transcript, one :class:`MessageWidget` per model row.

Long conversations open lazily: only the newest rows get widgets at first, and
older ones are built in batches as the user scrolls up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from desktop_app.core.conversation import Turn, TurnStatus
from desktop_app.ui.conversation_model import ConversationModel, TurnRole
from desktop_app.ui.message_widget import MessageWidget, RenderedTurn, build_html, is_dark

BATCH = 16  # rows built when a conversation opens
OLDER_BATCH = 3  # rows built each time the user reaches the top: keeps scrolling smooth


class ConversationView(QScrollArea):
    """Shows a :class:`ConversationModel` as a scrolling column of messages.

    Signals:
        retry_requested: A turn's Retry button was pressed (the Turn).
        continue_requested: A turn's Continue button was pressed (the Turn).
        regenerate_requested: A reply's Regenerate button was pressed (the Turn).
        edit_requested: A prompt's Edit button was pressed (the Turn).
        version_requested: A turn's ‹ or › was pressed (the Turn, -1 or +1).
        remove_requested: A failed turn's Remove button was pressed (the Turn).
    """

    retry_requested = Signal(object)
    continue_requested = Signal(object)
    regenerate_requested = Signal(object)
    edit_requested = Signal(object)
    version_requested = Signal(object, int)
    remove_requested = Signal(object)

    def __init__(
        self,
        model: ConversationModel,
        thumbnails: Callable[[Turn], list[QImage]] | None = None,
        parent: QWidget | None = None,
        *,
        versions: Callable[[Turn], tuple[int, int] | None] | None = None,
    ) -> None:
        """Show ``model``; ``thumbnails`` and ``versions`` give a turn's images and versions."""
        super().__init__(parent)
        self.setObjectName("conversationView")
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._model = model
        self._thumbnails = thumbnails or (lambda _turn: [])
        self._versions = versions or (lambda _turn: None)
        self._widgets: list[MessageWidget] = []  # rows first_row .. rowCount-1
        self._first_row = 0
        self._stick_to_bottom = True
        self._restore_from_bottom: int | None = None
        # Older messages rendered ahead of time in a worker, keyed by turn id.
        self._prerendered: dict[int, RenderedTurn] = {}
        self._prefetch: asyncio.Future[None] | None = None

        container = QWidget()
        container.setObjectName("conversationContents")
        self._layout = QVBoxLayout(container)
        self._layout.setContentsMargins(12, 12, 12, 12)
        self._layout.setSpacing(10)
        self._placeholder = QLabel(
            "Ask Claude anything. Drop, paste or attach images to ask about them."
        )
        self._placeholder.setObjectName("emptyConversationHint")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._layout.addWidget(self._placeholder)
        self._layout.addStretch(1)
        self.setWidget(container)

        model.rowsInserted.connect(self._on_rows_inserted)
        model.rowsRemoved.connect(self._on_rows_removed)
        model.dataChanged.connect(self._on_data_changed)
        model.modelReset.connect(self._rebuild)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)
        self._rebuild()

    # -- queries -------------------------------------------------------------------------------

    @property
    def loaded_rows(self) -> int:
        """How many rows have widgets now."""
        return len(self._widgets)

    def widget_for(self, turn: Turn) -> MessageWidget | None:
        """The widget showing ``turn``, if it is built."""
        return next((w for w in self._widgets if w.turn is turn), None)

    def show_turn(self, turn: Turn) -> None:
        """Scroll ``turn`` into view, building older messages down to it if needed."""
        row = self._model.row_of(turn)
        if row < 0:
            return
        while self._first_row > row:
            self._load_older()
        self._stick_to_bottom = False
        widget = self.widget_for(turn)
        if widget is not None:
            QTimer.singleShot(0, lambda: self.ensureWidgetVisible(widget, 0, 40))

    def scroll_to_bottom(self) -> None:
        """Show the newest message."""
        self._stick_to_bottom = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    # -- building ------------------------------------------------------------------------------

    def _make(self, row: int) -> MessageWidget:
        turn = self._model.data(self._model.index(row, 0), TurnRole.TURN)
        prerendered = self._prerendered.pop(turn.id, None)
        widget = MessageWidget(turn, self._thumbnails(turn), prerendered=prerendered)
        widget.retry_requested.connect(self.retry_requested)
        widget.continue_requested.connect(self.continue_requested)
        widget.regenerate_requested.connect(self.regenerate_requested)
        widget.edit_requested.connect(self.edit_requested)
        widget.version_requested.connect(self.version_requested)
        widget.remove_requested.connect(self.remove_requested)
        version = self._versions(turn)
        if version is not None:
            widget.set_versions(*version)
        return widget

    def _insert_widget(self, position: int, widget: MessageWidget) -> None:
        # +1: the placeholder label sits first in the layout.
        self._layout.insertWidget(position + 1, widget)

    def _rebuild(self) -> None:
        self._prerendered.clear()
        for widget in self._widgets:
            widget.deleteLater()
        self._widgets = []
        count = self._model.rowCount()
        self._first_row = max(0, count - BATCH)
        for row in range(self._first_row, count):
            widget = self._make(row)
            self._widgets.append(widget)
            self._insert_widget(len(self._widgets) - 1, widget)
        self._placeholder.setVisible(count == 0)
        self._stick_to_bottom = True
        QTimer.singleShot(0, self.scroll_to_bottom)

    def _load_older(self) -> None:
        if self._first_row == 0:
            return
        bar = self.verticalScrollBar()
        # Keep the same message under the user's eyes once the layout settles.
        self._restore_from_bottom = bar.maximum() - bar.value()
        start = max(0, self._first_row - OLDER_BATCH)
        new = [self._make(row) for row in range(start, self._first_row)]
        for i, widget in enumerate(new):
            self._insert_widget(i, widget)
        self._widgets[:0] = new
        self._first_row = start

    # -- model signals -------------------------------------------------------------------------

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        self._placeholder.hide()
        for row in range(first, last + 1):
            position = row - self._first_row
            if position < 0:
                self._first_row += 1  # an older, unloaded row: just shift the window
                continue
            widget = self._make(row)
            self._widgets.insert(position, widget)
            self._insert_widget(position, widget)

    def _on_rows_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        for row in range(last, first - 1, -1):
            position = row - self._first_row
            if position < 0:
                self._first_row -= 1
                continue
            if position < len(self._widgets):
                self._widgets.pop(position).deleteLater()
        self._placeholder.setVisible(self._model.rowCount() == 0)

    def _on_data_changed(
        self,
        top_left: QModelIndex | QPersistentModelIndex,
        bottom_right: QModelIndex | QPersistentModelIndex,
        roles: list[int] | None = None,
    ) -> None:
        for row in range(top_left.row(), bottom_right.row() + 1):
            position = row - self._first_row
            if 0 <= position < len(self._widgets):
                self._widgets[position].refresh()

    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick_to_bottom = value >= bar.maximum() - 4
        if self._first_row > 0 and value < 2 * max(1, self.viewport().height()):
            self._start_prefetch()
        if value == bar.minimum() and self._first_row > 0:
            self._load_older()

    def _start_prefetch(self) -> None:
        """Render the next older messages in a worker before the user reaches them."""
        if self._prefetch is not None and not self._prefetch.done():
            return
        rows = range(max(0, self._first_row - 4 * OLDER_BATCH), self._first_row)
        turns = [self._model.turn(row) for row in rows]
        turns = [
            t
            for t in turns
            if t.id not in self._prerendered and t.status is not TurnStatus.STREAMING
        ]
        if not turns:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        dark = is_dark(self)

        async def prefetch() -> None:
            rendered = await asyncio.to_thread(
                lambda: [(t.id, build_html(t, dark)) for t in turns]
            )
            self._prerendered.update(rendered)

        self._prefetch = asyncio.ensure_future(prefetch())

    def _on_range_changed(self, minimum: int, maximum: int) -> None:
        bar = self.verticalScrollBar()
        if self._restore_from_bottom is not None:
            bar.setValue(maximum - self._restore_from_bottom)
            if bar.value() > minimum:
                self._restore_from_bottom = None
        elif self._stick_to_bottom:
            bar.setValue(maximum)
