"""Image preflight: every output meets the service's rules, and bad input fails politely."""

from __future__ import annotations

import base64
import io
import math
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import EpsImagePlugin, Image, features

from desktop_app.core import images
from desktop_app.core.catalog import Catalog, ImageLimits
from desktop_app.core.errors import (
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    TruncatedImageError,
    UnreadableImageError,
    UnsupportedImageError,
)
from desktop_app.core.images import PreparedImage, prepare_image
from tests.cli.test_image import JSON_KEYS
from tests.support import image_corpus as corpus

_CATALOG = Catalog.load()
OPUS = _CATALOG.get("claude-opus-4-7").image
SONNET = _CATALOG.get("claude-sonnet-4-6").image
HAIKU = _CATALOG.get("claude-haiku-4-5").image
SONNET_37 = _CATALOG.get("claude-sonnet-3-7").image
FORMAT_MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}


def assert_meets_rules(
    result: PreparedImage,
    limits: ImageLimits,
    images_in_request: int = 1,
    *,
    max_base64: int = images.MAX_BASE64_LENGTH,
) -> Image.Image:
    """Decode ``result`` again and check it against every rule; return the decoded image."""
    assert result.media_type in FORMAT_MEDIA_TYPES.values()
    decoded = Image.open(io.BytesIO(result.data))
    decoded.load()
    assert decoded.format is not None
    assert FORMAT_MEDIA_TYPES[decoded.format] == result.media_type
    assert not getattr(decoded, "is_animated", False)
    width, height = decoded.size
    assert (width, height) == (result.width, result.height)
    assert width * height <= limits.max_pixels
    max_side = 2000 if images_in_request > 20 else 8000
    if limits.max_long_edge is not None:
        max_side = min(max_side, limits.max_long_edge)
    assert max(width, height) <= max_side
    encoded = base64.b64encode(result.data)
    assert len(encoded) == result.base64_length <= max_base64
    assert result.byte_size == len(result.data)
    assert result.estimated_tokens == math.ceil(width * height / 750)
    assert result.megapixels == pytest.approx(width * height / 1e6)
    return decoded


# -- the corpus ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def photo_24mp() -> bytes:
    return corpus.photo_jpeg(6000, 4000, seed=1)


@pytest.fixture(scope="session")
def screenshot_rgba() -> bytes:
    return corpus.encode(corpus.screenshot(5000, 5000, seed=2, alpha=True), "PNG")


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        (OPUS, (2371, 1581)),
        (SONNET, (2121, 1414)),
        (HAIKU, (1732, 1154)),
        (SONNET_37, (1313, 875)),
    ],
    ids=["opus-4-7", "sonnet-4-6", "haiku-4-5", "sonnet-3-7"],
)
def test_24mp_photo_shrinks_to_the_largest_size_the_model_takes(
    photo_24mp: bytes, limits: ImageLimits, expected: tuple[int, int]
) -> None:
    result = prepare_image(photo_24mp, limits)

    decoded = assert_meets_rules(result, limits)
    assert (result.width, result.height) == expected
    assert (result.original_width, result.original_height) == (6000, 4000)
    assert result.resized
    assert result.reencoded
    assert result.media_type == "image/jpeg"
    assert result.quality == images.JPEG_QUALITIES[0]
    assert decoded.mode == "RGB"
    assert any("MP limit" in note for note in result.notes)


def test_long_edge_limit_of_older_models_is_honoured() -> None:
    # 1600x400 is only 0.64 MP, under 1.15 MP, but its long edge is over 1568 px.
    data = corpus.photo_jpeg(1600, 400, seed=4)

    result = prepare_image(data, SONNET_37)

    assert_meets_rules(result, SONNET_37)
    assert (result.width, result.height) == (1568, 392)
    assert any("1568 px" in note for note in result.notes)


def test_image_within_limits_is_sent_byte_for_byte() -> None:
    data = corpus.photo_jpeg(800, 600, seed=5)

    result = prepare_image(data, HAIKU)

    assert result.data is data
    assert not result.resized
    assert not result.reencoded
    assert result.media_type == "image/jpeg"
    assert result.notes == ()
    assert result.quality is None


def test_tiny_png_is_sent_unchanged() -> None:
    data = corpus.tiny_png()

    result = prepare_image(data, OPUS)

    assert_meets_rules(result, OPUS)
    assert result.data == data
    assert (result.width, result.height, result.media_type) == (1, 1, "image/png")
    assert result.estimated_tokens == 1


