"""Text from outside (the service, imported files, file names) always shows as text.

Qt reads a label or tooltip whose first line looks like HTML as rich text, and then
loads the ``<img>`` sources in it from local paths. These tests feed hostile text in
through the real paths of the window, then walk every widget and item model of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6 import QtGui
from PySide6.QtCore import QAbstractItemModel, Qt, QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QComboBox, QLabel, QTextEdit

from desktop_app.core.conversation.model import TurnStatus
from desktop_app.core.render.breaks import unbreak
from desktop_app.ui.chat.message_widget import MessageWidget
from desktop_app.ui.history.conversation_list_model import ConversationRole
from desktop_app.ui.main_window import MainWindow
from tests.support.offline import Fault, FaultyServer
from tests.support.qt import arm, eventually, wait
from tests.support.qt import send_prompt as send
from tests.support.windows import Windows, undo_notice

MARK = "<b>hostile</b>"


@dataclasses.dataclass(frozen=True)
class Shown:
    """One piece of text the window shows, and how Qt reads it."""

    where: str
    text: str
    rich: bool


class RecordingDocument(QTextDocument):
    """A text document that records the resources its layout asks for, and loads none."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.requested: list[str] = []
        self.setHtml(html)
        self.setTextWidth(400)
        self.size()  # lays it out, which is when images are asked for

    def loadResource(self, type: int, name: QUrl | str, /) -> Any:
        self.requested.append(name.toString() if isinstance(name, QUrl) else name)
        return None


def _reads_as_rich(text: str, text_format: Qt.TextFormat) -> bool:
    if text_format == Qt.TextFormat.AutoText:
        return QtGui.Qt.mightBeRichText(text)
    return text_format != Qt.TextFormat.PlainText


def _model_texts(model: QAbstractItemModel, where: str) -> Iterator[Shown]:
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        display = index.data(Qt.ItemDataRole.DisplayRole)
        if isinstance(display, str):
            # Item views and combo boxes draw display text as it is.
            yield Shown(f"{where} row {row}", display, rich=False)
        tip = index.data(Qt.ItemDataRole.ToolTipRole)
        if isinstance(tip, str):
            yield Shown(
                f"{where} row {row} tooltip", tip, _reads_as_rich(tip, Qt.TextFormat.AutoText)
            )


def everything_shown(window: MainWindow) -> list[Shown]:
    """Every label, tooltip, button text, title and item text of the window."""
    shown = [Shown("window title", window.windowTitle(), rich=False)]
    for widget in [window, *window.findChildren(QLabel), *window.findChildren(QAbstractButton)]:
        name = widget.objectName() or type(widget).__name__
        if widget.toolTip():
            tip = widget.toolTip()
            shown.append(
                Shown(f"{name} tooltip", tip, _reads_as_rich(tip, Qt.TextFormat.AutoText))
            )
        if isinstance(widget, QLabel) and widget.text():
            shown.append(
                Shown(name, widget.text(), _reads_as_rich(widget.text(), widget.textFormat()))
            )
        if isinstance(widget, QAbstractButton) and widget.text():
            shown.append(Shown(f"{name} button", widget.text(), rich=False))
    for view in window.findChildren(QAbstractItemView):
        if view.model() is not None:
            shown += _model_texts(view.model(), view.objectName() or type(view).__name__)
    for combo in window.findChildren(QComboBox):
        shown += _model_texts(combo.model(), combo.objectName())
    return shown


def assert_nothing_interpreted(window: MainWindow, hostile: str) -> set[str]:
    """Check that every hostile text reads as the literal string; return where it showed."""
    places: set[str] = set()
    for item in everything_shown(window):
        if item.rich:
            # Rich text is fine only when the markup was escaped: the literal shows,
            # and nothing is loaded.
            document = RecordingDocument(item.text)
            visible = unbreak(document.toPlainText())  # zero-width breaks are invisible
            if MARK not in item.text and MARK not in visible:
                continue
            assert hostile in visible, item
            assert document.requested == [], item
        elif MARK not in item.text:
            continue
        places.add(item.where)
    for edit in window.findChildren(QTextEdit):
        # Message bodies: hostile text in a message shows as text, never as an image.
        assert "<img" not in edit.toHtml().split("<body", 1)[-1], edit.objectName()
    return places


def _png(size: tuple[int, int] = (4, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def _refusal_stream(explanation: str) -> bytes:
    events = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_refusal",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": "claude-haiku-4-5",
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 5, "output_tokens": 1},
                },
            },
        ),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "refusal",
                    "stop_sequence": None,
                    "stop_details": {"type": "refusal", "explanation": explanation},
                },
                "usage": {"output_tokens": 1},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return "".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events
    ).encode()


def _models_page(display_name: str) -> bytes:
    entry = {
        "type": "model",
        "id": "claude-haiku-4-5",
        "display_name": display_name,
        "created_at": "2025-10-01T00:00:00Z",
    }
    page = {"data": [entry], "has_more": False, "first_id": entry["id"], "last_id": entry["id"]}
    return json.dumps(page).encode()


