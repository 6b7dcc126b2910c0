"""The application's one stylesheet, built from the system palette at run time.

Iris follows the system's light or dark theme: :func:`install` builds a Qt style
sheet from the application palette and builds it again whenever the palette (or
the application font) changes, so both themes look designed with the same rules.
Widgets never hard-code colours or carry their own style sheets; they give
themselves stable object names and, where the look depends on state, dynamic
properties, and the rules here target those.

Colours
    Every colour comes from the palette, or from a small blend of two palette
    colours (a *tint*: the base with a fraction of the highlight, or of a fixed
    hue for warnings, errors and refusals). Each tint is checked as it is made:
    the text drawn on it keeps a WCAG contrast ratio of at least 4.5:1, and the
    blend is weakened until it does. Foreground colours are darkened (light
    themes) or lightened (dark themes) until they reach their ratio against every
    surface they sit on. :class:`Theme` holds the result; :meth:`Theme.text_pairs`,
    :meth:`Theme.focus_pairs` and :meth:`Theme.graphic_pairs` list what is drawn
    on what, for the tests to check in several palettes.

Focus
    Every control that takes the keyboard shows a 2 px ring when focused, at
    least 3:1 against the control's fill and the surface around it: push and
    tool buttons, check boxes, inputs, combo boxes, spin boxes, lists and their
    current row, the conversation and the messages' text. Controls keep a
    transparent or 1 px border when unfocused, and give back the difference in
    padding, so nothing moves when the ring appears. On a filled (primary)
    button the ring is drawn in the text colour instead of the highlight.

Object names and properties styled here
    Window: ``#chatPanel`` (the reading surface; it sets ``WA_StyledBackground``),
    ``#conversationView``, ``#conversationContents``, ``#mainSplitter``,
    ``#conversationList``, ``#dateGroupHeader``.
    Notifications: ``#notice[level="info"|"warning"|"error"]``, ``#noticeText``.
    First run: ``#firstRunBanner``, ``#firstRunTitle``, ``#firstRunText``;
    empty conversation: ``#emptyStateTitle``, ``#emptyStateText``,
    ``#examplePrompt``, ``#examplePromptTitle``, ``#examplePromptDescription``.
    Messages: ``#userMessage`` and ``#assistantMessage`` stay transparent; the
    person's words sit in ``#userBubble`` (or anything with ``kind="user"``);
    ``kind`` = ``info``, ``warning``, ``error``, ``refusal``, ``success``,
    ``max-tokens`` (a warning), ``stopped`` or ``thinking`` (neutral) gives a
    tinted, rounded box; ``#speakerLabel``, ``#messageMetaLabel``, ``#usageLabel``,
    ``#versionLabel``, ``#turnNotice``.
    Composer: ``#composerFrame`` with ``focused`` and ``editing``, ``#promptEdit``
    (borderless inside the frame), ``#sendButton`` (a push button, or a tool button
    with ``mode="send"|"stop"``), ``#modelPicker``,
    ``#attachmentChip[state="preparing"|"ready"|"failed"]``,
    ``#attachmentChipDetail[state]``, ``#editingBar``.
    Settings: ``#settingsPageList``, ``#settingsPageTitle``,
    ``#conversationSettingsButton[overridden="true"]``.
    Any button with ``primary="true"`` is drawn filled with the accent colour;
    any label with ``role="muted"`` uses the secondary text colour.

Cost
    A style sheet makes Qt draw every widget through its style sheet style. Built
    offscreen here, a message widget took about 1.4 ms and 150 KB more with it
    (most of that is Qt's, not these rules'); a 1,000-message conversation
    opened in about 250 ms instead of 130 ms, well inside its budget.

Fonts
    No font is bundled: Iris uses the system's UI font at the system's size, and
    only derives larger sizes for headings from it. Under Xvfb on Debian Qt
    resolves its default ("Sans Serif", 9 pt) to DejaVu Sans at 12 px, which
    covers every character the window uses (dashes, ellipsis, guillemets, curly
    quotes, accented Latin, Greek and Cyrillic) and has a large x-height (7 px at
    that size), so it reads well. The platforms' own defaults are good UI fonts
    by design: Segoe UI on Windows, SF Pro on macOS, Cantarell or Adwaita Sans on
    GNOME and Noto Sans on KDE. A bundled font would override the person's
    choice and size, and cost megabytes the Linux bundle does not have.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence

from PySide6.QtCore import QEvent, QObject, QSize
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from desktop_app.core.resources import resource_path

Rgb = tuple[int, int, int]

#: The WCAG minimum for text, and for the focus ring and meaningful graphics.
TEXT_CONTRAST = 4.5
GRAPHIC_CONTRAST = 3.0

_BLACK: Rgb = (0, 0, 0)
_WHITE: Rgb = (255, 255, 255)
# Hues for the tones the palette has no role for, before they are tinted or
# adjusted to the theme.
_AMBER: Rgb = (0xD9, 0x8E, 0x04)
_RED: Rgb = (0xD6, 0x33, 0x33)
_VIOLET: Rgb = (0x8A, 0x5C, 0xD6)
_GREEN: Rgb = (0x2E, 0x9E, 0x5B)
#: The colours of the style sheet's image files, as ``packaging/make_ui_icons.py`` draws them.
STYLE_IMAGE_COLOURS: dict[str, Rgb] = {
    "chevron-down-on-light": (0x40, 0x40, 0x40),
    "chevron-up-on-light": (0x40, 0x40, 0x40),
    "chevron-down-on-dark": (0xD6, 0xD6, 0xD6),
    "chevron-up-on-dark": (0xD6, 0xD6, 0xD6),
    "check-white": _WHITE,
    "check-black": _BLACK,
}

TONES = ("info", "warning", "error", "refusal", "success")
#: The tone of each ``kind`` a turn's notice or box may have ("" for a neutral box).
KIND_TONES = {
    "info": "info",
    "warning": "warning",
    "error": "error",
    "refusal": "refusal",
    "success": "success",
    "max-tokens": "warning",
    "stopped": "",
    "thinking": "",
}


# -- colour arithmetic ---------------------------------------------------------------------


def luminance(color: Rgb) -> float:
    """The WCAG relative luminance of an sRGB colour, 0 (black) to 1 (white)."""

    def linear(value: int) -> float:
        s = value / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(v) for v in color)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: Rgb, second: Rgb) -> float:
    """The WCAG contrast ratio of two colours, 1 to 21."""
    high, low = sorted((luminance(first) + 0.05, luminance(second) + 0.05), reverse=True)
    return high / low


def mix(first: Rgb, second: Rgb, fraction: float) -> Rgb:
    """``first`` moved ``fraction`` of the way to ``second`` (0 gives ``first``)."""
    r, g, b = (round(a + (b - a) * fraction) for a, b in zip(first, second, strict=True))
    return (r, g, b)


def ensure_contrast(color: Rgb, backgrounds: Iterable[Rgb], minimum: float) -> Rgb:
    """``color``, darkened or lightened just enough to reach ``minimum`` on every background.

    It moves towards black or white, whichever gets there with the smaller change,
    keeping its hue as long as it can. Between a light and a dark background the
    answer is a middle tone; where none reaches ``minimum``, the one that comes
    closest is returned.
    """
    grounds = list(backgrounds)

    def worst(candidate: Rgb) -> float:
        return min((contrast(candidate, g) for g in grounds), default=21.0)

    best, best_ratio = color, worst(color)
    for step in range(41):
        for target in (_BLACK, _WHITE):
            candidate = mix(color, target, step / 40)
            ratio = worst(candidate)
            if ratio >= minimum:
                return candidate
            if ratio > best_ratio:
                best, best_ratio = candidate, ratio
    return best


def tint(ground: Rgb, hue: Rgb, fraction: float, texts: Sequence[Rgb]) -> Rgb:
    """``ground`` with up to ``fraction`` of ``hue`` blended in, keeping ``texts`` legible."""
    while fraction > 0:
        candidate = mix(ground, hue, fraction)
        if all(contrast(t, candidate) >= TEXT_CONTRAST for t in texts):
            return candidate
        fraction = round(fraction - 0.01, 2)
    return ground


def _rgb(color: QColor) -> Rgb:
    return (color.red(), color.green(), color.blue())


def _hex(color: Rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def _rgba(color: Rgb, alpha: float) -> str:
    return f"rgba({color[0]}, {color[1]}, {color[2]}, {round(alpha * 255)})"


# -- the theme -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tone:
    """The colours of one kind of notice.

    Attributes:
        fill: The tinted background.
        mark: The icon, at least 3:1 on ``fill``.
    """

    fill: Rgb
    mark: Rgb

    @property
    def edge(self) -> Rgb:
        """A quiet border in the tone's colour."""
        return mix(self.fill, self.mark, 0.45)


