"""Content blocks as typed data: text, thinking, tool use, and blocks kept verbatim.

Streamed text arrives in many small pieces; blocks collect the pieces in a list and
join them only when read, so a long reply costs linear time, not quadratic.

:func:`block_from_dict` checks the shape of what it is given: a field of the wrong
type raises :class:`ProtocolError` with a plain message, while a block type Iris
does not know is kept verbatim as :class:`OtherBlock`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any, TypeAlias

from desktop_app.core.errors import ProtocolError

#: How deeply JSON kept verbatim (unknown blocks, tool input, citations) may nest.
#: Far beyond anything the API sends, and far below Python's recursion limit, so
#: the message can always be saved and shown.
MAX_JSON_DEPTH = 64


class _Pieces:
    """Text built from streamed pieces, joined lazily."""

    __slots__ = ("_parts",)

    def __init__(self, text: str = "") -> None:
        self._parts: list[str] = [text] if text else []

    def append(self, piece: str) -> None:
        self._parts.append(piece)

    def value(self) -> str:
        parts = self._parts
        if len(parts) > 1:
            joined = "".join(parts)
            parts.clear()
            parts.append(joined)
            return joined
        return parts[0] if parts else ""


class TextBlock:
    """A ``text`` block, with any citations attached to it."""

    __slots__ = ("_text", "citations")
    type = "text"

    def __init__(self, text: str = "", citations: list[dict[str, Any]] | None = None) -> None:
        """Build a text block."""
        self._text = _Pieces(text)
        self.citations: list[dict[str, Any]] = list(citations or [])

    @property
    def text(self) -> str:
        """The text so far."""
        return self._text.value()

    def append(self, piece: str) -> None:
        """Add a streamed piece of text."""
        self._text.append(piece)

    def to_dict(self) -> dict[str, Any]:
        """The block in the Messages API shape."""
        block: dict[str, Any] = {"type": "text", "text": self.text}
        if self.citations:
            block["citations"] = list(self.citations)
        return block


class ThinkingBlock:
    """A ``thinking`` block; its signature must be sent back unchanged."""

    __slots__ = ("_thinking", "signature")
    type = "thinking"

    def __init__(self, thinking: str = "", signature: str = "") -> None:
        """Build a thinking block."""
        self._thinking = _Pieces(thinking)
        self.signature = signature

    @property
    def thinking(self) -> str:
        """The thinking text so far."""
        return self._thinking.value()

    def append(self, piece: str) -> None:
        """Add a streamed piece of thinking."""
        self._thinking.append(piece)

    def to_dict(self) -> dict[str, Any]:
        """The block in the Messages API shape."""
        return {"type": "thinking", "thinking": self.thinking, "signature": self.signature}


@dataclasses.dataclass
class RedactedThinkingBlock:
    """A ``redacted_thinking`` block: opaque data to send back unchanged."""

    data: str
    type = "redacted_thinking"

    def to_dict(self) -> dict[str, Any]:
        """The block in the Messages API shape."""
        return {"type": "redacted_thinking", "data": self.data}


class ToolUseBlock:
    """A ``tool_use`` or ``server_tool_use`` block.

    Its input streams as JSON fragments that are joined and parsed at block stop;
    ``input_error`` says why when the joined text was not valid JSON.
    """

    __slots__ = ("_json", "block_type", "extra", "id", "input", "input_error", "name")

    def __init__(
        self,
        id: str,
        name: str,
        input: Any = None,
        *,
        block_type: str = "tool_use",
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Build a tool-use block."""
        self.id = id
        self.name = name
        self.input: Any = {} if input is None else input
        self.block_type = block_type
        self.extra = dict(extra or {})
        self.input_error: str | None = None
        self._json = _Pieces()

    @property
    def type(self) -> str:
        """``tool_use`` or ``server_tool_use``."""
        return self.block_type

    @property
    def partial_json(self) -> str:
        """The raw JSON text streamed so far."""
        return self._json.value()

    def append(self, piece: str) -> None:
        """Add a streamed fragment of the input JSON."""
        self._json.append(piece)

    def finish(self) -> None:
        """Parse the joined JSON fragments into ``input``."""
        raw = self.partial_json
        if not raw.strip():
            return
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            self.input_error = f"the tool input was not valid JSON ({exc.msg})"
        except (ValueError, RecursionError):
            self.input_error = "the tool input was not valid JSON"
        else:
            if too_deep(value):
                self.input_error = "the tool input was nested too deeply"
            else:
                self.input = value

    def to_dict(self) -> dict[str, Any]:
        """The block in the Messages API shape."""
        block = dict(self.extra)
        block.update(type=self.block_type, id=self.id, name=self.name, input=self.input)
        return block


