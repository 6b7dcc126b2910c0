"""``ImageDropPane``: the draft's images as chips, from drops, pastes and a file picker."""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QMimeData,
    QModelIndex,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QImageWriter,
    QKeySequence,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.catalog import ModelInfo
from desktop_app.ui import notify
from desktop_app.ui.attachments.attachment_chip import THUMB_SIZE, AttachmentChip
from desktop_app.ui.attachments.attachment_model import AttachmentModel, AttachmentStatus
from desktop_app.ui.attachments.flow_layout import FlowLayout

if TYPE_CHECKING:
    from desktop_app.core.images import PreparedImage

IMAGE_SUFFIXES = (
    "jpg",
    "jpeg",
    "png",
    "gif",
    "webp",
    "bmp",
    "tif",
    "tiff",
    "heic",
    "heif",
    "avif",
)
# Both cases: the file dialog matches patterns case-sensitively on some platforms.
IMAGE_FILTER = (
    "Images (" + " ".join(f"*.{s} *.{s.upper()}" for s in IMAGE_SUFFIXES) + ");;All files (*)"
)
WEB_IMAGE_MESSAGE = "Iris does not download images from the web; save it and drop the file."
ATTACH_SHORTCUT = QKeySequence("Ctrl+Shift+A")

# Encoded image formats a drag or the clipboard may carry, best first: the first four
# can be sent exactly as they are.
_RAW_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "image/tiff": "tiff",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/avif": "avif",
}


def encode_png(image: QImage) -> bytes:
    """Encode ``image`` as PNG; safe in a worker thread (QImage is reentrant).

    Raises:
        NotAnImageError: The picture could not be encoded.
    """
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(b"png"))
    saved = writer.write(image)
    buffer.close()
    if not saved or array.isEmpty():
        from desktop_app.core.errors import NotAnImageError

        raise NotAnImageError(f"The picture could not be encoded as PNG: {writer.errorString()}.")
    return bytes(array.data())


def _read_file(path: Path) -> bytes:
    """Read an image file in a worker; the pipeline (and Pillow) loads there, not here."""
    from desktop_app.core.images import read_image_file

    return read_image_file(path)


def _name_for(hint: str, extension: str, stem: str) -> str:
    if hint and "." in hint:
        return hint
    return f"{hint or stem}.{extension}"


def _decode_data_url(url: QUrl) -> tuple[str, bytes] | None:
    """Return (media type, bytes) of a ``data:image/...`` URL; it holds the bytes itself."""
    header, sep, payload = url.toString(QUrl.ComponentFormattingOption.FullyEncoded).partition(",")
    if not sep or not header.lower().startswith("data:image/"):
        return None
    media_type = header[5:].split(";", 1)[0].lower()
    raw = unquote_to_bytes(payload)
    if header.lower().endswith(";base64"):
        try:
            raw = base64.b64decode(raw, validate=False)
        except ValueError:
            return None
    return media_type, raw


def carries_images(mime: QMimeData) -> bool:
    """True when ``mime`` holds local files, a picture, or image bytes (not just a web link)."""
    if mime.hasImage() or any(mime.hasFormat(f) for f in _RAW_FORMATS):
        return True
    urls = mime.urls() if mime.hasUrls() else []
    return any(url.isLocalFile() or url.scheme() == "data" for url in urls)


def may_carry_images(mime: QMimeData) -> bool:
    """True for any drag the pane takes: images, files, and web addresses (explained on drop)."""
    return mime.hasUrls() or carries_images(mime)


