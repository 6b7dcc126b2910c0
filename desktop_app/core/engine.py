"""``Engine``: the Qt-free composition root the window and the command line share.

It owns the long-lived services: the model catalog, the tier limiter, the
history, the HTTP client for the current key and settings, and the built-in
offline server when the demo is on. It reads nothing from the environment
itself: the caller hands it the folders, the settings and the key.

httpx, the demo server and the runner's client load on first use, so building
an engine costs almost nothing at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeAlias

from desktop_app.core.api.ratelimit import RateLimiter, RateLimitSnapshot
from desktop_app.core.catalog import Catalog, Tier, custom_tier
from desktop_app.core.conversation.options import ConversationOverrides, RequestOptions
from desktop_app.core.conversation.ports import ToolExecutor
from desktop_app.core.conversation.runner import DEFAULT_MAX_ROUNDS, TurnRunner
from desktop_app.core.errors import APIError, ConfigurationError
from desktop_app.core.observable import Event
from desktop_app.core.paths import AppPaths
from desktop_app.core.settings import Settings

if TYPE_CHECKING:
    from desktop_app.core.api.client import MessagesClient
    from desktop_app.core.history.service import HistoryService

log = logging.getLogger("iris.engine")

NO_KEY = "No API key is set. Add one in Settings or use the demo."


class DemoServer(Protocol):
    """A started local Messages API server for the demo."""

    @property
    def base_url(self) -> str:
        """Its root URL, on loopback."""

    def stop(self) -> None:
        """Stop serving."""


StartDemo: TypeAlias = Callable[[], tuple[DemoServer, str]]
"""Starts the demo server; returns it and the key it accepts. The caller supplies
it (the offline server lives outside the core), so the core never imports it."""


class Engine:
    """Everything a conversation needs, wired once.

    Events:
        mode_changed: The engine switched between the demo and the real API.
        catalog_refreshed: The model list was merged from ``GET /v1/models``.
    """

    def __init__(
        self,
        paths: AppPaths,
        settings: Settings | None = None,
        *,
        demo: bool = False,
        start_demo: StartDemo | None = None,
        with_history: bool = True,
    ) -> None:
        """Build the engine; nothing touches the network or the history yet.

        Args:
            paths: The config, data and cache folders.
            settings: The settings to start with (the defaults when None).
            demo: Use the built-in offline server even when a key is set.
            start_demo: Starts the offline server on first use; without it the
                demo is unavailable and requests need a key.
            with_history: Open the history in ``paths.data`` (the CLI needs none).
        """
        self.mode_changed: Event[[]] = Event()
        self.catalog_refreshed: Event[[]] = Event()
        self.paths = paths
        self.catalog = Catalog.load(paths.cache)
        self.settings = settings or Settings()
        self.limiter = RateLimiter(self._tier())
        self.history: HistoryService | None = None
        if with_history:
            # SQLite and the store load only when there is a history to keep.
            from desktop_app.core.history.service import HistoryService

            self.history = HistoryService(paths.data)
        self._api_key: str | None = None
        self._force_demo = demo
        self._start_demo = start_demo
        self._demo: tuple[DemoServer, str] | None = None
        self._client: MessagesClient | None = None
        self._client_config: tuple[str, str, str, float] | None = None
        self._retired: list[MessagesClient] = []

    # -- configuration -------------------------------------------------------------------

    @property
    def api_key(self) -> str | None:
        """The key requests use (never logged, never shown)."""
        return self._api_key

    def set_api_key(self, key: str | None) -> None:
        """Use ``key`` from now on (None: no key, so the demo runs)."""
        key = key.strip() if key else None
        if key != self._api_key:
            self._api_key = key or None
            self.mode_changed.emit()

    def set_settings(self, settings: Settings) -> None:
        """Use ``settings`` from now on."""
        tier_changed = (settings.tier, settings.custom_rpm) != (
            self.settings.tier,
            self.settings.custom_rpm,
        )
        self.settings = settings
        if tier_changed:
            self.limiter.set_tier(self._tier())

    def _tier(self) -> Tier:
        if self.settings.tier == "custom":
            return custom_tier(self.settings.custom_rpm_map)
        return self.catalog.tier(self.settings.tier)

    @property
    def demo(self) -> bool:
        """True when requests go to the built-in offline server."""
        return self._force_demo or self._api_key is None

    @property
    def demo_requested(self) -> bool:
        """True when the demo was chosen (``--demo`` or the menu), key or not."""
        return self._force_demo

    def use_demo(self, demo: bool) -> None:
        """Switch to the offline demo (True) or back to the real API when a key is set."""
        if demo != self._force_demo:
            self._force_demo = demo
            self.mode_changed.emit()

    # -- building blocks -----------------------------------------------------------------

    def options(self, overrides: ConversationOverrides | None = None) -> RequestOptions:
        """The request options the current settings describe, with a conversation's overrides."""
        return RequestOptions.from_settings(self.settings, self.catalog, overrides)

    def runner(
        self, tools: ToolExecutor | None = None, max_rounds: int = DEFAULT_MAX_ROUNDS
    ) -> TurnRunner:
        """A runner that sends through :meth:`client`."""
        return TurnRunner(self.client, tools=tools, max_rounds=max_rounds)

    def client(self) -> MessagesClient:
        """The client for the current key and settings (built on first use, then reused).

        Raises:
            ConfigurationError: The settings or key are unusable.
        """
        from desktop_app.core.api.client import MessagesClient

        settings = self.settings
        if self.demo and self._start_demo is not None:
            if self._demo is None:
                self._demo = self._start_demo()
            server, demo_key = self._demo
            config = (demo_key, server.base_url, settings.api_version, settings.stall_timeout)
        else:
            key = self._api_key
            if key is None:
                raise ConfigurationError(NO_KEY)
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

    def check_configuration(self) -> None:
        """Make sure a request could be sent now.

        Raises:
            ConfigurationError: There is no key (and no demo), or the settings are unusable.
        """
        self.client()

    def rate_limits(self, family: str) -> RateLimitSnapshot:
        """The limiter's latest figures for a model family."""
        return self.limiter.snapshot(family)

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
            # The shipped catalog works without it; nobody needs to be told.
            log.info("model list not refreshed: %s", exc.__class__.__name__)
            return False
        self.catalog.merge_remote(entries)
        try:
            await asyncio.to_thread(self.catalog.save_cache, self.paths.cache)
        except OSError as exc:
            log.info("model cache not written: %s", exc.strerror)
        self.catalog_refreshed.emit()
        return True

    async def aclose(self) -> None:
        """Close every HTTP client, the history and the demo server."""
        clients = [*self._retired, *([self._client] if self._client else [])]
        self._client = None
        self._retired = []
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()
        if self.history is not None:
            await self.history.aclose()
        demo, self._demo = self._demo, None
        if demo is not None:
            demo[0].stop()