@dataclasses.dataclass
class OtherBlock:
    """A block type Iris does not interpret; kept verbatim so nothing is lost."""

    raw: dict[str, Any]

    @property
    def type(self) -> str:
        """The block's own ``type``."""
        return str(self.raw.get("type", "unknown"))

    def to_dict(self) -> dict[str, Any]:
        """The block as it arrived."""
        return dict(self.raw)


ContentBlock: TypeAlias = (
    TextBlock | ThinkingBlock | RedactedThinkingBlock | ToolUseBlock | OtherBlock
)


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when decoded JSON ``value`` nests lists and objects deeper than ``limit``.

    Iterative, so a value nested beyond the recursion limit is measured safely.
    """
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def checked_json(value: Any, what: str) -> Any:
    """Return ``value`` if it may be kept verbatim.

    Raises:
        ProtocolError: It nests deeper than :data:`MAX_JSON_DEPTH`.
    """
    if too_deep(value):
        raise ProtocolError(f"the data in {what} is nested too deeply")
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_lone_surrogates(value: Any) -> Any:
    """Return decoded JSON ``value`` with lone surrogates replaced by U+FFFD.

    A JSON string may hold half of a surrogate pair (a ``ud800`` escape alone). Such
    a string cannot be written as UTF-8 (to a terminal, a file or the history
    database), so it must not get in. Lists and objects are changed in place; the
    walk is iterative, so any depth is safe.
    """
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    stack = [value] if isinstance(value, dict | list) else []
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(isinstance(key, str) and _SURROGATE.search(key) for key in item):
                renamed = {_SURROGATE.sub("\ufffd", key): child for key, child in item.items()}
                item.clear()
                item.update(renamed)
            entries: Any = item.items()
        else:
            entries = enumerate(item)
        for key, child in list(entries):
            if isinstance(child, str):
                if _SURROGATE.search(child):
                    item[key] = _SURROGATE.sub("\ufffd", child)
            elif isinstance(child, dict | list):
                stack.append(child)
    return value


def _text(data: Mapping[str, Any], key: str, kind: str) -> str:
    value = data.get(key, "")
    if type(value) is not str:
        raise ProtocolError(f"a {kind} block's {key} is not a string")
    return value


def block_from_dict(data: Mapping[str, Any]) -> ContentBlock:
    """Build a content block from its API shape; unknown types become ``OtherBlock``.

    Raises:
        ProtocolError: ``data`` is not an object, or a known field has the wrong type.
    """
    if not isinstance(data, Mapping):
        raise ProtocolError("a content block is not an object")
    kind = data.get("type")
    if kind == "text":
        citations = data.get("citations")
        if citations is not None and not (
            isinstance(citations, list) and all(isinstance(c, dict) for c in citations)
        ):
            raise ProtocolError("a text block's citations are not a list of objects")
        return TextBlock(
            _text(data, "text", "text"), checked_json(citations, "the citations") or None
        )
    if kind == "thinking":
        return ThinkingBlock(
            _text(data, "thinking", "thinking"), _text(data, "signature", "thinking")
        )
    if kind == "redacted_thinking":
        return RedactedThinkingBlock(_text(data, "data", "redacted thinking"))
    if kind in ("tool_use", "server_tool_use"):
        extra = {k: v for k, v in data.items() if k not in ("type", "id", "name", "input")}
        return ToolUseBlock(
            _text(data, "id", "tool use"),
            _text(data, "name", "tool use"),
            checked_json(data.get("input"), "a tool input"),
            block_type=kind,
            extra=checked_json(extra, "a tool use block"),
        )
    if not isinstance(kind, str):
        raise ProtocolError("a content block has no type")
    return OtherBlock(checked_json(dict(data), "a content block"))
