"""The image drop pane: drops, pastes, the file picker and off-thread preparation."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import io
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QColor, QDragEnterEvent, QDropEvent, QImage, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from desktop_app.core import images
from desktop_app.core.catalog import Catalog, ModelInfo
from desktop_app.core.images import PreparedImage, prepare_image
from desktop_app.ui import notify
from desktop_app.ui.attachments import image_drop_pane, preparation
from desktop_app.ui.attachments.attachment_chip import error_colour
from desktop_app.ui.attachments.attachment_model import (
    AttachmentModel,
    AttachmentRole,
    AttachmentStatus,
    format_size,
)
from desktop_app.ui.attachments.image_drop_pane import WEB_IMAGE_MESSAGE, ImageDropPane
from tests.support.qt import arm, wait


def encode(im: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt)
    return buffer.getvalue()


def picture(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A smooth gradient: cheap to make and to encode at any size."""
    ramp = Image.linear_gradient("L").resize((width, height))
    if mode == "L":
        return ramp
    return Image.merge("RGB", (ramp, ramp.rotate(180), Image.new("L", (width, height), 90)))


# A closed qasync loop leaves Qt timers in reference cycles. They are collected here, on
# the GUI thread: a collection that happens to run in an image worker would destroy them
# there, and Qt warns "Timers cannot be stopped from another thread".


@pytest.fixture(autouse=True, scope="module")
def _collect_earlier_loops() -> None:
    gc.collect()


@pytest.fixture(autouse=True)
def _collect_this_tests_loop() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture
def opus(catalog: Catalog) -> ModelInfo:
    return catalog.get("claude-opus-4-7")


@pytest.fixture
def haiku(catalog: Catalog) -> ModelInfo:
    return catalog.get("claude-haiku-4-5")


@pytest.fixture(scope="module")
def big_jpeg() -> bytes:
    return encode(picture(3000, 2000), "JPEG")


@pytest.fixture(scope="module")
def small_png() -> bytes:
    return encode(picture(320, 200), "PNG")


def settle(loop: asyncio.AbstractEventLoop, target: ImageDropPane | AttachmentModel) -> None:
    """Run the loop until every preparation has finished."""
    loop.run_until_complete(asyncio.wait_for(target.wait_idle(), 30))


@pytest.fixture
def pane(qtbot: Any, qloop: asyncio.AbstractEventLoop, opus: ModelInfo) -> Iterator[ImageDropPane]:
    widget = ImageDropPane(opus)
    qtbot.addWidget(widget)
    yield widget
    qloop.run_until_complete(widget.aclose())


@pytest.fixture
def shown() -> Iterator[list[notify.UserMessage]]:
    """Messages sent through the bridge during the test."""
    got: list[notify.UserMessage] = []

    def record(message: notify.UserMessage) -> None:
        got.append(message)

    notify.bridge.flush()
    notify.bridge.shown.connect(record)
    yield got
    notify.bridge.shown.disconnect(record)
    notify.bridge.reset()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record (and refuse) any attempt to open a connection."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def drag_enter(mime: QMimeData, actions: Qt.DropAction) -> QDragEnterEvent:
    button, modifier = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    # PySide6 6.12 deprecates the QPoint form, the only one its stubs and 6.11 know.
    make: Any = QDragEnterEvent
    try:
        event: QDragEnterEvent = make(QPointF(5, 5), actions, mime, button, modifier)
    except TypeError:
        event = QDragEnterEvent(QPoint(5, 5), actions, mime, button, modifier)
    return event


def drop(widget: QWidget, mime: QMimeData) -> QDropEvent:
    """Deliver a drag-enter and a drop of ``mime`` as the window system would."""
    enter = drag_enter(mime, Qt.DropAction.CopyAction | Qt.DropAction.MoveAction)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction | Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    event.setAccepted(False)
    QApplication.sendEvent(widget, event)
    return event


def prepared(pane: ImageDropPane, row: int) -> PreparedImage:
    att = pane.model.attachment(row)
    assert att.status is AttachmentStatus.READY, att.error
    assert att.prepared is not None
    return att.prepared


# -- the model ---------------------------------------------------------------------------------