def test_exif_orientation_6_is_applied() -> None:
    # Stored 400x200 with red on the left; orientation 6 displays it turned clockwise.
    result = prepare_image(corpus.exif_oriented_jpeg(6), OPUS)

    decoded = assert_meets_rules(result, OPUS).convert("RGB")
    assert (result.width, result.height) == (200, 400)
    assert (result.original_width, result.original_height) == (200, 400)
    assert not result.resized
    assert result.reencoded
    top = decoded.getpixel((100, 50))
    bottom = decoded.getpixel((100, 350))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 200  # red on top
    assert top[2] < 60
    assert bottom[2] > 200  # blue below
    assert bottom[0] < 60
    assert decoded.getexif().get(0x0112, 1) == 1


def test_exif_orientation_is_applied_together_with_a_resize() -> None:
    big = corpus.photo(3000, 1500, seed=6)
    exif = Image.Exif()
    exif[0x0112] = 8
    data = corpus.encode(big, "JPEG", quality=90, exif=exif)

    result = prepare_image(data, HAIKU)

    assert_meets_rules(result, HAIKU)
    assert (result.original_width, result.original_height) == (1500, 3000)
    assert result.height > result.width
    assert result.resized


def test_cmyk_is_converted_to_rgb() -> None:
    result = prepare_image(corpus.cmyk_jpeg(), OPUS)

    decoded = assert_meets_rules(result, OPUS)
    assert decoded.mode == "RGB"
    assert any("CMYK" in note for note in result.notes)


def _gray(im: Image.Image, xy: tuple[int, int]) -> int:
    value = im.getpixel(xy)
    assert isinstance(value, float | int)
    return int(value)


def test_16_bit_grayscale_is_scaled_not_clipped() -> None:
    result = prepare_image(corpus.gray16_png(), OPUS)

    decoded = assert_meets_rules(result, OPUS)
    assert decoded.mode == "L"
    row = [_gray(decoded, (x, 128)) for x in (0, 256, 511)]
    assert row[0] < 10
    assert 100 < row[1] < 156  # mid-grey survives; clipping would make it white
    assert row[2] > 245


@pytest.mark.parametrize(
    ("make", "transparent_point", "opaque_point"),
    [(corpus.palette_transparent_png, (10, 10), (150, 100)), (corpus.la_png, (10, 10), (300, 10))],
    ids=["palette-with-transparency", "LA"],
)
def test_transparency_survives(
    make: Callable[[], bytes], transparent_point: tuple[int, int], opaque_point: tuple[int, int]
) -> None:
    data = make()
    limits = ImageLimits(0.02)  # forces a resize, and with it a conversion

    unchanged = prepare_image(data, OPUS)
    result = prepare_image(data, limits)

    assert unchanged.data is data
    decoded = assert_meets_rules(result, limits).convert("RGBA")
    assert result.media_type == "image/png"
    scale = result.width / unchanged.width
    x, y = transparent_point
    assert decoded.getpixel((int(x * scale), int(y * scale)))[3] == 0  # type: ignore[index]
    x, y = opaque_point
    assert decoded.getpixel((int(x * scale), int(y * scale)))[3] == 255  # type: ignore[index]


def test_screenshot_with_alpha_stays_lossless_png(screenshot_rgba: bytes) -> None:
    result = prepare_image(screenshot_rgba, OPUS)

    decoded = assert_meets_rules(result, OPUS)
    assert result.media_type == "image/png"
    assert (result.width, result.height) == (1936, 1936)
    assert decoded.mode == "RGBA"
    assert decoded.getpixel((0, 0))[3] == 0  # type: ignore[index]
    assert decoded.getpixel((968, 968))[3] == 255  # type: ignore[index]
    assert result.quality is None


def test_animated_gif_becomes_its_first_frame() -> None:
    result = prepare_image(corpus.animated_gif(), OPUS)

    decoded = assert_meets_rules(result, OPUS).convert("RGB")
    assert decoded.getpixel((60, 40)) == (255, 0, 0)
    assert result.reencoded
    assert any("first frame" in note for note in result.notes)


def test_panorama_is_held_to_8000_px() -> None:
    data = corpus.encode(corpus.photo(12000, 600, seed=7, grain=0), "JPEG", quality=85)

    result = prepare_image(data, OPUS)

    assert_meets_rules(result, OPUS)
    assert (result.width, result.height) == (8000, 400)
    assert any("8000 px" in note for note in result.notes)


