"""Server text made safe for a terminal or a label."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.core.safe_text import clip, terminal_safe


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("plain text, «ü» 日本", "plain text, «ü» 日本"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b[2J\x1b[1;1Hcleared", "cleared"),
        ("\x1b]0;window title\x07after", "after"),
        ("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1bPdevice control\x1b\\x", "x"),
        ("\x9b31mC1 CSI", "C1 CSI"),
        ("a\x1bcb", "ab"),  # ESC c: reset the terminal
        ("bell\x07 back\x08space nul\x00", "bell backspace nul"),
        ("one\r\ntwo\nthree\rfour\tfive", "one two three four five"),
        ("right-to-left \u202eevil\u202c", "right-to-left evil"),
        ("zero\u200bwidth", "zerowidth"),
        ("lone \ud800 surrogate \u061c", "lone  surrogate "),
        ("dangling \x1b[", "dangling "),
    ],
)
def test_escapes_and_controls_are_removed(text: str, safe: str) -> None:
    assert terminal_safe(text) == safe


def test_multi_line_keeps_line_feeds_only() -> None:
    text = "first\x1b[31m\r\nsecond\ttab\rthird\x00"
    assert terminal_safe(text, one_line=False) == "first\nsecond tab third"


@given(st.text())
def test_output_never_holds_a_control_or_format_character(text: str) -> None:
    for one_line in (True, False):
        safe = terminal_safe(text, one_line=one_line)
        shown = safe if one_line else safe.replace("\n", "")
        assert not {unicodedata.category(ch) for ch in shown} & {"Cc", "Cf", "Cs", "Zl", "Zp"}
        assert "\x1b" not in safe
        safe.encode("utf-8")  # always writable
        assert terminal_safe(safe, one_line=one_line) == safe


def test_clip() -> None:
    assert clip("short", 10) == "short"
    assert clip("x" * 20, 10) == "x" * 9 + "…"
    assert len(clip("y" * 1000, 100)) == 100
