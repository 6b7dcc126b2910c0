"""Shared fixtures: offscreen Qt, a qasync loop, and no real keychain or user dirs."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
import keyring.backend
import pytest

from tests.support.offline import offline_server as offline_server


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keychain that lives in memory, so no test touches the real one."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture(autouse=True, scope="session")
def _private_log_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test, nor any process a test starts, writes to the real log folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IRIS_LOG_DIR", str(tmp_path_factory.mktemp("logs")))
        yield


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """Every test gets an empty in-memory keychain and no key in the environment."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Config, data and cache folders inside the test's tmp_path."""
    dirs = {name: tmp_path / name for name in ("config", "data", "cache")}
    for path in dirs.values():
        path.mkdir()
    monkeypatch.setenv("IRIS_CONFIG_DIR", str(dirs["config"]))
    monkeypatch.setenv("IRIS_DATA_DIR", str(dirs["data"]))
    monkeypatch.setenv("IRIS_CACHE_DIR", str(dirs["cache"]))
    return dirs


@pytest.fixture
def qloop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync event loop bound to the test QApplication."""
    import qasync

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)
    # A closed loop leaves Qt timers in reference cycles; collect them here, on the
    # GUI thread, before a collection in a worker thread tries to stop them there.
    gc.collect()
