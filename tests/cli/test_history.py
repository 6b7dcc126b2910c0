"""``iris history list|export|import`` as a user runs them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.core.conversation.model import Turn
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.wire.blocks import Role, TextBlock
from desktop_app.core.wire.message import Message

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-ant-api03-cli-key-that-must-never-leak"


def iris(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IRIS_DATA_DIR": str(data), "ANTHROPIC_API_KEY": KEY}
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", "history", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    with HistoryStore.open(folder / "history.sqlite3") as store:
        for title in ("Older one", "Newer one"):
            conversation = store.create_conversation()
            store.add_message(conversation, Turn(Role.USER, [TextBlock(title)]))
            message = Message(model="claude-sonnet-4-6", content=[TextBlock(f"Re: {title}")])
            store.add_message(
                conversation, Turn(Role.ASSISTANT, message=message), settings={"api_key": KEY}
            )
    return folder


def listing(data: Path) -> list[dict[str, object]]:
    result = iris(data, "list")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_list(data: Path) -> None:
    rows = listing(data)
    assert [(r["id"], r["title"], r["message_count"]) for r in rows] == [
        (2, "Newer one", 2),
        (1, "Older one", 2),
    ]
    assert str(rows[0]["updated"]).endswith("Z")


def test_list_without_a_history_prints_nothing(tmp_path: Path) -> None:
    result = iris(tmp_path / "empty", "list")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_export_json_and_import_back(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "one.json"
    result = iris(data, "export", "1", "--format", "json", "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert KEY not in text
    exported = json.loads(text)
    assert exported["format"] == "iris-conversation"
    result = iris(data, "import", str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"id": 3, "title": "Older one"}
    assert [r["title"] for r in listing(data)] == ["Older one", "Newer one", "Older one"]
    again = iris(data, "export", "3", "--format", "json")
    assert json.loads(again.stdout)["messages"] == exported["messages"]


def test_export_markdown_to_stdout(data: Path) -> None:
    result = iris(data, "export", "2", "--format", "md")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Newer one\n")
    assert "Re: Newer one" in result.stdout
    assert KEY not in result.stdout


def test_export_all(data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "all"
    result = iris(data, "export", "--all", "--format", "md", "-o", str(folder))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["1-older-one.md", "2-newer-one.md"]


def test_import_a_bare_request_body(data: Path, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(
        json.dumps(
            {
                "model": "claude-haiku-4-5",
                "system": "Short.",
                "messages": [{"role": "user", "content": "Ping"}],
            }
        )
    )
    result = iris(data, "import", str(body))
    assert result.returncode == 0, result.stderr
    assert listing(data)[0]["title"] == "Ping"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{"format": "iris-conversation", "version": 1, "messages": [{"role": "us',
            "not valid JSON",
        ),
        ('{"messages": [{"role": "robot", "content": "x"}]}', "$.messages[0].role"),
        ("[1, 2]", "expected a JSON object"),
        ("\xff\xfe garbage", "not UTF-8 text"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (
            '{"messages": [{"role": "user", "content": "x"}], "iris": {"created": NaN}}',
            "NaN is not a number JSON allows",
        ),
        ('{"messages": [{"role": "user", "content": "bad \\ud800 text"}]}', "lone surrogate"),
        (
            '{"format": "iris-conversation", "version": 1, '
            '"messages": [{"role": "user", "content": "x"}], '
            '"iris": {"turns": [{"created": 1e400}]}}',
            "$.iris.turns[0].created",
        ),
        (
            '{"messages": [{"role": "user", "content": [{"type": "image", "source": '
            '{"type": "base64", "media_type": "image/png", "data": "aGVsbG8="}}]}]}',
            "not a readable image/png image",
        ),
    ],
    ids=[
        "truncated",
        "bad-role",
        "not-object",
        "binary",
        "deep",
        "nan",
        "surrogate",
        "infinite-time",
        "not-an-image",
    ],
)
def test_bad_import_is_one_line_exit_2_and_changes_nothing(
    data: Path, tmp_path: Path, content: str, expected: str
) -> None:
    before = (data / "history.sqlite3").stat().st_size, listing(data)
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="latin-1")
    result = iris(data, "import", str(bad))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("iris history: ")
    assert expected in result.stderr
    assert listing(data) == before[1]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_import_reads_an_endless_device_only_up_to_the_cap(data: Path) -> None:
    before = listing(data)
    result = iris(data, "import", "/dev/zero")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "larger than 40 MB" in result.stderr
    assert listing(data) == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("export", "99"), "no conversation with id 99"),
        (("export", "--all"), "--all needs -o"),
        (("import", "/nonexistent/file.json"), "cannot read"),
        (("export", "1", "--format", "pdf"), "invalid choice"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_usage_errors(data: Path, args: tuple[str, ...], expected: str) -> None:
    result = iris(data, *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr


def test_corrupt_history_is_reported_not_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "history.sqlite3").write_bytes(b"garbage" * 50)
    result = iris(folder, "list")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "not a history database" in result.stderr
    assert (folder / "history.sqlite3").read_bytes() == b"garbage" * 50
    assert sorted(p.name for p in folder.iterdir()) == ["history.sqlite3"]


def history_bytes(data: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data.iterdir() if p.name.startswith("history"))


def test_delete_removes_a_conversation_for_good_at_once(data: Path) -> None:
    assert b"Re: Older one" in history_bytes(data)
    result = iris(data, "delete", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        json.dumps({"id": 1, "title": "Older one", "deleted": True})
    ]
    assert result.stderr == ""
    assert [r["id"] for r in listing(data)] == [2]
    # Not kept for an Undo: not a byte of it is left in the files.
    assert b"Re: Older one" not in history_bytes(data)
    assert b"Re: Newer one" in history_bytes(data)


@pytest.mark.parametrize("where", ["history", "no-history"])
def test_delete_of_an_unknown_id_is_one_line_exit_2(
    data: Path, tmp_path: Path, where: str
) -> None:
    folder = data if where == "history" else tmp_path / "empty"
    result = iris(folder, "delete", "99")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == ["iris history: no conversation with id 99"]


def test_list_and_export_work_while_another_program_writes(data: Path) -> None:
    other = sqlite3.connect(data / "history.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the window, or a long import, writing
    try:
        assert [r["id"] for r in listing(data)] == [2, 1]
        result = iris(data, "export", "2", "--format", "md")
        assert result.returncode == 0, result.stderr
        assert "Re: Newer one" in result.stdout
    finally:
        other.execute("ROLLBACK")
        other.close()
