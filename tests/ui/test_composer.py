"""The composer: a growing field, one Send/Stop button, the model picker, safe edits, drops."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

from desktop_app.core.catalog import Catalog
from desktop_app.core.conversation.memory import MemoryHistory
from desktop_app.core.conversation.model import TurnStatus
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.paths import AppPaths
from desktop_app.ui import notify
from desktop_app.ui.attachments.attachment_model import AttachmentStatus
from desktop_app.ui.chat import composer as composer_module
from desktop_app.ui.chat.composer import EDITING_TEXT, MAX_HEIGHT_SHARE, Composer
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.settings.settings_store import SettingsStore
from tests.support.offline import Fault, FaultyServer
from tests.support.qt import arm, eventually, wait
from tests.support.qt import send_prompt as send
from tests.support.windows import Windows


def png(size: tuple[int, int] = (40, 30), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def idle(loop: asyncio.AbstractEventLoop, window: MainWindow) -> None:
    loop.run_until_complete(asyncio.wait_for(window.chat.image_pane.wait_idle(), 20))


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the composer announced to screen readers (still announced for real)."""
    said: list[str] = []
    real = composer_module._announce

    def recording(widget: QWidget, text: str) -> None:
        said.append(text)
        real(widget, text)

    monkeypatch.setattr(composer_module, "_announce", recording)
    return said


@pytest.fixture
def shown() -> Iterator[list[notify.UserMessage]]:
    got: list[notify.UserMessage] = []
    notify.bridge.shown.connect(got.append)
    yield got
    notify.bridge.shown.disconnect(got.append)


# -- the field -----------------------------------------------------------------------------


def test_the_text_grows_with_its_lines_up_to_forty_percent_of_the_window_then_scrolls(
    windows: Windows, qtbot: Any
) -> None:
    window = windows.start()
    window.resize(1000, 700)
    prompt = window.chat.prompt
    qtbot.waitUntil(lambda: window.height() == 700)
    one_line = prompt.height()
    assert one_line == prompt.minimum_height()

    prompt.setPlainText("one\ntwo\nthree\nfour")
    qtbot.waitUntil(lambda: prompt.height() > one_line)
    assert prompt.height() == prompt.ideal_height()
    assert prompt.verticalScrollBar().maximum() == 0  # every line shows

    prompt.setPlainText("\n".join(f"line {n}" for n in range(200)))
    cap = int(700 * MAX_HEIGHT_SHARE)
    qtbot.waitUntil(lambda: prompt.height() == cap)
    assert prompt.ideal_height() > cap
    assert prompt.verticalScrollBar().maximum() > 0  # the rest scrolls

    # A taller window lets it grow further.
    window.resize(1000, 900)
    qtbot.waitUntil(lambda: prompt.height() == int(900 * MAX_HEIGHT_SHARE))

    prompt.clear()
    qtbot.waitUntil(lambda: prompt.height() == one_line)


def test_one_button_sends_then_stops_the_reply_and_enter_waits(
    windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer, qtbot: Any
) -> None:
    window = windows.start()
    button = window.chat.send_button
    assert button.objectName() == "sendButton"
    assert (button.accessibleName(), button.property("mode")) == ("Send message", "send")
    assert "Enter" in button.toolTip()
    send_icon = button.icon().cacheKey()

    server.push(Fault.slow(0.05))
    done = arm(window.chat.reply_finished)
    window.chat.prompt.setPlainText("/long")
    button.click()
    turns = window.chat.model.conversation.turns
    eventually(qloop, lambda: turns[-1].role == "assistant" and turns[-1].text.strip())
    assert button.isEnabled()
    assert (button.accessibleName(), button.property("mode")) == ("Stop the reply", "stop")
    assert "Esc" in button.toolTip()
    assert button.icon().cacheKey() != send_icon
    # Enter while a reply streams sends nothing more.
    window.chat.prompt.setPlainText("not yet")
    qtbot.keyClick(window.chat.prompt, Qt.Key.Key_Return)
    assert len(turns) == 2

    button.click()  # Stop
    (reply,) = wait(qloop, done)
    assert reply.status is TurnStatus.STOPPED
    assert (button.accessibleName(), button.property("mode")) == ("Send message", "send")
    assert button.icon().cacheKey() == send_icon
    assert window.chat.prompt.toPlainText() == "not yet"


