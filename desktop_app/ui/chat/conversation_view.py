"""``ConversationView``: the transcript, one :class:`MessageWidget` per model row.

Long conversations open lazily: only the newest rows get widgets at first, and
older ones are built as the user scrolls up, one per event-loop turn.

Messages sit in "pages" of at most :data:`PAGE` widgets, and the column holds the
pages. A widget added above the others moves everything below it; within one
flat column that is every message built so far, while here it is the widgets of
one page plus one geometry per page.

The column is centred and at most :data:`READING_WIDTH` em wide (from the font, so
it follows the font size); it shrinks with the window and never scrolls sideways.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QFontInfo, QImage
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLayout,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.render.turn_html import RenderedTurn, build_html
from desktop_app.ui.chat.conversation_model import ConversationModel, TurnRole
from desktop_app.ui.chat.empty_state import EmptyState
from desktop_app.ui.chat.message_parts import is_dark
from desktop_app.ui.chat.message_widget import MessageWidget
from desktop_app.ui.throttle import next_turn_timer

BATCH = 16  # rows built when a conversation opens
OLDER_BATCH = 3  # rows built each time the user reaches the top, one per event-loop turn
PAGE = 24  # message widgets per page of the column
READING_WIDTH = 46  # em: the widest the column gets, for lines that are easy to read
SIDE_MARGIN = 16  # pixels each side of the column


class ConversationView(QScrollArea):
    """Shows a :class:`ConversationModel` as a scrolling column of messages.

    Signals:
        retry_requested: A turn's Retry button was pressed (the Turn).
        continue_requested: A turn's Continue button was pressed (the Turn).
        regenerate_requested: A reply's Regenerate button was pressed (the Turn).
        edit_requested: A prompt's Edit button was pressed (the Turn).
        version_requested: A turn's ‹ or › was pressed (the Turn, -1 or +1).
        remove_requested: A failed turn's Remove button was pressed (the Turn).
        idle: The work queued for later loop turns (older rows to build,
            messages to restyle) is done; see :attr:`busy`.
    """

    retry_requested = Signal(object)
    continue_requested = Signal(object)
    regenerate_requested = Signal(object)
    edit_requested = Signal(object)
    version_requested = Signal(object, int)
    remove_requested = Signal(object)
    idle = Signal()

    def __init__(
        self,
        model: ConversationModel,
        thumbnails: Callable[[Turn], list[QImage]] | None = None,
        parent: QWidget | None = None,
        *,
        versions: Callable[[Turn], tuple[int, int] | None] | None = None,
        model_name: Callable[[str], str] | None = None,
    ) -> None:
        """Show ``model``.

        ``thumbnails`` and ``versions`` give a turn's images and versions;
        ``model_name`` gives a model's name for people.
        """
        super().__init__(parent)
        self.setObjectName("conversationView")
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # The column keeps its reading width in the middle of a wide window.
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._model = model
        self._thumbnails = thumbnails or (lambda _turn: [])
        self._versions = versions or (lambda _turn: None)
        self._model_name = model_name
        self._widgets: list[MessageWidget] = []  # rows first_row .. rowCount-1
        self._first_row = 0
        self._stick_to_bottom = True
        # The message at the top of the viewport and how far below that top it
        # starts: whatever changes above it, it stays where the user sees it.
        self._anchor: tuple[MessageWidget, int] | None = None
        self._restoring = False
        # Older messages rendered ahead of time in a worker, keyed by turn id.
        self._prerendered: dict[int, RenderedTurn] = {}
        self._prefetch: asyncio.Future[None] | None = None
        self._pages: list[QWidget] = []  # top to bottom
        # Older rows still to build, one per turn, so no turn pays for several.
        self._older_wanted = 0
        self._older_timer = next_turn_timer(self, self._build_one_older)
        # Messages still to render again after the theme turned light or dark,
        # one per loop turn, newest first.
        self._dark = is_dark(self)
        self._restyle_queue: list[MessageWidget] = []
        self._restyle_timer = next_turn_timer(self, self._restyle_one)
        self._pinned: MessageWidget | None = None

        container = QWidget()
        container.setObjectName("conversationContents")
        self._layout = QVBoxLayout(container)
        # The column grows before it lays out its pages: laid out at its old,
        # shorter height, it would squeeze every page (and every message on
        # it), and again let them grow back once the scroll area resized it.
        self._layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        self._layout.setContentsMargins(SIDE_MARGIN, 16, SIDE_MARGIN, 16)
        self._layout.setSpacing(12)
        self.empty_state = self._placeholder = EmptyState()
        # Nearly all the height while the conversation is empty, so it can centre itself.
        self._layout.addWidget(self._placeholder, 100)
        self._layout.addStretch(1)
        self.setWidget(container)
        self._container = container
        self._fit_column()

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

    @property
    def busy(self) -> bool:
        """True while older rows or restyled messages are still to be built in later turns."""
        return self._older_wanted > 0 or bool(self._restyle_queue)

    @property
    def column_width(self) -> int:
        """The widest the column of messages gets, in pixels (margins included)."""
        return self._container.maximumWidth()

    def widget_for(self, turn: Turn) -> MessageWidget | None:
        """The widget showing ``turn``, if it is built."""
        return next((w for w in self._widgets if w.turn is turn), None)

    def show_turn(self, turn: Turn) -> None:
        """Scroll ``turn`` into view, building older messages down to it if needed."""
        row = self._model.row_of(turn)
        if row < 0:
            return
        while self._first_row > row:
            self._prepend_row()
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
        widget = MessageWidget(
            turn, self._thumbnails(turn), prerendered=prerendered, model_name=self._model_name
        )
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
        """Put ``widget`` at ``position`` of the built rows, on the page of its neighbours."""
        at_top = False
        if self._widgets:
            after = position >= len(self._widgets)
            neighbour = self._widgets[-1 if after else position]
            page = self._page_of(neighbour)
            layout = self._page_layout(page)
            index = layout.indexOf(neighbour) + (1 if after else 0)
            # A full page at either end starts a new one; the middle never does.
            at_top = index == 0 and page is self._pages[0]
            at_bottom = after and page is self._pages[-1]
            if layout.count() < PAGE or not (at_top or at_bottom):
                layout.insertWidget(index, widget)
                return
        self._page_layout(self._new_page(at_top)).addWidget(widget)

    @staticmethod
    def _page_of(widget: MessageWidget) -> QWidget:
        page = widget.parentWidget()
        assert page is not None
        return page

    @staticmethod
    def _page_layout(page: QWidget) -> QVBoxLayout:
        layout = page.layout()
        assert isinstance(layout, QVBoxLayout)
        return layout

    def _new_page(self, at_top: bool) -> QWidget:
        page = QWidget()
        page.setObjectName("conversationPage")
        layout = QVBoxLayout(page)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(self._layout.spacing())
        if at_top:
            self._pages.insert(0, page)
            self._layout.insertWidget(1, page)  # after the placeholder label
        else:
            self._pages.append(page)
            self._layout.insertWidget(self._layout.count() - 1, page)  # before the stretch
        return page

    def _remove_widget(self, position: int) -> None:
        widget = self._widgets.pop(position)
        page = self._page_of(widget)
        layout = self._page_layout(page)
        layout.removeWidget(widget)
        widget.hide()
        widget.deleteLater()
        if layout.count() == 0:
            self._drop_page(page)

    def _drop_page(self, page: QWidget) -> None:
        self._pages.remove(page)
        self._layout.removeWidget(page)
        page.hide()
        page.deleteLater()

    def _fit_column(self) -> None:
        em = QFontInfo(self.font()).pixelSize()
        self._container.setMaximumWidth(READING_WIDTH * em + 2 * SIDE_MARGIN)

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab from the view or a message's last control to the next message, and back.

        The view is the conversation's one stop on the window's Tab chain; inside,
        Tab goes through the messages as they show (each through its own controls).
        """
        focus = QApplication.focusWidget()
        message = focus
        while message is not None and not isinstance(message, MessageWidget):
            message = message.parentWidget()
        if focus is self:
            if not next:
                return super().focusNextPrevChild(next)
            start = -1
        elif isinstance(message, MessageWidget) and message in self._widgets:
            start = self._widgets.index(message)
        else:
            return super().focusNextPrevChild(next)
        step = 1 if next else -1
        index = start + step
        while 0 <= index < len(self._widgets):
            stops = self._widgets[index].tab_stops()
            if stops:
                self._focus_control(stops[0] if next else stops[-1], next)
                return True
            index += step
        # Past the first message back to the view; past the last, on from the view.
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        return True if not next else super().focusNextPrevChild(next)

    def focusInEvent(self, event: QFocusEvent) -> None:
        """Shift+Tab into the conversation lands on the last message's last control."""
        super().focusInEvent(event)
        if event.reason() is Qt.FocusReason.BacktabFocusReason:
            for widget in reversed(self._widgets):
                stops = widget.tab_stops()
                if stops:
                    self._focus_control(stops[-1], False)
                    break

    def _focus_control(self, control: QWidget, forward: bool) -> None:
        control.setFocus(
            Qt.FocusReason.TabFocusReason if forward else Qt.FocusReason.BacktabFocusReason
        )
        self.ensureWidgetVisible(control)

    def _pin_newest(self) -> None:
        """The newest message always shows its actions; the others on hover and focus."""
        newest = self._widgets[-1] if self._widgets else None
        if newest is self._pinned:
            return
        if self._pinned is not None and shiboken6.isValid(self._pinned):
            self._pinned.set_pinned(False)
        self._pinned = newest
        if newest is not None:
            newest.set_pinned(True)

    def changeEvent(self, event: QEvent) -> None:
        """Follow the theme (render messages again) and the font (the column's width)."""
        super().changeEvent(event)
        if event.type() is QEvent.Type.FontChange:
            self._fit_column()
        if event.type() is QEvent.Type.PaletteChange:
            dark = is_dark(self)
            if dark != self._dark:
                self._dark = dark
                self._prerendered.clear()  # rendered for the old palette
                self._restyle_queue = list(self._widgets)
                self._restyle_timer.start()

    def _restyle_one(self) -> None:
        while self._restyle_queue:
            widget = self._restyle_queue.pop()
            if shiboken6.isValid(widget) and widget in self._widgets:
                widget.restyle()
                break
        if self._restyle_queue:
            self._restyle_timer.start()
        else:
            self._emit_idle()

    def _emit_idle(self) -> None:
        if not self.busy:
            self.idle.emit()

    def _rebuild(self) -> None:
        was_busy = self.busy
        self._restyle_queue = []
        self._prerendered.clear()
        self._older_wanted = 0
        self._older_timer.stop()
        for page in list(self._pages):
            self._drop_page(page)
        self._widgets = []
        self._anchor = None
        count = self._model.rowCount()
        self._first_row = max(0, count - BATCH)
        for row in range(self._first_row, count):
            widget = self._make(row)
            self._insert_widget(len(self._widgets), widget)
            self._widgets.append(widget)
        self._pin_newest()
        self._placeholder.setVisible(count == 0)
        self._stick_to_bottom = True
        QTimer.singleShot(0, self.scroll_to_bottom)
        if was_busy:
            self.idle.emit()  # the queued work was dropped

    def _load_older(self) -> None:
        """Build the next few older rows, one per event-loop turn, from the next turn on.

        Not in this turn: it handles a scroll step, and may have paint to do.
        """
        if self._first_row == 0 or self._older_wanted:
            return
        self._older_wanted = OLDER_BATCH
        self._older_timer.start()

    def _build_one_older(self) -> None:
        if self._older_wanted <= 0 or self._first_row == 0:
            self._older_wanted = 0
            self._emit_idle()
            return
        self._older_wanted -= 1
        self._prepend_row()
        if self._older_wanted and self._first_row > 0:
            # A zero timer runs after the posted layout and paint of this row.
            self._older_timer.start()
        else:
            self._older_wanted = 0
            self._emit_idle()

    def _prepend_row(self) -> None:
        widget = self._make(self._first_row - 1)
        self._insert_widget(0, widget)
        self._widgets.insert(0, widget)
        self._first_row -= 1

    # -- model signals -------------------------------------------------------------------------

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        self._placeholder.hide()
        for row in range(first, last + 1):
            position = row - self._first_row
            if position < 0:
                self._first_row += 1  # an older, unloaded row: just shift the window
                continue
            widget = self._make(row)
            self._insert_widget(position, widget)
            self._widgets.insert(position, widget)
        self._pin_newest()

    def _on_rows_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        for row in range(last, first - 1, -1):
            position = row - self._first_row
            if position < 0:
                self._first_row -= 1
                continue
            if position < len(self._widgets):
                self._remove_widget(position)
        self._pin_newest()
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
        if not self._restoring:
            self._remember_anchor()
        if self._first_row > 0:
            screen = max(1, self.viewport().height())
            if value < 2 * screen:
                self._start_prefetch()
            if value < screen:
                # Less than a screen above: build older messages before the top is reached.
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
            if dark == self._dark:  # else the theme changed meanwhile
                self._prerendered.update(rendered)

        self._prefetch = asyncio.ensure_future(prefetch())

    def _on_range_changed(self, minimum: int, maximum: int) -> None:
        bar = self.verticalScrollBar()
        if self._stick_to_bottom:
            bar.setValue(maximum)
            return
        if self._anchor is None:
            return
        widget, offset = self._anchor
        if not any(w is widget for w in self._widgets):
            self._anchor = None
            return
        self._restoring = True
        try:
            bar.setValue(self._top_of(widget) - offset)
        finally:
            self._restoring = False

    def _top_of(self, widget: MessageWidget) -> int:
        """Where ``widget`` starts in the column, in pixels."""
        return self._page_of(widget).y() + widget.y()

    def _remember_anchor(self) -> None:
        if self._stick_to_bottom or not self._widgets:
            self._anchor = None
            return
        top = self.verticalScrollBar().value()
        # The first message whose bottom is below the top of the viewport.
        low, high = 0, len(self._widgets) - 1
        while low < high:
            middle = (low + high) // 2
            widget = self._widgets[middle]
            if self._top_of(widget) + widget.height() <= top:
                low = middle + 1
            else:
                high = middle
        widget = self._widgets[low]
        self._anchor = (widget, self._top_of(widget) - top)
