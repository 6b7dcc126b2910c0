"""Interface icons: Lucide's drawings as alpha masks, tinted with the palette.

The masks (``resources/icons/ui/*.png``, drawn by ``packaging/make_ui_icons.py``)
are white on transparent; :func:`icon` paints them in any colour, so one set
serves light and dark themes, and no SVG renderer ships with the app.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QWidget

from desktop_app.core.resources import resource_path

SIZES = (16, 20, 24, 32, 48)


@functools.cache
def _mask(name: str) -> QImage:
    path = resource_path(f"icons/ui/{name}.png")
    image = QImage(str(path))
    if image.isNull():
        raise KeyError(f"no icon named {name!r}")
    return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)


def _tinted(name: str, size: int, color: QColor) -> QPixmap:
    mask = _mask(name).scaled(
        size,
        size,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    painter = QPainter(mask)
    # Keep the mask's coverage, take the colour: the stroke comes out in ``color``.
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(mask.rect(), color)
    painter.end()
    return QPixmap.fromImage(mask)


@functools.cache
def _icon(name: str, rgba: int, disabled_rgba: int) -> QIcon:
    result = QIcon()
    for size in SIZES:
        result.addPixmap(_tinted(name, size, QColor.fromRgba(rgba)), QIcon.Mode.Normal)
        result.addPixmap(_tinted(name, size, QColor.fromRgba(disabled_rgba)), QIcon.Mode.Disabled)
    return result


def icon(name: str, color: QColor, disabled: QColor | None = None) -> QIcon:
    """The icon ``name`` (a Lucide name, e.g. ``copy``) drawn in ``color``.

    Raises:
        KeyError: There is no such icon.
    """
    faded = (
        disabled if disabled is not None else QColor(color.red(), color.green(), color.blue(), 90)
    )
    return _icon(name, color.rgba(), faded.rgba())


def icon_for(
    widget: QWidget, name: str, role: QPalette.ColorRole = QPalette.ColorRole.ButtonText
) -> QIcon:
    """The icon ``name`` in the colour ``role`` has in ``widget``'s palette."""
    palette = widget.palette()
    return icon(
        name,
        palette.color(QPalette.ColorGroup.Active, role),
        palette.color(QPalette.ColorGroup.Disabled, role),
    )
