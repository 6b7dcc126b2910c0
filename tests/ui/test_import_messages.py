"""Importing a file that cannot be read says why in words, never with an exception's text."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from desktop_app.ui import notify
from desktop_app.ui.main_window import MainWindow, why_unreadable
from tests.support.qt import arm, wait
from tests.support.windows import Windows


@pytest.fixture
def window(windows: Windows) -> MainWindow:
    return windows.start()


def import_message(window: MainWindow, loop: asyncio.AbstractEventLoop, path: Path) -> str:
    """Import ``path`` and return the message the window shows."""
    shown = arm(notify.bridge.shown)
    window.import_conversation(path)
    (message,) = wait(loop, shown)
    assert message.level is notify.Level.ERROR
    text: str = message.text
    return text


def test_a_file_that_is_not_utf8_text(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"title": "café"}'.encode("latin-1"))
    text = import_message(window, qloop, path)
    assert (
        text == "latin1.json cannot be imported: the file is not UTF-8 text. Nothing was imported."
    )


def test_a_file_that_is_gone(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    text = import_message(window, qloop, tmp_path / "gone.json")
    assert text == "Could not read gone.json: the file no longer exists. Nothing was imported."
    assert "Errno" not in text
    assert str(tmp_path) not in text


def test_a_folder_instead_of_a_file(
    window: MainWindow, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    folder = tmp_path / "chats.json"
    folder.mkdir()
    text = import_message(window, qloop, folder)
    assert text == "Could not read chats.json: it is a folder, not a file. Nothing was imported."


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (PermissionError(13, "Permission denied", "/home/a/chat.json"), "permission denied"),
        (OSError(5, "Input/output error", "/media/usb/chat.json"), "input/output error"),
        (OSError("a library's own wording"), "the system could not read it"),
    ],
)
def test_other_read_errors_in_words(error: OSError, words: str) -> None:
    assert why_unreadable(error) == words
