"""The command line's log: ``--verbose``, the log file, and one line for a bug."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from desktop_app.cli.main import run
from desktop_app.core import images, logs
from desktop_app.core.images import PreparedImage
from tests.support.offline import FaultyServer

KEY = "sk-ant-api03-cli-log-test-key-0123456789"
MARKER = "heliotrope-narwhal-2093"


def iris(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")
    }
    full_env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "where", [("ask", "--verbose"), ("--verbose", "ask")], ids=["after", "before"]
)
def test_verbose_echoes_one_line_records_without_the_key_or_the_text(
    tmp_path: Path, offline_server: FaultyServer, where: tuple[str, str]
) -> None:
    env = {
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_BASE_URL": offline_server.base_url,
        "IRIS_LOG_DIR": str(tmp_path / "logs"),
    }
    done = iris(*where, "--system", f"mention {MARKER}", f"say {MARKER}", env=env)
    assert done.returncode == 0, done.stderr
    assert MARKER in done.stdout  # the reply quotes the prompt
    assert offline_server.received[-1].headers["x-api-key"] == KEY
    lines = done.stderr.splitlines()
    assert any("POST /v1/messages -> 200" in line for line in lines), done.stderr
    assert all(line.startswith("iris: ") for line in lines), done.stderr
    assert "Traceback" not in done.stderr
    log_text = (tmp_path / "logs" / logs.LOG_FILE).read_text(encoding="utf-8")
    assert "POST /v1/messages -> 200" in log_text
    for text in (done.stderr, log_text):
        assert KEY not in text
        assert MARKER not in text


def test_without_verbose_stderr_stays_quiet_and_the_log_holds_no_debug(tmp_path: Path) -> None:
    done = iris("ask", "--demo", "hello", env={"IRIS_LOG_DIR": str(tmp_path / "logs")})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert (tmp_path / "logs" / logs.LOG_FILE).read_text(encoding="utf-8") == ""


@pytest.fixture
def log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IRIS_LOG_DIR", str(tmp_path / "logs"))
    return tmp_path / "logs"


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "small.png"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(path)
    return path


def test_a_bug_in_a_command_is_one_line_and_exit_1_with_the_traceback_in_the_log(
    log_dir: Path,
    picture: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise AttributeError("'NoneType' object has no attribute 'width'")

    monkeypatch.setattr(images, "prepare_image", broken)
    code = run(["image", str(picture)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    log_file = log_dir / logs.LOG_FILE
    assert err == (
        f"iris: Something unexpected went wrong inside Iris. The details are in {log_file}\n"
    )
    text = log_file.read_text(encoding="utf-8")
    assert "Unhandled exception in iris image" in text
    assert "Traceback (most recent call last)" in text
    assert "AttributeError: 'NoneType' object has no attribute 'width'" in text


def test_a_bug_in_a_thread_of_a_command_is_told_once(
    log_dir: Path,
    picture: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    real = images.prepare_image

    def with_failing_threads(*args: Any, **kwargs: Any) -> PreparedImage:
        for n in range(2):
            side = threading.Thread(target=lambda: 1 / 0, name=f"side-{n}")
            side.start()
            side.join()
        return real(*args, **kwargs)

    monkeypatch.setattr(images, "prepare_image", with_failing_threads)
    code = run(["image", str(picture)])
    out, err = capsys.readouterr()
    assert code == 0  # the command itself finished
    assert '"width": 40' in out
    assert err.count("\n") == 1
    assert err.startswith("iris: Something unexpected went wrong inside Iris.")
    text = (log_dir / logs.LOG_FILE).read_text(encoding="utf-8")
    assert "Unhandled exception in thread side-0" in text
    assert "Unhandled exception in thread side-1" in text
    assert text.count("ZeroDivisionError") == 2


def test_help_lists_verbose_and_writes_no_log(
    log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run(["ask", "--help"])
    assert exit_info.value.code == 0
    assert "--verbose" in capsys.readouterr().out
    assert not log_dir.exists()