def test_model_passes_the_model_tester_while_rows_come_and_go(
    qtmodeltester: Any,
    qloop: asyncio.AbstractEventLoop,
    opus: ModelInfo,
    haiku: ModelInfo,
    big_jpeg: bytes,
    small_png: bytes,
) -> None:
    model = AttachmentModel(opus)
    qtmodeltester.check(model)
    model.add("photo.jpg", big_jpeg)
    model.add("notes.txt", b"just some words")
    model.add("small.png", small_png)
    settle(qloop, model)
    assert [a.status for a in model.attachments()] == [
        AttachmentStatus.READY,
        AttachmentStatus.FAILED,
        AttachmentStatus.READY,
    ]
    model.set_limits(haiku)
    model.remove(1)
    settle(qloop, model)
    qtmodeltester.check(model)
    model.clear()
    assert model.rowCount() == 0
    qloop.run_until_complete(model.aclose())


def test_roles_describe_a_ready_image(
    qloop: asyncio.AbstractEventLoop, opus: ModelInfo, big_jpeg: bytes
) -> None:
    model = AttachmentModel(opus)
    model.add("photo.jpg", big_jpeg)
    index = model.index(0, 0)
    assert index.data(AttachmentRole.STATUS) is AttachmentStatus.PREPARING
    assert index.data(AttachmentRole.PREPARED) is None
    settle(qloop, model)

    result = index.data(AttachmentRole.PREPARED)
    assert isinstance(result, PreparedImage)
    assert index.data(Qt.ItemDataRole.DisplayRole) == "photo.jpg"
    assert index.data(AttachmentRole.ATTACHMENT) is model.attachment(0)
    assert index.data(AttachmentRole.DIMENSIONS) == (
        f"3000\u00d72000 \u2192 {result.width}\u00d7{result.height}"
    )
    assert index.data(AttachmentRole.TOKENS) == result.estimated_tokens
    details = index.data(AttachmentRole.DETAILS)
    assert "image/jpeg" in details
    assert format_size(result.byte_size) in details
    assert f"\u2248{result.estimated_tokens:,} tokens" in details
    assert "Resized from 3000x2000" in index.data(AttachmentRole.NOTES)
    tooltip = index.data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.splitlines()[:2] == ["photo.jpg", index.data(AttachmentRole.DIMENSIONS)]
    thumbnail = index.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(thumbnail, QImage)
    assert max(thumbnail.width(), thumbnail.height()) == preparation.THUMBNAIL_SIZE
    assert model.total_tokens() == result.estimated_tokens


def test_a_small_png_is_sent_unchanged(
    qloop: asyncio.AbstractEventLoop, opus: ModelInfo, small_png: bytes
) -> None:
    model = AttachmentModel(opus)
    model.add("small.png", small_png)
    settle(qloop, model)
    index = model.index(0, 0)
    assert index.data(AttachmentRole.DIMENSIONS) == "320\u00d7200"
    assert index.data(AttachmentRole.NOTES) == "Sent unchanged."
    assert model.ready()[0].data == small_png


def test_shelved_attachments_come_back_as_they_were_or_prepared_again(
    qloop: asyncio.AbstractEventLoop,
    opus: ModelInfo,
    haiku: ModelInfo,
    big_jpeg: bytes,
    small_png: bytes,
) -> None:
    model = AttachmentModel(opus)
    model.add("photo.jpg", big_jpeg)
    model.add("small.png", small_png)
    settle(qloop, model)
    kept = model.ready()
    shelf = model.shelve()
    assert model.rowCount() == 0
    assert model.ready() == []
    model.add("meanwhile.png", small_png)
    settle(qloop, model)
    model.clear()

    model.unshelve(shelf)
    assert [a.name for a in model.attachments()] == ["photo.jpg", "small.png"]
    assert not model.is_busy()  # same limits: nothing to redo
    assert model.ready() == kept

    # Shelved while still preparing, or brought back for another model: prepared again.
    model.add("late.jpg", big_jpeg)
    busy = model.shelve()
    assert busy.attachments[-1].status is AttachmentStatus.PREPARING
    model.set_limits(haiku)
    model.unshelve(busy)
    assert all(a.status is AttachmentStatus.PREPARING for a in model.attachments())
    settle(qloop, model)
    assert len(model.ready()) == 3
    assert all(p.width * p.height <= haiku.image.max_pixels for p in model.ready())
    qloop.run_until_complete(model.aclose())


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "1 KB"),
        (1536, "2 KB"),
        (1_048_575, "1024 KB"),
        (1_048_576, "1.0 MB"),
        (5_400_000, "5.1 MB"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


# -- drops -----------------------------------------------------------------------------------


def test_dropping_a_local_file_prepares_it_within_the_models_limits(
    pane: ImageDropPane,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    opus: ModelInfo,
    big_jpeg: bytes,
) -> None:
    path = tmp_path / "holiday photo.jpg"
    path.write_bytes(big_jpeg)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])

    event = drop(pane, mime)

    assert event.isAccepted()
    assert event.dropAction() == Qt.DropAction.CopyAction
    assert pane.model.rowCount() == 1
    assert pane.is_busy()
    settle(qloop, pane)
    assert not pane.is_busy()
    result = prepared(pane, 0)
    assert pane.model.attachment(0).name == "holiday photo.jpg"
    assert pane.model.attachment(0).data == big_jpeg
    assert (result.original_width, result.original_height) == (3000, 2000)
    assert result.width * result.height <= opus.image.max_pixels
    assert result.resized
    assert pane.attachments_ready() == [result]


