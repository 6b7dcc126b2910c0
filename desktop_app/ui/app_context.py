"""The composition root: paths, settings, key, catalog and engine, wired once.

This is the one place that reads the environment and decides between the real
API and the built-in offline demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from desktop_app.core.api.ratelimit import RateLimiter, RateLimitSnapshot
from desktop_app.core.catalog import Catalog, Tier, custom_tier
from desktop_app.core.errors import APIError, ConfigurationError
from desktop_app.core.history.service import HistoryService
from desktop_app.core.paths import AppPaths
from desktop_app.ui.settings.api_key import ApiKeyState
from desktop_app.ui.settings.settings_store import SettingsStore

if TYPE_CHECKING:
    # Both load on first use: httpx is not needed to show the window, and the
    # server is not needed with a key.
    from desktop_app.core.api.client import MessagesClient
    from desktop_app.offline.server import OfflineServer

log = logging.getLogger("iris.app")


class AppContext(QObject):
    """Everything the window needs, built once at start-up.

    Signals:
        rate_limits_updated: New rate-limit figures for a family (RateLimitSnapshot).
        mode_changed: The app switched between the demo and the real API, or the
            key became known.
        catalog_refreshed: The model list was merged from ``GET /v1/models``.
    """

    rate_limits_updated = Signal(object)
    mode_changed = Signal()
    catalog_refreshed = Signal()

    def __init__(self, paths: AppPaths, *, demo: bool = False) -> None:
        """Load settings, catalog and key from ``paths``; ``demo`` forces the offline server."""
        super().__init__()
        self.paths = paths
        self.catalog = Catalog.load(paths.cache)
        self.settings = SettingsStore(paths.config)
        # The keychain is read by start(), off the UI thread; until then the key is
        # unknown and the window shows neither the first-run banner nor a key.
        self.api_key = ApiKeyState()
        self.key_known = False
        self.limiter = RateLimiter(self._tier())
        self.history = HistoryService(paths.data)
        self._force_demo = demo
        self._demo_server: OfflineServer | None = None
        self._client: MessagesClient | None = None
        self._client_config: tuple[str, str, str, float] | None = None
        self._retired: list[MessagesClient] = []
        self.settings.changed.connect(self._on_setting_changed)
        self.api_key.changed.connect(self._on_key_changed)

    # -- mode ----------------------------------------------------------------------------------

    @property
    def demo(self) -> bool:
        """True when requests go to the built-in offline server."""
        return self._force_demo or self.api_key.key() is None

    @property
    def demo_requested(self) -> bool:
        """True when the user chose the demo (``--demo`` or the menu), key or not."""
        return self._force_demo

    def use_demo(self, demo: bool) -> None:
        """Switch to the offline demo (True) or back to the real API when a key is set."""
        if demo != self._force_demo:
            self._force_demo = demo
            self.mode_changed.emit()

    def _tier(self) -> Tier:
        settings = self.settings.settings
        if settings.tier == "custom":
            return custom_tier(settings.custom_rpm_map)
        return self.catalog.tier(settings.tier)

    def _on_setting_changed(self, name: str) -> None:
        if name in ("tier", "custom_rpm"):
            self.limiter.set_tier(self._tier())

    def _on_key_changed(self) -> None:
        self.key_known = True
        self.mode_changed.emit()

    async def start(self) -> None:
        """Read the key (keychain access can block) and refresh the model list."""
        await self.api_key.load_async()
        await self.refresh_catalog()

    async def refresh_catalog(self) -> bool:
        """Merge ``GET /v1/models`` into the catalog and cache it; never required.

        Returns:
            True when the catalog was refreshed.
        """
        if self.demo:
            return False
        try:
            entries = await self.client().list_models()
        except (APIError, ConfigurationError) as exc:
            # The shipped catalog works without it; say nothing to the user.
            log.info("model list not refreshed: %s", exc.__class__.__name__)
            return False
        self.catalog.merge_remote(entries)
        try:
            await asyncio.to_thread(self.catalog.save_cache, self.paths.cache)
        except OSError as exc:
            log.info("model cache not written: %s", exc.strerror)
        self.catalog_refreshed.emit()
        return True

    # -- the engine ----------------------------------------------------------------------------

    def client(self) -> MessagesClient:
        """The client for the current key and settings (built on first use, then reused).

        Raises:
            ConfigurationError: The settings or key are unusable.
        """
        # httpx loads here, not at start-up: the window shows sooner, and
        # gui._warm_up() has usually loaded it in a worker thread by now.
        from desktop_app.core.api.client import MessagesClient

        settings = self.settings.settings
        if self.demo:
            from desktop_app.offline.server import DEMO_API_KEY, OfflineServer

            if self._demo_server is None:
                self._demo_server = OfflineServer().start()
            config = (
                DEMO_API_KEY,
                self._demo_server.base_url,
                settings.api_version,
                settings.stall_timeout,
            )
        else:
            key = self.api_key.key()
            if key is None:
                raise ConfigurationError("No API key is set. Add one in Settings or use the demo.")
            config = (key, settings.base_url, settings.api_version, settings.stall_timeout)
        if self._client is None or self._client_config != config:
            if self._client is not None:
                self._retired.append(self._client)
            self._client = MessagesClient(
                config[0],
                base_url=config[1] or None,
                api_version=config[2],
                stall_timeout=config[3],
                limiter=self.limiter,
            )
            self._client_config = config
        return self._client

    def rate_limits_changed(self, family: str) -> None:
        """Publish the limiter's latest figures for ``family``."""
        snapshot: RateLimitSnapshot = self.limiter.snapshot(family)
        self.rate_limits_updated.emit(snapshot)

    async def aclose(self) -> None:
        """Close every HTTP client and stop the demo server."""
        clients = [*self._retired, *([self._client] if self._client else [])]
        self._client = None
        self._retired = []
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()
        self.settings.flush()
        await self.history.aclose()
        server = self._demo_server
        self._demo_server = None
        if server is not None:
            server.stop()
