"""Content blocks as typed data: text, thinking, tool use, and blocks kept verbatim.

Streamed text arrives in many small pieces; blocks collect the pieces in a list and
join them only when read, so a long reply costs linear time, not quadratic.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, TypeAlias


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
            self.input = json.loads(raw)
        except json.JSONDecodeError as exc:
            self.input_error = f"the tool input was not valid JSON ({exc.msg})"

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


def block_from_dict(data: Mapping[str, Any]) -> ContentBlock:
    """Build a content block from its API shape; unknown types become ``OtherBlock``."""
    kind = data.get("type")
    if kind == "text":
        citations = data.get("citations")
        return TextBlock(
            str(data.get("text", "")), citations if isinstance(citations, list) else None
        )
    if kind == "thinking":
        return ThinkingBlock(str(data.get("thinking", "")), str(data.get("signature", "")))
    if kind == "redacted_thinking":
        return RedactedThinkingBlock(str(data.get("data", "")))
    if kind in ("tool_use", "server_tool_use"):
        extra = {k: v for k, v in data.items() if k not in ("type", "id", "name", "input")}
        return ToolUseBlock(
            str(data.get("id", "")),
            str(data.get("name", "")),
            data.get("input"),
            block_type=str(kind),
            extra=extra,
        )
    return OtherBlock(dict(data))
