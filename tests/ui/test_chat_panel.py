"""The chat panel on the engine: what a person meets after Send, Stop, a refusal or a failure."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from PIL import Image
from PySide6.QtCore import Qt

from desktop_app.core.conversation.model import TurnStatus
from desktop_app.core.conversation.runner import UNEXPECTED
from desktop_app.core.errors import StoreError
from desktop_app.core.history.service import HistoryService
from desktop_app.ui import notify
from tests.support.offline import Fault, FaultyServer
from tests.support.qt import arm, eventually, wait
from tests.support.qt import send_prompt as send
from tests.support.windows import Windows


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_a_message_sent_from_a_new_conversation_is_not_the_next_draft(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    chat = window.chat
    chat.image_pane.add_bytes("red.png", png())
    chat.prompt.setPlainText("about this picture")
    # The draft is saved while typing, before Send.
    qloop.run_until_complete(chat.flush_draft())
    qloop.run_until_complete(chat.composer.save_draft())
    done = arm(chat.reply_finished)
    chat.send_button.click()
    wait(qloop, done, 20)

    qloop.run_until_complete(chat.new_conversation())
    eventually(qloop, lambda: not chat.image_pane.is_busy())
    assert chat.prompt.toPlainText() == ""
    assert chat.image_pane.model.attachments() == []
    # Nor after a restart.
    windows.stop(window)
    again = windows.start()
    qloop.run_until_complete(again.chat.new_conversation())
    assert again.chat.prompt.toPlainText() == ""
    assert again.chat.image_pane.model.attachments() == []


def test_after_a_refusal_the_next_message_goes_alone(
    windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    window = windows.start()
    send(window, qloop, "hello")
    refusal = send(window, qloop, "/refuse")
    assert refusal.status is TurnStatus.REFUSED
    prompt = window.chat.model.conversation.turns[-2]
    assert prompt.status is TurnStatus.REFUSED
    widget = window.chat.view.widget_for(prompt)
    assert widget is not None
    assert "left out" in widget.notice.text().lower()
    assert widget.edit_button is not None
    assert widget.edit_button.isEnabled()  # Edit stays available

    reply = send(window, qloop, "an ordinary question")
    assert reply.status is TurnStatus.DONE
    sent = server.received[-1].json["messages"]
    texts = [b.get("text") for m in sent for b in m["content"]]
    assert "/refuse" not in texts
    assert texts[-1] == "an ordinary question"
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]


def test_a_store_failure_during_send_leaves_the_window_usable(
    windows: Windows, qloop: asyncio.AbstractEventLoop, monkeypatch: Any
) -> None:
    window = windows.start()
    shown: list[notify.UserMessage] = []
    notify.bridge.shown.connect(shown.append)
    original = HistoryService.add_turn

    async def full_disk(self: HistoryService, *args: Any) -> Any:
        raise StoreError("The conversation history could not be saved (disk is full).")

    monkeypatch.setattr(HistoryService, "add_turn", full_disk)
    failed = send(window, qloop, "please keep this")
    assert failed.status is TurnStatus.FAILED
    assert failed.text == "please keep this"
    assert failed.error is not None
    assert "disk is full" in failed.error
    assert any("disk is full" in m.text for m in shown)
    assert not window.chat.busy
    assert window.chat.send_button.isEnabled()
    assert not window.chat.composer.busy
    assert window.chat.send_button.accessibleName() == "Send message"

    # Once the disk has room again, Retry sends it.
    monkeypatch.setattr(HistoryService, "add_turn", original)
    widget = window.chat.view.widget_for(failed)
    assert widget is not None
    done = arm(window.chat.reply_finished)
    widget.retry_button.click()
    (reply,) = wait(qloop, done, 20)
    assert reply.status is TurnStatus.DONE
    assert window.chat.model.conversation.turns[0].status is TurnStatus.DONE


def test_an_unexpected_error_during_a_reply_ends_it_with_a_message(
    windows: Windows, qloop: asyncio.AbstractEventLoop, monkeypatch: Any
) -> None:
    window = windows.start()

    def broken(self: Any) -> Any:
        raise RuntimeError("a bug in the client")

    monkeypatch.setattr(type(window.context.engine), "client", broken)
    # Past the panel's own check, which reports configuration problems.
    monkeypatch.setattr(type(window.context), "check_configuration", lambda self: None)
    turn = send(window, qloop, "hello")
    assert turn.status is TurnStatus.FAILED
    assert turn.error == UNEXPECTED
    widget = window.chat.view.widget_for(turn)
    assert widget is not None
    assert widget.notice.text() == UNEXPECTED
    assert "…" not in "".join(w.body.toPlainText() for w in [widget])
    assert window.chat.send_button.isEnabled()


def test_a_stopped_reply_shows_its_output_as_an_estimate(
    windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer, qtbot: Any
) -> None:
    window = windows.start()
    server.push(Fault.slow(0.05))
    done = arm(window.chat.reply_finished)
    window.chat.prompt.setPlainText("/long")
    window.chat.send_button.click()
    turns = window.chat.model.conversation.turns
    eventually(qloop, lambda: len(turns) == 2 and len(turns[-1].text) > 200)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    (turn,) = wait(qloop, done)
    assert turn.status is TurnStatus.STOPPED
    widget = window.chat.view.widget_for(turn)
    assert widget is not None
    usage = widget.findChild(type(window.chat.usage_label), "usageLabel")
    assert usage is not None
    assert "(estimate)" in usage.text()
    assert "out 1 " not in usage.text() + " "
    assert "(estimate)" in window.chat.usage_label.text()
