"""Interface icons: every mask ships, and an icon takes the colour it is asked for."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor, QIcon

from desktop_app.core.resources import resource_path
from desktop_app.ui import icons

ROOT = Path(__file__).resolve().parents[2]


def icon_names() -> tuple[str, ...]:
    spec = importlib.util.spec_from_file_location(
        "make_ui_icons", ROOT / "packaging/make_ui_icons.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names: tuple[str, ...] = module.ICONS
    return names


def test_every_icon_has_a_mask_and_its_source(qapp: Any) -> None:
    for name in icon_names():
        assert resource_path(f"icons/ui/{name}.png").is_file(), name
        assert resource_path(f"icons/ui/svg/{name}.svg").is_file(), name
    assert "ISC" in resource_path("icons/ui/svg/LICENSE").read_text(encoding="utf-8")


def test_an_icon_is_drawn_in_the_colour_asked_for(qapp: Any) -> None:
    red = QColor("#d02020")
    image = icons.icon("copy", red).pixmap(32, 32).toImage()
    painted = [
        image.pixelColor(x, y)
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y).alpha() > 200
    ]
    assert painted, "the stroke left no opaque pixel"
    assert all((c.red(), c.green(), c.blue()) == (0xD0, 0x20, 0x20) for c in painted)
    faded = icons.icon("copy", red).pixmap(32, 32, QIcon.Mode.Disabled).toImage()
    assert max(faded.pixelColor(x, y).alpha() for x in range(32) for y in range(32)) < 200


def test_an_unknown_icon_is_a_clear_error(qapp: Any) -> None:
    with pytest.raises(KeyError, match="no icon named"):
        icons.icon("no-such-icon", QColor("black"))
