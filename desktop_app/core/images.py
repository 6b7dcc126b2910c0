"""Image preflight: make any picture acceptable to the Messages API before it is sent.

:func:`prepare_image` is pure, synchronous and Qt-free; the UI runs it off the UI
thread. Every result satisfies the service's rules:

- the area is within the model's megapixel limit and any long-edge limit;
- every side is at most 8000 px, or 2000 px when the request carries more than
  20 images;
- the base64 text is at most 5,242,880 characters;
- the media type is JPEG, PNG, GIF or WebP and always matches the bytes.

Only JPEG, PNG, GIF, WebP, BMP and TIFF are read, plus AVIF, HEIC and HEIF where
this installation can decode them (:data:`OPEN_FORMATS`); Pillow's other readers
are never tried, so no picture can make it run Ghostscript.

An image that already meets them is sent unchanged. Everything else is decoded as
cheaply as possible (JPEG DCT scaling, then ``reduce()``), resampled once with
Lanczos, oriented, and encoded once at the best quality that fits.

Errors form one small tree; ``str(exc)`` is a sentence for people::

    ImageError
    ├── EmptyImageError          zero bytes
    ├── UnreadableImageError     the file could not be read (missing, a folder, no permission)
    ├── NotAnImageError          the bytes are not a picture Iris can recognise
    ├── TruncatedImageError      a recognised picture whose data is cut short or damaged
    ├── UnsupportedImageError    a known format Iris cannot read here (HEIC without its extra)
    └── ImageTooLargeError       a file, a declared pixel count or the memory to prepare it
                                 beyond what Iris allows
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import math
import os
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from desktop_app.core.catalog import MANY_IMAGES_MAX_SIDE, MANY_IMAGES_THRESHOLD, ImageLimits
from desktop_app.core.errors import (
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    TruncatedImageError,
    UnreadableImageError,
    UnsupportedImageError,
)
from desktop_app.core.wire.blocks import Base64Source, ImageBlock

MAX_BASE64_LENGTH = 5_242_880
"""The service's per-image cap, applied to the base64 text (the safe reading)."""
MAX_SIDE = 8000
MAX_INPUT_BYTES = 200 * 1024 * 1024
"""Files larger than this are refused before being read."""
MAX_SOURCE_PIXELS = 120_000_000
"""Declared pixel counts above this are refused before decoding (108 MP phones still fit)."""
MAX_WORKING_BYTES = 768 * 1024 * 1024
"""Memory one preparation may need, estimated from the declared size and pixel format
before decoding; a picture that would need more is refused. It is also what all
preparations running at once may need together: larger ones wait their turn."""
HEIF_EXTRA = "pip install 'iris-desktop[heif]'"

MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # a JPEG with extra pictures appended; still a valid JPEG stream
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
# Modes the service decodes reliably for each format it accepts as they are.
_PASS_MODES = {
    "JPEG": frozenset({"L", "RGB"}),
    "MPO": frozenset({"L", "RGB"}),
    "PNG": frozenset({"1", "L", "LA", "P", "RGB", "RGBA"}),
    "GIF": frozenset({"L", "P"}),
    "WEBP": frozenset({"RGB", "RGBA"}),
}
_LOSSY_SOURCES = frozenset({"JPEG", "MPO", "WEBP", "HEIC", "HEIF", "AVIF"})
# The only Pillow readers ever tried. Pillow knows forty formats, and some are
# dangerous (EPS and PS run Ghostscript) or never sent by people (PSD, ICO, FITS ...);
# anything else is "not an image", whatever its file name says. (An MPO is opened
# by the JPEG reader.)
OPEN_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
# For ISO-BMFF containers (HEIC, HEIF, AVIF): Pillow's own AVIF reader, and
# pillow-heif's once registered; only those registered are passed to Pillow.
_CONTAINER_FORMATS = ("AVIF", "HEIF")
# Highest first: the encoder steps down only as far as the byte cap needs.
JPEG_QUALITIES = (90, 85, 80, 75, 70, 65, 60, 50, 40)
WEBP_QUALITIES = (90, 85, 80, 75, 70, 60, 50, 40)
_PNG_COMPRESS_LEVEL = 6
# After reduce() the final Lanczos pass still has at least this factor to work with.
_REDUCING_GAP = 2.0
# Skip the PNG attempt when scaling the source's size predicts more than this many caps.
_PNG_HOPELESS_FACTOR = 2.0
_MAX_SHRINK_ROUNDS = 12
_ORIENTATION_TAG = 0x0112
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
# Leading bytes of formats Pillow reads: a failure to open one of these means damage,
# not "this is not an image".
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)

