"""``AppContext``: the window's adapter over the core's :class:`Engine`.

The engine (Qt-free) owns the catalog, limiter, history and HTTP clients. This
adapter adds what only the window has: the settings store and the key state (Qt
objects that save off the UI thread), and Qt signals for the engine's events.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from desktop_app.core.api.ratelimit import RateLimiter
from desktop_app.core.catalog import Catalog
from desktop_app.core.conversation.options import ConversationOverrides, RequestOptions
from desktop_app.core.conversation.runner import TurnRunner
from desktop_app.core.engine import DemoServer, Engine
from desktop_app.core.history.service import HistoryService
from desktop_app.core.paths import AppPaths
from desktop_app.ui import notify
from desktop_app.ui.settings.api_key import ApiKeyState
from desktop_app.ui.settings.settings_store import SettingsStore

if TYPE_CHECKING:
    # httpx loads on first use, not at start-up.
    from desktop_app.core.api.client import MessagesClient


def _start_demo() -> tuple[DemoServer, str]:
    from desktop_app.offline.server import start_demo

    return start_demo()


class AppContext(QObject):
    """Everything the window needs, built once at start-up.

    Signals:
        rate_limits_updated: New rate-limit figures for a family (RateLimitSnapshot).
        mode_changed: The app switched between the demo and the real API, or the
            key became known.
        catalog_refreshed: The model list was merged from ``GET /v1/models``.
        conversations_changed: The stored conversations changed (new, renamed, deleted).
    """

    rate_limits_updated = Signal(object)
    mode_changed = Signal()
    catalog_refreshed = Signal()
    conversations_changed = Signal()

    def __init__(self, paths: AppPaths, *, demo: bool = False) -> None:
        """Load settings and catalog from ``paths``; ``demo`` forces the offline server."""
        super().__init__()
        self.paths = paths
        self.settings = SettingsStore(paths.config)
        self.engine = Engine(paths, self.settings.settings, demo=demo, start_demo=_start_demo)
        history = self.engine.history
        assert history is not None
        self.history: HistoryService = history
        # The keychain is read by start(), off the UI thread; until then the key is
        # unknown and the window shows neither the first-run banner nor a key.
        self.api_key = ApiKeyState()
        self.key_known = False
        self.key_loaded = asyncio.Event()  # set once the keychain was read
        self.settings.changed.connect(self._on_setting_changed)
        self.api_key.changed.connect(self._on_key_changed)
        self.engine.mode_changed.connect(self.mode_changed.emit)
        self.engine.catalog_refreshed.connect(self.catalog_refreshed.emit)
        self.history.conversations_changed.connect(self.conversations_changed.emit)

    @property
    def catalog(self) -> Catalog:
        """The model catalog."""
        return self.engine.catalog

    @property
    def limiter(self) -> RateLimiter:
        """The client-side limiter for the user's tier."""
        return self.engine.limiter

    # -- mode ----------------------------------------------------------------------------

    @property
    def demo(self) -> bool:
        """True when requests go to the built-in offline server."""
        return self.engine.demo

    @property
    def demo_requested(self) -> bool:
        """True when the user chose the demo (``--demo`` or the menu), key or not."""
        return self.engine.demo_requested

    def use_demo(self, demo: bool) -> None:
        """Switch to the offline demo (True) or back to the real API when a key is set."""
        self.engine.use_demo(demo)

    def _on_setting_changed(self, _name: str) -> None:
        self.engine.set_settings(self.settings.settings)

    def _on_key_changed(self) -> None:
        was_known, self.key_known = self.key_known, True
        key = self.api_key.key()
        if was_known and key is not None and key != self.engine.api_key and self.demo_requested:
            # A key given while the demo runs means: talk to Claude now.
            self.engine.use_demo(False)
            notify.info("Iris now talks to the Messages API with your key, not the demo.")
        if key == self.engine.api_key:
            self.mode_changed.emit()  # the key became known, or its source changed
        self.engine.set_api_key(key)

    async def start(self) -> None:
        """Read the key (keychain access can block) and refresh the model list."""
        try:
            await self.api_key.load_async()
        finally:
            self.key_loaded.set()
        await self.engine.refresh_catalog()

    # -- the engine ----------------------------------------------------------------------

    def client(self) -> MessagesClient:
        """The client for the current key and settings.

        Raises:
            ConfigurationError: The settings or key are unusable.
        """
        return self.engine.client()

    def check_configuration(self) -> None:
        """Make sure a request could be sent now.

        Raises:
            ConfigurationError: There is no key (and no demo), or the settings are unusable.
        """
        self.engine.check_configuration()

    def runner(self) -> TurnRunner:
        """A runner for the current key and settings."""
        return self.engine.runner()

    def options(self, overrides: ConversationOverrides | None = None) -> RequestOptions:
        """The request options the current settings describe, with a conversation's overrides."""
        return self.engine.options(overrides)

    def publish_rate_limits(self, family: str) -> None:
        """Emit the limiter's latest figures for ``family``."""
        self.rate_limits_updated.emit(self.engine.rate_limits(family))

    async def aclose(self) -> None:
        """Close every HTTP client, the history and the demo server."""
        self.settings.flush()
        await self.engine.aclose()