@dataclasses.dataclass(frozen=True)
class Pair:
    """Something drawn on something else, and the contrast it needs.

    Attributes:
        what: Where the pair is used, for messages.
        fore: The foreground (text, ring or graphic).
        back: The colour behind it.
        minimum: The ratio it must reach.
    """

    what: str
    fore: Rgb
    back: Rgb
    minimum: float

    @property
    def ratio(self) -> float:
        """The pair's contrast ratio."""
        return contrast(self.fore, self.back)


@dataclasses.dataclass(frozen=True)
class Theme:
    """The colours the stylesheet uses, derived from one palette.

    Attributes:
        dark: Whether the palette is dark.
        window: Behind the sidebar, dialogs and the menu bar.
        window_text: Text on ``window``.
        base: The reading surface: the conversation, inputs, lists, menus.
        text: Text on ``base``.
        button: A button's fill.
        button_text: A button's text.
        muted: Secondary text (hints, descriptions, usage), on ``base`` and ``window``.
        disabled_text: Text of controls that cannot be used now (no contrast required).
        border: Quiet lines: frames, separators, cards.
        control_border: The edge of buttons and inputs.
        hover: A button's fill under the pointer.
        pressed: A button's fill while pressed or checked.
        wash: The neutral colour laid translucently under a flat control on hover.
        row_hover: A list row under the pointer.
        row_selected: The selected list row.
        accent: The filled (primary) button, selected menu items, text selection.
        accent_text: Text on ``accent``.
        accent_hover: ``accent`` under the pointer.
        accent_edge: The edge of a checked box, at least 3:1 on its surroundings.
        focus: The focus ring.
        focus_on_accent: The focus ring of a filled button.
        link: Links on ``base``.
        user_bubble: The background of the person's own messages.
        banner: The first-run welcome's background.
        chip: An attachment chip's fill.
        tooltip_base: A tooltip's background.
        tooltip_text: A tooltip's text.
        scroll_handle: The scroll bar's handle.
        indicator_border: The edge of an unchecked check box, at least 3:1 on its surroundings.
        tones: The notice colours, by kind (see :data:`TONES`).
    """

    dark: bool
    window: Rgb
    window_text: Rgb
    base: Rgb
    text: Rgb
    button: Rgb
    button_text: Rgb
    muted: Rgb
    disabled_text: Rgb
    border: Rgb
    control_border: Rgb
    hover: Rgb
    pressed: Rgb
    wash: Rgb
    row_hover: Rgb
    row_selected: Rgb
    accent: Rgb
    accent_text: Rgb
    accent_hover: Rgb
    accent_edge: Rgb
    focus: Rgb
    focus_on_accent: Rgb
    link: Rgb
    user_bubble: Rgb
    banner: Rgb
    chip: Rgb
    tooltip_base: Rgb
    tooltip_text: Rgb
    scroll_handle: Rgb
    indicator_border: Rgb
    tones: dict[str, Tone]

    # The translucent wash under flat tool buttons, and its stronger pressed form.
    WASH_HOVER = 0.08
    WASH_PRESSED = 0.14

    # -- the style sheet's images ---------------------------------------------------------

    def arrow_image(self, name: str) -> str:
        """The name of the arrow image ``name`` (``chevron-down``, ``chevron-up``) to use."""
        return f"{name}-on-{'dark' if self.dark else 'light'}"

    @property
    def check_image(self) -> str:
        """The name of the check mark image that stands out on ``accent``."""
        white = contrast(_WHITE, self.accent) >= contrast(_BLACK, self.accent)
        return "check-white" if white else "check-black"

    # -- what is drawn on what ------------------------------------------------------------

    def surfaces(self) -> dict[str, Rgb]:
        """Every opaque background a control or text may sit on, by name."""
        found = {
            "window": self.window,
            "base": self.base,
            "user bubble": self.user_bubble,
            "banner": self.banner,
            "chip": self.chip,
        }
        found.update({f"{kind} notice": tone.fill for kind, tone in self.tones.items()})
        return found

    def washed(self, ground: Rgb, alpha: float) -> Rgb:
        """``ground`` with the translucent wash laid over it at ``alpha``."""
        return mix(ground, self.wash, alpha)

    def text_pairs(self) -> list[Pair]:
        """The text and background pairs the stylesheet draws (at least 4.5:1)."""
        t = TEXT_CONTRAST
        pairs = [
            Pair("window text", self.window_text, self.window, t),
            Pair("text on base", self.text, self.base, t),
            Pair("button", self.button_text, self.button, t),
            Pair("button, hovered", self.button_text, self.hover, t),
            Pair("button, pressed", self.button_text, self.pressed, t),
            Pair("primary button", self.accent_text, self.accent, t),
            Pair("primary button, hovered", self.accent_text, self.accent_hover, t),
            Pair("list row, hovered", self.text, self.row_hover, t),
            Pair("list row, selected", self.text, self.row_selected, t),
            Pair("muted text on base", self.muted, self.base, t),
            Pair("muted text on window", self.muted, self.window, t),
            Pair("muted text on a hovered row", self.muted, self.row_hover, t),
            Pair("muted text on a banner", self.muted, self.banner, t),
            Pair("muted text on a user message", self.muted, self.user_bubble, t),
            Pair("muted text on an attachment chip", self.muted, self.chip, t),
            Pair("link", self.link, self.base, t),
            Pair("link on window", self.link, self.window, t),
            Pair("tooltip", self.tooltip_text, self.tooltip_base, t),
            Pair("user message", self.text, self.user_bubble, t),
            Pair("first-run banner", self.text, self.banner, t),
            Pair("attachment chip", self.text, self.chip, t),
            Pair("menu item, selected", self.accent_text, self.accent, t),
            Pair("text selection", self.accent_text, self.accent, t),
        ]
        for kind, tone in self.tones.items():
            pairs.append(Pair(f"{kind} notice", self.text, tone.fill, t))
        # Flat tool buttons draw button text on whatever surface holds them.
        for name, ground in self.surfaces().items():
            pairs.append(Pair(f"tool button on {name}", self.button_text, ground, t))
            pairs.append(
                Pair(
                    f"tool button on {name}, hovered",
                    self.button_text,
                    self.washed(ground, self.WASH_HOVER),
                    t,
                )
            )
            pairs.append(
                Pair(
                    f"tool button on {name}, pressed",
                    self.button_text,
                    self.washed(ground, self.WASH_PRESSED),
                    t,
                )
            )
        return pairs

    def focus_pairs(self) -> list[Pair]:
        """The focus ring against the fills and surfaces next to it (at least 3:1)."""
        g = GRAPHIC_CONTRAST
        fills = {
            "button": self.button,
            "hovered button": self.hover,
            "pressed button": self.pressed,
            "hovered row": self.row_hover,
            "selected row": self.row_selected,
        }
        for name, ground in self.surfaces().items():
            fills[name] = ground
            fills[f"hovered flat button on {name}"] = self.washed(ground, self.WASH_HOVER)
        pairs = [Pair(f"focus ring on {name}", self.focus, c, g) for name, c in fills.items()]
        for name, ground in (("accent", self.accent), ("hovered accent", self.accent_hover)):
            pairs.append(
                Pair(f"focus ring of a primary button on {name}", self.focus_on_accent, ground, g)
            )
        for name, ground in self.surfaces().items():
            pairs.append(
                Pair(f"focus ring of a primary button on {name}", self.focus_on_accent, ground, g)
            )
        return pairs

    def graphic_pairs(self) -> list[Pair]:
        """Icons and control edges that carry meaning, on what is around them (3:1)."""
        g = GRAPHIC_CONTRAST
        arrows = STYLE_IMAGE_COLOURS[self.arrow_image("chevron-down")]
        check = STYLE_IMAGE_COLOURS[self.check_image]
        pairs = [
            Pair(f"{kind} icon", tone.mark, tone.fill, g) for kind, tone in self.tones.items()
        ]
        pairs += [
            Pair("check box edge on base", self.indicator_border, self.base, g),
            Pair("check box edge on window", self.indicator_border, self.window, g),
            Pair("check mark", check, self.accent, g),
            Pair("checked box edge on base", self.accent_edge, self.base, g),
            Pair("checked box edge on window", self.accent_edge, self.window, g),
            Pair("arrow on base", arrows, self.base, g),
            Pair("arrow on a hovered button", arrows, self.washed(self.base, self.WASH_HOVER), g),
        ]
        return pairs


