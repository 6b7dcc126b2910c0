"""Preparing one attachment: read, fit to the model, thumbnail; runs in a worker thread.

Pure Python and Pillow, no Qt: the attachment model hands each job to a worker
and applies the :class:`Outcome` on the UI thread.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from desktop_app.core.catalog import ImageLimits
from desktop_app.core.errors import ImageError

if TYPE_CHECKING:
    from desktop_app.core.images import PreparedImage

THUMBNAIL_SIZE = 96
_log = logging.getLogger("iris.attachments")


def make_thumbnail(data: bytes, size: int = THUMBNAIL_SIZE) -> bytes | None:
    """Return a PNG at most ``size`` px on its long side, or None if ``data`` will not decode.

    Meant for prepared images, which are already upright and within the model's limits.
    """
    from PIL import Image

    try:
        # Prepared images only ever hold the formats the service takes.
        with Image.open(io.BytesIO(data), formats=("JPEG", "PNG", "GIF", "WEBP")) as opened:
            im: Image.Image = opened
            if im.mode in ("1", "P", "PA"):
                # Palette images resize with nearest-neighbour only; that looks broken.
                im = im.convert("RGBA")
            # thumbnail() uses JPEG DCT scaling, so a large JPEG is never fully decoded.
            im.thumbnail((size, size), Image.Resampling.LANCZOS)
            if im.mode not in ("L", "LA", "RGB", "RGBA"):
                im = im.convert("RGBA")
            buffer = io.BytesIO()
            im.save(buffer, "PNG")
            return buffer.getvalue()
    except Exception:  # a preview is a nicety: its failure must not fail a good image
        _log.debug("no thumbnail", exc_info=True)
        return None


@dataclasses.dataclass(frozen=True)
class Outcome:
    loaded: bytes | None
    prepared: PreparedImage | None = None
    thumbnail_png: bytes | None = None
    error: str | None = None


def prepare(
    name: str,
    data: bytes,
    load: Callable[[], bytes] | None,
    limits: ImageLimits,
    images_in_request: int,
) -> Outcome:
    """Read (when deferred), prepare and thumbnail one image; runs in a worker thread."""
    from desktop_app.core import images

    loaded: bytes | None = None
    try:
        if load is not None:
            loaded = data = load()
        # Looked up at call time, so tests can wrap it.
        prepared = images.prepare_image(
            data, limits, images_in_request=images_in_request, name=name
        )
    except ImageError as exc:
        return Outcome(loaded, error=str(exc))
    return Outcome(loaded, prepared, make_thumbnail(prepared.data))
