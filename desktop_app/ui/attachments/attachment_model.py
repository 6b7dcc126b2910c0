"""The images attached to the next message, prepared off the UI thread for the current model."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import enum
import functools
import itertools
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6 import QtGui
from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QImage
from shiboken6 import Shiboken

from desktop_app.core.catalog import MANY_IMAGES_THRESHOLD, ImageLimits, ModelInfo
from desktop_app.core.render.markdown import escape_plain
from desktop_app.ui.attachments import preparation

if TYPE_CHECKING:
    from desktop_app.core.images import PreparedImage

# Pillow and the image pipeline load in the worker that first needs them (or in
# the start-up warm-up), never on the UI thread and never before the window shows.

_log = logging.getLogger(__name__)
_ROOT = QModelIndex()

"""Longest side of the thumbnails made in the worker, in pixels."""

# Decoding a 100 MP photo takes hundreds of MB; a few workers keep memory bounded and
# leave a core for the UI thread.
_MAX_WORKERS = max(1, min(4, (os.cpu_count() or 2) - 1))
# prepare_image() only sees bytes and calls them this; people know the file's name.
_TIMES = "\u00d7"
_SEPARATOR = " \u00b7 "


class AttachmentStatus(enum.Enum):
    """Where an attachment is in its preparation."""

    PREPARING = "preparing"
    READY = "ready"
    FAILED = "failed"


@dataclasses.dataclass(eq=False)
class Attachment:
    """One image attached to the draft.

    Identity matters, not value: two drops of the same file are two attachments.

    Attributes:
        id: Unique within its :class:`AttachmentModel`.
        name: The file name, or a made-up one for pasted and dragged pictures.
        data: The source bytes as received, kept so the image can be prepared again for
            another model; empty until a deferred read has finished.
        status: Preparing, ready or failed.
        prepared: The result for the current model once ready, else None.
        error: Why the image cannot be used, in one sentence, once failed.
        thumbnail: A small preview (at most :data:`THUMBNAIL_SIZE` px), once ready.
    """

    id: int
    name: str
    data: bytes = dataclasses.field(default=b"", repr=False)
    status: AttachmentStatus = AttachmentStatus.PREPARING
    prepared: PreparedImage | None = None
    error: str | None = None
    thumbnail: QImage | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(eq=False)
class Shelf:
    """Attachments taken out of a model by :meth:`AttachmentModel.shelve`, to be put back.

    Attributes:
        attachments: The attachments, in order, as they were (prepared ones stay prepared).
        loaders: The deferred reads not finished yet, by attachment id.
        limits: The image limits they were prepared for.
        many: Whether the 2000 px many-images rule applied when they were prepared.
    """

    attachments: list[Attachment]
    loaders: dict[int, Callable[[], bytes]]
    limits: ImageLimits
    many: bool


class AttachmentRole(enum.IntEnum):
    """Custom data roles of :class:`AttachmentModel`."""

    ATTACHMENT = Qt.ItemDataRole.UserRole
    STATUS = Qt.ItemDataRole.UserRole + 1
    PREPARED = Qt.ItemDataRole.UserRole + 2
    ERROR = Qt.ItemDataRole.UserRole + 3
    DIMENSIONS = Qt.ItemDataRole.UserRole + 4
    DETAILS = Qt.ItemDataRole.UserRole + 5
    NOTES = Qt.ItemDataRole.UserRole + 6
    TOKENS = Qt.ItemDataRole.UserRole + 7


# -- text for people ---------------------------------------------------------------------------


def format_size(size: int) -> str:
    """Format a byte count as KB below one megabyte and as MB from there."""
    if size < 1_048_576:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / 1_048_576:.1f} MB"


def dimensions_text(prepared: PreparedImage) -> str:
    """Original and prepared pixel size (``3000x2000 -> 2371x1581``), or one size if kept."""
    original = f"{prepared.original_width}{_TIMES}{prepared.original_height}"
    if (prepared.width, prepared.height) == (prepared.original_width, prepared.original_height):
        return original
    return f"{original} \u2192 {prepared.width}{_TIMES}{prepared.height}"


def details_text(prepared: PreparedImage) -> str:
    """Media type, size and token estimate on one line."""
    return _SEPARATOR.join(
        (
            prepared.media_type,
            format_size(prepared.byte_size),
            f"\u2248{prepared.estimated_tokens:,} tokens",
        )
    )


def notes_text(prepared: PreparedImage) -> str:
    """What was done to the image, or that it is sent as it is."""
    if prepared.notes:
        return " ".join(prepared.notes)
    return "Sent unchanged." if not prepared.reencoded else ""


def describe(attachment: Attachment) -> list[str]:
    """Every fact about an attachment, one line each (the tooltip)."""
    lines = [attachment.name]
    if attachment.status is AttachmentStatus.PREPARING:
        lines.append("Preparing\u2026")
    elif attachment.status is AttachmentStatus.FAILED:
        lines.append(attachment.error or "This image cannot be used.")
    elif attachment.prepared is not None:
        prepared = attachment.prepared
        lines += [dimensions_text(prepared), details_text(prepared)]
        lines += list(prepared.notes) or (["Sent unchanged."] if not prepared.reencoded else [])
    return lines


def plain_tooltip(text: str) -> str:
    """``text`` as a tooltip that shows exactly as written.

    Qt shows a tooltip whose first line looks like HTML as rich text, and loads the
    ``<img>`` sources in it; a file name can look like anything. Such text is escaped.
    """
    return escape_plain(text) if QtGui.Qt.mightBeRichText(text) else text


def _event_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        # Before the qasync loop runs (start-up, tests) it is already the current loop.
        return asyncio.get_event_loop()


# -- the model ---------------------------------------------------------------------------------


class AttachmentModel(QAbstractListModel):
    """The draft's images, one row each, prepared for the current model's limits.

    Each image is prepared by :func:`prepare_image` in a worker thread. Every job gets
    a ticket from a generation counter; a result whose ticket is no longer the
    attachment's current one (the row was removed, or the model or image count changed
    while the worker ran) is dropped. A failed image only marks its own row.
    """

    def __init__(self, model: ModelInfo, parent: QObject | None = None) -> None:
        """Start empty, preparing for ``model``'s image limits."""
        super().__init__(parent)
        self._rows: list[Attachment] = []
        self._limits = model.image
        self._other_images = 0
        self._many = False
        self._ids = itertools.count(1)
        self._generation = 0
        # attachment id -> (ticket, task) of its newest job
        self._jobs: dict[int, tuple[int, asyncio.Task[None]]] = {}
        # Every task not yet finished, including cancelled ones still unwinding.
        self._tasks: set[asyncio.Task[None]] = set()
        self._loaders: dict[int, Callable[[], bytes]] = {}
        # Our own small pool rather than the loop's default executor: it bounds how many
        # images are decoded at once, and a job cancelled while queued never runs.
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=_MAX_WORKERS, thread_name_prefix="iris-image"
        )

    # -- Qt model interface ----------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        """Number of attachments (0 for any child index: this is a flat list)."""
        return 0 if parent.isValid() else len(self._rows)

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Data for one attachment; see :class:`AttachmentRole` for the custom roles."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        att = self._rows[index.row()]
        prepared = att.prepared if att.status is AttachmentStatus.READY else None
        if role == Qt.ItemDataRole.DisplayRole:
            return att.name
        if role == Qt.ItemDataRole.DecorationRole:
            return att.thumbnail
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip("\n".join(describe(att)))
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{att.name}, {att.status.value}"
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return "\n".join(describe(att)[1:])
        if role == AttachmentRole.ATTACHMENT:
            return att
        if role == AttachmentRole.STATUS:
            return att.status
        if role == AttachmentRole.PREPARED:
            return prepared
        if role == AttachmentRole.ERROR:
            return att.error if att.status is AttachmentStatus.FAILED else None
        if prepared is None:
            return None
        if role == AttachmentRole.DIMENSIONS:
            return dimensions_text(prepared)
        if role == AttachmentRole.DETAILS:
            return details_text(prepared)
        if role == AttachmentRole.NOTES:
            return notes_text(prepared)
        if role == AttachmentRole.TOKENS:
            return prepared.estimated_tokens
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        """Rows are selectable (to remove them) and never have children."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, for debugging and QML."""
        names = dict(super().roleNames())
        names.update({r.value: QByteArray(r.name.lower().encode()) for r in AttachmentRole})
        return names

    # -- queries ---------------------------------------------------------------------------

    @property
    def limits(self) -> ImageLimits:
        """The image limits attachments are prepared for."""
        return self._limits

    def attachment(self, row: int) -> Attachment:
        """Return the attachment in ``row``.

        Raises:
            IndexError: ``row`` is out of range.
        """
        if not 0 <= row < len(self._rows):
            raise IndexError(row)
        return self._rows[row]

    def attachments(self) -> list[Attachment]:
        """All attachments, in order (a new list)."""
        return list(self._rows)

    def ready(self) -> list[PreparedImage]:
        """The prepared images that can be sent, in order; failed and busy rows are left out."""
        return [
            a.prepared
            for a in self._rows
            if a.status is AttachmentStatus.READY and a.prepared is not None
        ]

    def is_busy(self) -> bool:
        """True while any attachment is still being read or prepared."""
        return any(a.status is AttachmentStatus.PREPARING for a in self._rows)

    def total_tokens(self) -> int:
        """Estimated input tokens of the ready images."""
        return sum(p.estimated_tokens for p in self.ready())

    async def wait_idle(self) -> None:
        """Return once no preparation is running (at once when none is)."""
        while pending := [task for _, task in self._jobs.values() if not task.done()]:
            await asyncio.wait(pending)

    async def aclose(self) -> None:
        """Stop every preparation and wait until their tasks have ended (before quitting).

        The model prepares nothing afterwards: new rows fail at once.
        """
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- changes ---------------------------------------------------------------------------

    def add(self, name: str, data: bytes) -> Attachment:
        """Append an image from its encoded bytes and start preparing it.

        Args:
            name: What to call it (usually the file name).
            data: The encoded picture in any format Pillow reads.

        Returns:
            The new attachment, status preparing.
        """
        return self._append(Attachment(next(self._ids), name, data), None)

    def add_deferred(self, name: str, load: Callable[[], bytes]) -> Attachment:
        """Append an image whose bytes ``load`` produces in the worker thread.

        For files (reading may be slow) and for pictures that must be encoded first.
        ``load`` may raise :class:`ImageError`; the row then fails with its message.

        Args:
            name: What to call it.
            load: Returns the encoded picture; called off the UI thread, and again only
                if it failed before.

        Returns:
            The new attachment, status preparing.
        """
        return self._append(Attachment(next(self._ids), name), load)

    def remove(self, row: int) -> None:
        """Remove the attachment in ``row``; a preparation still running is discarded.

        Raises:
            IndexError: ``row`` is out of range.
        """
        if not 0 <= row < len(self._rows):
            raise IndexError(row)
        self.beginRemoveRows(_ROOT, row, row)
        att = self._rows.pop(row)
        self.endRemoveRows()
        self._forget(att)
        if self._update_many():
            self._restart_all()

    def clear(self) -> None:
        """Remove every attachment."""
        if not self._rows:
            return
        self.beginRemoveRows(_ROOT, 0, len(self._rows) - 1)
        rows, self._rows = self._rows, []
        self.endRemoveRows()
        for att in rows:
            self._forget(att)
        self._update_many()

    def shelve(self) -> Shelf:
        """Take every attachment out and keep it aside, as it is, for :meth:`unshelve`.

        Preparations still running stop; they start again when the attachments come
        back. Used to keep a draft's images while the composer edits another message.
        """
        rows = list(self._rows)
        shelf = Shelf(
            rows,
            {a.id: self._loaders[a.id] for a in rows if a.id in self._loaders},
            self._limits,
            self._many,
        )
        if rows:
            self.beginRemoveRows(_ROOT, 0, len(rows) - 1)
            self._rows = []
            self.endRemoveRows()
            for att in rows:
                self._forget(att)
            self._update_many()
        return shelf

    def unshelve(self, shelf: Shelf) -> None:
        """Put shelved attachments back after the current ones.

        What was prepared for the same limits stays prepared; anything unfinished, or
        prepared for other limits, is prepared again.
        """
        if not shelf.attachments:
            return
        first = len(self._rows)
        self.beginInsertRows(_ROOT, first, first + len(shelf.attachments) - 1)
        self._rows.extend(shelf.attachments)
        self.endInsertRows()
        self._loaders.update(shelf.loaders)
        if self._update_many():
            self._restart_all()
            return
        stale = shelf.limits != self._limits or shelf.many != self._many
        for att in shelf.attachments:
            if stale or att.status is AttachmentStatus.PREPARING:
                self._restart(att)

    def set_limits(self, model: ModelInfo) -> None:
        """Prepare every attachment again for ``model``, unless its limits are the same."""
        if model.image == self._limits:
            return
        self._limits = model.image
        self._restart_all()

    def set_other_images(self, count: int) -> None:
        """Say how many images the request carries besides these (earlier turns).

        The service holds every side to 2000 px once a request carries more than 20
        images, so crossing that line prepares everything again.
        """
        self._other_images = max(0, count)
        if self._update_many():
            self._restart_all()

    # -- internals -------------------------------------------------------------------------

    def _images_in_request(self) -> int:
        return max(1, len(self._rows) + self._other_images)

    def _update_many(self) -> bool:
        """Note whether the 2000 px rule applies; return True when that changed."""
        many = self._images_in_request() > MANY_IMAGES_THRESHOLD
        changed, self._many = many != self._many, many
        return changed

    def _append(self, att: Attachment, load: Callable[[], bytes] | None) -> Attachment:
        row = len(self._rows)
        self.beginInsertRows(_ROOT, row, row)
        self._rows.append(att)
        self.endInsertRows()
        if load is not None:
            self._loaders[att.id] = load
        if self._update_many():
            self._restart_all()
        else:
            self._start(att)
        return att

    def _forget(self, att: Attachment) -> None:
        job = self._jobs.pop(att.id, None)
        if job is not None:
            job[1].cancel()
        self._loaders.pop(att.id, None)

    def _restart_all(self) -> None:
        for att in self._rows:
            att.status = AttachmentStatus.PREPARING
            att.prepared = None
            att.error = None
            # The thumbnail stays: the picture is the same, only its limits changed.
            self._start(att)
        if self._rows:
            # Every row changed at once: one signal for the range, not one per row.
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 0), [])

    def _restart(self, att: Attachment) -> None:
        att.status = AttachmentStatus.PREPARING
        att.prepared = None
        att.error = None
        self._start(att)
        self._row_changed(att)

    def _start(self, att: Attachment) -> None:
        self._generation += 1
        ticket = self._generation
        previous = self._jobs.get(att.id)
        if previous is not None:
            previous[1].cancel()
        loop = _event_loop()
        task = loop.create_task(
            self._prepare(loop, att, ticket, self._limits, self._images_in_request())
        )
        self._jobs[att.id] = (ticket, task)
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._on_job_done, att.id))

    async def _prepare(
        self,
        loop: asyncio.AbstractEventLoop,
        att: Attachment,
        ticket: int,
        limits: ImageLimits,
        images_in_request: int,
    ) -> None:
        job = functools.partial(
            preparation.prepare,
            att.name,
            att.data,
            self._loaders.get(att.id),
            limits,
            images_in_request,
        )
        try:
            # The loop is passed in: Qt may run this step from a nested event loop (a
            # modal dialog), where asyncio sees no running loop.
            outcome = await asyncio.wrap_future(self._executor.submit(job), loop=loop)
        except Exception as exc:  # a bug in one image must not take the others down
            _log.exception("preparing %s failed: %s", att.name, exc)
            outcome = preparation.Outcome(
                None, error=f"{att.name} could not be prepared because of an unexpected error."
            )
        if not Shiboken.isValid(self) or self._jobs.get(att.id, (None,))[0] != ticket:
            return  # stale: removed, restarted, or the pane is gone
        self._finish(att, outcome)

    def _finish(self, att: Attachment, outcome: preparation.Outcome) -> None:
        if outcome.loaded is not None:
            att.data = outcome.loaded
            self._loaders.pop(att.id, None)
        if outcome.prepared is not None:
            att.status = AttachmentStatus.READY
            att.prepared = outcome.prepared
            att.error = None
            if outcome.thumbnail_png is not None:
                # Decoding a 96 px PNG is cheap enough for the UI thread.
                thumbnail = QImage.fromData(outcome.thumbnail_png)
                att.thumbnail = None if thumbnail.isNull() else thumbnail
        else:
            att.status = AttachmentStatus.FAILED
            att.prepared = None
            att.error = outcome.error or f"{att.name} cannot be used."
            att.thumbnail = None
        self._row_changed(att)

    def _on_job_done(self, att_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        job = self._jobs.get(att_id)
        if job is not None and job[1] is task:
            del self._jobs[att_id]

    def _row_changed(self, att: Attachment) -> None:
        for row, candidate in enumerate(self._rows):
            if candidate is att:
                index = self.index(row, 0)
                self.dataChanged.emit(index, index, [])
                return