def _derive(
    *,
    window: Rgb,
    window_text: Rgb,
    base: Rgb,
    text: Rgb,
    button: Rgb,
    button_text: Rgb,
    highlight: Rgb,
    highlighted_text: Rgb,
    link: Rgb,
    tooltip_base: Rgb,
    tooltip_text: Rgb,
) -> Theme:
    dark = luminance(window) < luminance(window_text)
    # The palette's own text first: a poor system palette is mended, not trusted.
    window_text = ensure_contrast(window_text, [window], TEXT_CONTRAST)
    text = ensure_contrast(text, [base], TEXT_CONTRAST)
    button_text = ensure_contrast(button_text, [button], TEXT_CONTRAST)
    tooltip_text = ensure_contrast(tooltip_text, [tooltip_base], TEXT_CONTRAST)

    # Dark tints need a larger share of the hue to be seen at all.
    share = 0.16 if dark else 0.09
    wash = text
    hover = mix(button, wash, 0.07 if dark else 0.05)
    pressed = mix(button, wash, 0.13 if dark else 0.10)

    accent_text = highlighted_text
    accent = ensure_contrast(highlight, [accent_text], TEXT_CONTRAST)
    accent_hover = ensure_contrast(mix(accent, accent_text, 0.12), [accent_text], TEXT_CONTRAST)

    user_bubble = tint(base, highlight, share, [text])
    banner = tint(base, highlight, share * 0.8, [text])
    chip = tint(base, window if base != window else wash, 0.6 if base != window else 0.05, [text])
    row_hover = tint(base, wash, 0.06 if dark else 0.045, [text])
    row_selected = tint(base, highlight, share * 1.6, [text])

    tones = {}
    for kind, hue in (
        ("info", highlight),
        ("warning", _AMBER),
        ("error", _RED),
        ("refusal", _VIOLET),
        ("success", _GREEN),
    ):
        fill = tint(base, hue, share * 1.2 if kind != "info" else share, [text])
        tones[kind] = Tone(fill, ensure_contrast(hue, [fill, base], GRAPHIC_CONTRAST))

    # Flat tool buttons sit on every surface, plain, hovered or pressed.
    surfaces = [window, base, user_bubble, banner, chip, *(t.fill for t in tones.values())]
    washes = [mix(g, wash, a) for g in surfaces for a in (Theme.WASH_HOVER, Theme.WASH_PRESSED)]
    button_text = ensure_contrast(
        button_text, [button, hover, pressed, *surfaces, *washes], TEXT_CONTRAST
    )

    grounds = [base, window, banner, row_hover, user_bubble, chip]
    muted = ensure_contrast(mix(text, base, 0.42), grounds, TEXT_CONTRAST)
    disabled_text = mix(text, base, 0.55)
    link = ensure_contrast(link, [base, window, user_bubble], TEXT_CONTRAST)
    border = mix(base if dark else window, text, 0.16 if dark else 0.13)
    control_border = mix(base if dark else window, text, 0.28 if dark else 0.26)
    scroll_handle = mix(base, text, 0.32 if dark else 0.28)

    hovered = [mix(g, wash, Theme.WASH_HOVER) for g in surfaces]
    rings = [button, hover, pressed, row_hover, row_selected, *surfaces, *hovered]
    focus = ensure_contrast(highlight, rings, GRAPHIC_CONTRAST)
    focus_on_accent = ensure_contrast(text, [accent, accent_hover, *surfaces], GRAPHIC_CONTRAST)
    return Theme(
        dark=dark,
        window=window,
        window_text=window_text,
        base=base,
        text=text,
        button=button,
        button_text=button_text,
        muted=muted,
        disabled_text=disabled_text,
        border=border,
        control_border=control_border,
        hover=hover,
        pressed=pressed,
        wash=wash,
        row_hover=row_hover,
        row_selected=row_selected,
        accent=accent,
        accent_text=accent_text,
        accent_hover=accent_hover,
        accent_edge=ensure_contrast(accent, [base, window, row_hover], GRAPHIC_CONTRAST),
        focus=focus,
        focus_on_accent=focus_on_accent,
        link=link,
        user_bubble=user_bubble,
        banner=banner,
        chip=chip,
        tooltip_base=tooltip_base,
        tooltip_text=tooltip_text,
        scroll_handle=scroll_handle,
        indicator_border=ensure_contrast(
            mix(base, text, 0.45), [base, window, row_hover], GRAPHIC_CONTRAST
        ),
        tones=tones,
    )


