"""Fixtures for the window tests: private folders and an offline server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from desktop_app.core.paths import AppPaths
from desktop_app.ui import notify, style
from tests.support.offline import FaultyServer
from tests.support.windows import Windows


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    """Config, data and cache folders of this test only."""
    return AppPaths(tmp_path / "config", tmp_path / "data", tmp_path / "cache").ensure()


@pytest.fixture
def server() -> Iterator[FaultyServer]:
    """An offline server with fault injection, answering at once."""
    with FaultyServer(delay=0.0) as faulty:
        yield faulty


@pytest.fixture
def windows(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, paths: AppPaths, server: FaultyServer
) -> Iterator[Windows]:
    """Windows on this test's folders and server, closed after the test."""
    made = Windows(qtbot, qloop, paths, server)
    yield made
    for window in list(made.open):
        made.stop(window)
    notify.bridge.reset()


@pytest.fixture
def styled(qapp: QApplication) -> Iterator[None]:
    """The app's style sheet, as the launcher applies it, taken away after."""
    before = QPalette(qapp.palette())
    follower = style.install(qapp)
    yield
    follower.uninstall()
    qapp.setPalette(before)
