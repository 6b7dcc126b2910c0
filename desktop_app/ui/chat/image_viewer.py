"""``ImageViewer``: one image of a turn, as large as the window allows; Esc closes it.

It opens at once with the preview the message shows, if there is one, while the
image that was sent (the prepared one, carried in the turn) is decoded in a worker
thread: decoding a large image can take longer than one frame.
"""

from __future__ import annotations

import asyncio
import contextlib

import shiboken6
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.wire.blocks import Base64Source, ImageSource

# Of the screen, at most, when the viewer opens.
SCREEN_SHARE = 0.85


def decode_image(source: Base64Source) -> QImage:
    """The image in ``source`` (a null image when it cannot be read). Safe in a worker."""
    return QImage.fromData(source.decoded())


def thumbnail(source: Base64Source, size: int) -> QImage:
    """The image in ``source`` no larger than ``size`` square (null if unreadable)."""
    image = decode_image(source)
    if image.isNull() or (image.width() <= size and image.height() <= size):
        return image  # never blown up
    return image.scaled(
        size,
        size,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


class ImageViewer(QDialog):
    """Shows one image scaled to fit the window, never larger than it is."""

    def __init__(
        self,
        title: str,
        preview: QImage | None,
        source: ImageSource | None,
        parent: QWidget | None = None,
    ) -> None:
        """Show ``preview`` now and the image in ``source`` once it is decoded."""
        super().__init__(parent)
        self.setObjectName("imageViewer")
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._image = preview if preview is not None and not preview.isNull() else QImage()
        self._full = False  # True once the sent image replaced the preview
        self._pixmap = QPixmap.fromImage(self._image) if not self._image.isNull() else QPixmap()
        self._task: asyncio.Future[None] | None = None
        self._first = QSize()  # the size it opened at, until the person changes it

        self.picture = QLabel()
        self.picture.setObjectName("imageViewerImage")
        self.picture.setAccessibleName(title)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Ignored: the picture follows the window, never the other way round.
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setMinimumSize(1, 1)
        self.caption = QLabel()
        self.caption.setObjectName("imageViewerCaption")
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close the image")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.caption)
        layout.addWidget(buttons)

        if isinstance(source, Base64Source):
            self._say("Loading the image…" if self._image.isNull() else "Showing a preview…")
            with contextlib.suppress(RuntimeError):  # no running loop: the preview only
                asyncio.get_running_loop()
                self._task = asyncio.ensure_future(self._load(source))
        elif self._image.isNull():
            self._say("This image is kept by the service; there is no copy here to show.")
        else:
            self._say("A preview: the image itself is kept by the service.")
        self._first = self._first_size()
        self.resize(self._first)
        self._show_scaled()

    @property
    def image(self) -> QImage:
        """The image shown now (the preview until the sent image is decoded)."""
        return self._image

    @property
    def loaded(self) -> bool:
        """True once the image that was sent is shown."""
        return self._full

    @property
    def loading(self) -> asyncio.Future[None] | None:
        """The decoding in progress, to await; None when there is none."""
        return self._task

    async def _load(self, source: Base64Source) -> None:
        image = await asyncio.to_thread(decode_image, source)
        if not shiboken6.isValid(self):
            return
        if image.isNull():
            self._say("This image could not be read.")
            return
        self._image = image
        self._full = True
        self._pixmap = QPixmap.fromImage(image)
        self._say(f"{image.width()} × {image.height()} pixels, as sent.")
        if self.size() == self._first:
            self.resize(self._first_size())  # now that its real size is known
        self._show_scaled()

    def _say(self, text: str) -> None:
        self.caption.setText(text)
        self.caption.setAccessibleName(text)
        self.setAccessibleDescription(text)

    def _first_size(self) -> QSize:
        screen = self.screen().availableGeometry().size()
        most = QSize(int(screen.width() * SCREEN_SHARE), int(screen.height() * SCREEN_SHARE))
        wanted = QSize(640, 480)
        if not self._image.isNull():
            # Room for the caption and the Close button under the picture.
            wanted = self._image.size().grownBy(self.contentsMargins()) + QSize(24, 96)
        return wanted.expandedTo(QSize(360, 280)).boundedTo(most)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Fit the picture to the new size."""
        super().resizeEvent(event)
        self._show_scaled()

    def _show_scaled(self) -> None:
        if self._pixmap.isNull():
            self.picture.clear()
            return
        room = self.picture.size()
        size = self._pixmap.size()
        if self._full:
            # Never blown up past its own size: it was sent at that size.
            room = room.boundedTo(size)
        scaled = size.scaled(room, Qt.AspectRatioMode.KeepAspectRatio)
        if scaled.isEmpty():
            return
        self.picture.setPixmap(
            self._pixmap.scaled(
                scaled,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