def test_strip_within_the_area_limit_is_held_to_8000_px() -> None:
    data = corpus.encode(corpus.screenshot(100, 9000, seed=8), "PNG")

    result = prepare_image(data, HAIKU)

    assert_meets_rules(result, HAIKU)
    assert (result.width, result.height) == (88, 8000)
    assert result.media_type == "image/png"


def test_more_than_20_images_hold_every_side_to_2000_px() -> None:
    data = corpus.encode(corpus.screenshot(100, 9000, seed=8), "PNG")
    photo = corpus.photo_jpeg(2400, 1500, seed=9)

    strip = prepare_image(data, HAIKU, images_in_request=21)
    landscape = prepare_image(photo, OPUS, images_in_request=21)
    twenty = prepare_image(photo, OPUS, images_in_request=20)

    assert_meets_rules(strip, HAIKU, 21)
    assert_meets_rules(landscape, OPUS, 21)
    assert (strip.width, strip.height) == (22, 2000)
    assert (landscape.width, landscape.height) == (2000, 1250)
    assert any("more than 20 images" in note for note in landscape.notes)
    assert twenty.data is photo


def test_noise_that_cannot_stay_lossless_becomes_jpeg() -> None:
    data = corpus.noise_png(2000, 1500)
    assert len(data) > images.MAX_BASE64_LENGTH

    result = prepare_image(data, SONNET)

    assert_meets_rules(result, SONNET)
    assert result.media_type == "image/jpeg"
    assert (result.width, result.height) == (2000, 1500)
    assert not result.resized


def test_quality_steps_down_only_as_far_as_the_cap_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    data = corpus.photo_jpeg(640, 480, seed=10, quality=98)
    monkeypatch.setattr(images, "MAX_BASE64_LENGTH", 120_000)
    cap_bytes = 120_000 // 4 * 3

    result = prepare_image(data, OPUS)

    assert_meets_rules(result, OPUS, max_base64=120_000)
    assert result.quality is not None
    assert result.quality < images.JPEG_QUALITIES[0]
    assert (result.width, result.height) == (640, 480)
    # The next better step would not have fitted.
    better = images.JPEG_QUALITIES[images.JPEG_QUALITIES.index(result.quality) - 1]
    pixels = Image.open(io.BytesIO(data)).convert("RGB")
    assert len(corpus.encode(pixels, "JPEG", quality=better)) > cap_bytes


def test_dimensions_shrink_when_no_quality_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    data = corpus.noise_png(300, 300)
    monkeypatch.setattr(images, "MAX_BASE64_LENGTH", 8_000)

    result = prepare_image(data, OPUS)

    assert_meets_rules(result, OPUS, max_base64=8_000)
    assert result.resized
    assert result.width < 300
    assert any("5 MB" in note for note in result.notes)


def test_alpha_that_cannot_stay_lossless_becomes_webp(monkeypatch: pytest.MonkeyPatch) -> None:
    rgba = corpus.photo(200, 200, seed=11).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((200, 200)))
    monkeypatch.setattr(images, "MAX_BASE64_LENGTH", 40_000)

    result = prepare_image(corpus.encode(rgba, "PNG"), OPUS)

    decoded = assert_meets_rules(result, OPUS, max_base64=40_000)
    assert result.media_type == "image/webp"
    assert decoded.mode == "RGBA"


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_formats_the_api_refuses_are_converted_losslessly(fmt: str) -> None:
    source = corpus.photo(200, 150, seed=12)
    data = corpus.encode(source, fmt)

    result = prepare_image(data, OPUS)

    decoded = assert_meets_rules(result, OPUS)
    assert result.media_type == "image/png"
    assert decoded.convert("RGB").tobytes() == source.tobytes()
    assert any(fmt in note for note in result.notes)


def test_webp_within_limits_is_sent_as_it_is() -> None:
    data = corpus.encode(corpus.photo(300, 200, seed=13), "WEBP", quality=80)

    result = prepare_image(data, OPUS)

    assert_meets_rules(result, OPUS)
    assert result.data is data
    assert result.media_type == "image/webp"


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow build has no AVIF codec")
def test_avif_is_converted_when_pillow_reads_it() -> None:
    data = corpus.encode(corpus.photo(160, 120, seed=14), "AVIF", quality=70)

    result = prepare_image(data, OPUS)

    assert_meets_rules(result, OPUS)
    assert result.media_type == "image/jpeg"
    assert any("AVIF" in note for note in result.notes)


