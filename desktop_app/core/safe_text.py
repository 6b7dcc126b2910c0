"""Text from a server, made safe to show: no terminal escapes, no control characters.

A hostile or broken service can put escape sequences in its error text that move
the cursor, rewrite earlier lines, set the window title or hide what follows.
:func:`terminal_safe` removes them, and every other control character, before
such text reaches a terminal or a label; :func:`clip` bounds its length.
"""

from __future__ import annotations

import re
import unicodedata

# ESC-introduced sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), the
# string commands DCS, SOS, PM and APC (ESC P/X/^/_ ... ST), and two-byte escapes.
# The same sequences may start with their 8-bit C1 forms (CSI is U+009B, and so on).
_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# Line breaks of every kind, and tabs: shown as one space in a one-line message.
_BREAKS = re.compile(r"[\t\n\v\f\r\x85\u2028\u2029]+")
# Character categories never shown: controls, invisible format characters
# (bidirectional overrides reorder what a reader sees, zero-width ones hide what is
# there), lone surrogates (which cannot even be written out as UTF-8) and the
# line and paragraph separators.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def terminal_safe(text: str, *, one_line: bool = True) -> str:
    """Return ``text`` without terminal escape sequences and control characters.

    Args:
        text: Text that came from outside Iris (a server's error message, say).
        one_line: Turn line breaks and tabs into single spaces (for one-line
            messages); when False, line feeds are kept and tabs become spaces.
    """
    if text.isprintable():
        return text  # the usual case, decided in C
    text = _ESCAPE.sub("", text)
    if one_line:
        text = _BREAKS.sub(" ", text)
    else:
        lines = text.replace("\r\n", "\n").split("\n")
        text = "\n".join(_BREAKS.sub(" ", line) for line in lines)
    category = unicodedata.category
    return "".join(
        ch for ch in text if ch == "\n" or ch.isprintable() or category(ch) not in _DROPPED
    )


def clip(text: str, limit: int) -> str:
    """Return ``text`` cut to at most ``limit`` characters, marking a cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + "…"
