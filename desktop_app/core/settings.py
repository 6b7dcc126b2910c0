"""The user's settings: a frozen dataclass, saved as JSON in the config folder.

The file is ``settings.json`` in the folder the caller passes in. Reading is
forgiving, because losing someone's settings is worse than ignoring a bad value:

- A missing file gives the defaults.
- A file that cannot be read or parsed (damaged, not JSON, or nested too
  deeply to decode) gives the defaults, and the file is renamed to
  ``settings.json.corrupt-<timestamp>`` so nothing is lost.
- Unknown keys are ignored. A value of the wrong type, or one that cannot be
  used, falls back to that field's default; the other fields are kept.
- An older ``schema_version`` is brought up to date by the step functions in
  :data:`MIGRATIONS`, one version at a time.
- A *newer* ``schema_version`` (the file was written by a later Iris) is read
  as far as we understand it and used. It is not rewritten until something is
  saved, and then :func:`save_settings` first keeps the newer file as
  ``settings.json.v<N>-<timestamp>.bak``. The same copy is made before the
  first save over an older file, so a migration never destroys the original.

The API key is never a setting: it lives in the OS keychain (see
:mod:`desktop_app.core.secrets`) and nothing here reads or writes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from desktop_app.core.errors import SettingsError

log = logging.getLogger("iris.settings")

SCHEMA_VERSION = 1
SETTINGS_FILE = "settings.json"

_DEFAULT_CUSTOM_RPM: tuple[tuple[str, int], ...] = (("opus", 20), ("sonnet", 50), ("haiku", 100))
MAX_CUSTOM_RPM = 1_000_000
#: The range of ``sidebar_width``, in pixels.
SIDEBAR_WIDTHS = (160, 640)
#: The range of ``stall_timeout``, in seconds.
MIN_STALL_TIMEOUT = 10.0
MAX_STALL_TIMEOUT = 3600.0
#: The range of ``text_scale``: from a little smaller than the system's text to twice it.
TEXT_SCALES = (0.8, 2.0)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the user can set, except the API key.

    Build changed copies with :meth:`with_changes`, which validates.

    Attributes:
        schema_version: The version of the file layout these settings came from.
        model: The model id sent with each request.
        tier: The rate-limit tier id (``tier-1`` .. ``tier-4``) or ``custom``.
        custom_rpm: Requests per minute per model family for the custom tier, as
            ``(family, rpm)`` pairs so the dataclass stays hashable.
        max_tokens: The ``max_tokens`` sent with each request; at least 1.
        temperature: The sampling temperature in ``0..1``, or None to not send it.
        top_p: Nucleus sampling in ``0..1``, or None to not send it.
        stop_sequences: Extra stop sequences; never empty strings.
        system_prompt: The system prompt, or "" for none.
        prompt_caching: Whether requests mark cache breakpoints.
        base_url: The API root; "" means ``ANTHROPIC_BASE_URL`` or the public API.
            Plain ``http://`` is allowed only to this computer (see :func:`base_url_problem`).
        api_version: The ``anthropic-version`` header.
        stall_timeout: Seconds a reply may go without new content (only keep-alive
            traffic, or nothing) before it counts as stalled and is ended, keeping
            what arrived; clamped to ``MIN_STALL_TIMEOUT..MAX_STALL_TIMEOUT``.
        window_geometry: The window's size, place and state as the window saved them
            (opaque, base64), or "" for the default.
        sidebar_visible: Whether the conversation list is shown.
        sidebar_width: The conversation list's width in pixels.
        text_scale: How large the conversation's text is, as a factor of the
            system's text size; clamped to ``TEXT_SCALES``.
        first_run_done: Whether the person has once chosen the offline demo or given
            an API key; from then on the first-run welcome no longer shows.
    """

    schema_version: int = SCHEMA_VERSION
    model: str = "claude-sonnet-4-6"
    tier: str = "tier-1"
    custom_rpm: tuple[tuple[str, int], ...] = _DEFAULT_CUSTOM_RPM
    max_tokens: int = 4096
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: tuple[str, ...] = ()
    system_prompt: str = ""
    prompt_caching: bool = True
    base_url: str = ""
    api_version: str = "2023-06-01"
    stall_timeout: float = 180.0
    window_geometry: str = ""
    sidebar_visible: bool = True
    sidebar_width: int = 260
    text_scale: float = 1.0
    first_run_done: bool = False

    @property
    def custom_rpm_map(self) -> dict[str, int]:
        """The custom tier's requests per minute by family, as a fresh dict."""
        return dict(self.custom_rpm)

    def with_changes(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied and validated.

        Numbers out of range are clamped (``max_tokens``, custom RPM) or dropped
        to None (``temperature``, ``top_p``), as :meth:`validate` does.

        Raises:
            SettingsError: A name is not a setting, a value has the wrong type,
                or a value cannot be used (a base URL :func:`base_url_problem` refuses).
        """
        coerced: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in _COERCERS:
                raise SettingsError(f"{name!r} is not a setting")
            coerced[name] = _COERCERS[name](value)
        return dataclasses.replace(self, **coerced).validate()

    def validate(self) -> Settings:
        """Return a copy with every value brought into its allowed range.

        Raises:
            SettingsError: ``base_url`` is refused by :func:`base_url_problem`.
        """
        base_url = self.base_url.strip()
        problem = base_url_problem(base_url)
        if problem is not None:
            raise SettingsError(problem)
        rpm = dict(_DEFAULT_CUSTOM_RPM)
        rpm.update(
            {family: min(max(1, value), MAX_CUSTOM_RPM) for family, value in self.custom_rpm}
        )
        return dataclasses.replace(
            self,
            model=self.model.strip() or Settings.model,
            tier=self.tier.strip() or Settings.tier,
            custom_rpm=tuple(rpm.items()),
            max_tokens=max(1, self.max_tokens),
            temperature=_unit_or_none(self.temperature),
            top_p=_unit_or_none(self.top_p),
            # The API rejects empty or blank stop sequences; duplicates are noise.
            stop_sequences=tuple(dict.fromkeys(s for s in self.stop_sequences if s.strip())),
            base_url=base_url,
            api_version=self.api_version.strip() or Settings.api_version,
            stall_timeout=_stall_timeout(self.stall_timeout),
            sidebar_width=min(max(SIDEBAR_WIDTHS[0], self.sidebar_width), SIDEBAR_WIDTHS[1]),
            text_scale=_text_scale(self.text_scale),
        )


def _text_scale(value: float) -> float:
    if math.isnan(value):
        return Settings.text_scale
    return min(max(TEXT_SCALES[0], value), TEXT_SCALES[1])


def _stall_timeout(value: float) -> float:
    if math.isnan(value):
        return Settings.stall_timeout
    return min(max(MIN_STALL_TIMEOUT, value), MAX_STALL_TIMEOUT)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``: names that never leave this computer."""
    host = host.lower().removesuffix(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def base_url_problem(url: str) -> str | None:
    """Say why ``url`` cannot be the API root, or return None when it can.

    "" (use the default) is fine, and so is an ``https://`` URL with a host. Plain
    ``http://`` would send the API key unencrypted, so it is allowed only to this
    computer (a local gateway, the offline server).
    """
    if url == "":
        return None
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError:
        parts = None
    if (
        parts is None
        or any(ch.isspace() for ch in url)
        or parts.scheme not in ("http", "https")
        or not parts.hostname
    ):
        return "The base URL must be a web address that starts with https://."
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return (
            "The base URL must start with https://: plain http:// would send the API key "
            "unencrypted. It is allowed only for this computer (localhost or 127.0.0.1)."
        )
    return None


def is_valid_base_url(url: str) -> bool:
    """True when :func:`base_url_problem` has no objection to ``url``."""
    return base_url_problem(url) is None


def _unit_or_none(value: float | None) -> float | None:
    if value is None or math.isnan(value) or not 0.0 <= value <= 1.0:
        return None
    return value


# -- type checks, shared by with_changes and loading ------------------------------------


def _type_error(expected: str, value: object) -> SettingsError:
    return SettingsError(f"expected {expected}, got {type(value).__name__}")


def _as_int(value: object) -> int:
    # bool is an int subclass, but True is not a sensible max_tokens.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error("an integer", value)
    return value


def _as_str(value: object) -> str:
    if not isinstance(value, str):
        raise _type_error("a string", value)
    return value


def _as_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _type_error("true or false", value)
    return value


def _as_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error("a number", value)
    return float(value)


def _as_optional_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error("a number or null", value)
    return float(value)


def _as_rpm(value: object) -> tuple[tuple[str, int], ...]:
    # JSON stores a mapping; code may pass a mapping or the tuple-of-pairs form.
    pairs: Iterable[object]
    if isinstance(value, Mapping):
        pairs = value.items()
    elif isinstance(value, list | tuple):
        pairs = value
    else:
        raise _type_error("a mapping of family to requests per minute", value)
    result: list[tuple[str, int]] = []
    for pair in pairs:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise _type_error("(family, rpm) pairs", pair)
        result.append((_as_str(pair[0]), _as_int(pair[1])))
    return tuple(result)


def _as_str_tuple(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise _type_error("a list of strings", value)
    return tuple(_as_str(item) for item in value)


_COERCERS: dict[str, Callable[[object], Any]] = {
    "schema_version": _as_int,
    "model": _as_str,
    "tier": _as_str,
    "custom_rpm": _as_rpm,
    "max_tokens": _as_int,
    "temperature": _as_optional_float,
    "top_p": _as_optional_float,
    "stop_sequences": _as_str_tuple,
    "system_prompt": _as_str,
    "prompt_caching": _as_bool,
    "base_url": _as_str,
    "api_version": _as_str,
    "stall_timeout": _as_float,
    "window_geometry": _as_str,
    "sidebar_visible": _as_bool,
    "sidebar_width": _as_int,
    "text_scale": _as_float,
    "first_run_done": _as_bool,
}
assert set(_COERCERS) == {f.name for f in dataclasses.fields(Settings)}


# -- migrations ---------------------------------------------------------------------------


def _migrate_0_to_1(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a file from before ``schema_version`` existed up to version 1.

    That layout called the system prompt ``system`` and stored the tier as a
    bare number (``2`` for ``tier-2``).
    """
    data = dict(data)
    if "system" in data and "system_prompt" not in data:
        data["system_prompt"] = data.pop("system")
    tier = data.get("tier")
    if isinstance(tier, int) and not isinstance(tier, bool):
        data["tier"] = f"tier-{tier}"
    data["schema_version"] = 1
    return data


#: One step per version: ``MIGRATIONS[n]`` turns a version ``n`` dict into version ``n + 1``.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    0: _migrate_0_to_1,
}


def migrate(data: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the migration steps from the data's ``schema_version`` up to ours.

    Data from a newer version is returned unchanged.

    Raises:
        SettingsError: The ``schema_version`` is not a non-negative integer.
    """
    version = data.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise SettingsError(f"schema_version must be a non-negative integer, got {version!r}")
    migrated = dict(data)
    while version < SCHEMA_VERSION:
        migrated = MIGRATIONS[version](migrated)
        version += 1
        migrated["schema_version"] = version
    return migrated


# -- load and save --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """What :func:`read_settings` found, so the UI can tell the user.

    Attributes:
        settings: The settings to use.
        moved_aside: Where an unreadable file was moved to, if it was.
        file_version: The ``schema_version`` of the file read; None when there was none.
        rejected: Names of fields whose stored value could not be used.
    """

    settings: Settings
    moved_aside: Path | None = None
    file_version: int | None = None
    rejected: tuple[str, ...] = ()

    @property
    def newer_file(self) -> bool:
        """True when the file came from a later Iris than this one."""
        return self.file_version is not None and self.file_version > SCHEMA_VERSION


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _free_path(path: Path) -> Path:
    """``path``, or ``path-1``, ``path-2``, ... whichever does not exist yet."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _move_aside(path: Path) -> Path | None:
    target = _free_path(path.with_name(f"{path.name}.corrupt-{_stamp()}"))
    try:
        os.replace(path, target)
    except OSError as exc:
        log.warning("Could not move the unreadable settings file aside: %s", exc.strerror)
        return None
    return target


def read_settings(config_dir: Path) -> LoadReport:
    """Read the settings in ``config_dir``, and report what had to be repaired.

    Never raises for a bad file: see the module docstring for what happens.
    """
    path = config_dir / SETTINGS_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadReport(Settings())
    except OSError as exc:
        # IsADirectoryError, PermissionError, an I/O error: unusable, so keep it aside.
        log.warning("Could not read the settings file: %s", exc.strerror)
        return LoadReport(Settings(), moved_aside=_move_aside(path))
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise SettingsError("the settings file does not hold a JSON object")
        file_version = data.get("schema_version")
        data = migrate(data)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and SettingsError
        log.warning("The settings file is damaged (%s); using the defaults", exc)
        return LoadReport(Settings(), moved_aside=_move_aside(path))
    except RecursionError:
        # Nested deeper than the decoder goes: no settings file is like that.
        log.warning("The settings file is nested too deeply to read; using the defaults")
        return LoadReport(Settings(), moved_aside=_move_aside(path))

    settings = Settings()
    rejected: list[str] = []
    for name in _COERCERS:
        if name == "schema_version" or name not in data:
            continue
        try:
            settings = settings.with_changes(**{name: data[name]})
        except SettingsError as exc:
            log.warning("Ignoring the stored value of %s: %s", name, exc)
            rejected.append(name)
    return LoadReport(
        settings,
        file_version=file_version if isinstance(file_version, int) else 0,
        rejected=tuple(rejected),
    )


def load_settings(config_dir: Path) -> Settings:
    """Return the settings in ``config_dir``, or the defaults; never raises for a bad file."""
    return read_settings(config_dir).settings


def settings_to_json(settings: Settings) -> dict[str, Any]:
    """The JSON object :func:`save_settings` writes, with our ``schema_version``."""
    data = dataclasses.asdict(settings)
    data["schema_version"] = SCHEMA_VERSION
    data["custom_rpm"] = settings.custom_rpm_map
    data["stop_sequences"] = list(settings.stop_sequences)
    return data


def _stored_version(path: Path) -> int | None:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    version = data.get("schema_version", 0)
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def save_settings(config_dir: Path, settings: Settings) -> None:
    """Write ``settings`` to ``config_dir`` atomically (a temporary file, then a rename).

    Before replacing a file of another ``schema_version`` the old file is copied
    to ``settings.json.v<N>-<timestamp>.bak``.

    Raises:
        OSError: The folder or the file could not be written.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / SETTINGS_FILE
    version = _stored_version(path)
    if version is not None and version != SCHEMA_VERSION:
        shutil.copy2(path, _free_path(path.with_name(f"{path.name}.v{version}-{_stamp()}.bak")))
    payload = json.dumps(settings_to_json(settings), indent=2, ensure_ascii=False) + "\n"
    # mkstemp creates the file readable by the owner only: the system prompt may be private.
    fd, tmp = tempfile.mkstemp(dir=config_dir, prefix=".settings-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(payload)
            fh.flush()
            # Without fsync a crash right after the rename can leave an empty file.
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- the stop-sequence line -------------------------------------------------------------
#
# Stop sequences are typed comma-separated in one line. A backslash escapes:
# ``\,`` is a comma inside a sequence, ``\\`` a backslash, ``\n`` a newline and
# ``\t`` a tab. Spaces around each sequence are dropped unless escaped with
# ``\s``. Any other backslash is kept as it is. For example ``END, \n\nHuman:, a\,b``
# gives three sequences.

_ESCAPES = {",": ",", "\\": "\\", "n": "\n", "t": "\t", "s": " "}
_UNESCAPES = {"\\": "\\\\", ",": "\\,", "\n": "\\n", "\t": "\\t"}


def parse_stop_sequences(text: str) -> tuple[str, ...]:
    """Split the stop-sequence line on unescaped commas (see the module docstring)."""
    items: list[str] = []
    # Each character with a flag: escaped characters survive the trimming.
    current: list[tuple[str, bool]] = []

    def finish() -> None:
        start, end = 0, len(current)
        while start < end and not current[start][1] and current[start][0].isspace():
            start += 1
        while end > start and not current[end - 1][1] and current[end - 1][0].isspace():
            end -= 1
        item = "".join(ch for ch, _ in current[start:end])
        if item:
            items.append(item)
        current.clear()

    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            # An unknown escape keeps both characters, so Windows paths survive.
            current.extend([(_ESCAPES[nxt], True)] if nxt in _ESCAPES else [("\\", True)])
            if nxt and nxt not in _ESCAPES:
                current.append((nxt, False))
        elif ch == ",":
            finish()
        else:
            current.append((ch, False))
    finish()
    return tuple(items)


def format_stop_sequences(sequences: Sequence[str]) -> str:
    """The line :func:`parse_stop_sequences` turns back into ``sequences``."""
    parts = []
    for seq in sequences:
        escaped = "".join(_UNESCAPES.get(ch, ch) for ch in seq)
        # Edge spaces would be trimmed away on parsing, so escape those.
        lead = len(escaped) - len(escaped.lstrip(" "))
        escaped = "\\s" * lead + escaped[lead:]
        trail = len(escaped) - len(escaped.rstrip(" "))
        if trail:
            escaped = escaped[: len(escaped) - trail] + "\\s" * trail
        parts.append(escaped)
    return ", ".join(parts)
