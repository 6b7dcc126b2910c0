"""``iris ask`` as a whole process: output, exit codes and error lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.support import transcripts as t
from tests.support.offline import Fault, FaultyServer

KEY = "sk-ant-cli-test-key-9876543210"


def iris(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")
    }
    # No test may reach the developer's real keychain.
    full_env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", "ask", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def assert_one_clean_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith(("iris: ", "iris ask: "))
    return lines[0]


def with_server(server: FaultyServer) -> dict[str, str]:
    return {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.base_url}


def test_demo_streams_a_reply() -> None:
    result = iris("--demo", "hello")
    assert result.returncode == 0, result.stderr
    assert "hello" in result.stdout
    assert "demo" in result.stdout.lower()
    assert result.stderr == ""


def test_json_prints_the_final_message_in_api_shape() -> None:
    result = iris("--demo", "--json", "--max-tokens", "500", "hi there")
    assert result.returncode == 0, result.stderr
    message = json.loads(result.stdout)
    assert message["type"] == "message"
    assert message["id"].startswith("msg_")
    assert message["role"] == "assistant"
    assert message["content"][0]["type"] == "text"
    assert "hi there" in message["content"][0]["text"]
    assert message["stop_reason"] == "end_turn"
    assert message["usage"]["output_tokens"] > 0


def test_prompt_from_stdin(offline_server: FaultyServer) -> None:
    result = iris("-", stdin="from standard input\n", env=with_server(offline_server))
    assert result.returncode == 0, result.stderr
    assert offline_server.received[0].json["messages"][0]["content"] == [
        {"type": "text", "text": "from standard input"}
    ]


def test_options_reach_the_request(offline_server: FaultyServer) -> None:
    result = iris(
        "--model",
        "claude-opus-4-7",
        "--system",
        "Be terse.",
        "--max-tokens",
        "99999",
        "--temperature",
        "0.3",
        "--cache",
        "question",
        env=with_server(offline_server),
    )
    assert result.returncode == 0, result.stderr
    body = offline_server.received[0].json
    assert body["model"] == "claude-opus-4-7"
    assert body["max_tokens"] == 8192
    assert body["temperature"] == 0.3
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["messages"][0]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert offline_server.received[0].headers["x-api-key"] == KEY


def test_image_goes_through_the_pipeline(tmp_path: Path) -> None:
    path = tmp_path / "wide.bmp"
    Image.new("RGB", (3000, 1500), (200, 30, 30)).save(path)
    result = iris("--demo", "--model", "claude-haiku-4-5", "--image", str(path), "what is it?")
    assert result.returncode == 0, result.stderr
    # BMP is converted and the area brought under Haiku's 2 MP.
    assert "image/bmp" not in result.stdout
    assert "image/" in result.stdout
    assert "3000" not in result.stdout


def test_image_only_prompt_sends_no_empty_text_block(
    offline_server: FaultyServer, tmp_path: Path
) -> None:
    path = tmp_path / "dot.png"
    Image.new("RGB", (20, 10), (0, 0, 255)).save(path)
    result = iris("--image", str(path), "", env=with_server(offline_server))
    assert result.returncode == 0, result.stderr
    (block,) = offline_server.received[0].json["messages"][0]["content"]
    assert block["type"] == "image"
    assert block["source"]["media_type"] == "image/png"
    assert "20\u00d710" in result.stdout or "20x10" in result.stdout


def test_no_key_exits_2() -> None:
    result = iris("hello")
    assert result.returncode == 2
    line = assert_one_clean_line(result.stderr)
    assert "ANTHROPIC_API_KEY" in line
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["--temperature", "3", "x"],
        ["--max-tokens", "0", "x"],
        ["--max-tokens", "lots", "x"],
        [""],
        ["--image", "/no/such/file.png", "x"],
    ],
)
def test_bad_usage_exits_2_with_one_line(args: list[str]) -> None:
    result = iris("--demo", *args)
    assert result.returncode == 2
    assert_one_clean_line(result.stderr)


def test_unreadable_image_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels")
    result = iris("--demo", "--image", str(path), "x")
    assert result.returncode == 2
    line = assert_one_clean_line(result.stderr)
    assert "notes.png" in line


def test_api_failure_exits_1_naming_kind_status_and_request_id(
    offline_server: FaultyServer,
) -> None:
    offline_server.push(Fault.status(401, "authentication_error", message="invalid x-api-key"))
    result = iris("hello", env=with_server(offline_server))
    assert result.returncode == 1
    line = assert_one_clean_line(result.stderr)
    assert "Authentication failed" in line
    assert "HTTP 401" in line
    assert "req_" in line
    assert KEY not in result.stderr + result.stdout


def test_interrupted_stream_keeps_what_arrived_on_stdout(offline_server: FaultyServer) -> None:
    offline_server.push(Fault.error_event(after_deltas=3))
    result = iris("tell me a story", env=with_server(offline_server))
    assert result.returncode == 1
    assert len(result.stdout.strip()) > 0
    line = assert_one_clean_line(result.stderr)
    assert "interrupted" in line


def test_network_failure_exits_1() -> None:
    with FaultyServer() as server:
        url = server.base_url
    result = iris("hello", env={"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": url})
    assert result.returncode == 1
    stderr_lines = [ln for ln in result.stderr.splitlines() if "retrying" not in ln]
    assert len(stderr_lines) == 1
    assert "Connection failed" in stderr_lines[0]
    assert "Traceback" not in result.stderr


def test_a_reader_that_stops_reading_ends_the_reply_quietly(
    offline_server: FaultyServer,
) -> None:
    # Slow pieces: the reply is still streaming when the reader goes away.
    offline_server.push(Fault.slow(0.05))
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY",)}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    env.update(with_server(offline_server))
    child = subprocess.Popen(
        [sys.executable, "-m", "desktop_app", "ask", "/long"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.read(40)  # like `| head -c 40`
    child.stdout.close()
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 141
    assert b"Traceback" not in err
    assert err == b""


def test_a_refusal_and_a_cut_reply_are_explained_in_one_line() -> None:
    refused = iris("--demo", "/refuse")
    assert refused.returncode == 0
    line = assert_one_clean_line(refused.stderr)
    assert line.startswith("iris: Claude declined to answer")
    cut = iris("--demo", "--max-tokens", "20", "/long")
    assert cut.returncode == 0
    assert assert_one_clean_line(cut.stderr) == "iris: The reply reached the max tokens limit."


def test_plain_http_base_url_elsewhere_is_refused_in_one_line_naming_https() -> None:
    result = iris(
        "hello",
        env={"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": "http://api.example.com"},
    )
    assert result.returncode == 2
    line = assert_one_clean_line(result.stderr)
    assert "https://" in line
    assert KEY not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("value", ["0", "-3", "nan", "inf", "soon"])
def test_bad_stall_timeout_exits_2(value: str) -> None:
    result = iris("--demo", "--stall-timeout", value, "x")
    assert result.returncode == 2
    line = assert_one_clean_line(result.stderr)
    assert "--stall-timeout" in line
    assert "unrecognized" not in line  # the option exists; its value was refused


def test_stall_timeout_option_reaches_the_client(offline_server: FaultyServer) -> None:
    # Deltas 0.3 s apart outlast a 0.2 s deadline; 5 s lets the same reply through.
    offline_server.push(Fault.slow(0.3), Fault.slow(0.3))
    short = iris(
        "--stall-timeout", "0.2", "--max-tokens", "3", "x", env=with_server(offline_server)
    )
    assert short.returncode == 1
    assert "no new content for 0.2 seconds" in assert_one_clean_line(short.stderr)
    long = iris("--stall-timeout", "5", "--max-tokens", "3", "x", env=with_server(offline_server))
    assert long.returncode == 0, long.stderr
    assert long.stdout.strip()


def test_refusal_explanation_is_made_terminal_safe(offline_server: FaultyServer) -> None:
    explanation = "no\x1b]0;title\x07 thanks\x1b[2J\r\nforged line"
    stream = (
        t.message_start()
        + t.message_delta("refusal", stop_details={"type": "refusal", "explanation": explanation})
        + t.message_stop()
    )
    offline_server.push(Fault.raw(stream))
    result = iris("x", env=with_server(offline_server))
    assert result.returncode == 0, result.stderr
    line = assert_one_clean_line(result.stderr)
    assert line == (
        "iris: Claude declined to answer: no thanks forged line. "
        "This exchange is left out of the rest of the conversation."
    )
