"""Where Iris keeps its files: the platform's config, data, cache and log folders.

``IRIS_CONFIG_DIR``, ``IRIS_DATA_DIR``, ``IRIS_CACHE_DIR`` and ``IRIS_LOG_DIR``
override them, for portable installs and for tests. Core functions take these
paths as arguments; only the composition root (``desktop_app.ui.app_context``),
the window's start-up and the command line call this.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
from pathlib import Path

APP_NAME = "iris"
log = logging.getLogger("iris")


@dataclasses.dataclass(frozen=True)
class AppPaths:
    """The folders Iris writes to.

    Attributes:
        config: Settings.
        data: The conversation history.
        cache: The fetched model list.
        logs: The log file (see :mod:`desktop_app.core.logs`, which creates it
            private); None writes no log, as for windows built by tests.
    """

    config: Path
    data: Path
    cache: Path
    logs: Path | None = None

    def ensure(self) -> AppPaths:
        """Create the folders if they are missing; return self.

        The data folder holds the conversation history, so it is private (0700),
        also when it already existed. A folder that cannot be made or tightened
        (a read-only disk, say) does not stop start-up: whatever uses it says why.
        """
        for path in (self.config, self.data, self.cache):
            try:
                path.mkdir(mode=0o700 if path == self.data else 0o777, parents=True, exist_ok=True)
            except OSError as exc:
                log.warning("could not create %s: %s", path, exc.strerror)
        try:
            mode = stat.S_IMODE(self.data.stat().st_mode)
            if mode & 0o077:
                self.data.chmod(mode & 0o700)
        except OSError as exc:
            log.info("data folder permissions left as they are: %s", exc.strerror)
        return self


def app_paths() -> AppPaths:
    """The folders for this user, honouring the ``IRIS_*_DIR`` overrides."""
    import platformdirs

    def pick(env: str, default: str) -> Path:
        value = os.environ.get(env, "").strip()
        return Path(value).expanduser() if value else Path(default)

    return AppPaths(
        config=pick("IRIS_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        data=pick("IRIS_DATA_DIR", platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        cache=pick("IRIS_CACHE_DIR", platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        # The platform's place for logs: ~/.local/state/iris/log on Linux,
        # ~/Library/Logs/iris on macOS, %LOCALAPPDATA%\iris\Logs on Windows.
        logs=pick("IRIS_LOG_DIR", platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