@functools.lru_cache(maxsize=8)
def _theme_for_key(key: tuple[Rgb, ...]) -> Theme:
    names = (
        "window",
        "window_text",
        "base",
        "text",
        "button",
        "button_text",
        "highlight",
        "highlighted_text",
        "link",
        "tooltip_base",
        "tooltip_text",
    )
    return _derive(**dict(zip(names, key, strict=True)))


def theme_for(palette: QPalette | None = None) -> Theme:
    """The theme of ``palette``, or of the application's palette."""
    if palette is None:
        palette = QGuiApplication.palette()
    group = QPalette.ColorGroup.Active
    r = QPalette.ColorRole
    roles = (
        r.Window,
        r.WindowText,
        r.Base,
        r.Text,
        r.Button,
        r.ButtonText,
        r.Highlight,
        r.HighlightedText,
        r.Link,
        r.ToolTipBase,
        r.ToolTipText,
    )
    return _theme_for_key(tuple(_rgb(palette.color(group, role)) for role in roles))


def tone_color(kind: str, palette: QPalette | None = None) -> QColor:
    """The colour for icons of a notice of ``kind`` (one of :data:`TONES`).

    Raises:
        KeyError: ``kind`` is not a tone.
    """
    return QColor(*theme_for(palette).tones[kind].mark)


