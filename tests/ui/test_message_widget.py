"""One message on screen: long replies render off the UI thread, links and copy."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication

from desktop_app.core.conversation import Turn, TurnStatus
from desktop_app.core.messages import Message, TextBlock, ThinkingBlock
from desktop_app.ui.message_widget import LARGE_MESSAGE, MessageWidget
from tests.support.qt import eventually


def reply(text: str, *, thinking: str = "") -> Turn:
    blocks: list[Any] = [ThinkingBlock(thinking, "sig")] if thinking else []
    blocks.append(TextBlock(text))
    return Turn("assistant", message=Message(content=blocks), status=TurnStatus.DONE)


def test_long_reply_is_rendered_in_a_worker_then_shown(
    qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    paragraph = "Some **bold** words and `code` here.\n\n"
    text = "# Big heading\n\n" + paragraph * (LARGE_MESSAGE // len(paragraph) + 10)
    assert len(text) > LARGE_MESSAGE

    async def build() -> MessageWidget:
        # As in the app: widgets are made while the event loop runs.
        return MessageWidget(reply(text))

    widget = qloop.run_until_complete(build())
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    widget.show()
    task = widget._render_task
    assert task is not None  # rendered by a worker, not on the UI thread
    qloop.run_until_complete(asyncio.wait_for(task, 20))  # raises what the worker raised
    eventually(
        qloop,
        lambda: (
            "**" not in widget.body.toPlainText() and "Big heading" in widget.body.toPlainText()
        ),
    )
    assert "# Big" not in widget.body.toPlainText()
    assert widget.body.height() > 400


def test_short_reply_renders_at_once_with_code_copy(qtbot: Any) -> None:
    widget = MessageWidget(reply("Hi\n\n```python\nprint('x')\n```\n", thinking="hmm"))
    qtbot.addWidget(widget)
    assert widget.body.code_blocks == ("print('x')",)
    widget.body.anchorClicked.emit(QUrl("iris-copy:0"))
    assert QGuiApplication.clipboard().text() == "print('x')"
    assert widget._thinking_button.isVisibleTo(widget)
    assert widget._thinking is not None
    assert not widget._thinking.isVisibleTo(widget)  # collapsed by default
    widget._thinking_button.click()
    assert widget._thinking.isVisibleTo(widget)
