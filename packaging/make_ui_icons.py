"""Bring the interface icons in from Lucide, and draw each as an alpha mask.

    npm pack lucide-static && tar xzf lucide-static-*.tgz
    python packaging/make_ui_icons.py package

Lucide (ISC licence) draws every icon as strokes in ``currentColor``. The chosen
SVGs are copied to ``resources/icons/ui/svg`` with the licence, and each is drawn
once, here, as a white-on-transparent PNG mask at :data:`MASK_SIZE` px. At run
time the window tints the masks with the palette (``desktop_app.ui.icons``), so
it needs no SVG renderer: Qt's SVG module stays out of the bundle. The outputs
are committed; run this again only to add or change an icon.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# The icons the window uses, by Lucide name.
ICONS = (
    "arrow-down",
    "arrow-up",
    "brain",
    "check",
    "chevron-down",
    "chevron-left",
    "chevron-right",
    "circle-alert",
    "circle-check",
    "code",
    "copy",
    "download",
    "ellipsis",
    "file-text",
    "image",
    "info",
    "key-round",
    "lightbulb",
    "message-square",
    "moon",
    "panel-left",
    "paperclip",
    "pencil",
    "play",
    "plus",
    "quote",
    "refresh-cw",
    "rotate-ccw",
    "scissors",
    "scroll-text",
    "search",
    "settings",
    "shield-alert",
    "sliders-horizontal",
    "square",
    "square-pen",
    "sun",
    "trash-2",
    "triangle-alert",
    "undo-2",
    "upload",
    "wrench",
    "x",
)
MASK_SIZE = 96
OUT = Path(__file__).resolve().parent.parent / "resources" / "icons" / "ui"
# The style sheet takes image files, which cannot be tinted at run time: arrows for
# combo and spin boxes, dark for light themes and light for dark themes, and the
# check mark in white and black for the accent-coloured check box (the colours are
# ``STYLE_IMAGE_COLOURS`` in desktop_app.ui.style). Files: ``style/<icon>-<tint>.png``.
STYLE_IMAGES = {
    "chevron-down": {"on-light": "#404040", "on-dark": "#d6d6d6"},
    "chevron-up": {"on-light": "#404040", "on-dark": "#d6d6d6"},
    "check": {"white": "#ffffff", "black": "#000000"},
}
STYLE_SIZE = 16


def main(package: Path) -> int:
    """Copy the SVGs and licence from an unpacked lucide-static ``package``; draw the masks."""
    from PySide6.QtCore import QByteArray, QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])
    (OUT / "svg").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(package / "LICENSE", OUT / "svg" / "LICENSE")
    for name in ICONS:
        source = (package / "icons" / f"{name}.svg").read_text(encoding="utf-8")
        (OUT / "svg" / f"{name}.svg").write_text(source, encoding="utf-8")
        renderer = QSvgRenderer(QByteArray(source.replace("currentColor", "#ffffff").encode()))
        image = QImage(MASK_SIZE, MASK_SIZE, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, MASK_SIZE, MASK_SIZE))
        painter.end()
        if not image.save(str(OUT / f"{name}.png")):
            print(f"could not write {name}.png", file=sys.stderr)
            return 1
    (OUT / "style").mkdir(exist_ok=True)
    for name, tints in STYLE_IMAGES.items():
        source = (package / "icons" / f"{name}.svg").read_text(encoding="utf-8")
        for suffix, colour in tints.items():
            renderer = QSvgRenderer(QByteArray(source.replace("currentColor", colour).encode()))
            for scale, tail in ((1, ""), (2, "@2x")):
                size = STYLE_SIZE * scale
                image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
                image.fill(Qt.GlobalColor.transparent)
                painter = QPainter(image)
                painter.setRenderHint(QPainter.RenderHint.Antialiasing)
                renderer.render(painter, QRectF(0, 0, size, size))
                painter.end()
                target = OUT / "style" / f"{name}-{suffix}{tail}.png"
                if not image.save(str(target)):
                    print(f"could not write {target.name}", file=sys.stderr)
                    return 1
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
