"""The window for the AT-SPI test, in a process of its own, driven over stdin and stdout.

Run as ``python -m tests.support.atspi_window`` from the project root, on a real
display (``QT_QPA_PLATFORM=xcb``) with the accessibility bridge on. It opens the
window on the offline demo, as ``iris --demo`` does, with the ``IRIS_*_DIR``
folders of the environment, and makes it busy: a conversation with a Markdown
reply (headings, a list, a table, a link, code), a refusal, a failed request
and an image in the composer. Then it prints one JSON line ``{"ready": ...}``
and answers one JSON line per command it reads:

``focus NAME``
    Put the keyboard on the widget with object name ``NAME``.
``tab``
    Press Tab where the keyboard is.
``labels``
    The information labels shown: object name, text, place on the screen.
``settings PAGE``
    Open Settings on ``PAGE`` (``API_KEY``, ``MODELS`` ...) and list its labels.
``close``
    Close Settings.
``fail``
    Send a message that the service refuses with an error, and wait for the end.
``where``
    Nothing: the answer says where the keyboard focus is.
``quit``
    Close the window and exit.

Each answer names the widget with the keyboard focus, so a failure can say where
the test and the window disagree.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent, QTextDocument, QWindow
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import QApplication, QLabel, QToolButton, QWidget

from desktop_app.core.paths import app_paths
from desktop_app.offline.server import DEMO_API_KEY
from desktop_app.ui import app_context, style
from desktop_app.ui.app_context import AppContext
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.settings.settings_pane import Page
from tests.support.offline import Fault, FaultyServer
from tests.support.qt import arm

PROMPTS = ("/markdown", "/refuse", "this one fails")
SECONDS = 20.0


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def widget_info(widget: QWidget | None) -> dict[str, Any] | None:
    if widget is None:
        return None
    origin = widget.mapToGlobal(widget.rect().topLeft())
    return {
        "class": type(widget).__name__,
        "objectName": widget.objectName(),
        "accessibleName": widget.accessibleName(),
        "rect": [origin.x(), origin.y(), widget.width(), widget.height()],
    }


def exposed(widget: QWidget) -> bool:
    handle: QWindow | None = widget.windowHandle()  # None until first shown
    return handle is not None and handle.isExposed() and widget.isActiveWindow()


def plain_text(label: QLabel) -> str:
    """The words a label shows (its rich text as plain text)."""
    text = label.text()
    if label.textFormat() is Qt.TextFormat.RichText or (
        label.textFormat() is Qt.TextFormat.AutoText and GuiQt.mightBeRichText(text)
    ):
        document = QTextDocument()
        document.setHtml(text)
        text = document.toPlainText()
    return text.strip()


def information_labels(window: QWidget) -> list[dict[str, Any]]:
    """Labels that tell something: shown, with words, and naming no other control."""
    found = []
    for label in window.findChildren(QLabel):
        if not label.isVisibleTo(window) or label.buddy() is not None:
            continue
        text = plain_text(label)
        if not text:
            continue  # an icon or a picture
        info = widget_info(label)
        assert info is not None
        info["text"] = text
        found.append(info)
    return found


class Driver:
    """Makes the window busy, then does what each command asks."""

    def __init__(self, window: MainWindow, server: FaultyServer) -> None:
        self.window = window
        self.server = server

    async def send(self, text: str) -> None:
        chat = self.window.chat
        done = arm(chat.reply_finished)
        chat.prompt.setPlainText(text)
        chat.send_button.click()
        await asyncio.wait_for(done, SECONDS)

    async def until(self, what: str, predicate: Callable[[], object]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SECONDS
        # Polling: neither window activation nor image preparation has one signal here.
        while not predicate():
            if loop.time() > deadline:
                raise TimeoutError(what)
            await asyncio.sleep(0.02)

    async def make_busy(self) -> None:
        window = self.window
        window.activateWindow()
        window.raise_()
        await self.until("the window is active", window.isActiveWindow)
        await self.send(PROMPTS[0])
        await self.send(PROMPTS[1])
        self.server.push(Fault.status(400, "invalid_request_error", message="The image is bad."))
        await self.send(PROMPTS[2])
        # The figures of a reply, under it.
        details = window.findChildren(QToolButton, "messageInfoButton")
        next(button for button in details if button.isVisibleTo(window)).click()
        pane = window.chat.image_pane
        pane.add_bytes("Blue square.png", _png())
        await self.until("the image is prepared", lambda: not pane.is_busy())
        view = window.chat.view
        await self.until("the conversation is laid out", lambda: not view.busy)
        window.chat.prompt.setFocus()

    async def answer(self, command: str) -> dict[str, Any]:
        word, _, argument = command.partition(" ")
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        if word == "focus":
            target = self.window.findChild(QWidget, argument)
            if target is None:
                return {"error": f"no widget called {argument!r}"}
            target.setFocus(Qt.FocusReason.OtherFocusReason)
        elif word == "tab":
            # Sent, not simulated: Qt hands a key from the system to the accessibility
            # registry first and handles it when it comes back, later; the focus
            # must have moved by the time this answers.
            focus = app.focusWidget() or self.window
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                app.sendEvent(
                    focus, QKeyEvent(kind, Qt.Key.Key_Tab, Qt.KeyboardModifier.NoModifier)
                )
        elif word == "labels":
            return {"labels": information_labels(self.window)}
        elif word == "settings":
            dialog = self.window.settings_dialog
            dialog.open_page(Page[argument])
            await self.until("Settings is on screen", lambda: exposed(dialog))
            return {"labels": information_labels(dialog)}
        elif word == "close":
            self.window.settings_dialog.hide()
            self.window.activateWindow()
            await self.until("the window is active again", self.window.isActiveWindow)
        elif word == "fail":
            self.server.push(Fault.status(400, "invalid_request_error", message="No, again."))
            await self.send("this one fails too")
        elif word not in ("quit", "where"):
            return {"error": f"unknown command {command!r}"}
        now: QWidget | None = app.focusWidget()
        inside = now is not None and self.window.chat.view.isAncestorOf(now)
        return {"focus": widget_info(now), "in_conversation": inside}


def _read_commands(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str]) -> None:
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line.strip())
    loop.call_soon_threadsafe(queue.put_nowait, "quit")


def _reply(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def serve(window: MainWindow, server: FaultyServer) -> None:
    driver = Driver(window, server)
    await window.restore()
    await window.context.start()
    await driver.make_busy()
    queue: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    threading.Thread(target=_read_commands, args=(loop, queue), daemon=True).start()
    _reply({"ready": widget_info(window), "pid": os.getpid()})
    while True:
        command = await queue.get()
        _reply(await driver.answer(command))
        if command == "quit":
            return


def main() -> int:
    import qasync

    server = FaultyServer(delay=0.0).start()
    # The offline demo, answered by the offline server that takes scripted faults.
    app_context._start_demo = lambda: (server, DEMO_API_KEY)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Iris")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    follower = style.install(app)
    context = AppContext(app_paths().ensure(), demo=True)
    window = MainWindow(context)
    window.show()
    try:
        with loop:
            loop.run_until_complete(serve(window, server))
            window.close()
            loop.run_until_complete(window.aclose())
    finally:
        follower.uninstall()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