# -- the stylesheet ------------------------------------------------------------------------


def _points(font: QFont) -> float:
    size = font.pointSizeF()
    if size > 0:
        return size
    # A font set in pixels: 96 dpi is what Qt assumes when it converts.
    return max(1, font.pixelSize()) * 72 / 96


def stylesheet(theme: Theme, font: QFont | None = None) -> str:
    """The application style sheet for ``theme``, with headings sized from ``font``."""
    t = theme
    c = _colour_table(t)
    size = _points(font if font is not None else QFont())
    title = f"{size * 1.55:.1f}pt"
    heading = f"{size * 1.2:.1f}pt"
    hover_wash = _rgba(t.wash, t.WASH_HOVER)
    pressed_wash = _rgba(t.wash, t.WASH_PRESSED)
    rules = [
        # -- surfaces --------------------------------------------------------------------
        f"""
QWidget#chatPanel {{ background: {c["base"]}; }}
QScrollArea#conversationView {{
    background: transparent; border: 2px solid transparent; border-radius: 6px;
}}
QScrollArea#conversationView:focus {{ border-color: {c["focus"]}; }}
QWidget#conversationContents {{ background: {c["base"]}; }}
QSplitter::handle {{ background: transparent; }}
QSplitter#mainSplitter::handle {{
    background: {c["window"]}; border-right: 1px solid {c["border"]};
}}
QSplitter::handle:hover, QSplitter#mainSplitter::handle:hover {{
    background: {c["row_hover"]};
}}
QToolTip {{
    color: {c["tooltip_text"]}; background: {c["tooltip_base"]};
    border: 1px solid {c["control_border"]}; padding: 4px 6px;
}}
QLabel[role="muted"], QLabel#usageLabel, QLabel#conversationUsageLabel,
QLabel#versionLabel, QLabel#attachmentHint, QLabel#attachmentSummary {{
    color: {c["muted"]};
}}
""",
        # -- buttons ---------------------------------------------------------------------
        f"""
QPushButton {{
    color: {c["button_text"]}; background: {c["button"]};
    border: 1px solid {c["control_border"]}; border-radius: 6px;
    padding: 5px 14px; min-height: 18px;
}}
QPushButton:hover {{ background: {c["hover"]}; }}
QPushButton:pressed, QPushButton:checked {{ background: {c["pressed"]}; }}
QPushButton:focus {{ border: 2px solid {c["focus"]}; padding: 4px 13px; }}
QPushButton:disabled {{
    color: {c["disabled_text"]}; background: {c["button"]}; border-color: {c["border"]};
}}
QPushButton[primary="true"], QPushButton#sendButton {{
    color: {c["accent_text"]}; background: {c["accent"]}; border-color: {c["accent"]};
    font-weight: 600;
}}
QPushButton[primary="true"]:hover, QPushButton#sendButton:hover {{
    background: {c["accent_hover"]}; border-color: {c["accent_hover"]};
}}
QPushButton[primary="true"]:focus, QPushButton#sendButton:focus {{
    border-color: {c["focus_on_accent"]};
}}
QPushButton[primary="true"]:disabled, QPushButton#sendButton:disabled {{
    color: {c["disabled_text"]}; background: {c["button"]}; border-color: {c["border"]};
    font-weight: normal;
}}
QToolButton {{
    color: {c["button_text"]}; background: transparent;
    border: 1px solid transparent; border-radius: 6px; padding: 3px 6px;
}}
QToolButton:hover {{ background: {hover_wash}; }}
QToolButton:pressed, QToolButton:checked {{ background: {pressed_wash}; }}
QToolButton:focus {{ border: 2px solid {c["focus"]}; padding: 2px 5px; }}
QToolButton:disabled {{ color: {c["disabled_text"]}; }}
QCheckBox, QRadioButton {{
    spacing: 8px; padding: 2px 4px; border: 2px solid transparent; border-radius: 5px;
    outline: none;
}}
QCheckBox:focus, QRadioButton:focus {{ border-color: {c["focus"]}; }}
QCheckBox::indicator, QRadioButton::indicator {{
    width: 14px; height: 14px; background: {c["base"]};
    border: 1px solid {c["indicator_border"]};
}}
QCheckBox::indicator {{ border-radius: 4px; }}
QRadioButton::indicator {{ border-radius: 8px; }}
QCheckBox::indicator:hover, QRadioButton::indicator:hover {{
    border-color: {c["accent_edge"]};
}}
QCheckBox::indicator:checked {{
    background: {c["accent"]}; border-color: {c["accent_edge"]};
    image: url("{_image(t.check_image)}");
}}
QRadioButton::indicator:checked {{
    background: {c["accent_text"]}; border: 4px solid {c["accent_edge"]}; width: 8px; height: 8px;
}}
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{
    border-color: {c["border"]}; background: {c["window"]};
}}
""",
        # -- inputs ----------------------------------------------------------------------
        f"""
QLineEdit, QPlainTextEdit, QSpinBox, QDoubleSpinBox, QComboBox {{
    color: {c["text"]}; background: {c["base"]};
    border: 1px solid {c["control_border"]}; border-radius: 6px; padding: 4px 6px;
    selection-color: {c["accent_text"]}; selection-background-color: {c["accent"]};
    placeholder-text-color: {c["muted"]};
}}
QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus,
QComboBox:focus {{
    border: 2px solid {c["focus"]}; padding: 3px 5px;
}}
QLineEdit:disabled, QPlainTextEdit:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled,
QComboBox:disabled {{
    color: {c["disabled_text"]}; border-color: {c["border"]};
}}
QComboBox::drop-down {{
    subcontrol-origin: padding; subcontrol-position: center right;
    border: none; width: 20px; background: transparent;
}}
QComboBox::down-arrow, QSpinBox::down-arrow, QDoubleSpinBox::down-arrow {{
    image: url("{_image(t.arrow_image("chevron-down"))}"); width: 12px; height: 12px;
}}
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{
    image: url("{_image(t.arrow_image("chevron-up"))}"); width: 12px; height: 12px;
}}
QSpinBox::up-button, QSpinBox::down-button, QDoubleSpinBox::up-button,
QDoubleSpinBox::down-button {{
    subcontrol-origin: border; width: 20px; border: none; background: transparent;
}}
QSpinBox::up-button, QDoubleSpinBox::up-button {{
    subcontrol-position: top right; border-top-right-radius: 6px;
}}
QSpinBox::down-button, QDoubleSpinBox::down-button {{
    subcontrol-position: bottom right; border-bottom-right-radius: 6px;
}}
QSpinBox::up-button:hover, QSpinBox::down-button:hover, QDoubleSpinBox::up-button:hover,
QDoubleSpinBox::down-button:hover {{
    background: {hover_wash};
}}
QTextBrowser {{
    border: 2px solid transparent; border-radius: 4px;
    selection-color: {c["accent_text"]}; selection-background-color: {c["accent"]};
}}
QTextBrowser:focus {{ border-color: {c["focus"]}; }}
""",
        # -- lists -----------------------------------------------------------------------
        f"""
QListView, QTreeView, QTableView {{
    color: {c["text"]}; background: {c["base"]};
    border: 1px solid {c["border"]}; border-radius: 6px; padding: 2px; outline: 0;
    selection-color: {c["text"]}; selection-background-color: {c["row_selected"]};
}}
QListView:focus, QTreeView:focus, QTableView:focus {{
    border: 2px solid {c["focus"]}; padding: 1px;
}}
QListView::item, QTreeView::item {{
    border: 2px solid transparent; border-radius: 6px; padding: 5px 6px;
}}
QListView::item:hover, QTreeView::item:hover {{ background: {c["row_hover"]}; }}
QListView::item:selected, QTreeView::item:selected {{
    color: {c["text"]}; background: {c["row_selected"]};
}}
QListView::item:focus, QTreeView::item:focus {{ border-color: {c["focus"]}; }}
QListView#conversationList {{
    background: transparent; border: 2px solid transparent; padding: 0;
}}
QListView#conversationList:focus {{ border-color: {c["focus"]}; }}
QLabel#dateGroupHeader {{
    color: {c["muted"]}; font-weight: 600; padding: 10px 8px 2px 8px;
}}
""",
        # -- scroll bars -----------------------------------------------------------------
        f"""
QScrollBar:vertical {{ background: transparent; width: 12px; margin: 0; }}
QScrollBar:horizontal {{ background: transparent; height: 12px; margin: 0; }}
QScrollBar::handle {{ background: {c["scroll_handle"]}; border-radius: 3px; margin: 3px; }}
QScrollBar::handle:hover, QScrollBar::handle:pressed {{ background: {c["muted"]}; }}
QScrollBar::handle:vertical {{ min-height: 32px; }}
QScrollBar::handle:horizontal {{ min-width: 32px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; border: none; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}
""",
        # -- menus -----------------------------------------------------------------------
        f"""
QMenuBar {{ background: {c["window"]}; color: {c["window_text"]}; padding: 2px 4px; }}
QMenuBar::item {{ background: transparent; padding: 4px 10px; border-radius: 4px; }}
QMenuBar::item:selected, QMenuBar::item:pressed {{
    color: {c["accent_text"]}; background: {c["accent"]};
}}
QMenu {{
    color: {c["text"]}; background: {c["base"]};
    border: 1px solid {c["control_border"]}; padding: 4px;
}}
QMenu::item {{ padding: 5px 28px 5px 24px; border-radius: 4px; }}
QMenu::item:selected {{ color: {c["accent_text"]}; background: {c["accent"]}; }}
QMenu::item:disabled {{ color: {c["disabled_text"]}; background: transparent; }}
QMenu::separator {{ height: 1px; background: {c["border"]}; margin: 4px 8px; }}
""",
        # -- group boxes and dialogs -----------------------------------------------------
        f"""
QGroupBox {{
    border: 1px solid {c["border"]}; border-radius: 8px;
    margin-top: 14px; padding: 10px 8px 6px 8px;
}}
QGroupBox::title {{
    subcontrol-origin: margin; subcontrol-position: top left;
    left: 10px; padding: 0 4px; color: {c["window_text"]}; font-weight: 600;
}}
""",
        # -- notifications ---------------------------------------------------------------
        _notice_rules(t, c),
        # -- first run and the empty conversation ----------------------------------------
        f"""
QFrame#firstRunBanner {{
    background: {c["banner"]}; border: 1px solid {c["border"]}; border-radius: 10px;
    margin: 12px 12px 4px 12px;
}}
QLabel#firstRunTitle {{ color: {c["text"]}; font-size: {heading}; font-weight: 600; }}
QLabel#firstRunText {{ color: {c["text"]}; }}
QLabel#emptyStateTitle {{ color: {c["text"]}; font-size: {title}; font-weight: 600; }}
QLabel#emptyStateText {{ color: {c["muted"]}; }}
QPushButton#examplePrompt {{
    background: {c["base"]}; border: 1px solid {c["border"]}; border-radius: 10px;
    padding: 0; text-align: left;
}}
QPushButton#examplePrompt:hover {{
    background: {c["row_hover"]}; border-color: {c["control_border"]};
}}
QPushButton#examplePrompt:pressed {{ background: {c["row_hover"]}; }}
QPushButton#examplePrompt:focus {{ border: 2px solid {c["focus"]}; padding: 0; }}
QLabel#examplePromptTitle {{ color: {c["text"]}; font-weight: 600; }}
QLabel#examplePromptDescription {{ color: {c["muted"]}; }}
""",
        # -- messages: the person's turns in a bubble, Claude's as flowing text ----------
        f"""
QFrame#userMessage, QFrame#assistantMessage, QFrame#toolResultsMessage {{
    background: transparent; border: none;
}}
QFrame#userBubble, QFrame[kind="user"] {{
    background: {c["user_bubble"]}; border: none; border-radius: 14px;
}}
QLabel#speakerLabel {{ font-weight: 600; }}
QLabel#messageMetaLabel {{ color: {c["muted"]}; }}
QLabel#turnNotice {{ padding: 6px 10px; border-radius: 8px; }}
""",
        # -- composer: one rounded field -------------------------------------------------
        f"""
QFrame#composerFrame {{
    background: {c["base"]}; border: 1px solid {c["control_border"]}; border-radius: 14px;
    padding: 1px;
}}
QFrame#composerFrame[editing="true"] {{ border-color: {c["accent_edge"]}; }}
QFrame#composerFrame[focused="true"] {{
    border: 2px solid {c["focus"]}; padding: 0;
}}
QFrame#composerFrame QPlainTextEdit#promptEdit,
QFrame#composerFrame QPlainTextEdit#promptEdit:focus {{
    background: transparent; border: none; padding: 4px 6px;
}}
QToolButton#sendButton {{
    color: {c["accent_text"]}; background: {c["accent"]};
    border: 1px solid {c["accent"]}; border-radius: 8px; padding: 4px;
}}
QToolButton#sendButton:hover {{
    background: {c["accent_hover"]}; border-color: {c["accent_hover"]};
}}
QToolButton#sendButton:focus {{ border: 2px solid {c["focus_on_accent"]}; padding: 3px; }}
QToolButton#sendButton[mode="stop"] {{
    color: {c["button_text"]}; background: {c["button"]}; border-color: {c["control_border"]};
}}
QToolButton#sendButton[mode="stop"]:hover {{ background: {c["hover"]}; }}
QToolButton#sendButton[mode="stop"]:focus {{ border-color: {c["focus"]}; }}
QToolButton#sendButton:disabled {{
    color: {c["disabled_text"]}; background: {c["button"]}; border-color: {c["border"]};
}}
QComboBox#modelPicker {{ background: transparent; border: 1px solid transparent; }}
QComboBox#modelPicker:hover {{ background: {hover_wash}; }}
QComboBox#modelPicker:focus {{ border: 2px solid {c["focus"]}; }}
QFrame#attachmentChip {{
    background: {c["chip"]}; border: 1px solid {c["border"]}; border-radius: 8px;
}}
QFrame#attachmentChip[state="failed"] {{
    background: {c["error_fill"]}; border-color: {c["error_edge"]};
}}
QLabel#attachmentChipDetail {{ color: {c["muted"]}; }}
QLabel#attachmentChipDetail[state="failed"] {{ color: {c["text"]}; }}
QFrame#editingBar {{
    background: {c["info_fill"]}; border: 1px solid {c["info_edge"]}; border-radius: 8px;
}}
""",
        # -- settings pages --------------------------------------------------------------
        f"""
QListWidget#settingsPageList {{ background: transparent; border: 2px solid transparent; }}
QListWidget#settingsPageList:focus {{ border-color: {c["focus"]}; }}
QListWidget#settingsPageList::item {{ padding: 7px 10px; }}
QLabel#settingsPageTitle {{ font-size: {heading}; font-weight: 600; }}
QToolButton#conversationSettingsButton[overridden="true"] {{
    color: {c["link"]}; border-color: {c["accent_edge"]};
}}
""",
    ]
    return "\n".join(rule.strip() for rule in rules) + "\n"