@pytest.fixture
def hostile(tmp_path: Path) -> str:
    """Markup that Qt would render: an image from a local file, bold, a file link."""
    probe = tmp_path / "probe.png"
    probe.write_bytes(_png((300, 300)))
    return f'<img src="{probe}" width="300" height="300">{MARK} <a href="file:///etc/passwd">x</a>'


@pytest.fixture
def window(windows: Windows) -> MainWindow:
    win = windows.start()
    win.resize(1000, 700)
    return win


def test_service_text_shows_as_text(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, server: FaultyServer, hostile: str
) -> None:
    # A model list whose display name is markup.
    server.push(
        Fault.raw(_models_page(hostile), headers={"content-type": "application/json"}),
        path="/v1/models",
    )
    assert qloop.run_until_complete(window.context.engine.refresh_catalog())
    # A request the service refuses with markup in its error message.
    server.push(Fault.status(400, "invalid_request_error", message=hostile))
    send(window, qloop, "first")
    assert window.chat.model.conversation.turns[0].status is TurnStatus.FAILED
    # A reply the model declines, with markup in the explanation.
    server.push(Fault.raw(_refusal_stream(hostile)))
    refused = send(window, qloop, "second")
    assert refused.message.stop_reason == "refusal"
    window.show_settings()  # where the model names are listed

    places = assert_nothing_interpreted(window, hostile)

    assert sum(place.startswith("turnNotice") for place in places) >= 1
    assert any(place.startswith("modelSelector row") for place in places)
    notices = [
        label.text() for label in window.findChildren(QLabel) if label.objectName() == "turnNotice"
    ]
    assert any(text.startswith("Claude declined to answer: ") for text in notices)
    assert sum(hostile in text for text in notices) == 2


def test_imported_history_shows_as_text(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, tmp_path: Path, hostile: str
) -> None:
    shared = {
        "format": "iris-conversation",
        "version": 1,
        "title": hostile,
        "model": "claude-haiku-4-5",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": hostile}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Sure: " + hostile}]},
            {"role": "user", "content": [{"type": "text", "text": "and then"}]},
        ],
        "iris": {
            "turns": [
                {"status": "done", "notes": [hostile]},
                {
                    "status": "done",
                    "notes": [hostile],
                    "message": {
                        "stop_reason": "refusal",
                        "stop_details": {"type": "refusal", "explanation": hostile},
                    },
                },
                {"status": "failed", "error": hostile},
            ]
        },
    }
    path = tmp_path / "shared.json"
    path.write_text(json.dumps(shared), encoding="utf-8")
    opened = arm(window.chat.conversation_opened)
    window.import_conversation(path)
    (conversation_id,) = wait(qloop, opened)
    eventually(qloop, lambda: not any(w.rendering for w in window.findChildren(MessageWidget)))
    sidebar = window.sidebar
    eventually(qloop, lambda: sidebar.model.row_for(conversation_id) >= 0)

    places = assert_nothing_interpreted(window, hostile)

    assert "imageNotes" in places
    assert "turnNotice" in places
    assert any(place.startswith("conversationList row") for place in places)

    # Deleting it shows its title in the undo line.
    sidebar.list_view.setCurrentIndex(
        sidebar.model.index(sidebar.model.row_for(conversation_id), 0)
    )
    assert sidebar.list_view.currentIndex().data(ConversationRole.ID) == conversation_id
    # It is open: the window moves on to a new conversation, and the list drops it.
    moved_on = arm(window.chat.conversation_opened)
    sidebar.delete_button.click()
    assert wait(qloop, moved_on) == (None,)
    eventually(qloop, lambda: sidebar.model.row_for(conversation_id) < 0)
    notice = undo_notice(window)
    assert notice is not None

    places = assert_nothing_interpreted(window, hostile)

    assert "noticeText" in places
    assert notice.text.text() == f"Deleted “{hostile}”."


def test_attachment_names_show_as_text(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, tmp_path: Path, hostile: str
) -> None:
    pane = window.chat.image_pane
    pane.add_bytes(hostile + ".png", _png())
    # A file name cannot hold "/", but can hold markup all the same.
    not_an_image = tmp_path / f'{MARK.replace("</b>", "")}<img src="probe.png" width=300>.txt'
    not_an_image.write_text("not a picture", encoding="utf-8")
    pane.add_files([not_an_image])
    qloop.run_until_complete(pane.wait_idle())

    places = assert_nothing_interpreted(window, hostile)

    # Each chip shows the name, its facts in a tooltip, the reason a file failed, and a
    # remove button named after the file: all as text.
    assert {
        "attachmentChipName",
        "attachmentChipName tooltip",
        "removeAttachmentButton tooltip",
    } <= (places)
    failed_chip = pane.chips()[1]
    assert failed_chip.detail_label.textFormat() == Qt.TextFormat.PlainText
    assert failed_chip.detail_label.text().startswith(not_an_image.name)
    first = pane.model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    document = RecordingDocument(first)
    assert unbreak(document.toPlainText()).splitlines()[0] == hostile + ".png"
    failed = pane.model.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert QtGui.Qt.mightBeRichText(failed)  # so it must be escaped, and show as written
    document = RecordingDocument(failed)
    assert unbreak(document.toPlainText()).splitlines()[0] == not_an_image.name
    assert "is not an image" in document.toPlainText()
    assert document.requested == []