# Python's warning filters are process-wide, so the block that silences Pillow's
# decompression-bomb warning is serialised; resampling and encoding run outside it.
_DECODE_LOCK = threading.Lock()


class MemoryGate:
    """Lets preparations run together only while their working memory fits a budget.

    Each preparation holds its estimated bytes from decoding until its result is
    encoded. One that does not fit next to those running waits for them; one alone
    always runs, so nothing waits forever.
    """

    def __init__(self, capacity: int) -> None:
        """A gate for ``capacity`` bytes in all."""
        self.capacity = capacity
        self._in_use = 0
        self._peak = 0
        self._condition = threading.Condition()

    @property
    def peak(self) -> int:
        """The most bytes held at once so far."""
        with self._condition:
            return self._peak

    @contextlib.contextmanager
    def hold(self, size: int) -> Iterator[None]:
        """Hold ``size`` bytes of the budget for the block, waiting until they fit."""
        size = max(0, min(size, self.capacity))
        with self._condition:
            while self._in_use and self._in_use + size > self.capacity:
                self._condition.wait()
            self._in_use += size
            self._peak = max(self._peak, self._in_use)
        try:
            yield
        finally:
            with self._condition:
                self._in_use -= size
                self._condition.notify_all()


MEMORY_GATE = MemoryGate(MAX_WORKING_BYTES)
"""Shared by every preparation in this process (the attachment pane runs several at once)."""


