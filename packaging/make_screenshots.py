"""Draw the README's screenshots from the real window, in the offline demo.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_screenshots.py

For each size (800×600, 1180×780 — the default — and 1600×1000) and each theme
(light and dark, Fusion with the system's light palette or a dark one), a fresh
profile gets a few older conversations (so the sidebar groups them by date), then
the window asks the demo an image question, a question with thinking and a
Markdown question (a table and code), and leaves two images and a draft in the
composer. The window is drawn from the start of the conversation to
``resources/screenshots/window-<size>-<theme>.png`` and at its end to
``window-<size>-<theme>-end.png``; the Settings dialog to
``settings-<size>-<theme>.png``. Each combination runs in its own process, so no
state leaks from one to the next. Nothing leaves the computer.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "screenshots"
SIZES = ((800, 600), (1180, 780), (1600, 1000))
THEMES = ("light", "dark")
DAY = 24 * 3600

# The dark palette: the colours of a typical dark desktop theme.
DARK = {
    "Window": "#202124",
    "WindowText": "#e8eaed",
    "Base": "#171717",
    "AlternateBase": "#2a2a2a",
    "Text": "#e8eaed",
    "Button": "#2d2e30",
    "ButtonText": "#e8eaed",
    "Highlight": "#3b78e7",
    "HighlightedText": "#ffffff",
    "PlaceholderText": "#9aa0a6",
    "ToolTipBase": "#2d2e30",
    "ToolTipText": "#e8eaed",
    "Link": "#8ab4f8",
}

# Older conversations, (title, days ago, question, answer).
HISTORY = (
    ("Packing list for Lisbon in May", 1, "What should I pack?", "Layers and good shoes."),
    ("Regex for ISO dates", 3, "A regex for 2026-12-02?", "`\\d{4}-\\d{2}-\\d{2}`"),
    ("Summary of the quarterly report", 12, "Summarise it.", "Revenue grew 8%."),
    ("Sourdough starter schedule", 45, "How often to feed it?", "Once a day at room heat."),
)


def photo(width: int, height: int, hue: int) -> bytes:
    """A made-up landscape photo as JPEG: sky, sun, hills and a lake."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height // 2):
        shade = int(120 + 100 * y / (height / 2))
        draw.line([(0, y), (width, y)], fill=(shade // 2, shade - 20 + hue % 40, 235))
    sun = width // 5
    draw.ellipse((width - 2 * sun, height // 10, width - sun, height // 10 + sun), "#ffd66b")
    draw.polygon(
        [(0, height // 2), (width // 3, height // 4), (2 * width // 3, height // 2)], "#4f7a4a"
    )
    draw.polygon(
        [(width // 3, height // 2), (3 * width // 4, height // 5), (width, height // 2)],
        "#3d6640",
    )
    draw.rectangle((0, height // 2, width, height), "#2f6f9f")
    for i in range(12):
        y = height // 2 + i * height // 26
        draw.line([(width // 8, y), (7 * width // 8, y)], fill="#5b93bf", width=height // 200)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def seed_history(data_dir: Path) -> None:
    """Store the older conversations, dated days and weeks ago."""
    from desktop_app.core.conversation.model import Turn, TurnStatus
    from desktop_app.core.history.files import current_store_path
    from desktop_app.core.history.store import HistoryStore
    from desktop_app.core.wire.blocks import Role, TextBlock
    from desktop_app.core.wire.message import Message

    data_dir.mkdir(parents=True, exist_ok=True)
    now = time.time()
    with HistoryStore.open(current_store_path(data_dir)) as store:
        for title, days, question, answer in HISTORY:
            reply = Turn(Role.ASSISTANT, message=Message(content=[TextBlock(answer)]))
            reply.status = TurnStatus.DONE
            asked = Turn(Role.USER, [TextBlock(question)])
            asked.status = TurnStatus.DONE
            when = now - days * DAY
            store.import_conversation(title, [asked, reply], created=when, updated=when)


def apply_theme(app: Any, theme: str) -> None:
    """Fusion, with its own light palette or the dark one above."""
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    palette = app.style().standardPalette()
    if theme == "dark":
        for role, colour in DARK.items():
            palette.setColor(getattr(QPalette.ColorRole, role), QColor(colour))
    app.setPalette(palette)


async def ask(window: Any, text: str, images: Sequence[tuple[str, bytes]] = ()) -> None:
    """Type ``text``, attach ``images``, send, and wait for the reply drawn in full."""
    done: asyncio.Future[object] = asyncio.get_running_loop().create_future()

    def finished(turn: object) -> None:
        if not done.done():
            done.set_result(turn)

    window.chat.reply_finished.connect(finished)
    for name, data in images:
        window.chat.image_pane.add_bytes(name, data)
    await window.chat.image_pane.wait_idle()
    window.chat.prompt.setPlainText(text)
    window.chat.send_button.click()
    turn = await asyncio.wait_for(done, 60)
    window.chat.reply_finished.disconnect(finished)
    widget = window.chat.view.widget_for(turn)
    if widget is not None and widget.rendering:
        rendered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        widget.rendered.connect(lambda *_: rendered.done() or rendered.set_result(None))
        await asyncio.wait_for(rendered, 30)


async def settle(app: Any, seconds: float = 0.4) -> None:
    """Let layouts, pictures and paints finish."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        await asyncio.sleep(0.02)


def show_from_the_start(window: Any) -> None:
    """Scroll the conversation so its first message is at the top of the view."""
    from PySide6.QtCore import QPoint

    from desktop_app.ui.chat.conversation_model import TurnRole

    view = window.chat.view
    model = window.chat.model
    first = view.widget_for(model.data(model.index(0, 0), TurnRole.TURN))
    if first is not None:
        top = first.mapTo(view.widget(), QPoint(0, 0)).y()
        view.verticalScrollBar().setValue(max(0, top - 8))


def one(width: int, height: int, theme: str, out: Path) -> None:
    """Draw the window and Settings at one size in one theme."""
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Iris")
    app.setQuitOnLastWindowClosed(False)
    apply_theme(app, theme)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    from desktop_app.core.paths import AppPaths
    from desktop_app.ui import style
    from desktop_app.ui.app_context import AppContext
    from desktop_app.ui.main_window import MainWindow
    from desktop_app.ui.settings.settings_pane import Page

    style.install(app)
    with tempfile.TemporaryDirectory() as tmp:
        paths = AppPaths(Path(tmp, "config"), Path(tmp, "data"), Path(tmp, "cache")).ensure()
        seed_history(paths.data)
        context = AppContext(paths, demo=True)
        context.settings.update(first_run_done=True, model="claude-sonnet-4-6")
        window = MainWindow(context)
        window.resize(width, height)
        window.show()

        async def scene() -> None:
            await window.restore()
            await context.start()
            await window.chat.new_conversation()
            # The image question asks for thinking too, so the window can show the
            # photo, the thinking and the Markdown reply at once.
            await ask(
                window,
                "/think What is in this photo?",
                [("lake.jpg", photo(4032, 3024, 0))],
            )
            await ask(window, "/markdown Show me what you can format")
            # Titled as a person would have renamed it, without the demo command.
            conversation = window.chat.session.conversation_id
            if conversation is not None:
                await context.history.rename(conversation, "What is in this photo?")
            await window.chat.image_pane.wait_idle()
            window.chat.image_pane.add_bytes("harbour.jpg", photo(3000, 2000, 20))
            window.chat.image_pane.add_bytes("hills.jpg", photo(2400, 1800, 35))
            await window.chat.image_pane.wait_idle()
            window.chat.prompt.setPlainText("Which of these two would make a better print?")
            await settle(app)
            show_from_the_start(window)
            await settle(app)
            name = f"{width}x{height}-{theme}"
            window.grab().save(str(out / f"window-{name}.png"))
            # The rest of the conversation, as far down as it goes: a small window
            # cannot hold the photo, the thinking and the table and code at once.
            window.chat.view.scroll_to_bottom()
            await settle(app)
            window.grab().save(str(out / f"window-{name}-end.png"))
            window.settings_dialog.open_page(Page.MODELS)
            await settle(app)
            window.settings_dialog.grab().save(str(out / f"settings-{name}.png"))
            window.settings_dialog.close()
            window.close()
            await window.aclose()

        loop.run_until_complete(scene())
    loop.close()


def main() -> int:
    """Run every size and theme, each in a process of its own."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=3, metavar=("WIDTH", "HEIGHT", "THEME"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.one:
        width, height, theme = args.one
        one(int(width), int(height), theme, args.out)
        return 0
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    env.pop("ANTHROPIC_API_KEY", None)
    for width, height in SIZES:
        for theme in THEMES:
            one_run = [sys.executable, __file__, "--one", str(width), str(height), theme]
            subprocess.run(
                [*one_run, "--out", str(args.out)],
                check=True,
                env=env,
                cwd=ROOT,
            )
            print(f"drew {width}x{height} {theme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