def test_a_sent_message_never_comes_back_as_the_draft(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    send(window, qloop, "first")
    saved = arm(window.chat.composer.draft_saved)
    window.chat.prompt.setPlainText("second, saved as a draft while typed")
    wait(qloop, saved)
    send(window, qloop, "second, saved as a draft while typed")
    first_id = window.chat.conversation_id
    assert first_id is not None
    qloop.run_until_complete(window.chat.new_conversation())
    assert qloop.run_until_complete(window.chat.open_conversation(first_id))
    assert window.chat.prompt.toPlainText() == ""


# -- model picker and attach -----------------------------------------------------------------


@pytest.fixture
def store(paths: AppPaths) -> SettingsStore:
    settings = SettingsStore(paths.config)
    settings.update(model="claude-opus-4-7", max_tokens=64_000)
    return settings


@pytest.fixture
def composer(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, store: SettingsStore
) -> Iterator[Composer]:
    widget = Composer(ConversationSession(MemoryHistory()), store, Catalog.load())
    qtbot.addWidget(widget)
    yield widget
    qloop.run_until_complete(widget.image_pane.aclose())


def test_the_model_picker_is_the_model_setting(
    composer: Composer, store: SettingsStore, qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    picker = composer.model_picker
    catalog = Catalog.load()
    assert picker.objectName() == "modelPicker"
    assert picker.accessibleName() == "Model"
    assert picker.toolTip()
    assert [picker.itemData(i) for i in range(picker.count())] == [m.id for m in catalog.models]
    assert picker.currentData() == "claude-opus-4-7"
    assert picker.currentText() == "Opus 4.7"
    assert picker.itemData(picker.currentIndex(), Qt.ItemDataRole.AccessibleTextRole) == (
        "Claude Opus 4.7"
    )

    # Chosen here (with the keyboard): the setting changes, max_tokens fits the model.
    composer.show()
    qtbot.waitExposed(composer)
    picker.setFocus()
    qtbot.waitUntil(picker.hasFocus)
    changed = arm(store.changed)
    qtbot.keyClick(picker, Qt.Key.Key_Down)
    wait(qloop, changed)
    chosen = catalog.models[1]
    assert store.settings.model == chosen.id
    assert store.settings.max_tokens == chosen.clamp_max_tokens(64_000)
    assert composer.image_pane.model.limits == chosen.image

    # Changed elsewhere (Settings): the picker follows, and images are prepared again.
    store.update(model="claude-haiku-4-5")
    assert picker.currentData() == "claude-haiku-4-5"
    assert composer.image_pane.model.limits == catalog.get("claude-haiku-4-5").image
    # A model the catalog does not list still shows.
    store.update(model="claude-future-9")
    assert picker.currentData() == "claude-future-9"
    assert picker.currentText() == "claude-future-9"


def test_the_model_picker_lists_models_the_service_adds(
    windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    window = windows.start()
    picker = window.chat.composer.model_picker
    entry = {
        "type": "model",
        "id": "claude-newer-5",
        "display_name": "Claude Newer 5",
        "created_at": "2026-01-01T00:00:00Z",
    }
    page = {"data": [entry], "has_more": False, "first_id": entry["id"], "last_id": entry["id"]}
    server.push(
        Fault.raw(json.dumps(page).encode(), headers={"content-type": "application/json"}),
        path="/v1/models",
    )
    assert picker.findData("claude-newer-5") < 0
    assert qloop.run_until_complete(window.context.engine.refresh_catalog())
    row = picker.findData("claude-newer-5")
    assert row >= 0
    assert picker.itemText(row) == "Newer 5"
    assert picker.currentData() == window.context.settings.settings.model  # unchanged


def test_the_attach_button_adds_the_chosen_files(
    composer: Composer,
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in paths:
        path.write_bytes(png())
    monkeypatch.setattr(composer.image_pane, "choose_files", lambda: paths)
    button = composer.attach_button
    assert button.objectName() == "attachButton"
    assert button.accessibleName() == "Attach images"
    assert "Attach images" in button.toolTip()
    composer.show()
    qtbot.waitExposed(composer)
    assert not composer.image_pane.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    loop_wait = composer.image_pane.wait_idle()
    qloop.run_until_complete(asyncio.wait_for(loop_wait, 20))
    assert [chip.name_label.text() for chip in composer.image_pane.chips()] == ["a.png", "b.png"]
    assert composer.image_pane.isVisible()


def test_tab_follows_the_screen(
    windows: Windows, qloop: asyncio.AbstractEventLoop, qtbot: Any
) -> None:
    window = windows.start()
    send(window, qloop, "a question")
    chat = window.chat
    chat.image_pane.add_bytes("one.png", png())
    chat.image_pane.add_bytes("two.png", png())
    idle(qloop, window)
    chat.view.edit_requested.emit(chat.model.conversation.turns[0])
    chat.image_pane.add_bytes("three.png", png())  # added while editing
    idle(qloop, window)
    composer = chat.composer
    expected = [
        composer.editing_bar.cancel_button,
        *[chip.remove_button for chip in chat.image_pane.chips()],
        composer.prompt,
        composer.attach_button,
        composer.model_picker,
        composer.send_button,
    ]
    assert len(expected) == 6
    window.activateWindow()
    expected[0].setFocus()
    qtbot.waitUntil(expected[0].hasFocus)
    reached = [QApplication.focusWidget()]
    for _ in expected[1:]:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        reached.append(QApplication.focusWidget())
    assert reached == expected
    for widget in expected:
        assert widget.accessibleName(), widget.objectName()
        assert widget.toolTip(), widget.objectName()


# -- editing a sent message --------------------------------------------------------------------


def start_editing_with_a_draft(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> tuple[MainWindow, bytes]:
    """A window with two exchanges, a draft with an image, and Edit pressed on the first."""
    window = windows.start()
    send(window, qloop, "original question")
    send(window, qloop, "follow-up")
    picture = png((64, 48), (10, 160, 90))
    window.chat.image_pane.add_bytes("draft.png", picture)
    idle(qloop, window)
    window.chat.prompt.setPlainText("a half-written thought")
    window.chat.view.edit_requested.emit(window.chat.model.conversation.turns[0])
    return window, picture


def test_edit_puts_the_draft_aside_and_cancel_brings_it_back(
    windows: Windows,
    qloop: asyncio.AbstractEventLoop,
    server: FaultyServer,
    announced: list[str],
) -> None:
    requests = len(server.received)
    window, _picture = start_editing_with_a_draft(windows, qloop)
    chat, composer = window.chat, window.chat.composer
    draft_image = chat.image_pane.model.attachments()  # already shelved: none shown
    assert draft_image == []
    bar = composer.editing_bar
    assert composer.editing
    assert bar.isVisibleTo(window)
    assert bar.label.text() == EDITING_TEXT
    assert bar.cancel_button.accessibleName() == "Cancel editing"
    assert "Esc" in bar.cancel_button.toolTip()
    assert any(text.startswith(EDITING_TEXT) for text in announced)
    assert composer.frame.property("editing") is True
    assert chat.prompt.toPlainText() == "original question"
    assert chat.prompt.hasFocus() or QApplication.focusWidget() is None

    changes: list[bool] = []
    composer.editing_changed.connect(changes.append)
    bar.cancel_button.click()

    assert changes == [False]
    assert not chat.composer.editing
    assert not bar.isVisibleTo(window)
    assert composer.frame.property("editing") is False
    assert chat.prompt.toPlainText() == "a half-written thought"
    (back,) = chat.image_pane.model.attachments()
    assert back.name == "draft.png"
    assert back.status is AttachmentStatus.READY  # kept prepared, not redone
    assert [chip.name_label.text() for chip in chat.image_pane.chips()] == ["draft.png"]
    assert "Editing cancelled. Your draft is back." in announced
    # Nothing was sent and the conversation is as it was.
    assert len(server.received) == requests + 2
    assert [t.text for t in chat.model.conversation.turns][::2] == [
        "original question",
        "follow-up",
    ]


def test_sending_an_edit_makes_a_new_version_and_brings_the_draft_back(
    windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    window, picture = start_editing_with_a_draft(windows, qloop)
    chat = window.chat
    reply = send(window, qloop, "edited question")

    assert reply.status is TurnStatus.DONE
    turns = chat.model.conversation.turns
    assert [t.text for t in turns][:1] == ["edited question"]
    assert len(turns) == 2
    sent = server.received[-1].json["messages"]
    assert [m["content"][-1]["text"] for m in sent] == ["edited question"]
    edited = chat.view.widget_for(turns[0])
    assert edited is not None
    assert edited.version_text == "2/2"
    # The draft is back, with its image, and it is what the history keeps.
    assert not chat.composer.editing
    assert chat.prompt.toPlainText() == "a half-written thought"
    assert [a.name for a in chat.image_pane.model.attachments()] == ["draft.png"]
    idle(qloop, window)
    conversation_id = chat.conversation_id
    windows.stop(window)
    again = windows.start()
    assert again.chat.conversation_id == conversation_id
    assert again.chat.prompt.toPlainText() == "a half-written thought"
    idle(qloop, again)
    (kept,) = again.chat.image_pane.model.attachments()
    assert kept.prepared is not None
    assert kept.data == picture


def test_a_follow_up_typed_after_cancel_is_a_new_message(
    windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    window, _picture = start_editing_with_a_draft(windows, qloop)
    window.chat.composer.cancel_editing()
    window.chat.image_pane.clear()
    reply = send(window, qloop, "a real follow-up")
    assert reply.status is TurnStatus.DONE
    texts = [t.text for t in window.chat.model.conversation.turns][::2]
    assert texts == ["original question", "follow-up", "a real follow-up"]
    assert [m["role"] for m in server.received[-1].json["messages"]] == [
        "user",
        "assistant",
    ] * 2 + ["user"]


def test_esc_cancels_editing_before_it_stops_a_reply(
    windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer, qtbot: Any
) -> None:
    window, _picture = start_editing_with_a_draft(windows, qloop)
    chat = window.chat
    turns = chat.model.conversation.turns
    # A reply starts streaming while the edit is open (Regenerate on the last reply).
    server.push(Fault.slow(0.05))
    done = arm(chat.reply_finished)
    chat.view.regenerate_requested.emit(turns[-1])
    eventually(qloop, lambda: chat.busy and turns[-1].text.strip())

    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not chat.composer.editing
    assert chat.prompt.toPlainText() == "a half-written thought"
    assert chat.busy  # still streaming: this Esc only cancelled the edit

    qtbot.keyClick(window, Qt.Key.Key_Escape)
    (reply,) = wait(qloop, done)
    assert reply.status is TurnStatus.STOPPED
    assert chat.prompt.toPlainText() == "a half-written thought"


def test_editing_another_message_keeps_the_first_draft(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window, _picture = start_editing_with_a_draft(windows, qloop)
    chat = window.chat
    chat.prompt.setPlainText("changed my mind about the edit")
    chat.view.edit_requested.emit(chat.model.conversation.turns[2])
    assert chat.prompt.toPlainText() == "follow-up"
    chat.composer.cancel_editing()
    assert chat.prompt.toPlainText() == "a half-written thought"
    assert [a.name for a in chat.image_pane.model.attachments()] == ["draft.png"]


def test_a_draft_typed_just_before_edit_is_saved_not_the_edit(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    send(window, qloop, "original question")
    chat = window.chat
    conversation_id = chat.conversation_id
    assert conversation_id is not None
    # Typed, and Edit pressed before the draft's save delay ran out.
    chat.prompt.setPlainText("typed a moment ago")
    chat.view.edit_requested.emit(chat.model.conversation.turns[0])
    chat.prompt.setPlainText("an edit that is never sent")
    qloop.run_until_complete(chat.new_conversation())
    assert not chat.composer.editing
    assert chat.prompt.toPlainText() == ""
    assert qloop.run_until_complete(chat.open_conversation(conversation_id))
    assert chat.prompt.toPlainText() == "typed a moment ago"


def test_an_edited_message_keeps_its_images(
    windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    window = windows.start()
    picture = png((50, 40), (30, 30, 200))
    window.chat.image_pane.add_bytes("photo.png", picture)
    idle(qloop, window)
    send(window, qloop, "what is this?")
    window.chat.view.edit_requested.emit(window.chat.model.conversation.turns[0])
    idle(qloop, window)
    (image,) = window.chat.image_pane.model.attachments()
    assert image.name == "Image 1.png"
    assert image.status is AttachmentStatus.READY
    send(window, qloop, "what colour is this?")
    blocks = server.received[-1].json["messages"][0]["content"]
    assert [b["type"] for b in blocks] == ["image", "text"]


def test_the_edited_message_going_away_ends_the_edit(
    windows: Windows,
    qloop: asyncio.AbstractEventLoop,
    server: FaultyServer,
    shown: list[notify.UserMessage],
) -> None:
    window = windows.start()
    send(window, qloop, "kept")
    server.push(Fault.status(400, "invalid_request_error", message="bad request"))
    send(window, qloop, "rejected")
    failed = window.chat.model.conversation.turns[-1]
    assert failed.status is TurnStatus.FAILED
    window.chat.prompt.setPlainText("my draft")
    window.chat.view.edit_requested.emit(failed)
    assert window.chat.composer.editing
    window.chat.view.remove_requested.emit(failed)
    eventually(qloop, lambda: not window.chat.composer.editing)
    assert window.chat.prompt.toPlainText() == "my draft"
    assert any("no longer shown" in m.text for m in shown)


# -- dropping anywhere ---------------------------------------------------------------------------


def image_files(tmp_path: Path) -> QMimeData:
    path = tmp_path / "dropped.png"
    path.write_bytes(png())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    return mime


def enter_event(mime: QMimeData, at: QPoint) -> QDragEnterEvent:
    make: Any = QDragEnterEvent  # the QPointF form is newer than the stubs
    try:
        event: QDragEnterEvent = make(
            QPointF(at),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    except TypeError:
        event = QDragEnterEvent(
            at,
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    return event


def drop_event(mime: QMimeData, at: QPoint) -> QDropEvent:
    return QDropEvent(
        QPointF(at),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )


def test_a_drag_of_images_shows_the_overlay_over_the_window_until_it_leaves(
    windows: Windows, tmp_path: Path
) -> None:
    window = windows.start()
    overlay = window.chat.composer.drop_overlay
    assert overlay is not None
    assert overlay.objectName() == "dropOverlay"
    assert overlay.accessibleName()
    assert not overlay.isVisible()

    mime = image_files(tmp_path)  # kept alive: the event does not own it
    enter = enter_event(mime, QPoint(20, 20))
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    assert overlay.isVisible()
    assert overlay.geometry() == window.rect()
    assert window.childAt(window.rect().center()) is overlay  # on top of everything

    # The drag leaves the window (the window system tells the native window).
    handle = window.windowHandle()
    assert handle is not None
    QApplication.sendEvent(handle, QDragLeaveEvent())
    assert not overlay.isVisible()
    assert window.chat.image_pane.model.rowCount() == 0

    # Text being dragged is not a drop of images: no overlay.
    words = QMimeData()
    words.setText("just words")
    refused = enter_event(words, QPoint(20, 20))
    QApplication.sendEvent(window, refused)
    assert not refused.isAccepted()
    assert not overlay.isVisible()


def test_a_drag_entering_over_a_message_is_dropped_into_the_composer(
    windows: Windows, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    window = windows.start()
    turn = send(window, qloop, "a message whose text takes drops of its own")
    widget = window.chat.view.widget_for(turn)
    assert widget is not None
    at = widget.body.mapTo(window, widget.body.rect().center())
    handle = window.windowHandle()
    assert handle is not None
    mime = image_files(tmp_path)
    overlay = window.chat.composer.drop_overlay
    assert overlay is not None

    # The window system delivers the drag to the native window, over the message.
    enter = enter_event(mime, at)
    QApplication.sendEvent(handle, enter)
    assert enter.isAccepted()
    assert overlay.isVisible()
    drop = drop_event(mime, at)
    QApplication.sendEvent(handle, drop)
    assert drop.isAccepted()
    assert not overlay.isVisible()
    idle(qloop, window)
    assert [a.name for a in window.chat.image_pane.model.attachments()] == ["dropped.png"]
    assert window.chat.image_pane.attachments_ready()


def test_a_click_on_a_stale_overlay_takes_it_away(windows: Windows, qtbot: Any) -> None:
    window = windows.start()
    overlay = window.chat.composer.drop_overlay
    assert overlay is not None
    window.chat.image_pane.set_drag_active(True)
    assert overlay.isVisible()
    qtbot.mouseClick(overlay, Qt.MouseButton.LeftButton)
    assert not overlay.isVisible()
    assert not window.chat.image_pane.drag_active