@dataclasses.dataclass(frozen=True)
class PreparedImage:
    """An image ready to be sent, with what was done to it.

    Attributes:
        data: The encoded bytes to send.
        media_type: ``image/jpeg``, ``image/png``, ``image/gif`` or ``image/webp``;
            always the format of ``data``.
        width: Width of ``data`` in pixels.
        height: Height of ``data`` in pixels.
        original_width: Width of the input as displayed (after EXIF orientation).
        original_height: Height of the input as displayed.
        resized: True when the pixel dimensions were reduced.
        reencoded: True when ``data`` differs from the input bytes.
        notes: Why the image was changed, one plain sentence each.
        quality: The JPEG or WebP quality used, or None when lossless or unchanged.
    """

    data: bytes = dataclasses.field(repr=False)
    media_type: str
    width: int
    height: int
    original_width: int
    original_height: int
    resized: bool
    reencoded: bool
    notes: tuple[str, ...] = ()
    quality: int | None = None

    @property
    def byte_size(self) -> int:
        """Length of :attr:`data` in bytes."""
        return len(self.data)

    @property
    def base64_length(self) -> int:
        """Length of the base64 text the request will carry."""
        return _base64_length(len(self.data))

    @property
    def megapixels(self) -> float:
        """Area in millions of pixels."""
        return self.width * self.height / 1_000_000

    @property
    def estimated_tokens(self) -> int:
        """Input tokens the image costs, by the documented ``width * height / 750``."""
        return -(-(self.width * self.height) // 750)

    def to_json(self) -> dict[str, Any]:
        """Describe the result as the JSON object ``iris image`` prints."""
        return {
            "width": self.width,
            "height": self.height,
            "original_width": self.original_width,
            "original_height": self.original_height,
            "media_type": self.media_type,
            "bytes": self.byte_size,
            "base64_bytes": self.base64_length,
            "megapixels": round(self.megapixels, 3),
            "estimated_tokens": self.estimated_tokens,
            "resized": self.resized,
            "reencoded": self.reencoded,
            "notes": list(self.notes),
        }

    def to_content_block(self) -> ImageBlock:
        """Return the ``image`` content block carrying this image."""
        return ImageBlock(
            Base64Source(self.media_type, base64.b64encode(self.data).decode("ascii"))
        )

    def summary(self) -> str:
        """``4032×3024 → 2000×1500 image/jpeg, ≈4,000 tokens``: shown under the turn."""
        return (
            f"{self.original_width}×{self.original_height} → {self.width}×{self.height} "
            f"{self.media_type}, ≈{self.estimated_tokens:,} tokens"
        )


@dataclasses.dataclass(frozen=True)
class _Budget:
    """The limits one output must meet."""

    max_pixels: int
    max_side: int
    side_reason: str
    max_bytes: int

    @classmethod
    def for_request(cls, limits: ImageLimits, images_in_request: int) -> _Budget:
        if images_in_request > MANY_IMAGES_THRESHOLD:
            side = MANY_IMAGES_MAX_SIDE
            reason = (
                f"every side within {side} px, the limit when a request carries more than "
                f"{MANY_IMAGES_THRESHOLD} images"
            )
        else:
            side, reason = MAX_SIDE, f"every side within {MAX_SIDE} px"
        if limits.max_long_edge is not None and limits.max_long_edge < side:
            side = max(1, limits.max_long_edge)
            reason = f"the long edge within this model's {side} px"
        return cls(
            max_pixels=max(1, limits.max_pixels),
            max_side=side,
            side_reason=reason,
            max_bytes=MAX_BASE64_LENGTH // 4 * 3,
        )

    def fits(self, size: int) -> bool:
        return size <= self.max_bytes


def prepare_image(
    source: bytes | os.PathLike[str] | str,
    limits: ImageLimits,
    *,
    images_in_request: int = 1,
    name: str | None = None,
) -> PreparedImage:
    """Turn a picture into bytes the Messages API accepts for a given model.

    Pure and synchronous; call it off the UI thread.

    Args:
        source: The encoded picture, or the path of a file holding it.
        limits: The target model's image limits, from the catalog.
        images_in_request: How many images the whole request carries; above 20 every
            side is held to 2000 px.
        name: What error messages call the picture (a file name); a path names
            itself, and bytes are "The data" without one.

    Returns:
        The prepared image; see :class:`PreparedImage`.

    Raises:
        ImageError: A subclass saying why the input cannot be used.
        ValueError: ``images_in_request`` is below 1.
    """
    if images_in_request < 1:
        raise ValueError("images_in_request must be at least 1")
    label, data = _read_source(source, name)
    if not data:
        raise EmptyImageError(f"{label} is empty (0 bytes).")
    container = _container_kind(data)
    if container is not None:
        _enable_container_plugin(label, container)
    budget = _Budget.for_request(limits, images_in_request)
    return _prepare(data, label, container, budget)


# -- reading and sniffing ------------------------------------------------------------------


def _read_source(
    source: bytes | os.PathLike[str] | str, name: str | None = None
) -> tuple[str, bytes]:
    if isinstance(source, bytes):
        label = name or "The data"
        if len(source) > MAX_INPUT_BYTES:
            raise ImageTooLargeError(_too_big_file(label, len(source)))
        return label, source
    path = Path(os.fspath(source))
    return name or path.name or str(path), read_image_file(path)


def read_image_file(path: os.PathLike[str] | str) -> bytes:
    """Read an image file under the input size cap, with errors for people.

    Raises:
        UnreadableImageError: The file is missing, a folder or not readable.
        ImageTooLargeError: The file is larger than Iris reads.
    """
    path = Path(os.fspath(path))
    label = path.name or str(path)
    try:
        with path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size > MAX_INPUT_BYTES:
                raise ImageTooLargeError(_too_big_file(label, os.fstat(fh.fileno()).st_size))
            # Read one byte past the cap so a file that grows or lies about its size is caught.
            data = fh.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise UnreadableImageError(f"{label} does not exist.") from None
    except IsADirectoryError:
        raise UnreadableImageError(f"{label} is a folder, not an image file.") from None
    except PermissionError:
        raise UnreadableImageError(f"{label} cannot be read: permission denied.") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UnreadableImageError(f"{label} cannot be read: {reason}.") from None
    if len(data) > MAX_INPUT_BYTES:
        raise ImageTooLargeError(_too_big_file(label, len(data)))
    return data


def _too_big_file(label: str, size: int) -> str:
    return (
        f"{label} is {size / 1_048_576:.0f} MB; Iris reads image files up to "
        f"{MAX_INPUT_BYTES // 1_048_576} MB."
    )


def _container_kind(data: bytes) -> str | None:
    """Return ``"HEIC"``, ``"AVIF"`` or ``"HEIF"`` from an ISO-BMFF ``ftyp`` box, else None."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(data[0:4], "big")
    end = min(max(box_size, 16), len(data), 1024)
    major = data[8:12]
    compatible = {data[i : i + 4] for i in range(16, end - 3, 4)}
    for brands in ({major}, compatible):
        if brands & _AVIF_BRANDS:
            return "AVIF"
        if brands & _HEIF_BRANDS:
            return "HEIC"
    if ({major} | compatible) & _GENERIC_HEIF_BRANDS:
        return "HEIF"
    return None


_heif_registered = False


def _enable_container_plugin(label: str, kind: str) -> None:
    """Make Pillow able to open HEIC/HEIF (and AVIF where Pillow lacks it), or explain."""
    global _heif_registered
    if kind == "AVIF":
        from PIL import features

        if features.check_module("avif"):
            return
    try:
        import pillow_heif
    except ImportError:
        raise UnsupportedImageError(
            f"{label} is {_article(kind)} {kind} image, which Iris reads only with the "
            f"optional HEIF support: {HEIF_EXTRA}."
        ) from None
    if not _heif_registered:
        pillow_heif.register_heif_opener()
        _heif_registered = True


def open_formats(container: str | None) -> tuple[str, ...]:
    """The Pillow formats to try for data of this container kind (None: not one)."""
    if container is None:
        return OPEN_FORMATS
    Image.init()  # registers Pillow's own AVIF reader when this build has one
    return tuple(name for name in _CONTAINER_FORMATS if name in Image.OPEN)


def _article(name: str) -> str:
    return "an" if name[0] in "AEFHILMNORSX" else "a"


def _signature(data: bytes) -> str | None:
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def identify_image(data: bytes) -> tuple[str, int, int]:
    """Tell the media type and size of an image the service takes, from its header alone.

    Cheap: the signature is sniffed and Pillow reads the header only; no pixel is
    decoded. For checking images that were prepared before (an imported history).

    Returns:
        ``image/jpeg``, ``image/png``, ``image/gif`` or ``image/webp``, then the
        declared width and height.

    Raises:
        NotAnImageError: The bytes are not a JPEG, PNG, GIF or WebP image, or its
            header is damaged.
    """
    name = _signature(data)
    if name not in MEDIA_TYPES:
        raise NotAnImageError("The data is not a JPEG, PNG, GIF or WebP image.")
    try:
        with _DECODE_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=(name,)) as im:
                width, height = im.size
    except Image.DecompressionBombError:
        raise NotAnImageError(_too_many_pixels("The data")) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError):
        raise NotAnImageError(_damaged("The data", data)) from None
    if width < 1 or height < 1:
        raise NotAnImageError("The data declares an empty picture (0 pixels).")
    return MEDIA_TYPES[name], width, height


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip().lower()
    return head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head)


# -- decoding ------------------------------------------------------------------------------


@contextlib.contextmanager
def _decoding(label: str, data: bytes, container: str | None) -> Iterator[None]:
    """Map Pillow's many failure modes to :class:`ImageError` and keep its bomb warning in."""
    with _DECODE_LOCK, warnings.catch_warnings():
        # Our own declared-size check replaces Pillow's global one; its warning must not leak.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            yield
        except ImageError:
            raise
        except Image.DecompressionBombError:
            raise ImageTooLargeError(_too_many_pixels(label)) from None
        except UnidentifiedImageError:
            if container is not None:
                raise UnsupportedImageError(
                    f"{label} is {_article(container)} {container} image that this installation "
                    "cannot decode; "
                    f"the optional HEIF support may help: {HEIF_EXTRA}."
                ) from None
            if _signature(data) is not None:
                raise TruncatedImageError(_damaged(label, data)) from None
            if _looks_like_svg(data):
                raise UnsupportedImageError(
                    f"{label} is an SVG drawing; export it as PNG to send it."
                ) from None
            raise NotAnImageError(f"{label} is not an image Iris can read.") from None
        except MemoryError:
            raise ImageTooLargeError(
                f"{label} needs more memory to decode than is free."
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError):
            raise TruncatedImageError(_damaged(label, data)) from None


def _damaged(label: str, data: bytes) -> str:
    signature = _signature(data)
    if signature is None:
        return f"{label} could not be decoded: it is cut short or damaged."
    return (
        f"{label} looks like {_article(signature)} {signature} image but is cut short or damaged."
    )


def _needs_too_much_memory(label: str, width: int, height: int, working: int) -> str:
    return (
        f"{label} is too large to prepare: its {width}x{height} pixels would need about "
        f"{working / 1_048_576:,.0f} MB of memory, and Iris uses up to "
        f"{MAX_WORKING_BYTES // 1_048_576:,} MB for one image."
    )


def _too_many_pixels(label: str, width: int = 0, height: int = 0) -> str:
    declared = f" ({width}x{height})" if width and height else ""
    return (
        f"{label} declares too many pixels{declared}; Iris decodes images up to "
        f"{MAX_SOURCE_PIXELS // 1_000_000} megapixels."
    )


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a damaged EXIF block must not sink a good picture
        return 1
    return value if isinstance(value, int) and value in _TRANSPOSE_FOR_ORIENTATION else 1


def _target_size(width: int, height: int, budget: _Budget) -> tuple[int, int, str | None]:
    """Largest size with the same aspect ratio that meets ``budget``, and which rule bound."""
    area_scale = math.sqrt(budget.max_pixels / (width * height))
    side_scale = budget.max_side / max(width, height)
    scale = min(area_scale, side_scale)
    if scale >= 1.0:
        return width, height, None
    new_w = min(max(1, math.floor(width * scale)), budget.max_side)
    new_h = min(max(1, math.floor(height * scale)), budget.max_side)
    # Floating-point rounding can leave the area a pixel row over the limit.
    while new_w * new_h > budget.max_pixels and max(new_w, new_h) > 1:
        if new_w >= new_h:
            new_w -= 1
        else:
            new_h -= 1
    return new_w, new_h, "area" if area_scale <= side_scale else "side"


def _prepare(data: bytes, label: str, container: str | None, budget: _Budget) -> PreparedImage:
    notes: list[str] = []
    with _decoding(label, data, container):
        im: Image.Image = Image.open(io.BytesIO(data), formats=open_formats(container))
        source_format = container or im.format or "unknown"
        raw_w, raw_h = im.size
        if raw_w < 1 or raw_h < 1:
            raise TruncatedImageError(f"{label} declares an empty picture (0 pixels).")
        if raw_w * raw_h > MAX_SOURCE_PIXELS:
            raise ImageTooLargeError(_too_many_pixels(label, raw_w, raw_h))
        orientation = _orientation(im)
        swapped = orientation >= 5
        orig_w, orig_h = (raw_h, raw_w) if swapped else (raw_w, raw_h)
        animated = source_format != "MPO" and bool(getattr(im, "is_animated", False))
        if animated:
            im.seek(0)
        target_w, target_h, bound = _target_size(orig_w, orig_h, budget)
        resize = (target_w, target_h) != (orig_w, orig_h)
        passable = (
            source_format in MEDIA_TYPES
            and not animated
            and orientation == 1
            and not resize
            and im.mode in _PASS_MODES[source_format]
            and budget.fits(len(data))
        )
        if passable:
            # Within the model's pixel limit, so small: no need to wait at the gate.
            _verify(im)
            return PreparedImage(
                data=data,
                media_type=MEDIA_TYPES[source_format],
                width=orig_w,
                height=orig_h,
                original_width=orig_w,
                original_height=orig_h,
                resized=False,
                reencoded=False,
            )
        draft_w, draft_h = (target_h, target_w) if swapped else (target_w, target_h)
        if resize and source_format in ("JPEG", "MPO"):
            # DCT scaling: decode at 1/2, 1/4 or 1/8 straight from the coefficients, never
            # below the target (as libvips' shrink-on-load does).
            im.draft(None, (draft_w, draft_h))
        # Known before a single pixel is decoded: the declared size and pixel format
        # (after DCT scaling) tell how much memory the steps below take.
        working = working_bytes(
            im.mode,
            im.size,
            (draft_w, draft_h) if resize else None,
            has_transparency="transparency" in im.info,
            rotate=orientation != 1,
        )
        if working > MAX_WORKING_BYTES:
            raise ImageTooLargeError(_needs_too_much_memory(label, raw_w, raw_h, working))

    with MEMORY_GATE.hold(working):
        with _decoding(label, data, container):
            im.load()
            icc_profile = im.info.get("icc_profile")

        if animated:
            notes.append(f"Animated {source_format}: only the first frame is sent.")
        if source_format not in MEDIA_TYPES:
            notes.append(f"Converted from {source_format}, which the API does not accept.")
        im = _normalise_mode(im, notes)
        if resize:
            im = _resample(im, (draft_w, draft_h))
            why = (
                f"this model's {budget.max_pixels / 1_000_000:g} MP limit"
                if bound == "area"
                else budget.side_reason
            )
            notes.append(f"Resized from {orig_w}x{orig_h} to {target_w}x{target_h} to keep {why}.")
        if orientation != 1:
            im = im.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation])
            notes.append(f"Rotated upright from EXIF orientation {orientation}.")
        encoded, media_type, quality, im = _encode(
            im,
            budget,
            notes,
            prefer_lossless=source_format not in _LOSSY_SOURCES,
            # Only a PNG source predicts the size of a PNG; BMP or TIFF may be uncompressed.
            png_estimate=len(data) * (im.width * im.height) / (raw_w * raw_h)
            if source_format == "PNG"
            else 0.0,
            icc_profile=icc_profile if isinstance(icc_profile, bytes) else None,
        )
    return PreparedImage(
        data=encoded,
        media_type=media_type,
        width=im.width,
        height=im.height,
        original_width=orig_w,
        original_height=orig_h,
        resized=(im.width, im.height) != (orig_w, orig_h),
        reencoded=True,
        notes=tuple(notes),
        quality=quality,
    )


