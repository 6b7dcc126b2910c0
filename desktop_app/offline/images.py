"""Image checks for the offline server: format sniffing and header-only dimensions.

The service rejects an image whose bytes do not match its declared media type and
one whose sides are too long, so the offline server needs both facts. They come
from the first bytes of the file; pixels are never decoded. Pillow is only a
fallback for headers the small parsers here do not understand, and it is
imported on first use so that starting the server stays fast.
"""

from __future__ import annotations

import io
import struct

MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers that stand alone without a length field.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def sniff_media_type(data: bytes) -> str | None:
    """Return the media type the magic bytes of ``data`` announce, or None.

    Args:
        data: The decoded image file.

    Returns:
        One of :data:`MEDIA_TYPES`, or None when the bytes are none of them.
    """
    if data.startswith(_PNG_SIGNATURE):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"GIF8"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_size(data: bytes, media_type: str) -> tuple[int, int] | None:
    """Return ``(width, height)`` read from the header of an image file.

    Args:
        data: The decoded image file.
        media_type: Its media type, already checked against the magic bytes.

    Returns:
        The pixel size, or None when the header cannot be read.
    """
    try:
        size = _PARSERS[media_type](data)
    except (KeyError, IndexError, struct.error):
        size = None
    if size is None:
        size = _pillow_size(data)
    if size is None or size[0] <= 0 or size[1] <= 0:
        return None
    return size


def _png_size(data: bytes) -> tuple[int, int] | None:
    # The IHDR chunk always comes first, right after the 8-byte signature.
    if data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _gif_size(data: bytes) -> tuple[int, int] | None:
    width, height = struct.unpack("<HH", data[6:10])
    return int(width), int(height)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    end = len(data)
    while pos < end:
        if data[pos] != 0xFF:
            return None
        # Any number of 0xFF fill bytes may precede a marker.
        while pos < end and data[pos] == 0xFF:
            pos += 1
        if pos >= end:
            return None
        marker = data[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA):
            # End of image or start of scan: no frame header came before the pixels.
            return None
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[pos + 3 : pos + 7])
            return int(width), int(height)
        pos += length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        # Lossy: a 3-byte frame tag, the start code, then 14-bit sizes.
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        # Lossless: a signature byte, then width-1 and height-1 in 14 bits each.
        if data[20] != 0x2F:
            return None
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        # Extended: 24-bit canvas width-1 and height-1.
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


_PARSERS = {
    "image/png": _png_size,
    "image/gif": _gif_size,
    "image/jpeg": _jpeg_size,
    "image/webp": _webp_size,
}


def _pillow_size(data: bytes) -> tuple[int, int] | None:
    import warnings

    from PIL import Image, UnidentifiedImageError

    # Image.open reads the header only. Its decompression-bomb guard is about
    # decoding, which never happens here, and a huge image must be reported as
    # too large rather than crash the request.
    try:
        with (
            warnings.catch_warnings(action="ignore", category=Image.DecompressionBombWarning),
            # Only the formats the API accepts: PostScript must never start Ghostscript.
            Image.open(io.BytesIO(data), formats=("PNG", "GIF", "JPEG", "WEBP")) as image,
        ):
            width, height = image.size
    except (
        Image.DecompressionBombError,
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
    ):
        return None
    return int(width), int(height)