def test_dropping_raw_image_bytes_attaches_them(
    pane: ImageDropPane, qloop: asyncio.AbstractEventLoop, small_png: bytes
) -> None:
    mime = QMimeData()
    mime.setData("image/png", small_png)

    event = drop(pane, mime)

    assert event.isAccepted()
    settle(qloop, pane)
    assert pane.model.attachment(0).name == "Dropped image.png"
    assert prepared(pane, 0).media_type == "image/png"


def test_a_browser_drag_uses_the_bytes_it_carries_and_the_urls_file_name(
    pane: ImageDropPane, qloop: asyncio.AbstractEventLoop, no_network: list[object]
) -> None:
    webp = encode(picture(200, 120), "WEBP")
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/pictures/cat.webp?size=large")])
    mime.setData("image/webp", webp)

    assert drop(pane, mime).isAccepted()
    settle(qloop, pane)
    assert pane.model.attachment(0).name == "cat.webp"
    assert prepared(pane, 0).media_type == "image/webp"
    assert no_network == []


def test_a_qt_image_in_the_drag_is_encoded_off_the_ui_thread(
    pane: ImageDropPane, qloop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []

    original = image_drop_pane.encode_png

    def recording(image: QImage) -> bytes:
        threads.append(threading.get_ident())
        return original(image)

    monkeypatch.setattr(image_drop_pane, "encode_png", recording)
    image = QImage(300, 100, QImage.Format.Format_ARGB32)
    image.fill(QColor(20, 120, 200, 128))
    mime = QMimeData()
    mime.setImageData(image)

    assert drop(pane, mime).isAccepted()
    settle(qloop, pane)
    result = prepared(pane, 0)
    assert (result.width, result.height) == (300, 100)
    assert result.media_type == "image/png"
    assert threads
    assert threading.get_ident() not in threads


def test_a_data_url_drop_is_decoded_locally(
    pane: ImageDropPane, qloop: asyncio.AbstractEventLoop, small_png: bytes
) -> None:
    import base64

    mime = QMimeData()
    mime.setUrls([QUrl("data:image/png;base64," + base64.b64encode(small_png).decode())])

    assert drop(pane, mime).isAccepted()
    settle(qloop, pane)
    assert prepared(pane, 0).data == small_png


def test_a_remote_only_drop_is_refused_with_a_message_and_no_download(
    pane: ImageDropPane,
    qloop: asyncio.AbstractEventLoop,
    shown: list[notify.UserMessage],
    no_network: list[object],
) -> None:
    changed = []
    pane.changed.connect(lambda: changed.append(True))
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/cat.jpg")])

    event = drop(pane, mime)

    assert not event.isAccepted()
    assert pane.model.rowCount() == 0
    assert not pane.is_busy()
    settle(qloop, pane)
    assert [(m.level, m.text) for m in shown] == [(notify.Level.WARNING, WEB_IMAGE_MESSAGE)]
    assert no_network == []
    assert changed == []


def test_a_drag_without_any_image_is_not_accepted(pane: ImageDropPane) -> None:
    mime = QMimeData()
    mime.setText("hello")
    enter = drag_enter(mime, Qt.DropAction.CopyAction)
    QApplication.sendEvent(pane, enter)
    assert not enter.isAccepted()


# -- paste and the file picker ---------------------------------------------------------------


@pytest.fixture
def clipboard(qapp: Any) -> Iterator[Any]:
    board = QApplication.clipboard()
    yield board
    board.clear()


def test_pasting_a_clipboard_image_attaches_it(
    pane: ImageDropPane, qloop: asyncio.AbstractEventLoop, clipboard: Any
) -> None:
    image = QImage(640, 480, QImage.Format.Format_RGB32)
    image.fill(QColor(200, 40, 40))
    clipboard.setImage(image)

    assert pane.paste_from_clipboard()
    settle(qloop, pane)
    assert pane.model.attachment(0).name == "Pasted image.png"
    result = prepared(pane, 0)
    assert (result.width, result.height, result.media_type) == (640, 480, "image/png")


def test_pasting_copied_files_attaches_them(
    pane: ImageDropPane,
    qloop: asyncio.AbstractEventLoop,
    clipboard: Any,
    tmp_path: Path,
    small_png: bytes,
) -> None:
    path = tmp_path / "diagram.png"
    path.write_bytes(small_png)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    clipboard.setMimeData(mime)

    assert pane.paste_from_clipboard()
    settle(qloop, pane)
    assert pane.model.attachment(0).name == "diagram.png"
    assert prepared(pane, 0).data == small_png


def test_paste_without_an_image_attaches_nothing(
    pane: ImageDropPane, clipboard: Any, shown: list[notify.UserMessage]
) -> None:
    clipboard.setText("only words")
    assert not pane.paste_from_clipboard()
    assert pane.model.rowCount() == 0
    assert shown == []

    action = pane.findChild(QAction, "pasteImageAction")
    assert action is not None
    action.trigger()
    assert [m.text for m in shown] == ["The clipboard holds no image."]
    assert pane.model.rowCount() == 0


def test_the_attach_action_adds_the_chosen_files(
    pane: ImageDropPane,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    small_png: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The composer's Attach button and the File menu trigger this action.
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in paths:
        path.write_bytes(small_png)
    monkeypatch.setattr(pane, "choose_files", lambda: paths)

    action = pane.findChild(QAction, "attachAction")
    assert action is pane.attach_action
    action.trigger()

    settle(qloop, pane)
    assert [a.name for a in pane.model.attachments()] == ["a.png", "b.png"]
    assert len(pane.attachments_ready()) == 2


# -- failures, model changes, removal --------------------------------------------------------


def test_a_bad_file_fails_alone_with_a_message_for_people(
    pane: ImageDropPane,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    small_png: bytes,
) -> None:
    good = tmp_path / "good.png"
    good.write_bytes(small_png)
    bad = tmp_path / "notes.txt"
    bad.write_text("Shopping list: eggs, milk.\n")
    missing = tmp_path / "gone.png"

    pane.add_files([good, bad, missing])
    pane.add_bytes("later.png", small_png)
    settle(qloop, pane)

    statuses = [a.status for a in pane.model.attachments()]
    assert statuses == [
        AttachmentStatus.READY,
        AttachmentStatus.FAILED,
        AttachmentStatus.FAILED,
        AttachmentStatus.READY,
    ]
    assert pane.model.index(1, 0).data(AttachmentRole.ERROR) == (
        "notes.txt is not an image Iris can read."
    )
    assert pane.model.attachment(2).error == "gone.png does not exist."
    assert len(pane.attachments_ready()) == 2
    assert "notes.txt is not an image" in pane.model.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_switching_model_prepares_again_for_the_new_limits(
    pane: ImageDropPane,
    qloop: asyncio.AbstractEventLoop,
    opus: ModelInfo,
    haiku: ModelInfo,
    big_jpeg: bytes,
) -> None:
    pane.add_bytes("photo.jpg", big_jpeg)
    settle(qloop, pane)
    on_opus = prepared(pane, 0)
    assert haiku.image.max_pixels < on_opus.width * on_opus.height <= opus.image.max_pixels

    pane.set_model(haiku)
    assert pane.model.attachment(0).status is AttachmentStatus.PREPARING
    assert pane.attachments_ready() == []
    settle(qloop, pane)
    on_haiku = prepared(pane, 0)
    assert on_haiku.width * on_haiku.height <= 2_000_000
    assert on_haiku.width * on_haiku.height <= haiku.image.max_pixels


def test_a_result_for_the_previous_model_is_discarded(
    pane: ImageDropPane, qloop: asyncio.AbstractEventLoop, haiku: ModelInfo, big_jpeg: bytes
) -> None:
    pane.add_bytes("photo.jpg", big_jpeg)
    pane.set_model(haiku)  # before the first preparation could finish
    settle(qloop, pane)
    result = prepared(pane, 0)
    assert result.width * result.height <= haiku.image.max_pixels


def test_switching_to_a_model_with_the_same_limits_keeps_the_results(
    pane: ImageDropPane, qloop: asyncio.AbstractEventLoop, opus: ModelInfo, small_png: bytes
) -> None:
    pane.add_bytes("small.png", small_png)
    settle(qloop, pane)
    before = prepared(pane, 0)
    pane.set_model(opus)
    assert pane.model.attachment(0).status is AttachmentStatus.READY
    assert prepared(pane, 0) is before


def test_more_than_twenty_images_hold_every_side_to_2000_px(
    pane: ImageDropPane, qloop: asyncio.AbstractEventLoop
) -> None:
    wide = encode(picture(2500, 100, "L"), "PNG")
    for n in range(20):
        pane.add_bytes(f"strip {n}.png", wide)
    settle(qloop, pane)
    assert {p.width for p in pane.attachments_ready()} == {2500}

    pane.add_bytes("strip 20.png", wide)
    assert all(a.status is AttachmentStatus.PREPARING for a in pane.model.attachments())
    settle(qloop, pane)
    ready = pane.attachments_ready()
    assert len(ready) == 21
    assert {p.width for p in ready} == {2000}

    pane.model.remove(0)
    settle(qloop, pane)
    assert {p.width for p in pane.attachments_ready()} == {2500}


def test_removing_a_row_while_it_is_prepared_does_not_bring_it_back(
    pane: ImageDropPane,
    qloop: asyncio.AbstractEventLoop,
    monkeypatch: pytest.MonkeyPatch,
    small_png: bytes,
) -> None:
    started = threading.Event()
    release = threading.Event()
    original = prepare_image

    def slow_for_first(data: bytes, *args: Any, **kwargs: Any) -> PreparedImage:
        if data == b"first" + small_png:
            started.set()
            release.wait(10)
            data = small_png
        return original(data, *args, **kwargs)

    monkeypatch.setattr(images, "prepare_image", slow_for_first)
    # Every worker job waited on through asyncio (the model's two among them), so
    # that the test can wait on them too.
    workers: list[concurrent.futures.Future[Any]] = []
    real_wrap = asyncio.wrap_future

    def recording_wrap(
        future: concurrent.futures.Future[Any], *, loop: asyncio.AbstractEventLoop | None = None
    ) -> asyncio.Future[Any]:
        workers.append(future)
        return real_wrap(future, loop=loop)

    monkeypatch.setattr(asyncio, "wrap_future", recording_wrap)
    changed_rows: list[int] = []
    pane.model.dataChanged.connect(lambda top, _bottom, _roles: changed_rows.append(top.row()))
    first = pane.model.add("first.png", b"first" + small_png)
    second = pane.model.add("second.png", small_png)
    try:
        qloop.run_until_complete(asyncio.wait_for(asyncio.to_thread(started.wait, 10), 15))
        assert started.is_set()
        pane.model.remove(0)
    finally:
        release.set()
    settle(qloop, pane)
    # Wait for the abandoned worker's result to reach the loop. The model's own
    # callbacks on that job were added first, so they have run by the time ours has:
    # a result that was going to land has landed.
    qloop.run_until_complete(
        asyncio.wait_for(asyncio.gather(*(real_wrap(w, loop=qloop) for w in workers)), 15)
    )
    settle(qloop, pane)

    assert pane.model.attachments() == [second]
    assert second.status is AttachmentStatus.READY
    assert first.status is AttachmentStatus.PREPARING
    assert first.prepared is None
    assert changed_rows == [0]  # only the second image, now in row 0


def test_clear_discards_running_preparations(
    pane: ImageDropPane, qloop: asyncio.AbstractEventLoop, big_jpeg: bytes
) -> None:
    for n in range(3):
        pane.add_bytes(f"{n}.jpg", big_jpeg)
    pane.clear()
    assert pane.model.rowCount() == 0
    assert not pane.is_busy()
    settle(qloop, pane)
    qloop.run_until_complete(pane.aclose())
    assert pane.model.rowCount() == 0
    assert pane.attachments_ready() == []


def test_preparation_runs_off_the_ui_thread(
    pane: ImageDropPane,
    qloop: asyncio.AbstractEventLoop,
    monkeypatch: pytest.MonkeyPatch,
    big_jpeg: bytes,
) -> None:
    threads: dict[str, list[int]] = {"prepare": [], "thumbnail": []}

    def recorded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            threads[name].append(threading.get_ident())
            return func(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(images, "prepare_image", recorded("prepare", prepare_image))
    monkeypatch.setattr(
        preparation, "make_thumbnail", recorded("thumbnail", preparation.make_thumbnail)
    )
    pane.add_bytes("photo.jpg", big_jpeg)
    pane.add_bytes("again.jpg", big_jpeg)
    settle(qloop, pane)

    main = threading.get_ident()
    assert len(threads["prepare"]) == 2
    assert len(threads["thumbnail"]) == 2
    assert main not in threads["prepare"] + threads["thumbnail"]


# -- signals, keyboard and looks -------------------------------------------------------------


def test_signals_report_changes_and_the_token_total(
    pane: ImageDropPane, qloop: asyncio.AbstractEventLoop, small_png: bytes, big_jpeg: bytes
) -> None:
    totals: list[int] = []
    changes: list[bool] = []
    pane.total_tokens_changed.connect(totals.append)
    pane.changed.connect(lambda: changes.append(True))

    first_total = arm(pane.total_tokens_changed)
    pane.add_bytes("small.png", small_png)
    assert changes  # the row appeared at once
    (tokens,) = wait(qloop, first_total)
    assert tokens == prepared(pane, 0).estimated_tokens

    pane.add_bytes("photo.jpg", big_jpeg)
    settle(qloop, pane)
    assert totals[-1] == sum(p.estimated_tokens for p in pane.attachments_ready())
    assert totals[-1] == pane.model.total_tokens()

    pane.clear()
    assert totals[-1] == 0


def test_chips_show_each_image_with_a_remove_button_the_keyboard_reaches(
    pane: ImageDropPane, qtbot: Any, qloop: asyncio.AbstractEventLoop, small_png: bytes
) -> None:
    pane.show()
    qtbot.waitExposed(pane)
    assert pane.objectName() == "imageDropPane"
    assert pane.accessibleName() == "Image attachments"
    assert pane.acceptDrops()
    chip_area = pane.findChild(QWidget, "attachmentChips")
    assert chip_area is not None
    assert not chip_area.isVisible()  # nothing attached: nothing shown

    for name in ("one.png", "two.png", "three.png"):
        pane.add_bytes(name, small_png)
    chips = pane.chips()
    assert [chip.name_label.text() for chip in chips] == ["one.png", "two.png", "three.png"]
    assert [chip.state for chip in chips] == ["preparing"] * 3
    assert chips[0].detail_label.text() == f"{format_size(len(small_png))} \u00b7 Preparing\u2026"
    settle(qloop, pane)
    assert chip_area.isVisible()
    assert [chip.state for chip in chips] == ["ready"] * 3
    assert all(chip.property("state") == "ready" for chip in chips)
    result = prepared(pane, 1)
    assert chips[1].detail_label.text() == (
        f"{format_size(result.byte_size)} \u00b7 \u2248{result.estimated_tokens:,} tokens"
    )
    assert chips[1].name_label.toolTip().splitlines()[0] == "two.png"
    buttons = [chip.remove_button for chip in chips]
    for button, name in zip(buttons, ("one.png", "two.png", "three.png"), strict=True):
        assert button.objectName() == "removeAttachmentButton"
        assert button.accessibleName() == f"Remove {name}"
        assert name in button.toolTip()
        assert button.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert pane.focus_chain() == buttons

    pane.activateWindow()
    buttons[0].setFocus()
    qtbot.waitUntil(buttons[0].hasFocus)
    qtbot.keyClick(buttons[0], Qt.Key.Key_Tab)
    assert buttons[1].hasFocus()
    qtbot.keyClick(buttons[1], Qt.Key.Key_Delete)
    assert [a.name for a in pane.model.attachments()] == ["one.png", "three.png"]
    assert [chip.name_label.text() for chip in pane.chips()] == ["one.png", "three.png"]
    # The neighbour has the keyboard, ready for another Delete.
    assert pane.chips()[1].remove_button.hasFocus()
    qtbot.keyClick(pane.chips()[1].remove_button, Qt.Key.Key_Backspace)
    assert [a.name for a in pane.model.attachments()] == ["one.png"]

    qtbot.mouseClick(pane.chips()[0].remove_button, Qt.MouseButton.LeftButton)
    assert pane.model.rowCount() == 0
    assert pane.chips() == []
    assert not chip_area.isVisible()


def test_chips_wrap_onto_rows_and_scroll_beyond_two_and_a_half(
    pane: ImageDropPane, qtbot: Any, qloop: asyncio.AbstractEventLoop, small_png: bytes
) -> None:
    from PySide6.QtWidgets import QScrollArea

    pane.add_bytes("first.png", small_png)
    chip_width = pane.chips()[0].width()
    pane.resize(chip_width * 2 + 20, 600)
    pane.show()
    qtbot.waitExposed(pane)
    area = pane.findChild(QScrollArea, "attachmentChips")
    assert area is not None
    pane.add_bytes("second.png", small_png)
    settle(qloop, pane)
    qtbot.waitUntil(lambda: pane.chips()[1].isVisible())
    one_row = area.height()
    first, second = pane.chips()
    assert second.y() == first.y()
    assert second.x() > first.x()

    pane.add_bytes("third.png", small_png)
    settle(qloop, pane)
    third = pane.chips()[2]
    qtbot.waitUntil(lambda: area.height() > one_row)
    assert third.y() > first.y()  # wrapped onto a second row
    assert third.x() == first.x()
    assert area.verticalScrollBar().maximum() == 0

    for n in range(6):
        pane.add_bytes(f"more {n}.png", small_png)
    settle(qloop, pane)
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0)
    assert area.height() < 3 * one_row  # capped: the rest scrolls


def test_a_failed_image_keeps_its_chip_and_reason_until_removed(
    pane: ImageDropPane, qtbot: Any, qloop: asyncio.AbstractEventLoop, small_png: bytes
) -> None:
    pane.show()
    qtbot.waitExposed(pane)
    pane.add_bytes("notes.png", b"these are words, not a picture")
    settle(qloop, pane)
    (failed,) = pane.chips()
    reason = pane.model.attachment(0).error
    assert reason
    assert failed.state == "failed"
    assert failed.property("state") == "failed"
    assert failed.detail_label.property("state") == "failed"
    assert failed.detail_label.text() == reason
    assert failed.detail_label.textFormat() == Qt.TextFormat.PlainText
    assert failed.detail_label.isVisible()
    assert failed.remove_button.accessibleName() == "Remove notes.png"
    assert reason in failed.remove_button.accessibleDescription()

    # Other images come and go; the failed one stays, with its reason.
    pane.add_bytes("good.png", small_png)
    settle(qloop, pane)
    pane.remove_chip(pane.chips()[1])
    assert pane.chips() == [failed]
    assert failed.detail_label.text() == reason
    assert pane.attachments_ready() == []

    failed.remove_button.click()
    assert pane.chips() == []
    assert pane.model.rowCount() == 0


@pytest.mark.parametrize("dark", [False, True])
def test_chips_paint_in_light_and_dark_palettes(
    pane: ImageDropPane,
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    dark: bool,
    small_png: bytes,
) -> None:
    pane.resize(420, 320)
    pane.show()
    qtbot.waitExposed(pane)
    pane.add_bytes("good.png", small_png)
    pane.add_bytes("bad.png", b"not a picture")
    pane.add_bytes("waiting.png", small_png)
    settle(qloop, pane)
    # The palette changes after the chips exist, as when the system theme changes.
    palette = QPalette(pane.palette())
    base = QColor(30, 30, 30) if dark else QColor(255, 255, 255)
    text = QColor(230, 230, 230) if dark else QColor(20, 20, 20)
    for role, colour in ((QPalette.ColorRole.Base, base), (QPalette.ColorRole.Window, base)):
        palette.setColor(role, colour)
    palette.setColor(QPalette.ColorRole.Text, text)
    pane.setPalette(palette)

    shot = pane.grab().toImage()
    assert not shot.isNull()
    red = error_colour(palette)
    assert red.hslHueF() == 0.0
    # Readable on the base colour: clearly lighter on dark, darker on light.
    assert (red.lightnessF() > 0.6) if dark else (red.lightnessF() < 0.5)
    failed = pane.chips()[1]
    assert failed.state == "failed"
    shown = failed.detail_label.palette().color(failed.detail_label.foregroundRole())
    assert shown == red
    ready = pane.chips()[0].detail_label
    assert ready.palette().color(ready.foregroundRole()) != red
