"""Settings: validation, load and save, repair of bad files, and migrations."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.errors import SettingsError
from desktop_app.core.settings import (
    MAX_STALL_TIMEOUT,
    MIGRATIONS,
    MIN_STALL_TIMEOUT,
    SCHEMA_VERSION,
    SETTINGS_FILE,
    TEXT_SCALES,
    Settings,
    base_url_problem,
    is_valid_base_url,
    load_settings,
    migrate,
    read_settings,
    save_settings,
)


def _write(config: Path, data: Any) -> Path:
    path = config / SETTINGS_FILE
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_defaults() -> None:
    s = Settings()
    assert s.schema_version == SCHEMA_VERSION == 1
    assert s.model == "claude-sonnet-4-6"
    assert s.tier == "tier-1"
    assert s.custom_rpm_map == {"opus": 20, "sonnet": 50, "haiku": 100}
    assert (s.max_tokens, s.temperature, s.top_p) == (4096, None, None)
    assert (s.stop_sequences, s.system_prompt, s.prompt_caching) == ((), "", True)
    assert (s.base_url, s.api_version) == ("", "2023-06-01")
    assert s.stall_timeout == 180.0
    assert s.validate() == s


def test_settings_has_no_place_for_a_key() -> None:
    names = {f.name for f in dataclasses.fields(Settings)}
    assert not {n for n in names if "key" in n or "secret" in n}
    with pytest.raises(SettingsError):
        Settings().with_changes(api_key="sk-ant-nope")


def test_with_changes_returns_a_validated_copy() -> None:
    s = Settings()
    changed = s.with_changes(max_tokens=-3, temperature=1.5, top_p=0.9, model="  claude-x ")
    assert changed.max_tokens == 1
    assert changed.temperature is None  # out of range means "not sent"
    assert changed.top_p == 0.9
    assert changed.model == "claude-x"
    assert s.max_tokens == 4096  # the original is untouched
    assert Settings().with_changes(temperature=0).temperature == 0.0
    assert Settings().with_changes(top_p=float("nan")).top_p is None


def test_with_changes_normalises_collections() -> None:
    s = Settings().with_changes(
        custom_rpm={"opus": 0, "sonnet": 75},
        stop_sequences=["END", "", "  ", "END", "\n\nHuman:"],
    )
    # Missing families keep their defaults; RPM is at least 1.
    assert s.custom_rpm_map == {"opus": 1, "sonnet": 75, "haiku": 100}
    assert s.stop_sequences == ("END", "\n\nHuman:")
    assert hash(s) == hash(s.with_changes())  # still frozen and hashable
    assert s.with_changes(custom_rpm=(("haiku", 7),)).custom_rpm_map["haiku"] == 7


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_tokens", "4096"),
        ("max_tokens", True),
        ("max_tokens", 1.5),
        ("temperature", "hot"),
        ("prompt_caching", 1),
        ("stop_sequences", "END"),
        ("stop_sequences", [1, 2]),
        ("custom_rpm", 20),
        ("custom_rpm", {"opus": "many"}),
        ("model", None),
        ("stall_timeout", "180"),
        ("stall_timeout", None),
        ("stall_timeout", True),
    ],
)
def test_with_changes_rejects_wrong_types(name: str, value: object) -> None:
    with pytest.raises(SettingsError):
        Settings().with_changes(**{name: value})


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("", True),
        ("https://api.anthropic.com", True),
        ("http://127.0.0.1:8080/v1", True),
        ("http://127.4.5.6", True),
        ("http://localhost:1", True),
        ("http://[::1]:8080", True),
        ("https://10.0.0.7:8443", True),
        ("http://example.com", False),
        ("http://10.0.0.7:8080", False),
        ("http://127.0.0.1.example.com", False),
        ("http://localhost.example.com", False),
        ("http://[::2]", False),
        ("ftp://example.com", False),
        ("api.anthropic.com", False),
        ("https://", False),
        ("https://exa mple.com", False),
        ("http://host:99999", False),
        ("javascript:alert(1)", False),
    ],
)
def test_base_url_validation(url: str, ok: bool) -> None:
    assert is_valid_base_url(url) is ok
    if ok:
        assert Settings().with_changes(base_url=url).base_url == url
    else:
        with pytest.raises(SettingsError):
            Settings().with_changes(base_url=url)


def test_plain_http_elsewhere_is_refused_with_a_clear_message() -> None:
    problem = base_url_problem("http://api.example.com")
    assert problem is not None
    assert "https://" in problem
    assert "unencrypted" in problem
    assert "localhost" in problem
    with pytest.raises(SettingsError, match="https://"):
        Settings().with_changes(base_url="http://api.example.com")
    other = base_url_problem("ftp://example.com")
    assert other is not None
    assert "https://" in other
    assert base_url_problem("") is None


def test_a_stored_plain_http_base_url_falls_back_to_the_default(tmp_path: Path) -> None:
    _write(tmp_path, {"schema_version": 1, "base_url": "http://gateway.example.com"})
    report = read_settings(tmp_path)
    assert report.settings.base_url == ""
    assert report.rejected == ("base_url",)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (180, 180.0),
        (45.5, 45.5),
        (0, MIN_STALL_TIMEOUT),
        (-5, MIN_STALL_TIMEOUT),
        (10**9, MAX_STALL_TIMEOUT),
        (float("inf"), MAX_STALL_TIMEOUT),
        (float("nan"), 180.0),
    ],
)
def test_stall_timeout_is_clamped_into_its_range(value: float, kept: float) -> None:
    assert Settings().with_changes(stall_timeout=value).stall_timeout == kept


def test_stall_timeout_is_saved_and_loaded(tmp_path: Path) -> None:
    save_settings(tmp_path, Settings().with_changes(stall_timeout=42))
    assert json.loads((tmp_path / SETTINGS_FILE).read_text())["stall_timeout"] == 42.0
    assert load_settings(tmp_path).stall_timeout == 42.0
    _write(tmp_path, {"schema_version": 1, "stall_timeout": "soon", "max_tokens": 7})
    report = read_settings(tmp_path)
    assert (report.settings.stall_timeout, report.settings.max_tokens) == (180.0, 7)
    assert report.rejected == ("stall_timeout",)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (1.0, 1.0),
        (1.25, 1.25),
        (0.1, TEXT_SCALES[0]),
        (-3, TEXT_SCALES[0]),
        (9, TEXT_SCALES[1]),
        (float("inf"), TEXT_SCALES[1]),
        (float("nan"), 1.0),
    ],
)
def test_text_scale_is_clamped_into_its_range(value: float, kept: float) -> None:
    assert Settings().with_changes(text_scale=value).text_scale == kept


def test_text_scale_is_saved_and_a_bad_one_is_dropped(tmp_path: Path) -> None:
    assert Settings().text_scale == 1.0
    save_settings(tmp_path, Settings().with_changes(text_scale=1.5))
    assert json.loads((tmp_path / SETTINGS_FILE).read_text())["text_scale"] == 1.5
    assert load_settings(tmp_path).text_scale == 1.5
    _write(tmp_path, {"schema_version": 1, "text_scale": "huge", "max_tokens": 7})
    report = read_settings(tmp_path)
    assert (report.settings.text_scale, report.settings.max_tokens) == (1.0, 7)
    assert report.rejected == ("text_scale",)
    _write(tmp_path, {"schema_version": 1, "text_scale": 40})
    assert load_settings(tmp_path).text_scale == TEXT_SCALES[1]


def test_base_url_is_trimmed() -> None:
    assert (
        Settings().with_changes(base_url=" http://localhost:1 ").base_url == "http://localhost:1"
    )


def test_first_run_done_is_remembered_and_a_bad_value_falls_back(tmp_path: Path) -> None:
    assert Settings().first_run_done is False
    save_settings(tmp_path, Settings().with_changes(first_run_done=True))
    assert load_settings(tmp_path).first_run_done is True
    _write(tmp_path, {"schema_version": 1, "first_run_done": "yes", "model": "claude-x"})
    report = read_settings(tmp_path)
    assert report.settings.first_run_done is False  # shown again rather than guessed
    assert report.settings.model == "claude-x"
    assert report.rejected == ("first_run_done",)
    with pytest.raises(SettingsError):
        Settings().with_changes(first_run_done=1)


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "nowhere") == Settings()
    assert list(tmp_path.iterdir()) == []


def test_round_trip(tmp_path: Path) -> None:
    s = Settings().with_changes(
        model="claude-opus-4-7",
        tier="custom",
        custom_rpm={"opus": 5, "sonnet": 6, "haiku": 7},
        max_tokens=2000,
        temperature=0.25,
        top_p=None,
        stop_sequences=["STOP", "a,b"],
        system_prompt="Be brief.\nVery brief. «ü»",
        prompt_caching=False,
        base_url="http://localhost:8000",
    )
    save_settings(tmp_path / "config", s)
    assert load_settings(tmp_path / "config") == s
    written = json.loads((tmp_path / "config" / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert written["schema_version"] == SCHEMA_VERSION
    assert written["custom_rpm"] == {"opus": 5, "sonnet": 6, "haiku": 7}
    # Only the settings file is left: the temporary file was renamed over it.
    assert [p.name for p in (tmp_path / "config").iterdir()] == [SETTINGS_FILE]


def test_saved_file_is_private(tmp_path: Path) -> None:
    save_settings(tmp_path, Settings())
    mode = stat.S_IMODE((tmp_path / SETTINGS_FILE).stat().st_mode)
    assert mode & (stat.S_IRWXG | stat.S_IRWXO) == 0


def test_save_is_atomic_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = Settings().with_changes(system_prompt="keep me")
    save_settings(tmp_path, before)

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        save_settings(tmp_path, Settings().with_changes(system_prompt="lost"))
    monkeypatch.undo()
    assert load_settings(tmp_path).system_prompt == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == [SETTINGS_FILE]  # no stray temp file


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b'{"schema_version": "one"}', b""],
)
def test_corrupt_file_is_kept_aside_and_defaults_used(tmp_path: Path, content: bytes) -> None:
    (tmp_path / SETTINGS_FILE).write_bytes(content)
    report = read_settings(tmp_path)
    assert report.settings == Settings()
    assert report.moved_aside is not None
    assert report.moved_aside.name.startswith(SETTINGS_FILE + ".corrupt-")
    assert report.moved_aside.read_bytes() == content  # never lose it
    assert not (tmp_path / SETTINGS_FILE).exists()
    # A second bad file in the same second gets its own name.
    (tmp_path / SETTINGS_FILE).write_bytes(content)
    second = read_settings(tmp_path).moved_aside
    assert second is not None
    assert second != report.moved_aside
    assert len(list(tmp_path.glob(SETTINGS_FILE + ".corrupt-*"))) == 2


NESTED = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"model": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
    b'{"a": ' * 20_000 + b"1" + b"}" * 20_000,
]


@pytest.mark.parametrize("content", NESTED, ids=["array", "in-a-field", "objects"])
def test_deeply_nested_file_is_kept_aside_and_defaults_used(
    tmp_path: Path, content: bytes
) -> None:
    (tmp_path / SETTINGS_FILE).write_bytes(content)
    report = read_settings(tmp_path)
    assert report.settings == Settings()
    assert report.moved_aside is not None
    assert report.moved_aside.read_bytes() == content
    assert not (tmp_path / SETTINGS_FILE).exists()


def test_saving_over_a_deeply_nested_file_replaces_it(tmp_path: Path) -> None:
    # Put there after start-up (by another program, say): saving still works.
    (tmp_path / SETTINGS_FILE).write_bytes(NESTED[0])
    save_settings(tmp_path, Settings().with_changes(model="claude-opus-4-7"))
    assert load_settings(tmp_path).model == "claude-opus-4-7"


def test_unreadable_path_is_kept_aside(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).mkdir()  # reading a directory fails with an OSError
    report = read_settings(tmp_path)
    assert report.settings == Settings()
    assert report.moved_aside is not None
    assert report.moved_aside.is_dir()


def test_unknown_keys_ignored_and_bad_fields_fall_back(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "schema_version": 1,
            "model": "claude-haiku-4-5",
            "max_tokens": "lots",
            "temperature": 0.5,
            "top_p": 7,
            "base_url": "gopher://old",
            "stop_sequences": ["END"],
            "prompt_caching": "yes",
            "favourite_colour": "teal",
            "api_key": "sk-ant-should-never-be-read",
        },
    )
    report = read_settings(tmp_path)
    s = report.settings
    assert s.model == "claude-haiku-4-5"
    assert s.max_tokens == Settings.max_tokens
    assert s.temperature == 0.5
    assert s.top_p is None  # out of range is clamped to "not sent", not rejected
    assert s.base_url == ""
    assert s.stop_sequences == ("END",)
    assert s.prompt_caching is True
    assert set(report.rejected) == {"max_tokens", "base_url", "prompt_caching"}
    assert report.moved_aside is None
    assert (tmp_path / SETTINGS_FILE).exists()


def test_saved_file_never_holds_unknown_keys(tmp_path: Path) -> None:
    _write(tmp_path, {"schema_version": 1, "api_key": "sk-ant-secret-value"})
    save_settings(tmp_path, load_settings(tmp_path))
    assert b"sk-ant" not in (tmp_path / SETTINGS_FILE).read_bytes()


def test_every_version_has_a_migration_step() -> None:
    assert sorted(MIGRATIONS) == list(range(SCHEMA_VERSION))


def test_migrate_0_to_1() -> None:
    old = {"model": "claude-opus-4-7", "system": "You are terse.", "tier": 3}
    new = migrate(old)
    assert new["schema_version"] == 1
    assert new["system_prompt"] == "You are terse."
    assert "system" not in new
    assert new["tier"] == "tier-3"
    assert old == {"model": "claude-opus-4-7", "system": "You are terse.", "tier": 3}


def test_migrate_leaves_newer_data_alone() -> None:
    data = {"schema_version": SCHEMA_VERSION + 1, "system": "x"}
    assert migrate(data) == data


def test_version_0_file_loads_and_first_save_keeps_a_backup(tmp_path: Path) -> None:
    original = {"system": "Answer in French.", "tier": 2, "max_tokens": 1000}
    path = _write(tmp_path, original)
    s = load_settings(tmp_path)
    assert (s.system_prompt, s.tier, s.max_tokens) == ("Answer in French.", "tier-2", 1000)

    save_settings(tmp_path, s)
    backups = list(tmp_path.glob(SETTINGS_FILE + ".v0-*.bak"))
    assert len(backups) == 1
    assert json.loads(backups[0].read_text(encoding="utf-8")) == original
    assert json.loads(path.read_text(encoding="utf-8"))["schema_version"] == 1
    # Later saves over a current file make no more copies.
    save_settings(tmp_path, s.with_changes(max_tokens=10))
    assert len(list(tmp_path.glob("*.bak"))) == 1


def test_newer_file_is_read_as_far_as_understood_and_kept(tmp_path: Path) -> None:
    newer = {
        "schema_version": SCHEMA_VERSION + 1,
        "model": "claude-opus-4-7",
        "thinking_budget": 2048,
        "max_tokens": 1234,
    }
    path = _write(tmp_path, newer)
    report = read_settings(tmp_path)
    assert report.newer_file
    assert report.settings.model == "claude-opus-4-7"
    assert report.settings.max_tokens == 1234
    assert report.settings.schema_version == SCHEMA_VERSION
    # Loading alone never rewrites it.
    assert json.loads(path.read_text(encoding="utf-8")) == newer

    save_settings(tmp_path, report.settings.with_changes(max_tokens=99))
    (backup,) = tmp_path.glob(f"{SETTINGS_FILE}.v{SCHEMA_VERSION + 1}-*.bak")
    assert json.loads(backup.read_text(encoding="utf-8")) == newer
    assert load_settings(tmp_path).max_tokens == 99
