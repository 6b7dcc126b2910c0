"""The current settings for the UI: one change signal, debounced saving off the UI thread."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from desktop_app.core.errors import IrisError
from desktop_app.core.settings import SETTINGS_FILE, Settings, read_settings, save_settings
from desktop_app.ui import notify

SAVE_DELAY_MS = 300


log = logging.getLogger("iris.settings")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({exc.filename})" if exc.filename else exc.strerror
    if isinstance(exc, IrisError):
        return str(exc)  # written for people
    log.error("settings not saved", exc_info=exc)
    return "something unexpected went wrong; the details are in the log"


class SettingsStore(QObject):
    """Holds the current :class:`Settings` and saves them shortly after each change.

    Saving waits for :data:`SAVE_DELAY_MS` of quiet, so a burst of edits (typing
    a system prompt) costs one write. The write runs in a worker thread when an
    asyncio loop runs, else directly. Call :meth:`flush` before quitting.

    Signals:
        changed: Emitted with a field name after that setting changed.
        saved: Emitted on the UI thread once a write has put the current changes
            on disk (a failed write is reported through the message bridge instead).
    """

    changed = Signal(str)
    saved = Signal()

    def __init__(
        self,
        config_dir: Path,
        settings: Settings | None = None,
        parent: QObject | None = None,
        *,
        save_delay_ms: int = SAVE_DELAY_MS,
    ) -> None:
        """Hold ``settings``, or the ones saved in ``config_dir`` when None.

        Loading tells the user (through the message bridge) when the file had to
        be set aside or was written by a newer Iris.
        """
        super().__init__(parent)
        self._config_dir = config_dir
        if settings is None:
            settings = self._load(config_dir)
        self._settings = settings
        self._generation = 0  # bumped on every change
        # Writes come from worker threads and from flush(); the lock plus the
        # generation check keep an older snapshot from replacing a newer one.
        self._write_lock = threading.Lock()
        self._written_generation = 0
        self._inflight: asyncio.Future[None] | None = None
        self._unannounced: list[str] = []
        self._announcing = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(save_delay_ms)
        self._timer.timeout.connect(self._on_timer_timeout)

    @staticmethod
    def _load(config_dir: Path) -> Settings:
        report = read_settings(config_dir)
        if report.moved_aside is not None:
            notify.warning(
                f"Your settings file could not be read, so the defaults are in use. "
                f"It was kept as {report.moved_aside.name}."
            )
        elif report.newer_file:
            notify.warning(
                "Your settings were saved by a newer version of Iris. Settings this "
                f"version does not know are ignored; a copy of {SETTINGS_FILE} is kept "
                "the next time settings are saved."
            )
        if report.rejected:
            notify.warning(
                "Some saved settings could not be used and were reset: "
                + ", ".join(name.replace("_", " ") for name in report.rejected)
                + "."
            )
        return report.settings

    @property
    def settings(self) -> Settings:
        """The current settings."""
        return self._settings

    @property
    def config_dir(self) -> Path:
        """The folder the settings are saved in."""
        return self._config_dir

    @property
    def dirty(self) -> bool:
        """True while a change has not been written yet."""
        return self._written_generation < self._generation

    def update(self, **changes: Any) -> None:
        """Apply ``changes``, emit :attr:`changed` per changed field, and schedule a save.

        Raises:
            SettingsError: A name is not a setting or a value cannot be used.
        """
        old = self._settings
        new = old.with_changes(**changes)
        if new == old:
            return
        self._settings = new
        self._generation += 1
        self._timer.start()  # restarting it is the debounce
        self._unannounced.extend(
            f.name
            for f in dataclasses.fields(Settings)
            if getattr(old, f.name) != getattr(new, f.name)
        )
        if self._announcing:
            return  # an update from a changed() slot: the loop below announces it in turn
        # Without the queue a slot's own update would be announced to later slots
        # before the change that caused it.
        self._announcing = True
        try:
            while self._unannounced:
                self.changed.emit(self._unannounced.pop(0))
        finally:
            self._announcing = False
            self._unannounced.clear()

    def flush(self) -> None:
        """Write pending changes now, on this thread (at quit).

        A failure is reported through the message bridge, not raised.
        """
        self._timer.stop()
        if not self.dirty:
            return
        try:
            self._write(self._settings, self._generation)
        except Exception as exc:  # any failure is the user's to know, not a traceback
            self._report(exc)
            return
        self.saved.emit()

    def _write(self, settings: Settings, generation: int) -> None:
        # Runs in a worker thread or on the UI thread; touches no Qt object.
        with self._write_lock:
            if generation <= self._written_generation:
                return  # a newer snapshot already reached the disk
            save_settings(self._config_dir, settings)
            self._written_generation = generation

    def _on_timer_timeout(self) -> None:
        if not self.dirty:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        future = loop.run_in_executor(None, self._write, self._settings, self._generation)
        self._inflight = future
        future.add_done_callback(self._on_write_done)

    def _on_write_done(self, future: asyncio.Future[None]) -> None:
        if self._inflight is future:
            self._inflight = None
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self._report(exc)
        elif not self.dirty:
            self.saved.emit()

    async def wait_saved(self) -> None:
        """Wait for a write that is in progress, if any (for tests and shutdown)."""
        # asyncio.wait never raises the write's error: _on_write_done reports it.
        while self._inflight is not None and not self._inflight.done():
            await asyncio.wait({self._inflight})

    @staticmethod
    def _report(exc: BaseException) -> None:
        notify.error(f"Could not save settings: {_describe(exc)}")