# Bytes per pixel of Pillow's storage: one for 1-bit, grey and palette pictures, two
# for 16-bit grey, four for everything else (RGB too: it is stored as RGBX).
_ONE_BYTE_MODES = frozenset({"1", "L", "P"})


def _bytes_per_pixel(mode: str) -> int:
    if mode in _ONE_BYTE_MODES:
        return 1
    return 2 if mode.startswith("I;16") else 4


def _normal_mode(mode: str, has_transparency: bool) -> str:
    """The mode :func:`_normalise_mode` turns ``mode`` into, before any alpha is dropped."""
    if mode.startswith("I;16") or mode in ("I", "F", "1"):
        return "L"
    if mode in ("P", "PA"):
        return "RGBA" if mode == "PA" or has_transparency else "RGB"
    if mode in ("L", "RGB"):
        if has_transparency:
            return "LA" if mode == "L" else "RGBA"
        return mode
    if mode in ("LA", "RGBA"):
        return mode
    if mode in ("La", "RGBa"):
        return mode[:-1] + "A"
    return "RGB"


def working_bytes(
    mode: str,
    size: tuple[int, int],
    target: tuple[int, int] | None,
    *,
    has_transparency: bool = False,
    rotate: bool = False,
) -> int:
    """Estimate the memory a preparation needs at its peak, before decoding anything.

    Args:
        mode: The Pillow mode the picture decodes to.
        size: The size it decodes at (after any DCT scaling).
        target: The size it is resampled to, or None when it keeps its size.
        has_transparency: The picture declares a transparent colour.
        rotate: It is turned upright afterwards (a full copy).

    Returns:
        Bytes: the largest set of full-size pictures alive at once, from the decoded
        one through mode conversion, premultiplied alpha and ``reduce()``.
    """
    width, height = size
    pixels = width * height
    stored = _bytes_per_pixel(mode)
    normal_mode = _normal_mode(mode, has_transparency)
    normal = 1 if normal_mode == "L" else 4
    steps: float = stored
    if mode.startswith("I;16"):
        steps += 2 * 4  # widened to 32 bits, then scaled: two copies
    elif normal_mode != mode:
        steps += normal  # the decoded picture and its converted copy
    alpha = normal_mode in ("LA", "RGBA")
    if target is not None:
        # Resampling premultiplies alpha (a copy), reduce()s by the integer factor
        # that leaves Lanczos a factor of two, then runs Lanczos across, then down.
        factor_x = max(1, int(width / max(1, target[0]) / _REDUCING_GAP))
        factor_y = max(1, int(height / max(1, target[1]) / _REDUCING_GAP))
        reduced = normal / (factor_x * factor_y) if factor_x * factor_y > 1 else 0.0
        across = normal * target[0] / max(1, width) / factor_y
        steps = max(steps, normal * (2 if alpha else 1) + reduced + across)
        out_pixels = target[0] * target[1]
    else:
        steps = max(steps, normal * (2 if rotate else 1))
        out_pixels = pixels
    # Alongside: the output, its converted copy and the encoder's.
    return int(pixels * steps) + 3 * 4 * out_pixels


