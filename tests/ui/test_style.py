"""The style sheet: contrast in light and dark palettes, focus rings, following the theme."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyleFactory,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.resources import resource_path
from desktop_app.ui import notify, style
from desktop_app.ui.chat.empty_state import DEMO_EXAMPLES, ExampleButton
from desktop_app.ui.notifications import Notice
from desktop_app.ui.style import Rgb, Theme, contrast, ensure_contrast, mix, tint

R = QPalette.ColorRole


def palette(**roles: str) -> QPalette:
    """A palette with ``roles`` (ColorRole names) set in every colour group."""
    result = QPalette()
    for name, value in roles.items():
        result.setColor(getattr(R, name), QColor(value))
    return result


def fusion_light() -> QPalette:
    fusion = QStyleFactory.create("Fusion")
    assert fusion is not None
    return fusion.standardPalette()


DARK = dict(
    Window="#2d2d30",
    WindowText="#e6e6e6",
    Base="#1e1e20",
    AlternateBase="#2d2d30",
    Text="#e6e6e6",
    Button="#37373a",
    ButtonText="#e6e6e6",
    Highlight="#2a82da",
    HighlightedText="#ffffff",
    Link="#64aaff",
    ToolTipBase="#3c3c40",
    ToolTipText="#e6e6e6",
)

#: Palettes as the platforms ship them, and a few that are hard to get right.
PALETTES = {
    "fusion light": fusion_light,
    "fusion dark": lambda: palette(**DARK),
    "windows 11 light": lambda: palette(
        Window="#f3f3f3",
        WindowText="#000000",
        Base="#ffffff",
        Text="#000000",
        Button="#fbfbfb",
        ButtonText="#000000",
        Highlight="#0078d4",
        HighlightedText="#ffffff",
        Link="#0067c0",
        ToolTipBase="#f9f9f9",
        ToolTipText="#000000",
    ),
    "macos dark": lambda: palette(
        Window="#323232",
        WindowText="#dddddd",
        Base="#1e1e1e",
        Text="#ffffff",
        Button="#505050",
        ButtonText="#ffffff",
        Highlight="#0a84ff",
        HighlightedText="#ffffff",
        Link="#419cff",
        ToolTipBase="#3a3a3a",
        ToolTipText="#ffffff",
    ),
    "high contrast": lambda: palette(
        Window="#000000",
        WindowText="#ffffff",
        Base="#000000",
        Text="#ffffff",
        Button="#000000",
        ButtonText="#ffffff",
        Highlight="#ffff00",
        HighlightedText="#000000",
        Link="#00ffff",
        ToolTipBase="#000000",
        ToolTipText="#ffffff",
    ),
    # A pale highlight with white text on it: the naive ring and button would fail.
    "pale highlight": lambda: palette(
        Window="#f5f5f5",
        WindowText="#202020",
        Base="#ffffff",
        Text="#202020",
        Button="#f0f0f0",
        ButtonText="#202020",
        Highlight="#9ecbff",
        HighlightedText="#ffffff",
        Link="#6aa8f0",
        ToolTipBase="#ffffe0",
        ToolTipText="#202020",
    ),
    # Mid-grey text a system let slip: the theme mends it rather than trusting it.
    "weak text": lambda: palette(
        Window="#e0e0e0",
        WindowText="#9a9a9a",
        Base="#f4f4f4",
        Text="#a0a0a0",
        Button="#e8e8e8",
        ButtonText="#a0a0a0",
        Highlight="#3daee9",
        HighlightedText="#ffffff",
        Link="#2980b9",
        ToolTipBase="#ffffff",
        ToolTipText="#aaaaaa",
    ),
}


def failures(pairs: list[style.Pair]) -> list[str]:
    return [f"{p.what}: {p.ratio:.2f} < {p.minimum}" for p in pairs if p.ratio < p.minimum]


@pytest.mark.parametrize("name", sorted(PALETTES))
def test_text_keeps_4_5_to_1_and_the_focus_ring_3_to_1(qapp: Any, name: str) -> None:
    theme = style.theme_for(PALETTES[name]())
    assert not failures(theme.text_pairs())
    assert not failures(theme.focus_pairs())
    assert not failures(theme.graphic_pairs())
    # The pairs cover every surface and every tone, so nothing drawn escapes the check.
    backs = {p.back for p in theme.text_pairs()}
    assert set(theme.surfaces().values()) <= backs
    assert {t.fill for t in theme.tones.values()} <= backs


def test_the_palettes_own_pairs_are_checked_too(qapp: Any) -> None:
    light = style.theme_for(fusion_light())
    pairs = {p.what: p for p in light.text_pairs()}
    for what, role, ground in (
        ("window text", R.WindowText, R.Window),
        ("text on base", R.Text, R.Base),
        ("button", R.ButtonText, R.Button),
        ("tooltip", R.ToolTipText, R.ToolTipBase),
    ):
        pair = pairs[what]
        colour = fusion_light().color(QPalette.ColorGroup.Active, role)
        back = fusion_light().color(QPalette.ColorGroup.Active, ground)
        assert pair.fore == (colour.red(), colour.green(), colour.blue())
        assert pair.back == (back.red(), back.green(), back.blue())
        assert pair.ratio >= 4.5


def test_a_weak_palette_is_mended_and_a_pale_highlight_darkened(qapp: Any) -> None:
    weak = style.theme_for(PALETTES["weak text"]())
    assert contrast((0xA0, 0xA0, 0xA0), (0xF4, 0xF4, 0xF4)) < 4.5  # as the system gave it
    assert contrast(weak.text, weak.base) >= 4.5
    pale = style.theme_for(PALETTES["pale highlight"]())
    highlight = (0x9E, 0xCB, 0xFF)
    assert contrast(highlight, pale.base) < 3  # the ring as the system would draw it
    assert pale.focus != highlight
    assert contrast(pale.focus, pale.base) >= 3
    assert contrast(pale.accent_text, pale.accent) >= 4.5


def test_light_and_dark_palettes_give_light_and_dark_themes(qapp: Any) -> None:
    light = style.theme_for(fusion_light())
    dark = style.theme_for(palette(**DARK))
    assert not light.dark
    assert dark.dark
    # Tints stay tints: close to the base, but visibly not the base.
    for theme in (light, dark):
        assert theme.user_bubble != theme.base
        assert contrast(theme.user_bubble, theme.base) < 1.5
        for tone in theme.tones.values():
            assert tone.fill != theme.base
            assert contrast(tone.fill, theme.base) < 1.6


def test_ensure_contrast_moves_only_as_far_as_it_must() -> None:
    white: Rgb = (255, 255, 255)
    pale: Rgb = (0x9E, 0xCB, 0xFF)
    fixed = ensure_contrast(pale, [white], 3.0)
    assert contrast(fixed, white) >= 3.0
    assert contrast(mix(fixed, pale, 0.1), white) < 3.0 or fixed == pale
    assert fixed[2] > fixed[0]  # still blue
    assert ensure_contrast((0, 0, 0), [white], 4.5) == (0, 0, 0)
    dark_ground: Rgb = (20, 20, 20)
    assert contrast(ensure_contrast((40, 40, 90), [dark_ground], 4.5), dark_ground) >= 4.5


def test_tint_gives_way_to_the_text_on_it() -> None:
    ground: Rgb = (100, 100, 100)
    text: Rgb = (255, 255, 255)
    assert contrast(text, ground) >= 4.5
    tinted = tint(ground, (255, 255, 0), 0.5, [text])
    assert tinted != ground  # some tint survives
    assert contrast(text, tinted) >= 4.5
    assert contrast(text, mix(ground, (255, 255, 0), 0.5)) < 4.5  # the full blend would fail


# -- the style sheet itself ----------------------------------------------------------------

RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
HEX = re.compile(r"#[0-9a-f]{6}\b")


def declarations(body: str) -> dict[str, str]:
    found = {}
    for part in body.split(";"):
        if ":" in part:
            key, value = part.split(":", 1)
            found[key.strip()] = value.strip()
    return found


def rgb(hex_colour: str) -> Rgb:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


@pytest.mark.parametrize("name", sorted(PALETTES))
def test_every_rule_with_text_and_background_is_legible(qapp: Any, name: str) -> None:
    sheet = style.build(PALETTES[name]())
    checked = 0
    for selectors, body in RULE.findall(sheet):
        found = declarations(body)
        colour, back = found.get("color", ""), found.get("background", "")
        if ":disabled" in selectors:
            continue  # controls that cannot be used need no contrast (WCAG 1.4.3)
        if HEX.fullmatch(colour) and HEX.fullmatch(back):
            ratio = contrast(rgb(colour), rgb(back))
            assert ratio >= 4.5, f"{selectors.strip()}: {ratio:.2f}"
            checked += 1
    assert checked >= 10


def test_every_colour_in_the_sheet_comes_from_the_theme(qapp: Any) -> None:
    theme = style.theme_for(fusion_light())
    sheet = style.stylesheet(theme)
    known = {style._hex(c) for c in vars_of(theme)}
    assert set(HEX.findall(sheet)) <= known


def vars_of(theme: Theme) -> list[Rgb]:
    colours = [v for v in vars(theme).values() if isinstance(v, tuple) and len(v) == 3]
    for tone in theme.tones.values():
        colours += [tone.fill, tone.mark, tone.edge]
    return colours


def test_the_style_images_are_drawn_in_the_colours_the_checks_assume(qapp: Any) -> None:
    for name, colour in style.STYLE_IMAGE_COLOURS.items():
        for tail in ("", "@2x"):
            image = QImage(str(resource_path(f"icons/ui/style/{name}{tail}.png")))
            assert not image.isNull(), name
            opaque = {
                (c.red(), c.green(), c.blue())
                for x in range(image.width())
                for y in range(image.height())
                if (c := image.pixelColor(x, y)).alpha() == 255
            }
            assert opaque == {colour}, name
    sheet = style.build(fusion_light())
    for path in re.findall(r'url\("([^"]+)"\)', sheet):
        assert QImage(path).width() > 0, path


# -- on screen -----------------------------------------------------------------------------


@pytest.fixture
def styled(qapp: QApplication) -> Iterator[style.StyleFollower]:
    """The style sheet on the test application, taken away (with the palette) after."""
    before = QPalette(qapp.palette())
    follower = style.install(qapp)
    yield follower
    follower.uninstall()
    qapp.setPalette(before)


def close_to(pixel: QColor, colour: Rgb, slack: int = 10) -> bool:
    seen = (pixel.red(), pixel.green(), pixel.blue())
    return all(abs(a - b) <= slack for a, b in zip(seen, colour, strict=True))


def tool_button() -> QToolButton:
    button = QToolButton()
    button.setText("Copy")
    return button


def combo_box() -> QComboBox:
    box = QComboBox()
    box.addItem("claude-sonnet-4-6")
    return box


def conversation_view() -> QScrollArea:
    view = QScrollArea()
    view.setObjectName("conversationView")
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return view


def example_button() -> ExampleButton:
    return ExampleButton(DEMO_EXAMPLES[0])


FOCUSABLE = [
    ("push button", lambda: QPushButton("Send")),
    ("tool button", tool_button),
    ("check box", lambda: QCheckBox("Prompt caching")),
    ("line edit", lambda: QLineEdit("text")),
    ("text edit", lambda: QPlainTextEdit("text")),
    ("combo box", combo_box),
    ("spin box", lambda: QSpinBox()),
    ("double spin box", lambda: QDoubleSpinBox()),
    ("list", lambda: QListWidget()),
    ("conversation", conversation_view),
    ("example prompt", example_button),
]


@pytest.mark.parametrize("theme_name", ["fusion light", "fusion dark"])
@pytest.mark.parametrize(("what", "make"), FOCUSABLE, ids=[w for w, _m in FOCUSABLE])
def test_a_focused_control_shows_a_2px_ring(
    qtbot: Any,
    qapp: QApplication,
    styled: style.StyleFollower,
    theme_name: str,
    what: str,
    make: Any,
) -> None:
    qapp.setPalette(PALETTES[theme_name]())
    ring = style.theme_for().focus
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    control = make()
    other = QLineEdit()
    layout.addWidget(control)
    layout.addWidget(other)
    host.resize(240, 160)
    host.show()
    with qtbot.waitActive(host):
        host.activateWindow()

    def left_edge() -> list[QColor]:
        image = control.grab().toImage()
        middle = image.height() // 2
        return [image.pixelColor(x, middle) for x in range(3)]

    other.setFocus()
    qtbot.waitUntil(other.hasFocus)
    unfocused = left_edge()
    control.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(control.hasFocus)
    focused = left_edge()
    assert close_to(focused[0], ring), what
    assert close_to(focused[1], ring), what
    assert not close_to(focused[2], ring), f"{what}: the ring is wider than 2 px"
    assert not close_to(unfocused[1], ring), f"{what}: the ring shows without focus"


def test_a_primary_button_rings_in_the_text_colour(
    qtbot: Any, qapp: QApplication, styled: style.StyleFollower
) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    button = QPushButton("Try the offline demo", host)
    button.setProperty("primary", True)
    host.resize(240, 80)
    host.show()
    with qtbot.waitActive(host):
        host.activateWindow()
    button.setFocus()
    qtbot.waitUntil(button.hasFocus)
    theme = style.theme_for()
    image = button.grab().toImage()
    middle = image.height() // 2
    assert close_to(image.pixelColor(0, middle), theme.focus_on_accent)
    assert close_to(image.pixelColor(button.width() // 2, 3), theme.accent)


def test_the_current_list_row_shows_the_ring_when_the_list_has_focus(
    qtbot: Any, qapp: QApplication, styled: style.StyleFollower
) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    rows = QListWidget(host)
    rows.addItems(["First conversation", "Second conversation"])
    host.resize(260, 200)
    rows.resize(260, 200)
    host.show()
    with qtbot.waitActive(host):
        host.activateWindow()
    rows.setFocus()
    rows.setCurrentRow(1)
    qtbot.waitUntil(rows.hasFocus)
    theme = style.theme_for()
    rect = rows.visualItemRect(rows.item(1))
    image = rows.viewport().grab().toImage()
    middle = rect.center().y()
    assert close_to(image.pixelColor(rect.left() + 1, middle), theme.focus)
    other = rows.visualItemRect(rows.item(0))
    assert not close_to(image.pixelColor(other.left() + 1, other.center().y()), theme.focus)


def test_the_sheet_follows_the_palette_between_light_and_dark(
    qapp: QApplication, styled: style.StyleFollower
) -> None:
    qapp.setPalette(fusion_light())
    QCoreApplication.sendPostedEvents(None, QEvent.Type.ApplicationPaletteChange)
    light_sheet = qapp.styleSheet()
    assert light_sheet == styled.sheet == style.build(fusion_light(), qapp.font())
    assert style._hex(style.theme_for(fusion_light()).base) in light_sheet

    qapp.setPalette(palette(**DARK))
    dark_sheet = qapp.styleSheet()
    assert dark_sheet != light_sheet
    assert dark_sheet == style.build(palette(**DARK), qapp.font())
    assert style._hex(style.theme_for(palette(**DARK)).user_bubble) in dark_sheet

    styled.uninstall()
    assert qapp.styleSheet() == ""
    qapp.setPalette(fusion_light())
    assert qapp.styleSheet() == ""  # no longer following


def test_headings_grow_with_the_application_font(qapp: QApplication) -> None:
    font = qapp.font()
    font.setPointSizeF(10)
    small = style.build(fusion_light(), font)
    font.setPointSizeF(20)
    large = style.build(fusion_light(), font)
    title = re.compile(r"#emptyStateTitle \{[^}]*font-size: ([\d.]+)pt")
    small_size, large_size = (
        float(m.group(1)) for m in (title.search(small), title.search(large)) if m
    )
    assert large_size == pytest.approx(2 * small_size)
    assert small_size > 10


def test_a_notice_icon_takes_its_level_colour_and_follows_the_theme(
    qtbot: Any, qapp: QApplication, styled: style.StyleFollower
) -> None:
    qapp.setPalette(fusion_light())
    notice = Notice(notify.UserMessage(notify.Level.ERROR, "Could not save."))
    qtbot.addWidget(notice)

    def drawn_in(colour: Rgb) -> bool:
        image = notice.mark.pixmap().toImage()
        stroke = [
            c
            for x in range(image.width())
            for y in range(image.height())
            if (c := image.pixelColor(x, y)).alpha() > 200
        ]
        return bool(stroke) and all(close_to(c, colour, 2) for c in stroke)

    light_mark = style.theme_for().tones["error"].mark
    assert drawn_in(light_mark)
    qapp.setPalette(palette(**DARK))
    dark_mark = style.theme_for(palette(**DARK)).tones["error"].mark
    assert dark_mark != light_mark
    assert drawn_in(dark_mark)


def framed(name: str, **properties: object) -> QFrame:
    frame = QFrame()
    frame.setObjectName(name)
    for key, value in properties.items():
        frame.setProperty(key, value)
    frame.setFixedSize(120, 40)
    return frame


#: Object names and properties other parts of the window use, and what they get.
NAMED = [
    ("notice, error", lambda: framed("notice", level="error"), lambda t: t.tones["error"].fill),
    (
        "notice, warning",
        lambda: framed("notice", level="warning"),
        lambda t: t.tones["warning"].fill,
    ),
    ("user bubble", lambda: framed("userBubble"), lambda t: t.user_bubble),
    (
        "refusal box",
        lambda: framed("turnNoticeBox", kind="refusal"),
        lambda t: t.tones["refusal"].fill,
    ),
    (
        "cut-off reply",
        lambda: framed("turnNoticeBox", kind="max-tokens"),
        lambda t: t.tones["warning"].fill,
    ),
    (
        "failed attachment",
        lambda: framed("attachmentChip", state="failed"),
        lambda t: t.tones["error"].fill,
    ),
    ("attachment", lambda: framed("attachmentChip", state="ready"), lambda t: t.chip),
    ("composer", lambda: framed("composerFrame", focused=False), lambda t: t.base),
    ("welcome", lambda: framed("firstRunBanner"), lambda t: t.banner),
]


@pytest.mark.parametrize("theme_name", ["fusion light", "fusion dark"])
@pytest.mark.parametrize(("what", "make", "fill"), NAMED, ids=[n[0] for n in NAMED])
def test_named_parts_get_their_look(
    qtbot: Any,
    qapp: QApplication,
    styled: style.StyleFollower,
    theme_name: str,
    what: str,
    make: Any,
    fill: Any,
) -> None:
    qapp.setPalette(PALETTES[theme_name]())
    widget = make()
    qtbot.addWidget(widget)
    widget.show()
    image = widget.grab().toImage()
    centre = image.pixelColor(image.width() // 2, image.height() // 2)
    assert close_to(centre, fill(style.theme_for()), 2), what


def test_the_composer_rings_while_anything_in_it_has_focus(
    qtbot: Any, qapp: QApplication, styled: style.StyleFollower
) -> None:
    frame = framed("composerFrame", focused=False)
    qtbot.addWidget(frame)
    frame.show()
    ring = style.theme_for().focus

    def edge() -> list[QColor]:
        image = frame.grab().toImage()
        return [image.pixelColor(x, image.height() // 2) for x in range(3)]

    assert not close_to(edge()[1], ring)
    frame.setProperty("focused", True)
    frame.style().unpolish(frame)
    frame.style().polish(frame)
    assert close_to(edge()[0], ring)
    assert close_to(edge()[1], ring)
