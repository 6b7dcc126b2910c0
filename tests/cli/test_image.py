"""``iris image`` as people and scripts run it: a subprocess, JSON out, one line on error."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from tests.support import image_corpus as corpus

JSON_KEYS = {
    "width",
    "height",
    "original_width",
    "original_height",
    "media_type",
    "bytes",
    "base64_bytes",
    "megapixels",
    "estimated_tokens",
    "resized",
    "reencoded",
    "notes",
}


def iris_image(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", "image", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def big_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "big.jpg"
    path.write_bytes(corpus.photo_jpeg(3000, 2000, seed=20))
    return path


def test_prints_one_json_object_for_the_default_model(big_photo: Path) -> None:
    done = iris_image(big_photo)

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(summary) == JSON_KEYS
    # The default model is Sonnet 4.6: 3.0 MP.
    assert (summary["width"], summary["height"]) == (2121, 1414)
    assert (summary["original_width"], summary["original_height"]) == (3000, 2000)
    assert summary["media_type"] == "image/jpeg"
    assert summary["resized"] is True
    assert summary["megapixels"] <= 3.0
    assert summary["estimated_tokens"] == -(-2121 * 1414 // 750)


def test_model_and_image_count_change_the_limits(big_photo: Path) -> None:
    haiku = json.loads(iris_image(big_photo, "--model", "claude-haiku-4-5").stdout)
    many = json.loads(
        iris_image(big_photo, "--model", "claude-opus-4-7", "--images-in-request", "25").stdout
    )

    assert haiku["width"] * haiku["height"] <= 2_000_000
    assert (many["width"], many["height"]) == (2000, 1333)


def test_output_file_holds_the_prepared_bytes(big_photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "prepared.jpg"

    done = iris_image(big_photo, "-o", out)

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    data = out.read_bytes()
    assert len(data) == summary["bytes"]
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.format == "JPEG"
        assert decoded.size == (summary["width"], summary["height"])


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.png", b""),
        ("notes.txt", b"not a picture\n"),
        ("cut.png", corpus.tiny_png()[:30]),
        ("bomb.png", corpus.png_header_only(20000, 20000)),
        ("photo.heic", corpus.heic_header()),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    done = iris_image(path)

    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert name in lines[0]
    assert "Traceback" not in done.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    done = iris_image(tmp_path / "nowhere.png")

    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1


def test_does_not_load_qt_or_httpx(big_photo: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from desktop_app.cli.main import run
        code = run(["image", {str(big_photo)!r}])
        heavy = sorted(m for m in ("PySide6", "httpx") if m in sys.modules)
        print("HEAVY", heavy, "CODE", code, file=sys.stderr)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert "HEAVY [] CODE 0" in done.stderr
    assert json.loads(done.stdout)["resized"] is True