def _notice_rules(theme: Theme, c: dict[str, str]) -> str:
    lines = [
        f"""
QFrame#notice {{
    background: {c["info_fill"]}; border: 1px solid {c["info_edge"]}; border-radius: 8px;
}}
QLabel#noticeText {{ color: {c["text"]}; }}
"""
    ]
    for kind in TONES:
        fill, edge = c[f"{kind}_fill"], c[f"{kind}_edge"]
        lines.append(
            f'QFrame#notice[level="{kind}"] {{ background: {fill}; border-color: {edge}; }}'
        )
    # What happened to a turn (``kind`` on the message widgets' notice boxes).
    for kind, tone in KIND_TONES.items():
        fill, edge = (c[f"{tone}_fill"], c[f"{tone}_edge"]) if tone else (c["chip"], c["border"])
        lines.append(
            f'*[kind="{kind}"] {{ color: {c["text"]}; background: {fill}; '
            f"border: 1px solid {edge}; border-radius: 8px; }}"
        )
    return "\n".join(line.strip() for line in lines)


def _image(name: str) -> str:
    """The path of one of the style sheet's images, as a style sheet ``url()`` wants it."""
    return resource_path(f"icons/ui/style/{name}.png").as_posix()


def _is_rgb(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 3


def _colour_table(theme: Theme) -> dict[str, str]:
    table = {n: _hex(v) for n, v in dataclasses.asdict(theme).items() if _is_rgb(v)}
    for kind, tone in theme.tones.items():
        table[f"{kind}_fill"] = _hex(tone.fill)
        table[f"{kind}_mark"] = _hex(tone.mark)
        table[f"{kind}_edge"] = _hex(tone.edge)
    return table


def app_logo() -> QIcon:
    """The app's own icon, from the sizes that ship, for welcomes and empty states."""
    logo = QIcon()
    for size in (64, 256):
        path = resource_path(f"icons/iris-{size}.png")
        if path.is_file():
            logo.addFile(str(path), QSize(size, size))
    return logo


# -- following the system ------------------------------------------------------------------


class StyleFollower(QObject):
    """Keeps the application's style sheet in step with its palette and font."""

    def __init__(self, app: QApplication) -> None:
        """Apply the style sheet to ``app`` now and on every palette or font change."""
        super().__init__(app)
        self._app = app
        self._sheet = ""
        self._following = True
        app.installEventFilter(self)
        self.refresh()

    def refresh(self) -> None:
        """Build the style sheet for the current palette and font, and apply it if new."""
        sheet = build(QGuiApplication.palette(), QGuiApplication.font())
        if sheet != self._sheet:
            self._sheet = sheet
            self._app.setStyleSheet(sheet)

    @property
    def sheet(self) -> str:
        """The style sheet applied last."""
        return self._sheet

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Rebuild after the application's palette or font changed."""
        if (
            self._following
            and watched is self._app
            and event.type()
            in (
                QEvent.Type.ApplicationPaletteChange,
                QEvent.Type.ApplicationFontChange,
            )
        ):
            self.refresh()
        return False

    def uninstall(self) -> None:
        """Stop following, and take the style sheet away (once; later calls do nothing)."""
        if not self._following:
            return
        self._following = False
        self._app.removeEventFilter(self)
        self._app.setStyleSheet("")
        self._sheet = ""


def build(palette: QPalette, font: QFont | None = None) -> str:
    """The style sheet for ``palette``, with headings sized from ``font``."""
    return stylesheet(theme_for(palette), font)


def install(app: QApplication) -> StyleFollower:
    """Style ``app`` from its palette, now and whenever the palette changes."""
    return StyleFollower(app)
