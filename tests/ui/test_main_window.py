"""The whole window against the offline server: type, attach, send, stream, stop, retry."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget

from desktop_app.core.conversation.memory import MemoryHistory
from desktop_app.core.conversation.model import TurnStatus
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.paths import AppPaths
from desktop_app.ui import notify
from desktop_app.ui.app_context import AppContext
from desktop_app.ui.chat.conversation_model import ConversationModel
from desktop_app.ui.main_window import MainWindow
from tests.conftest import MemoryKeyring
from tests.support.offline import Fault, FaultyServer
from tests.support.qt import arm, eventually, wait
from tests.support.qt import send_prompt as send

KEY = "sk-ant-window-test-1234567890"
STABLE_NAMES = [
    "conversationView",
    "promptEdit",
    "sendButton",
    "modelSelector",
    "tierSelector",
    "maxTokensSpin",
    "systemPromptEdit",
    "imageDropPane",
    "attachButton",
    "modelPicker",
]


@pytest.fixture
def window(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, paths: AppPaths, server: FaultyServer
) -> Iterator[MainWindow]:
    notify.bridge.reset()
    context = AppContext(paths)
    context.api_key.use_for_session(KEY)
    context.settings.update(base_url=server.base_url, model="claude-haiku-4-5")
    win = MainWindow(context)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    qloop.run_until_complete(win.aclose())
    notify.bridge.reset()


def png_bytes(size: tuple[int, int], color: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def own_controls(window: MainWindow) -> list[QWidget]:
    """Visible, enabled, Tab-focusable widgets, without Qt's internal children."""
    return [
        w
        for w in window.findChildren(QWidget)
        if w.isVisibleTo(window)
        and w.isEnabled()
        and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        and not w.objectName().startswith("qt_")
    ]


def test_the_settings_windows_are_built_when_first_opened(
    window: MainWindow, qloop: asyncio.AbstractEventLoop
) -> None:
    assert window.findChild(QWidget, "settingsDialog") is None
    send(window, qloop, "hello")  # the service's rate-limit figures arrive
    window.show_settings()
    dialog = window.findChild(QWidget, "settingsDialog")
    assert dialog is not None
    assert dialog.isVisible()
    # What arrived before the window was built is in it.
    rate_limits = dialog.findChild(QLabel, "rateLimitLabel")
    assert rate_limits is not None
    assert rate_limits.text().startswith("Requests ")
    window.show_settings()
    assert window.findChildren(QWidget, "settingsDialog") == [dialog]  # built once


def test_stable_object_names_accessible_names_and_tab_reach(window: MainWindow) -> None:
    # The settings windows are built on first use; their names are checked too.
    assert window.settings_dialog is not None
    assert window.conversation_settings is not None
    for name in STABLE_NAMES:
        widget = window.findChild(QWidget, name)
        assert widget is not None, name
        assert widget.accessibleName(), name
    unnamed = [
        w.objectName() or type(w).__name__
        for w in own_controls(window)
        if not w.accessibleName() and not (isinstance(w, QAbstractButton) and w.text())
    ]
    assert unnamed == []
    # Every focusable, visible control is on the Tab chain.
    chain: set[QWidget] = set()
    start = window.chat.prompt
    current: QWidget | None = start
    for _ in range(500):
        assert current is not None
        chain.add(current)
        current = current.nextInFocusChain()
        if current is start:
            break
    missing = [w.objectName() or type(w).__name__ for w in own_controls(window) if w not in chain]
    assert missing == []