class _ChipArea(QScrollArea):
    """The chips, wrapping into rows; scrolls once they need more than about two rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentChips")
        # The chips' buttons are the stops for Tab; the area around them is none
        # (it would take the focus with nothing to show for it).
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # As tall as the chips need (up to the cap), never taller.
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.viewport().setAutoFillBackground(False)
        self.content = QWidget(self)
        self.content.setObjectName("attachmentChipsContent")
        self.content.setAutoFillBackground(False)
        self.flow = FlowLayout(self.content)
        self.setWidget(self.content)
        self.content.setAutoFillBackground(False)  # setWidget() turned it on

    def _cap(self) -> int:
        # Two rows and the top of a third, so a person sees there is more to scroll to.
        row = THUMB_SIZE + 10
        return int(2.5 * row) + self.flow.spacing()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        frame = 2 * self.frameWidth()
        return min(self.flow.heightForWidth(max(1, width - frame)), self._cap()) + frame

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.heightForWidth(max(1, self.width())))

    def minimumSizeHint(self) -> QSize:
        return QSize(self.flow.minimumSize().width(), min(THUMB_SIZE + 10, self._cap()))


class ImageDropPane(QWidget):
    """Images attached to the draft, shown as chips: drop, paste or pick files.

    Every image is prepared off the UI thread for the current model (see
    :class:`AttachmentModel`). Images dragged from a browser are taken from the bytes
    the drag carries; nothing is ever downloaded. Each chip shows the image's name,
    its size and token estimate (or why it cannot be used) and a remove button.

    Signals:
        changed: Emitted when an attachment was added or removed or its status changed.
        total_tokens_changed: Emitted with the new estimate of input tokens of the
            ready images whenever it changes.
        drag_active_changed: A drag that may carry images started (True) or ended
            (False) over the pane, or over what forwards its drags here.
    """

    changed = Signal()
    total_tokens_changed = Signal(int)
    drag_active_changed = Signal(bool)

    def __init__(self, model: ModelInfo, parent: QWidget | None = None) -> None:
        """Build the pane, preparing images for ``model``."""
        super().__init__(parent)
        self.setObjectName("imageDropPane")
        self.setAccessibleName("Image attachments")
        self.setAcceptDrops(True)
        self._attachments = AttachmentModel(model, self)
        self._tokens = 0
        self._drag_active = False
        self._last_dir = ""
        self._chips: list[AttachmentChip] = []

        self._area = _ChipArea(self)
        self._area.setAccessibleName("Attached images")
        self._summary = QLabel(self)
        self._summary.setTextFormat(Qt.TextFormat.PlainText)
        self._summary.setObjectName("attachmentSummary")
        self._summary.setAccessibleName("Attachment summary")

        self.attach_action = QAction("Attach images\u2026", self)
        """Opens the file picker; the composer's Attach button and menus trigger it."""
        self.attach_action.setObjectName("attachAction")
        self.attach_action.setShortcut(ATTACH_SHORTCUT)
        self.attach_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        # The main window owns Ctrl+V (the composer pastes text), so this one has no key.
        self._paste_action = QAction("Paste image", self)
        self._paste_action.setObjectName("pasteImageAction")
        self.addActions([self._paste_action, self.attach_action])
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._area)
        layout.addWidget(self._summary)
        layout.addStretch(0)

        self.attach_action.triggered.connect(self._on_attach_triggered)
        self._paste_action.triggered.connect(self._on_paste_triggered)
        self._attachments.rowsInserted.connect(self._on_rows_inserted)
        self._attachments.rowsRemoved.connect(self._on_rows_removed)
        self._attachments.modelReset.connect(self._on_model_reset)
        self._attachments.dataChanged.connect(self._on_data_changed)
        self._refresh()

    # -- public API ------------------------------------------------------------------------

    @property
    def model(self) -> AttachmentModel:
        """The attachments, as a Qt list model."""
        return self._attachments

    def chips(self) -> list[AttachmentChip]:
        """The chips shown, one per attachment, in order."""
        return list(self._chips)

    def focus_chain(self) -> list[QWidget]:
        """The controls a person tabs through here, in order (each chip's remove button)."""
        return [chip.remove_button for chip in self._chips]

    def set_model(self, model: ModelInfo) -> None:
        """Prepare every attachment again for ``model``'s image limits."""
        self._attachments.set_limits(model)

    def attachments_ready(self) -> list[PreparedImage]:
        """The images that can be sent, in order; failed and unfinished ones are left out."""
        return self._attachments.ready()

    def is_busy(self) -> bool:
        """True while any image is still being read or prepared."""
        return self._attachments.is_busy()

    async def wait_idle(self) -> None:
        """Return once every image is ready or failed (useful before sending)."""
        await self._attachments.wait_idle()

    async def aclose(self) -> None:
        """Stop all preparation and wait for it to end (when the window closes)."""
        await self._attachments.aclose()

    def clear(self) -> None:
        """Remove every attachment (after sending, or a new conversation)."""
        self._attachments.clear()

    def add_files(self, paths: list[Path]) -> None:
        """Attach image files; they are read and prepared off the UI thread."""
        for path in paths:
            self._attachments.add_deferred(
                path.name or str(path), functools.partial(_read_file, path)
            )
        if paths:
            self._last_dir = str(paths[-1].parent)

    def add_bytes(self, name: str, data: bytes) -> None:
        """Attach an encoded picture held in memory."""
        self._attachments.add(name, data)

    def add_image(self, name: str, image: QImage) -> None:
        """Attach a decoded picture; it is encoded as PNG off the UI thread."""
        # A 4K screenshot takes 100 ms or more to encode: too long for the UI thread.
        self._attachments.add_deferred(name, functools.partial(encode_png, QImage(image)))

    def add_mime_data(self, mime: QMimeData, *, stem: str = "Dropped image") -> bool:
        """Attach the images ``mime`` carries, from a drop or the clipboard.

        Local files come first, then the encoded image bytes a browser drag carries,
        then a decoded picture. Remote URLs are never fetched.

        Args:
            mime: The data of a drop or of the clipboard.
            stem: Base of the name given to pictures that come without a file name.

        Returns:
            True when something was attached; False when ``mime`` holds nothing
            usable (with a message when all it has is a web address).
        """
        urls = mime.urls() if mime.hasUrls() else []
        local = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
        if local:
            self.add_files(local)
            return True
        # A data: URL's "file name" is a slice of its payload; only web addresses name files.
        web = [url for url in urls if url.scheme() in ("http", "https")]
        hint = next((url.fileName() for url in web if url.fileName()), "")
        for media_type, extension in _RAW_FORMATS.items():
            if mime.hasFormat(media_type):
                data = bytes(mime.data(media_type).data())
                if data:
                    self.add_bytes(_name_for(hint, extension, stem), data)
                    return True
        if mime.hasImage():
            picture: object = mime.imageData()
            if isinstance(picture, QPixmap):
                picture = picture.toImage()
            if isinstance(picture, QImage) and not picture.isNull():
                self.add_image(_name_for(hint, "png", stem), picture)
                return True
        inline = [found for url in urls if (found := _decode_data_url(url)) is not None]
        inline = [(media_type, data) for media_type, data in inline if data]
        for media_type, data in inline:
            self.add_bytes(_name_for("", _RAW_FORMATS.get(media_type, "png"), stem), data)
        if inline:
            return True
        if urls:
            notify.warning(WEB_IMAGE_MESSAGE)
        return False

    def paste_from_clipboard(self) -> bool:
        """Attach the image or image files on the clipboard.

        Returns:
            True when something was attached.
        """
        # None when the platform has no clipboard for this mode.
        mime: QMimeData | None = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return False
        return self.add_mime_data(mime, stem="Pasted image")

    def choose_files(self) -> list[Path]:
        """Ask for files with the platform's file dialog (tests replace this)."""
        files, _ = QFileDialog.getOpenFileNames(
            self, "Attach images", self._last_dir, IMAGE_FILTER
        )
        return [Path(f) for f in files]

    def remove_chip(self, chip: AttachmentChip) -> None:
        """Remove ``chip``'s attachment; the keyboard moves on to a neighbour."""
        if chip not in self._chips:
            return
        had_focus = chip.remove_button.hasFocus()
        row = self._chips.index(chip)
        self._attachments.remove(row)
        if had_focus and self._chips:
            self._chips[min(row, len(self._chips) - 1)].remove_button.setFocus(
                Qt.FocusReason.OtherFocusReason
            )

    # -- drag and drop ---------------------------------------------------------------------

    @property
    def drag_active(self) -> bool:
        """True while a drag that may carry images hovers over the pane (or the window)."""
        return self._drag_active

    def set_drag_active(self, active: bool) -> None:
        """Say that a drag started or ended where drops reach this pane."""
        if active != self._drag_active:
            self._drag_active = active
            self.drag_active_changed.emit(active)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Take any drag that may carry an image (web addresses get explained on drop)."""
        if may_carry_images(event.mimeData()):
            self._accept_copy(event)
            self.set_drag_active(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        """Keep accepting the drag entered."""
        self._accept_copy(event)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        """The drag went elsewhere."""
        self.set_drag_active(False)
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        """Attach what was dropped; the data is copied before the event ends."""
        self.set_drag_active(False)
        if self.add_mime_data(event.mimeData()):
            self._accept_copy(event)
        else:
            event.ignore()

    # -- handlers --------------------------------------------------------------------------

    def _on_attach_triggered(self) -> None:
        paths = self.choose_files()
        if paths:
            self.add_files(paths)

    def _on_paste_triggered(self) -> None:
        mime: QMimeData | None = QGuiApplication.clipboard().mimeData()
        # A web address on the clipboard has already been explained by add_mime_data().
        if not self.paste_from_clipboard() and (mime is None or not mime.hasUrls()):
            notify.info("The clipboard holds no image.")

    def _on_rows_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        for row in range(first, last + 1):
            chip = AttachmentChip(self._attachments.attachment(row), self._area.content)
            chip.remove_requested.connect(self.remove_chip)
            self._chips.insert(row, chip)
            self._area.flow.insertWidget(row, chip)
            chip.show()
        self._on_attachments_changed()

    def _on_rows_removed(self, _parent: QModelIndex, first: int, last: int) -> None:
        for chip in self._chips[first : last + 1]:
            self._area.flow.removeWidget(chip)
            chip.hide()
            chip.deleteLater()
        del self._chips[first : last + 1]
        self._on_attachments_changed()

    def _on_model_reset(self) -> None:
        self._on_rows_removed(QModelIndex(), 0, len(self._chips) - 1)
        count = self._attachments.rowCount()
        if count:
            self._on_rows_inserted(QModelIndex(), 0, count - 1)

    def _on_data_changed(self, top: QModelIndex, bottom: QModelIndex, *_: object) -> None:
        for chip in self._chips[top.row() : bottom.row() + 1]:
            chip.refresh()
        self._area.flow.invalidate()
        self._on_attachments_changed()

    def _on_attachments_changed(self) -> None:
        self._refresh()
        self._area.updateGeometry()
        self.changed.emit()
        tokens = self._attachments.total_tokens()
        if tokens != self._tokens:
            self._tokens = tokens
            self.total_tokens_changed.emit(tokens)

    # -- internals -------------------------------------------------------------------------

    def _refresh(self) -> None:
        count = self._attachments.rowCount()
        self._area.setVisible(count > 0)
        self._summary.setVisible(count > 0)
        if count == 0:
            self._summary.clear()
            self._summary.setAccessibleName("Attachment summary")
            return
        statuses = [a.status for a in self._attachments.attachments()]
        parts = [f"{count} image" + ("s" if count != 1 else "")]
        tokens = self._attachments.total_tokens()
        if tokens:
            parts.append(f"\u2248{tokens:,} tokens")
        failed = statuses.count(AttachmentStatus.FAILED)
        if failed:
            parts.append(f"{failed} failed")
        if AttachmentStatus.PREPARING in statuses:
            parts.append("preparing\u2026")
        self._summary.setText(" \u00b7 ".join(parts))
        self._summary.setAccessibleName(self._summary.text())

    @staticmethod
    def _accept_copy(event: QDropEvent) -> None:
        if event.possibleActions() & Qt.DropAction.CopyAction:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.acceptProposedAction()