def test_heic_without_the_plugin_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # makes the import fail

    with pytest.raises(UnsupportedImageError) as excinfo:
        prepare_image(corpus.heic_header(), OPUS)

    assert "pip install 'iris-desktop[heif]'" in str(excinfo.value)
    assert "HEIC" in str(excinfo.value)


def test_ftyp_brands_identify_heic_and_avif() -> None:
    assert images._container_kind(corpus.heic_header()) == "HEIC"
    assert images._container_kind(corpus.avif_header()) == "AVIF"
    assert images._container_kind(corpus.tiny_png()) is None


# -- bad input -----------------------------------------------------------------------------


def _one_sentence(exc: ImageError) -> str:
    message = str(exc)
    assert "\n" not in message
    assert "Traceback" not in message
    assert message.endswith(".")
    return message


def test_zero_bytes_is_an_empty_image(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")

    with pytest.raises(EmptyImageError) as excinfo:
        prepare_image(empty, OPUS)

    assert "empty.png" in _one_sentence(excinfo.value)


def test_truncated_jpeg(photo_24mp: bytes) -> None:
    with pytest.raises(TruncatedImageError) as excinfo:
        prepare_image(photo_24mp[: len(photo_24mp) // 3], OPUS)
    _one_sentence(excinfo.value)


def test_truncated_small_png_is_caught_before_it_is_sent() -> None:
    data = corpus.encode(corpus.photo(200, 200, seed=15), "PNG")

    with pytest.raises(TruncatedImageError):
        prepare_image(data[: len(data) // 2], OPUS)


def test_png_cut_inside_its_header_is_called_damaged() -> None:
    with pytest.raises(TruncatedImageError) as excinfo:
        prepare_image(corpus.tiny_png()[:20], OPUS)

    assert "PNG" in _one_sentence(excinfo.value)


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\neggs\n", encoding="utf-8")

    with pytest.raises(NotAnImageError) as excinfo:
        prepare_image(str(notes), OPUS)

    assert "notes.txt" in _one_sentence(excinfo.value)


EPS = (
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\n"
    b"newpath 0 0 moveto 16 16 lineto stroke\nshowpage\n%%EOF\n"
)


class _Spawns:
    """Records every program Python is asked to start, and starts none."""

    def __init__(self) -> None:
        self.commands: list[object] = []

    def __call__(self, args: object, *_args: object, **_kwargs: object) -> subprocess.Popen[bytes]:
        self.commands.append(args)
        raise FileNotFoundError("starting programs is refused in this test")


@pytest.fixture
def spawns(monkeypatch: pytest.MonkeyPatch) -> _Spawns:
    """Record any attempt to start a program, Ghostscript included (installed or not)."""
    recorder = _Spawns()
    monkeypatch.setattr(subprocess, "Popen", recorder)
    # Pillow asks for Ghostscript only once it believes it is installed.
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", "gs")
    return recorder


@pytest.mark.parametrize(
    "payload",
    [EPS, b"%!PS-Adobe-3.0\n%%BoundingBox: 0 0 16 16\nshowpage\n"],
    ids=["eps", "ps"],
)
def test_postscript_named_png_is_not_an_image_and_runs_nothing(
    tmp_path: Path, spawns: _Spawns, payload: bytes
) -> None:
    path = tmp_path / "holiday.png"
    path.write_bytes(payload)

    for source in (path, payload):
        with pytest.raises(NotAnImageError) as excinfo:
            prepare_image(source, OPUS)
        _one_sentence(excinfo.value)

    assert spawns.commands == []


@pytest.mark.parametrize("fmt", ["ICO", "PPM", "TGA", "PCX"])
def test_formats_outside_the_allow_list_are_not_images(fmt: str) -> None:
    data = corpus.encode(corpus.photo(32, 32, seed=30), fmt)

    with pytest.raises(NotAnImageError):
        prepare_image(data, OPUS)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLargeError) as excinfo:
        prepare_image(corpus.png_header_only(20000, 20000), OPUS)
    _one_sentence(excinfo.value)


def test_bomb_check_does_not_rely_on_pillows_global(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)

    with pytest.raises(ImageTooLargeError) as excinfo:
        prepare_image(corpus.png_header_only(20000, 20000), OPUS)

    assert "20000x20000" in _one_sentence(excinfo.value)


def test_pillow_bomb_warning_never_escapes() -> None:
    # 90.25 MP is above Pillow's warning threshold but within Iris's limit; with
    # filterwarnings=error a leaked DecompressionBombWarning would fail this test.
    with pytest.raises(TruncatedImageError):
        prepare_image(corpus.png_header_only(9500, 9500, mode=0), OPUS)


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_unreadable_paths(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "gone.jpg" if kind == "missing" else tmp_path

    with pytest.raises(UnreadableImageError) as excinfo:
        prepare_image(target, OPUS)
    _one_sentence(excinfo.value)


def test_oversized_file_is_refused_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(corpus.noise_png(64, 64))
    monkeypatch.setattr(images, "MAX_INPUT_BYTES", 1000)

    with pytest.raises(ImageTooLargeError):
        prepare_image(path, OPUS)


def test_svg_gets_a_specific_message() -> None:
    with pytest.raises(UnsupportedImageError, match="SVG"):
        prepare_image(b'<svg xmlns="http://www.w3.org/2000/svg"/>', OPUS)


def test_images_in_request_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        prepare_image(corpus.tiny_png(), OPUS, images_in_request=0)


# -- results -------------------------------------------------------------------------------


def test_path_and_bytes_give_the_same_result(tmp_path: Path) -> None:
    data = corpus.photo_jpeg(1800, 1200, seed=16)
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)

    from_bytes = prepare_image(data, HAIKU)
    from_path = prepare_image(path, HAIKU)
    from_str = prepare_image(str(path), HAIKU)

    assert from_bytes == from_path == from_str


def test_json_and_content_block() -> None:
    result = prepare_image(corpus.exif_oriented_jpeg(6), OPUS)

    summary = result.to_json()
    block = result.to_content_block().to_dict()

    assert set(summary) == JSON_KEYS
    assert summary["bytes"] == len(result.data)
    assert summary["base64_bytes"] == len(block["source"]["data"])
    assert summary["estimated_tokens"] == math.ceil(200 * 400 / 750)
    assert block["type"] == "image"
    assert block["source"]["type"] == "base64"
    assert block["source"]["media_type"] == "image/jpeg"
    assert base64.b64decode(block["source"]["data"]) == result.data
    assert "data=" not in repr(result)


# -- property ------------------------------------------------------------------------------

_MODES = ["1", "L", "LA", "P", "PT", "RGB", "RGBA", "CMYK", "I;16"]
_FORMATS_FOR_MODE = {
    "1": ["PNG", "BMP", "TIFF", "GIF"],
    "L": ["PNG", "JPEG", "BMP", "TIFF", "WEBP"],
    "LA": ["PNG", "TIFF"],
    "P": ["PNG", "GIF", "BMP", "TIFF"],
    "PT": ["PNG", "GIF"],
    "RGB": ["PNG", "JPEG", "BMP", "TIFF", "WEBP"],
    "RGBA": ["PNG", "TIFF", "WEBP"],
    "CMYK": ["JPEG", "TIFF"],
    "I;16": ["PNG", "TIFF"],
}


@st.composite
def _pictures(draw: st.DrawFn) -> bytes:
    mode = draw(st.sampled_from(_MODES))
    fmt = draw(st.sampled_from(_FORMATS_FOR_MODE[mode]))
    width = draw(st.integers(1, 320))
    height = draw(st.integers(1, 320))
    seed = draw(st.integers(0, 2**16))
    im = corpus.photo(width, height, seed, grain=4)
    options: dict[str, object] = {}
    if mode == "PT":
        im = im.convert("P")
        options["transparency"] = 0
    elif mode == "I;16":
        im = im.convert("L").convert("I").point(lambda v: v * 257).convert("I;16")
    elif mode in ("LA", "RGBA"):
        im = im.convert(mode)
        im.putalpha(Image.linear_gradient("L").resize((width, height)))
    else:
        im = im.convert(mode)
    if fmt == "JPEG":
        options["quality"] = draw(st.integers(50, 95))
        orientation = draw(st.sampled_from([1, 3, 6, 8]))
        if orientation != 1:
            exif = Image.Exif()
            exif[0x0112] = orientation
            options["exif"] = exif
    return corpus.encode(im, fmt, **options)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picture=_pictures(),
    megapixels=st.floats(0.0005, 0.2),
    long_edge=st.none() | st.integers(1, 400),
    images_in_request=st.integers(1, 40),
)
def test_every_output_meets_the_rules(
    picture: bytes, megapixels: float, long_edge: int | None, images_in_request: int
) -> None:
    limits = ImageLimits(megapixels, long_edge)

    result = prepare_image(picture, limits, images_in_request=images_in_request)

    decoded = assert_meets_rules(result, limits, images_in_request)
    source = Image.open(io.BytesIO(picture))
    assert result.reencoded == (result.data != picture)
    if not result.reencoded:
        assert source.format is not None
        assert FORMAT_MEDIA_TYPES.get(source.format) == result.media_type
    # Shrinks only as far as the limits need: the size follows from the rules alone.
    max_side = min(long_edge or 8000, 2000 if images_in_request > 20 else 8000)
    width, height = result.original_width, result.original_height
    scale = min(
        1.0, math.sqrt(limits.max_pixels / (width * height)), max_side / max(width, height)
    )
    assert result.resized == (scale < 1.0)
    assert abs(result.width - max(1.0, width * scale)) <= max(2.0, 0.01 * result.width)
    assert abs(result.height - max(1.0, height * scale)) <= max(2.0, 0.01 * result.height)
    assert decoded.size == (result.width, result.height)


def test_prepare_image_can_run_in_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = corpus.photo_jpeg(1200, 900, seed=17)

    def job(limits: ImageLimits) -> PreparedImage:
        return prepare_image(data, limits)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(job, [SONNET_37, SONNET_37, SONNET_37, SONNET_37]))

    assert len({r.data for r in results}) == 1
    assert_meets_rules(results[0], SONNET_37)


@pytest.fixture(autouse=True)
def _no_leaked_filters() -> Iterator[None]:
    import warnings

    before = list(warnings.filters)
    yield
    assert list(warnings.filters) == before


# -- memory --------------------------------------------------------------------------------


@pytest.mark.parametrize("colour_type", [4, 6], ids=["grey+alpha", "RGBA"])
def test_a_picture_needing_too_much_memory_is_refused_before_decoding(colour_type: int) -> None:
    # 119 MP with alpha: a few hundred bytes on disk, over a gigabyte to prepare.
    data = corpus.png_header_only(10920, 10920, mode=colour_type)

    with pytest.raises(ImageTooLargeError) as excinfo:
        prepare_image(data, OPUS)

    message = _one_sentence(excinfo.value)
    assert "10920x10920" in message
    assert "MB of memory" in message


def test_a_large_picture_within_the_memory_budget_is_still_decoded() -> None:
    # 119 MP of grey fits the budget: decoding is attempted (and finds no pixel data).
    with pytest.raises(TruncatedImageError):
        prepare_image(corpus.png_header_only(10920, 10920, mode=0), OPUS)


_PEAK_SCRIPT = """
import sys
from pathlib import Path
from desktop_app.core.catalog import Catalog
from desktop_app.core.images import prepare_image

def kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])

limits = Catalog.load().get("claude-opus-4-7").image
# Load the libraries on a small picture first: a big one would leave freed memory
# resident, which the measured run would then reuse unseen.
prepare_image(Path(sys.argv[2]), limits)
Path("/proc/self/clear_refs").write_text("5")
base = kib("VmRSS")
prepare_image(Path(sys.argv[1]), limits)
print((kib("VmHWM") - base) * 1024)
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_the_memory_estimate_matches_what_preparing_takes(tmp_path: Path) -> None:
    # 6 MP with real transparency: premultiplied and resampled.
    im = corpus.photo(600, 400, seed=31).resize((3000, 2000)).convert("RGBA")
    im.putalpha(Image.linear_gradient("L").resize(im.size))
    path = tmp_path / "big.png"
    im.save(path, compress_level=1)
    small = tmp_path / "small.png"
    im.resize((300, 200)).save(small)
    with Image.open(path) as probe:
        target = images._target_size(*probe.size, images._Budget.for_request(OPUS, 1))[:2]
        estimate = images.working_bytes(probe.mode, probe.size, target)

    done = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(path), str(small)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    peak = int(done.stdout.strip())

    # The file's bytes are in memory too, read before the estimate is made.
    expected = estimate + path.stat().st_size
    assert 0.8 * expected <= peak <= 1.2 * expected


def test_large_preparations_take_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = corpus.noise_png(1600, 1200)
    with Image.open(io.BytesIO(data)) as probe:
        target = images._target_size(*probe.size, images._Budget.for_request(SONNET_37, 1))[:2]
        need = images.working_bytes(probe.mode, probe.size, target)
    # Room for one of them at a time, not two.
    gate = images.MemoryGate(need * 3 // 2)
    monkeypatch.setattr(images, "MEMORY_GATE", gate)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: prepare_image(data, SONNET_37), range(4)))

    assert len({r.data for r in results}) == 1
    assert_meets_rules(results[0], SONNET_37)
    assert gate.peak == need