def _verify(im: Image.Image) -> None:
    """Decode a pass-through image fully, so damaged data is caught here, not by the API."""
    if im.format in ("JPEG", "MPO"):
        # Scaled decoding still reads every entropy-coded byte, at a fraction of the cost.
        im.draft(None, (max(1, im.width // 8), max(1, im.height // 8)))
    im.load()


# -- pixels --------------------------------------------------------------------------------


def _normalise_mode(im: Image.Image, notes: list[str]) -> Image.Image:
    """Bring any Pillow mode to L, LA, RGB or RGBA, dropping an alpha channel nobody can see."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        if mode != "I":
            im = im.convert("I")
        # A plain convert("L") would clip everything above 255 to white; scale instead.
        im = im.point(lambda v: v * (1 / 257)).convert("L")
        notes.append("Converted 16-bit samples to 8-bit.")
    elif mode == "F":
        im = im.convert("L")
        notes.append("Converted floating-point samples to 8-bit.")
    elif mode == "CMYK":
        im = im.convert("RGB")
        notes.append("Converted CMYK colours to RGB.")
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or im.has_transparency_data
        im = im.convert("RGBA" if has_alpha else "RGB")
        if has_alpha:
            notes.append("Converted palette colours with transparency to RGBA.")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("RGBa", "La"):
        im = im.convert(mode[:-1] + "A")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        # YCbCr, LAB, HSV, RGBX and the rest.
        im = im.convert("RGB")
    elif mode in ("L", "RGB") and "transparency" in im.info:
        im = im.convert("LA" if mode == "L" else "RGBA")
    if im.mode in ("LA", "RGBA"):
        # Per-band extrema in one pass, without copying the alpha channel out.
        extrema = im.getextrema()
        alpha_low = extrema[-1][0] if isinstance(extrema[-1], tuple) else extrema[0]
        if alpha_low == 255:
            im = im.convert(im.mode[:-1])
    return im


def _resample(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Shrink to ``size``: integer ``reduce()`` first, then one Lanczos pass.

    ``reducing_gap`` makes Pillow box-reduce by the largest integer factor that still
    leaves the Lanczos pass a factor of two, and premultiplies alpha only once for both.
    """
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)


# -- encoding ------------------------------------------------------------------------------


def _encode(
    im: Image.Image,
    budget: _Budget,
    notes: list[str],
    *,
    prefer_lossless: bool,
    png_estimate: float,
    icc_profile: bytes | None,
) -> tuple[bytes, str, int | None, Image.Image]:
    """Encode once at the best quality that fits, shrinking further only as a last resort."""
    has_alpha = im.mode in ("LA", "RGBA")
    if (prefer_lossless or has_alpha) and png_estimate <= budget.max_bytes * _PNG_HOPELESS_FACTOR:
        png = _save(
            im, "PNG", _profile_for(im.mode, icc_profile), compress_level=_PNG_COMPRESS_LEVEL
        )
        if budget.fits(len(png)):
            return png, "image/png", None, im
    for _ in range(_MAX_SHRINK_ROUNDS):
        if has_alpha:
            fitted = _fit_quality(im, "WEBP", WEBP_QUALITIES, budget, icc_profile)
        else:
            fitted = _fit_quality(im, "JPEG", JPEG_QUALITIES, budget, icc_profile)
        encoded, quality, smallest = fitted
        if encoded is not None:
            kind = "WebP" if has_alpha else "JPEG"
            media_type = "image/webp" if has_alpha else "image/jpeg"
            notes.append(f"Encoded as {kind} at quality {quality}.")
            return encoded, media_type, quality, im
        # Even the lowest quality is too big: lose pixels instead, in proportion.
        shrink = math.sqrt(budget.max_bytes / smallest) * 0.9
        size = (max(1, int(im.width * shrink)), max(1, int(im.height * shrink)))
        im = im.resize(size, Image.Resampling.LANCZOS)
        notes.append(f"Reduced to {size[0]}x{size[1]} to fit the 5 MB limit.")
    raise ImageTooLargeError("The image could not be made small enough to fit the 5 MB limit.")


def _fit_quality(
    im: Image.Image,
    fmt: str,
    qualities: tuple[int, ...],
    budget: _Budget,
    icc_profile: bytes | None,
) -> tuple[bytes | None, int, int]:
    """Return the highest-quality encoding that fits, its quality and the smallest size seen.

    The first quality usually fits; otherwise a binary search over the ladder keeps the
    number of encodes logarithmic.
    """
    profile = _profile_for(im.mode, icc_profile)
    mode = "L" if fmt == "JPEG" and im.mode == "LA" else None
    if fmt == "WEBP" and im.mode == "LA":
        mode = "RGBA"
    source = im.convert(mode) if mode is not None else im

    def encode(quality: int) -> bytes:
        return _save(source, fmt, profile, quality=quality)

    best = encode(qualities[0])
    if budget.fits(len(best)):
        return best, qualities[0], len(best)
    smallest = len(best)
    found: tuple[bytes, int] | None = None
    low, high = 1, len(qualities) - 1
    while low <= high:
        mid = (low + high) // 2
        candidate = encode(qualities[mid])
        smallest = min(smallest, len(candidate))
        if budget.fits(len(candidate)):
            found = candidate, qualities[mid]
            high = mid - 1
        else:
            low = mid + 1
    if found is None:
        return None, qualities[-1], smallest
    return found[0], found[1], smallest


def _profile_for(mode: str, icc_profile: bytes | None) -> bytes | None:
    """Keep a colour profile only when it describes the colour space being written."""
    if icc_profile is None or len(icc_profile) < 20:
        return None
    space = icc_profile[16:20]
    if (space == b"RGB " and mode in ("RGB", "RGBA")) or (
        space == b"GRAY" and mode in ("L", "LA")
    ):
        return icc_profile
    return None


def _save(im: Image.Image, fmt: str, icc_profile: bytes | None, **options: Any) -> bytes:
    buffer = io.BytesIO()
    if icc_profile is not None:
        options["icc_profile"] = icc_profile
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def _base64_length(size: int) -> int:
    return 4 * -(-size // 3)
