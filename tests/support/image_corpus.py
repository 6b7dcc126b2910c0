"""Generators for the image test corpus and the benchmarks: nothing binary is committed.

Every function is deterministic for a given seed, so failures reproduce.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter


def encode(im: Image.Image, fmt: str, **options: Any) -> bytes:
    """Save ``im`` in ``fmt`` and return the bytes."""
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randrange(256), rng.randrange(256), rng.randrange(256)


def photo(width: int, height: int, seed: int = 0, *, grain: float = 8.0) -> Image.Image:
    """A photo-like RGB picture: soft gradients, blurred shapes, crisp detail and sensor grain.

    Flat colour or pure noise would make JPEG sizes and decode times unrealistic.
    """
    rng = random.Random(seed)
    small = (max(1, width // 8), max(1, height // 8))
    red = Image.linear_gradient("L").resize(small)
    green = Image.radial_gradient("L").resize(small)
    blue = Image.linear_gradient("L").rotate(90).resize(small)
    base = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(base)
    for _ in range(40):
        x, y = rng.randrange(small[0]), rng.randrange(small[1])
        rx, ry = rng.randrange(2, max(3, small[0] // 4)), rng.randrange(2, max(3, small[1] // 4))
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=_colour(rng))
    base = base.filter(ImageFilter.GaussianBlur(2))
    im = base.resize((width, height), Image.Resampling.BICUBIC)
    # Crisp edges at full resolution, like foliage, text on signs or fabric.
    draw = ImageDraw.Draw(im)
    for _ in range(max(1, width * height // 40_000)):
        x, y = rng.randrange(width), rng.randrange(height)
        size = rng.randrange(2, 40)
        draw.line((x, y, x + size, y + rng.randrange(-size, size + 1)), fill=_colour(rng), width=2)
    if grain > 0:
        noise = Image.effect_noise((width, height), grain).convert("RGB")
        im = ImageChops.add(im, noise, scale=1.0, offset=-128)
    return im


def photo_jpeg(width: int, height: int, seed: int = 0, quality: int = 92) -> bytes:
    """A photo-like JPEG as a camera would write it."""
    return encode(photo(width, height, seed), "JPEG", quality=quality)


def screenshot(width: int, height: int, seed: int = 0, *, alpha: bool = False) -> Image.Image:
    """A screenshot-like picture: flat panels, rows of text-like marks, optional clear corners."""
    rng = random.Random(seed)
    im = Image.new("RGBA" if alpha else "RGB", (width, height), (246, 246, 248, 255))
    draw = ImageDraw.Draw(im)
    panel = max(8, width // 5)
    draw.rectangle((0, 0, panel, height), fill=(40, 44, 52, 255))
    draw.rectangle((0, 0, width, max(4, height // 30)), fill=(60, 120, 200, 255))
    line_height = max(4, height // 160)
    for top in range(height // 20, height - line_height, line_height * 2):
        left = panel + line_height * 2
        while left < width - line_height * 4:
            word = rng.randrange(line_height * 2, line_height * 8)
            draw.rectangle((left, top, left + word, top + line_height), fill=(30, 30, 30, 255))
            left += word + line_height
    if alpha:
        # Rounded window corners: the only see-through pixels, as in real window captures.
        mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(mask).rounded_rectangle(
            (0, 0, width - 1, height - 1), radius=max(2, width // 50), fill=255
        )
        im.putalpha(mask)
    return im


def exif_oriented_jpeg(orientation: int = 6) -> bytes:
    """A 400x200 JPEG, left half red and right half blue, tagged with ``orientation``."""
    im = Image.new("RGB", (400, 200), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 200, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(im, "JPEG", quality=95, exif=exif)


def cmyk_jpeg() -> bytes:
    """A CMYK JPEG, as print workflows produce."""
    return encode(photo(640, 480, 3).convert("CMYK"), "JPEG", quality=90)


def gray16_png() -> bytes:
    """A 16-bit grayscale PNG with a full-range horizontal ramp (0 at left, 65535 at right)."""
    ramp = Image.linear_gradient("L").rotate(90).resize((512, 256))
    wide = ramp.convert("I").point(lambda v: v * 257)
    return encode(wide.convert("I;16"), "PNG")


def palette_transparent_png() -> bytes:
    """A palette PNG whose colour index 0 is transparent."""
    im = Image.new("P", (300, 200), 0)
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    ImageDraw.Draw(im).rectangle((50, 50, 250, 150), fill=1)
    return encode(im, "PNG", transparency=0)


def la_png() -> bytes:
    """A grayscale-with-alpha PNG with a transparent left half."""
    gray = Image.linear_gradient("L").resize((320, 240))
    alpha = Image.new("L", (320, 240), 255)
    alpha.paste(0, (0, 0, 160, 240))
    return encode(Image.merge("LA", (gray, alpha)), "PNG")


def animated_gif() -> bytes:
    """A three-frame GIF: red, green, then blue."""
    frames = [Image.new("RGB", (120, 80), colour) for colour in ("red", "lime", "blue")]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def tiny_png() -> bytes:
    """A 1x1 opaque PNG."""
    return encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG")


def noise_png(width: int, height: int) -> bytes:
    """Random RGB noise saved as PNG: incompressible, so it cannot stay lossless under 5 MB."""
    return encode(Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)), "PNG")


def png_header_only(width: int, height: int, mode: int = 2) -> bytes:
    """A PNG that declares ``width`` x ``height`` but carries no pixel data at all.

    Args:
        width: Declared width.
        height: Declared height.
        mode: PNG colour type (0 gray, 2 RGB, 6 RGBA).
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def heic_header() -> bytes:
    """The opening ``ftyp`` box of an iPhone HEIC file, which is all detection needs."""
    brands = b"heic" + b"\x00\x00\x00\x00" + b"mif1" + b"heic"
    box = b"ftyp" + brands
    return struct.pack(">I", len(box) + 4) + box + b"\x00" * 64


def avif_header() -> bytes:
    """The opening ``ftyp`` box of an AVIF file, followed by nothing useful."""
    box = b"ftyp" + b"avif" + b"\x00\x00\x00\x00" + b"avif" + b"mif1" + b"miaf"
    return struct.pack(">I", len(box) + 4) + box + b"\x00" * 64
