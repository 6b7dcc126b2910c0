"""``ImageDropPane``: the main window's image attachments, from drops, pastes and a file picker."""

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
    QItemSelection,
    QMimeData,
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
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.catalog import ModelInfo
from desktop_app.ui import notify
from desktop_app.ui.attachments.attachment_delegate import AttachmentDelegate
from desktop_app.ui.attachments.attachment_model import AttachmentModel, AttachmentStatus

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


class ImageDropPane(QWidget):
    """Images attached to the draft: drop, paste or pick files; see what each will cost.

    Every image is prepared off the UI thread for the current model (see
    :class:`AttachmentModel`). Images dragged from a browser are taken from the bytes
    the drag carries; nothing is ever downloaded.

    Signals:
        changed: Emitted when an attachment was added or removed or its status changed.
        total_tokens_changed: Emitted with the new estimate of input tokens of the
            ready images whenever it changes.
    """

    changed = Signal()
    total_tokens_changed = Signal(int)

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

        paste_keys = QKeySequence(QKeySequence.StandardKey.Paste).toString(
            QKeySequence.SequenceFormat.NativeText
        )
        self._hint = QLabel(f"Drop, paste ({paste_keys}) or attach images", self)
        self._hint.setTextFormat(Qt.TextFormat.PlainText)
        self._hint.setObjectName("attachmentHint")
        self._hint.setAccessibleName("No images attached")
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setWordWrap(True)
        self._hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self._list = QListView(self)
        self._list.setObjectName("attachmentList")
        self._list.setAccessibleName("Attached images")
        self._list.setModel(self._attachments)
        self._list.setItemDelegate(AttachmentDelegate(self._list))
        self._list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self._list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._list.setUniformItemSizes(True)

        self._summary = QLabel(self)
        self._summary.setTextFormat(Qt.TextFormat.PlainText)
        self._summary.setObjectName("attachmentSummary")
        self._summary.setAccessibleName("Attachment summary")

        attach_keys = ATTACH_SHORTCUT.toString(QKeySequence.SequenceFormat.NativeText)
        self._attach_button = QPushButton("Attach images\u2026", self)
        self._attach_button.setObjectName("attachButton")
        self._attach_button.setAccessibleName("Attach images\u2026")
        self._attach_button.setToolTip(f"Attach image files ({attach_keys})")
        self._remove_button = QPushButton("Remove", self)
        self._remove_button.setObjectName("removeAttachmentButton")
        self._remove_button.setAccessibleName("Remove selected images")
        self._remove_button.setToolTip("Remove the selected images (Delete)")
        self._remove_button.setEnabled(False)

        self.attach_action = QAction("Attach images\u2026", self)
        """Opens the file picker; the main window may also put it in a menu."""
        self.attach_action.setObjectName("attachAction")
        self.attach_action.setShortcut(ATTACH_SHORTCUT)
        self.attach_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        # The main window owns Ctrl+V (the composer pastes text), so this one has no key.
        self._paste_action = QAction("Paste image", self)
        self._paste_action.setObjectName("pasteImageAction")
        self._remove_action = QAction("Remove", self._list)
        self._remove_action.setObjectName("removeAttachmentAction")
        self._remove_action.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.Delete), QKeySequence(Qt.Key.Key_Backspace)]
        )
        self._remove_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self._remove_action.setEnabled(False)
        self._list.addActions([self._remove_action, self._paste_action, self.attach_action])
        self._list.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.addActions([self._paste_action, self.attach_action])
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        buttons = QHBoxLayout()
        buttons.addWidget(self._attach_button)
        buttons.addWidget(self._remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self._summary)
        layout = QVBoxLayout(self)
        # Room around the children for the drop highlight painted by the pane.
        layout.setContentsMargins(3, 3, 3, 3)
        layout.addWidget(self._hint, 1)
        layout.addWidget(self._list, 1)
        layout.addLayout(buttons)
        QWidget.setTabOrder(self._list, self._attach_button)
        QWidget.setTabOrder(self._attach_button, self._remove_button)

        self._attach_button.clicked.connect(self._on_attach_triggered)
        self.attach_action.triggered.connect(self._on_attach_triggered)
        self._paste_action.triggered.connect(self._on_paste_triggered)
        self._remove_button.clicked.connect(self.remove_selected)
        self._remove_action.triggered.connect(self.remove_selected)
        self._list.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._attachments.rowsInserted.connect(self._on_attachments_changed)
        self._attachments.rowsRemoved.connect(self._on_attachments_changed)
        self._attachments.modelReset.connect(self._on_attachments_changed)
        self._attachments.dataChanged.connect(self._on_attachments_changed)
        self._refresh()

    # -- public API ------------------------------------------------------------------------

    @property
    def model(self) -> AttachmentModel:
        """The attachments, as a Qt list model."""
        return self._attachments

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
        """Ask for image files with the platform's file dialog (tests replace this)."""
        files, _ = QFileDialog.getOpenFileNames(
            self, "Attach images", self._last_dir, IMAGE_FILTER
        )
        return [Path(f) for f in files]

    def remove_selected(self) -> None:
        """Remove the selected attachments and keep a neighbour selected for the keyboard."""
        rows = sorted({index.row() for index in self._list.selectionModel().selectedRows()})
        if not rows:
            current = self._list.currentIndex()
            rows = [current.row()] if current.isValid() else []
        for row in reversed(rows):
            self._attachments.remove(row)
        remaining = self._attachments.rowCount()
        if rows and remaining:
            self._list.setCurrentIndex(self._attachments.index(min(rows[0], remaining - 1), 0))

    # -- drag and drop ---------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Take any drag that may carry an image (web addresses get explained on drop)."""
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage() or any(mime.hasFormat(f) for f in _RAW_FORMATS):
            self._accept_copy(event)
            self._set_drag_active(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        """Keep accepting the drag entered."""
        self._accept_copy(event)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        """Drop the highlight."""
        self._set_drag_active(False)
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        """Attach what was dropped; the data is copied before the event ends."""
        self._set_drag_active(False)
        if self.add_mime_data(event.mimeData()):
            self._accept_copy(event)
        else:
            event.ignore()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Outline the pane while a drag hovers over it."""
        super().paintEvent(event)
        if not self._drag_active:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
        painter.drawRoundedRect(self.rect().adjusted(1, 1, -1, -1), 4, 4)
        painter.end()

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

    def _on_selection_changed(
        self, _selected: QItemSelection, _deselected: QItemSelection
    ) -> None:
        has_selection = self._list.selectionModel().hasSelection()
        self._remove_button.setEnabled(has_selection)
        self._remove_action.setEnabled(has_selection)

    def _on_attachments_changed(self, *_: object) -> None:
        self._refresh()
        self.changed.emit()
        tokens = self._attachments.total_tokens()
        if tokens != self._tokens:
            self._tokens = tokens
            self.total_tokens_changed.emit(tokens)

    # -- internals -------------------------------------------------------------------------

    def _refresh(self) -> None:
        count = self._attachments.rowCount()
        self._hint.setVisible(count == 0)
        self._list.setVisible(count > 0)
        if count == 0:
            self._summary.clear()
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

    def _set_drag_active(self, active: bool) -> None:
        if active != self._drag_active:
            self._drag_active = active
            self.update()

    @staticmethod
    def _accept_copy(event: QDropEvent) -> None:
        if event.possibleActions() & Qt.DropAction.CopyAction:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.acceptProposedAction()
