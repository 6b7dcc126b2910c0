"""``DropOverlay``: covers the window while images are dragged over it; drops anywhere attach."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, QRectF, QSize, Qt
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QWindow,
)
from PySide6.QtWidgets import QWidget

from desktop_app.ui import icons
from desktop_app.ui.attachments.image_drop_pane import ImageDropPane, carries_images

TITLE = "Drop images to attach them"
SUBTITLE = "They join your message; nothing is sent until you press Send."


class DropOverlay(QWidget):
    """A veil over ``host`` shown while a drag that may carry images hovers over it.

    The overlay follows the pane's ``drag_active_changed``. Once shown it lies on top
    of every other widget, so the window hands the rest of the drag (moves, leave,
    drop) to it wherever the pointer is, even over text that takes drops of its own;
    it passes them to the pane. It also watches the host's native window, so a drag
    that enters over such text shows the overlay too.

    Object name ``dropOverlay``; it paints itself from the palette (Window, Highlight,
    WindowText), or the application stylesheet may style it.
    """

    def __init__(self, pane: ImageDropPane, host: QWidget) -> None:
        """Cover ``host`` (usually the main window) for drops into ``pane``."""
        super().__init__(host)
        self.setObjectName("dropOverlay")
        self.setAccessibleName(TITLE)
        self.setAccessibleDescription(SUBTITLE)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide()
        self._pane = pane
        self._host = host
        self._window: QWindow | None = None
        pane.drag_active_changed.connect(self._on_drag_active)
        host.installEventFilter(self)
        self._watch_window()

    @property
    def host(self) -> QWidget:
        """The widget this overlay covers."""
        return self._host

    # -- following the host ----------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keep the host's size; show the overlay when a drag of images enters the window."""
        kind = event.type()
        if watched is self._host:
            if kind == QEvent.Type.Resize:
                self.setGeometry(self._host.rect())
            elif kind in (QEvent.Type.Show, QEvent.Type.WinIdChange):
                self._watch_window()
        elif watched is self._window:
            if (
                kind == QEvent.Type.DragEnter
                and isinstance(event, QDragEnterEvent)
                and carries_images(event.mimeData())
            ):
                # Shown before Qt picks the widget under the pointer, so the drag goes to it.
                self._pane.set_drag_active(True)
            elif kind == QEvent.Type.DragLeave:
                # The drag left the window, whichever widget had it: nothing may stay behind.
                self._pane.set_drag_active(False)
        return False

    def _watch_window(self) -> None:
        window = self._host.windowHandle()
        if window is self._window:
            return
        if self._window is not None and shiboken6.isValid(self._window):
            self._window.removeEventFilter(self)
        self._window = window
        if window is not None:
            window.installEventFilter(self)

    def _on_drag_active(self, active: bool) -> None:
        if not shiboken6.isValid(self):
            return
        if active:
            self.setGeometry(self._host.rect())
            self.raise_()
            self.show()
        else:
            self.hide()

    # -- the drag, handed to the pane ------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Take the drag the pane takes."""
        self._pane.dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        """Keep taking it."""
        self._pane.dragMoveEvent(event)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        """The drag left the window: the overlay goes."""
        self._pane.dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        """Attach what was dropped; the overlay goes."""
        self._pane.dropEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """A click means no drag is under way: a stale overlay never blocks the window."""
        self._pane.set_drag_active(False)
        event.accept()

    # -- looks -----------------------------------------------------------------------------

    def paintEvent(self, _event: QPaintEvent) -> None:
        """A veil in the window colour, a dashed frame, an icon and two lines of text."""
        palette = self.palette()
        veil = palette.color(QPalette.ColorRole.Window)
        veil.setAlphaF(0.9)
        accent = palette.color(QPalette.ColorRole.Highlight)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), veil)
        pen = QPen(accent, 2)
        pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        frame = QRectF(self.rect()).adjusted(16, 16, -16, -16)
        painter.drawRoundedRect(frame, 14, 14)

        metrics = self.fontMetrics()
        side = 48
        title_font = self.font()
        title_font.setPointSizeF(max(title_font.pointSizeF(), 9.0) * 1.4)
        title_font.setBold(True)
        painter.setFont(title_font)
        title_height = painter.fontMetrics().height()
        block = side + 12 + title_height + 6 + metrics.height()
        top = self.rect().center().y() - block // 2
        pixmap = icons.icon("upload", accent).pixmap(QSize(side, side), self.devicePixelRatioF())
        painter.drawPixmap(self.rect().center().x() - side // 2, top, pixmap)
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        width = max(1, int(frame.width()) - 24)
        left = int(frame.left()) + 12
        painter.drawText(
            left, top + side + 12, width, title_height, Qt.AlignmentFlag.AlignHCenter, TITLE
        )
        painter.setFont(self.font())
        painter.drawText(
            left,
            top + side + 12 + title_height + 6,
            width,
            metrics.height() * 3,
            int(Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap),
            SUBTITLE,
        )
        painter.end()