def test_type_send_and_stream(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    turn = send(window, qloop, "hello window")
    assert turn.status is TurnStatus.DONE
    assert "hello window" in turn.text
    assert window.chat.prompt.toPlainText() == ""
    model = window.chat.model
    assert model.rowCount() == 2
    widget = window.chat.view.widget_for(turn)
    assert widget is not None
    assert "hello window" in widget.body.toPlainText()
    usage = window.chat.usage_label
    assert usage.text().startswith("This conversation: ")
    assert usage.text().endswith(" tokens used")
    assert "out " in usage.toolTip()
    assert usage.text() in usage.accessibleDescription()
    body = server.received[0].json
    assert body["model"] == "claude-haiku-4-5"
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hello window", "cache_control": {"type": "ephemeral"}}
            ],
        }
    ]
    # A second turn carries the history.
    send(window, qloop, "and again")
    second = server.received[1].json["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]


def test_enter_sends_and_shift_enter_adds_a_line(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, qtbot: Any
) -> None:
    prompt = window.chat.prompt
    prompt.setFocus()
    qtbot.keyClicks(prompt, "line one")
    qtbot.keyClick(prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(prompt, "line two")
    assert prompt.toPlainText() == "line one\nline two"
    done = arm(window.chat.reply_finished)
    qtbot.keyClick(prompt, Qt.Key.Key_Return)
    (turn,) = wait(qloop, done)
    assert "line one" in turn.text


def test_stop_keeps_what_arrived(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, server: FaultyServer, qtbot: Any
) -> None:
    server.push(Fault.slow(0.05))
    done = arm(window.chat.reply_finished)
    window.chat.prompt.setPlainText("/long")
    window.chat.send_button.click()

    turns = window.chat.model.conversation.turns
    eventually(qloop, lambda: turns[-1].role == "assistant" and turns[-1].text.strip())
    # One button: Stop while the reply streams.
    assert window.chat.send_button.accessibleName() == "Stop the reply"
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    (turn,) = wait(qloop, done)
    assert turn.status is TurnStatus.STOPPED
    assert turn.text
    assert window.chat.send_button.accessibleName() == "Send message"
    widget = window.chat.view.widget_for(turn)
    assert widget is not None
    assert "Stopped" in widget.notice.text()


def test_error_then_retry(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    server.push(Fault.status(400, "invalid_request_error", message="messages.0: bad image"))
    failed = send(window, qloop, "this fails once")
    user = window.chat.model.conversation.turns[0]
    assert user.status.value == "failed"
    assert "bad image" in (user.error or "")
    assert window.chat.model.rowCount() == 1
    widget = window.chat.view.widget_for(user)
    assert widget is not None
    assert widget.retry_button.isVisible()
    assert "bad image" in widget.notice.text()
    del failed
    done = arm(window.chat.reply_finished)
    widget.retry_button.click()
    (reply,) = wait(qloop, done)
    assert reply.status is TurnStatus.DONE
    assert user.status is TurnStatus.DONE
    # The failing turn never poisons the conversation: the next send works.
    send(window, qloop, "next")
    assert [m["role"] for m in server.received[-1].json["messages"]] == [
        "user",
        "assistant",
        "user",
    ]


def test_failed_turn_is_left_out_of_the_next_request(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    server.push(Fault.status(400, "invalid_request_error"))
    send(window, qloop, "rejected")
    reply = send(window, qloop, "fresh start")
    assert reply.status is TurnStatus.DONE
    sent = server.received[-1].json["messages"]
    assert len(sent) == 1
    assert sent[0]["content"][0]["text"] == "fresh start"


def test_backoff_shows_a_countdown(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    server.push(Fault.status(529, "overloaded_error", headers={"retry-after": "2"}))
    done = arm(window.chat.reply_finished)
    window.chat.prompt.setPlainText("busy?")
    window.chat.send_button.click()
    turns = window.chat.model.conversation.turns

    def notice() -> str:
        widget = window.chat.view.widget_for(turns[-1])
        return widget.notice.text() if widget is not None and widget.notice.isVisible() else ""

    # The countdown shows for the two seconds the service asked for.
    eventually(qloop, lambda: "Retrying in" in notice())
    assert "Overloaded" in notice()
    assert "Retrying in 2 s" in notice() or "Retrying in 1 s" in notice()
    (turn,) = wait(qloop, done, 20)
    assert turn.status is TurnStatus.DONE


def test_attach_by_drop_and_paste_then_send(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, server: FaultyServer, tmp_path: Path
) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(png_bytes((3000, 2000)))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pane = window.chat.image_pane
    # Dropped anywhere on the window, the files reach the image pane.
    enter = QDragEnterEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, drop)
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.red)
    QGuiApplication.clipboard().setImage(image)
    done = arm(window.chat.reply_finished)
    window.chat.prompt.setFocus()
    window.chat.prompt.paste()
    window.chat.prompt.setPlainText("what are these?")
    qloop.run_until_complete(asyncio.wait_for(pane.wait_idle(), 20))
    assert pane.model.rowCount() == 2
    window.chat.send_button.click()
    (turn,) = wait(qloop, done, 20)
    assert turn.status is TurnStatus.DONE
    blocks = server.received[-1].json["messages"][0]["content"]
    assert [b["type"] for b in blocks] == ["image", "image", "text"]
    # Haiku 4.5's 2.0 MP limit: the demo server describes what it received.
    assert "image/png" in turn.text
    assert pane.model.rowCount() == 0
    user = window.chat.model.conversation.turns[0]
    assert user.notes
    assert "3000\u00d72000" in user.notes[0]
    user_widget = window.chat.view.widget_for(user)
    assert user_widget is not None
    assert len(user_widget.thumbnails) == 2


def test_image_only_message_sends_no_empty_text(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, server: FaultyServer
) -> None:
    window.chat.image_pane.add_bytes("dot.png", png_bytes((50, 50)))
    qloop.run_until_complete(asyncio.wait_for(window.chat.image_pane.wait_idle(), 20))
    reply = send(window, qloop, "")
    assert reply.status is TurnStatus.DONE
    (block,) = server.received[-1].json["messages"][0]["content"]
    assert block["type"] == "image"


def test_switching_model_prepares_images_again(
    window: MainWindow, qloop: asyncio.AbstractEventLoop
) -> None:
    context = window.context
    context.settings.update(model="claude-opus-4-7")
    pane = window.chat.image_pane
    pane.add_bytes("big.png", png_bytes((3000, 2000)))
    qloop.run_until_complete(asyncio.wait_for(pane.wait_idle(), 20))
    (first,) = pane.attachments_ready()
    assert first.width * first.height == 6_000_000 or first.width * first.height <= 3_750_000
    context.settings.update(model="claude-haiku-4-5")
    assert pane.is_busy()  # preparing again, for the new model's limits
    qloop.run_until_complete(asyncio.wait_for(pane.wait_idle(), 20))
    (second,) = pane.attachments_ready()
    assert second.width * second.height <= 2_000_000
    assert second.width * second.height < first.width * first.height


def test_no_key_offers_the_demo_and_keeps_the_draft(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, paths: AppPaths
) -> None:
    notify.bridge.reset()
    context = AppContext(paths)
    win = MainWindow(context)
    qtbot.addWidget(win)
    win.show()
    try:
        assert not win.banner.isVisible()  # until the keychain has been read
        qloop.run_until_complete(context.start())
        assert win.banner.isVisible()
        assert context.demo
        demo_button = win.banner.findChild(QAbstractButton, "tryDemoButton")
        assert demo_button is not None
        demo_button.click()
        assert not win.banner.isVisible()
        assert "offline demo" in win.windowTitle()
        reply = send(win, qloop, "hi demo")
        assert reply.status is TurnStatus.DONE
        assert "offline demo" in reply.text.lower()
    finally:
        win.close()
        qloop.run_until_complete(win.aclose())
        notify.bridge.reset()


def test_settings_persist_and_the_key_is_in_no_file(
    window: MainWindow,
    qloop: asyncio.AbstractEventLoop,
    paths: AppPaths,
    memory_keyring: MemoryKeyring,
) -> None:
    pane = window.settings_pane
    pane.system_prompt_edit.setPlainText("Be brief.")
    pane.max_tokens_spin.setValue(1234)
    secret = "sk-ant-stored-key-abcdefghijklmnop"
    pane.api_key_edit.setText(secret)
    pane.save_key_button.click()

    eventually(qloop, lambda: memory_keyring.passwords)
    window.context.settings.flush()
    assert secret in memory_keyring.passwords.values()
    reloaded = AppContext(paths)
    assert reloaded.settings.settings.system_prompt == "Be brief."
    assert reloaded.settings.settings.max_tokens == 1234
    send(window, qloop, "with key")
    for root in (paths.config, paths.data, paths.cache):
        for file in root.rglob("*"):
            if file.is_file():
                data = file.read_bytes()
                assert secret.encode() not in data, file
                assert KEY.encode() not in data, file


def test_new_conversation(window: MainWindow, qloop: asyncio.AbstractEventLoop) -> None:
    send(window, qloop, "first")
    assert window.chat.model.rowCount() == 2
    qloop.run_until_complete(window.chat.new_conversation())
    assert window.chat.model.rowCount() == 0
    assert window.chat.conversation_id is None


def test_conversation_model_passes_the_model_tester(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, qtmodeltester: Any
) -> None:
    send(window, qloop, "/markdown")
    send(window, qloop, "/tool")
    qtmodeltester.check(window.chat.model)
    qtmodeltester.check(ConversationModel(ConversationSession(MemoryHistory())))


def test_smoke_test_prints_startup_and_exits_zero(paths: AppPaths) -> None:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        IRIS_CONFIG_DIR=str(paths.config),
        IRIS_DATA_DIR=str(paths.data),
        IRIS_CACHE_DIR=str(paths.cache),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    result = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--smoke-test"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("startup_ms=")]
    assert int(line.split("=")[1]) > 0
    assert "Traceback" not in result.stderr


def _loaded_after(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after running ``statement``."""
    code = f"import sys\n{statement}\nprint(','.join(m for m in {modules!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return [m for m in result.stdout.strip().split(",") if m]


def test_showing_the_window_loads_neither_the_http_nor_the_image_stack() -> None:
    # They load in a worker once the window is shown; importing them first would
    # roughly double the start-up time.
    heavy = ("httpx", "PIL", "keyring", "anyio", "markdown_it", "pygments")
    assert heavy[0] in _loaded_after("import httpx", heavy)  # the probe sees imports
    statement = (
        "import desktop_app.ui.launch, desktop_app.ui.app_context, desktop_app.ui.main_window"
    )
    assert _loaded_after(statement, heavy) == []


def test_the_warm_up_loads_what_the_first_reply_needs() -> None:
    needed = (
        "httpx",
        "PIL.Image",
        "anyio._backends._asyncio",
        "idna",
        "markdown_it",
        "pygments",
        "desktop_app.offline.server",
    )
    statement = "from desktop_app.ui.launch import _warm_up; _warm_up()"
    assert _loaded_after(statement, needed) == list(needed)


def test_with_a_key_the_warm_up_leaves_the_demo_server_out() -> None:
    statement = "from desktop_app.ui.launch import _warm_up; _warm_up(demo=False)"
    assert _loaded_after(statement, ("httpx", "desktop_app.offline.server")) == ["httpx"]


def test_start_reads_the_keychain_and_refreshes_the_catalog(
    qloop: asyncio.AbstractEventLoop,
    paths: AppPaths,
    server: FaultyServer,
    memory_keyring: MemoryKeyring,
) -> None:
    from desktop_app.core import secrets

    memory_keyring.passwords[(secrets.SERVICE, secrets.USERNAME)] = KEY
    context = AppContext(paths)
    context.settings.update(base_url=server.base_url)
    refreshed = arm(context.catalog_refreshed)
    assert context.api_key.key() is None
    qloop.run_until_complete(context.start())
    assert context.api_key.key() == KEY
    assert context.api_key.source == "keychain"
    assert refreshed.done()
    assert server.received[-1].path == "/v1/models"
    assert server.received[-1].headers["x-api-key"] == KEY
    cache = (paths.cache / "models-cache.json").read_text(encoding="utf-8")
    assert "claude-haiku-4-5" in cache
    assert KEY not in cache
    qloop.run_until_complete(context.aclose())


def test_catalog_refresh_is_never_required(
    qloop: asyncio.AbstractEventLoop, paths: AppPaths, server: FaultyServer
) -> None:
    context = AppContext(paths)
    context.api_key.use_for_session(KEY)
    context.settings.update(base_url=server.base_url)
    fault = Fault.status(500, "api_error", headers={"x-should-retry": "false"})
    server.push(fault, path="/v1/models")
    assert qloop.run_until_complete(context.engine.refresh_catalog()) is False
    assert context.catalog.get("claude-opus-4-7").known
    assert not (paths.cache / "models-cache.json").exists()
    qloop.run_until_complete(context.aclose())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland check is Linux-only")
def test_no_graphical_session_is_a_clear_message_not_a_crash(paths: AppPaths) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-m", "desktop_app"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no graphical session" in result.stderr
    assert "iris ask --demo" in result.stderr
    assert "Traceback" not in result.stderr
