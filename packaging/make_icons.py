"""Generate the Iris app icon: resources/icons/iris.svg plus PNG sizes, .ico and .icns.

    python packaging/make_icons.py

The SVG and the raster images are drawn from the same geometry (below), the
rasters with Pillow at 4x and scaled down, so no SVG renderer is needed. The
outputs are committed; run this again only after changing the design.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

# Geometry on a 512 x 512 canvas.
BOX = (32, 32, 480, 480)  # rounded square
RADIUS = 96
TOP, BOTTOM = "#4F46E5", "#7C3AED"  # background gradient, top-left to bottom-right
EYE_LEFT, EYE_RIGHT, EYE_HALF_HEIGHT = 96, 416, 110  # almond: two circular arcs
IRIS_R, PUPIL_R = 92, 40
GLINT = (284, 228, 14)
WHITE, IRIS, IRIS_RING, PUPIL = "#FFFFFF", "#06B6D4", "#0E7490", "#0F172A"
RING_WIDTH = 10
C = 256

_half_chord = (EYE_RIGHT - EYE_LEFT) / 2
ARC_R = (_half_chord**2 + EYE_HALF_HEIGHT**2) / (2 * EYE_HALF_HEIGHT)


def svg() -> str:
    """Return the icon as SVG source."""
    r = f"{ARC_R:.2f}"
    x0, x1, y0, y1 = BOX
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">
  <title>Iris</title>
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="{TOP}"/>
      <stop offset="1" stop-color="{BOTTOM}"/>
    </linearGradient>
  </defs>
  <rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="{RADIUS}" fill="url(#bg)"/>
  <path d="M {EYE_LEFT} {C} A {r} {r} 0 0 1 {EYE_RIGHT} {C} A {r} {r} 0 0 1 {EYE_LEFT} {C} Z"
        fill="{WHITE}"/>
  <circle cx="{C}" cy="{C}" r="{IRIS_R - RING_WIDTH / 2}" fill="{IRIS}"
          stroke="{IRIS_RING}" stroke-width="{RING_WIDTH}"/>
  <circle cx="{C}" cy="{C}" r="{PUPIL_R}" fill="{PUPIL}"/>
  <circle cx="{GLINT[0]}" cy="{GLINT[1]}" r="{GLINT[2]}" fill="{WHITE}"/>
</svg>
"""


def raster(size: int) -> Image.Image:
    """Draw the icon at ``size`` pixels square."""
    k = 4 * size / 512  # supersampling scale
    big = round(512 * k)

    def s(v: float) -> float:
        return v * k

    def disc(cx: float, cy: float, r: float) -> tuple[float, float, float, float]:
        return (s(cx - r), s(cy - r), s(cx + r), s(cy + r))

    # Background: diagonal gradient clipped to a rounded square.
    vertical = Image.linear_gradient("L")
    horizontal = vertical.transpose(Image.Transpose.TRANSPOSE)
    grad = ImageChops.add(vertical, horizontal, scale=2.0).resize((big, big))
    bg = Image.composite(
        Image.new("RGBA", (big, big), BOTTOM), Image.new("RGBA", (big, big), TOP), grad
    )
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).rounded_rectangle(tuple(s(v) for v in BOX), radius=s(RADIUS), fill=255)
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    img.paste(bg, (0, 0), mask)

    # Almond eye: the intersection of two discs.
    offset = ARC_R - EYE_HALF_HEIGHT
    upper = Image.new("L", (big, big), 0)
    lower = Image.new("L", (big, big), 0)
    ImageDraw.Draw(upper).ellipse(disc(C, C + offset, ARC_R), fill=255)
    ImageDraw.Draw(lower).ellipse(disc(C, C - offset, ARC_R), fill=255)
    img.paste(WHITE, (0, 0), ImageChops.multiply(upper, lower))

    draw = ImageDraw.Draw(img)
    draw.ellipse(disc(C, C, IRIS_R), fill=IRIS_RING)
    draw.ellipse(disc(C, C, IRIS_R - RING_WIDTH), fill=IRIS)
    draw.ellipse(disc(C, C, PUPIL_R), fill=PUPIL)
    draw.ellipse(disc(*GLINT), fill=WHITE)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write every icon file into resources/icons/."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "iris.svg").write_text(svg(), encoding="utf-8")
    for size in SIZES:
        raster(size).save(OUT / f"iris-{size}.png", optimize=True)
    raster(256).save(OUT / "iris.ico", sizes=[(n, n) for n in (16, 24, 32, 48, 64, 128, 256)])
    raster(1024).save(OUT / "iris.icns")
    print(f"wrote {len(SIZES) + 3} files to {OUT}")


if __name__ == "__main__":
    main()
