"""How the conversation looks: the text size people choose in Settings › Appearance.

The theme follows the system's palette and its light or dark mode; the only
choice here is the conversation's text size, ``Settings.text_scale``, a
factor of the system's text size. :func:`apply_text_scale` is the one place it
is applied: the conversation's widgets inherit the font set on the view, so
they need not read the setting themselves. A widget that sets its own font
should build it with :func:`conversation_font` instead.
"""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QWidget

from desktop_app.core.settings import TEXT_SCALES

#: The sizes offered in Settings. A stored factor between them (written by
#: hand) is offered too, so choosing nothing never changes it.
TEXT_SIZES: tuple[float, ...] = (0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0)
_NAMES = {0.9: "Small", 1.0: "Default", 1.15: "Large", 1.3: "Larger"}
assert all(TEXT_SCALES[0] <= factor <= TEXT_SCALES[1] for factor in TEXT_SIZES)


def text_size_label(factor: float) -> str:
    """How a text size is named in Settings: "Large (115%)", or "175%"."""
    percent = f"{round(factor * 100)}%"
    name = _NAMES.get(factor)
    return f"{name} ({percent})" if name else percent


def conversation_font(base: QFont, scale: float) -> QFont:
    """``base`` made ``scale`` times larger (or smaller), whatever unit its size is in."""
    font = QFont(base)
    if base.pointSizeF() > 0:
        font.setPointSizeF(base.pointSizeF() * scale)
    elif base.pixelSize() > 0:
        font.setPixelSize(max(1, round(base.pixelSize() * scale)))
    return font


def apply_text_scale(view: QWidget, scale: float) -> None:
    """Show the text in ``view`` and everything inside it ``scale`` times the system's size.

    The base is the application's font for the view's kind of widget, never the
    view's current font, so applying a new scale does not compound the old one.
    """
    view.setFont(conversation_font(QApplication.font(view), scale))
