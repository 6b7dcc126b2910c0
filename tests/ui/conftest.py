"""Fixtures for the window tests: private folders and an offline server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.paths import AppPaths
from tests.support.offline import FaultyServer


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    """Config, data and cache folders of this test only."""
    return AppPaths(tmp_path / "config", tmp_path / "data", tmp_path / "cache").ensure()


@pytest.fixture
def server() -> Iterator[FaultyServer]:
    """An offline server with fault injection, answering at once."""
    with FaultyServer(delay=0.0) as faulty:
        yield faulty
