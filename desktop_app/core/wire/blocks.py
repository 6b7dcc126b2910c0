"""Content blocks as typed data, in both directions.

What the user sends (text, images, documents, tool results) and what the model
answers (text, thinking, tool use) are the same few block types; a block Iris
does not interpret is kept verbatim as :class:`OtherBlock`, so nothing is lost
and new server features never break an old client.

Streamed text arrives in many small pieces; blocks collect the pieces in a list and
join them only when read, so a long reply costs linear time, not quadratic.

:func:`block_from_dict` checks the shape of what it is given: a field of the wrong
type raises :class:`ProtocolError` with a plain message, while a block type Iris
does not know is kept verbatim as :class:`OtherBlock`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from desktop_app.core.errors import ProtocolError

#: How deeply JSON kept verbatim (unknown blocks, tool input, citations) may nest.
#: Far beyond anything the API sends, and far below Python's recursion limit, so
#: the message can always be saved and shown.
MAX_JSON_DEPTH = 64


class Role(enum.StrEnum):
    """Who a message is from; the values are the wire format's."""

    USER = "user"
    ASSISTANT = "assistant"


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

    def __eq__(self, other: object) -> bool:
        """Blocks are equal when their API shapes are (they are data, not identities)."""
        if not isinstance(other, TextBlock):
            return NotImplemented
        return self.to_dict() == other.to_dict()

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

    def __eq__(self, other: object) -> bool:
        """Blocks are equal when their API shapes are (they are data, not identities)."""
        if not isinstance(other, ThinkingBlock):
            return NotImplemented
        return self.to_dict() == other.to_dict()

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

    def __eq__(self, other: object) -> bool:
        """Blocks are equal when their API shapes are (they are data, not identities)."""
        if not isinstance(other, ToolUseBlock):
            return NotImplemented
        return self.to_dict() == other.to_dict()

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


# -- sources of images and documents ------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Base64Source:
    """Bytes carried in the request, base64-encoded."""

    media_type: str
    data: str

    def to_dict(self) -> dict[str, Any]:
        """The source in the Messages API shape."""
        return {"type": "base64", "media_type": self.media_type, "data": self.data}

    @property
    def byte_size(self) -> int:
        """The decoded size in bytes, computed from the base64 length."""
        padding = self.data[-2:].count("=") if self.data else 0
        return len(self.data) * 3 // 4 - padding

    def decoded(self) -> bytes:
        """The raw bytes; empty when the data is not valid base64."""
        try:
            return base64.b64decode(self.data, validate=True)
        except (binascii.Error, ValueError):
            return b""


@dataclasses.dataclass(frozen=True)
class UrlSource:
    """A file the service fetches itself."""

    url: str

    def to_dict(self) -> dict[str, Any]:
        """The source in the Messages API shape."""
        return {"type": "url", "url": self.url}


@dataclasses.dataclass(frozen=True)
class FileSource:
    """A file uploaded with the Files API."""

    file_id: str

    def to_dict(self) -> dict[str, Any]:
        """The source in the Messages API shape."""
        return {"type": "file", "file_id": self.file_id}


@dataclasses.dataclass(frozen=True)
class PlainTextSource:
    """A plain-text document carried in the request."""

    data: str
    media_type: str = "text/plain"

    def to_dict(self) -> dict[str, Any]:
        """The source in the Messages API shape."""
        return {"type": "text", "media_type": self.media_type, "data": self.data}


ImageSource: TypeAlias = Base64Source | UrlSource | FileSource
DocumentSource: TypeAlias = Base64Source | UrlSource | FileSource | PlainTextSource


def _source_from_dict(data: Any) -> Base64Source | UrlSource | FileSource | PlainTextSource | None:
    if not isinstance(data, Mapping):
        return None
    kind = data.get("type")
    if kind == "base64" and isinstance(data.get("data"), str):
        return Base64Source(str(data.get("media_type", "")), data["data"])
    if kind == "url" and isinstance(data.get("url"), str):
        return UrlSource(data["url"])
    if kind == "file" and isinstance(data.get("file_id"), str):
        return FileSource(data["file_id"])
    if kind == "text" and isinstance(data.get("data"), str):
        return PlainTextSource(data["data"], str(data.get("media_type", "text/plain")))
    return None


# -- blocks the user sends -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ImageBlock:
    """An ``image`` block."""

    source: ImageSource
    type = "image"

    def to_dict(self) -> dict[str, Any]:
        """The block in the Messages API shape."""
        return {"type": "image", "source": self.source.to_dict()}


@dataclasses.dataclass(frozen=True)
class DocumentBlock:
    """A ``document`` block: a PDF or text the model reads, and may cite.

    Attributes:
        source: Where the document's bytes are.
        title: A title passed to the model (and shown in citations).
        context: Text about the document that the model sees but never cites.
        citations: True or False to set citations; None leaves the field out.
    """

    source: DocumentSource
    title: str | None = None
    context: str | None = None
    citations: bool | None = None
    type = "document"

    def to_dict(self) -> dict[str, Any]:
        """The block in the Messages API shape."""
        block: dict[str, Any] = {"type": "document", "source": self.source.to_dict()}
        if self.title is not None:
            block["title"] = self.title
        if self.context is not None:
            block["context"] = self.context
        if self.citations is not None:
            block["citations"] = {"enabled": self.citations}
        return block


@dataclasses.dataclass(frozen=True)
class ToolResultBlock:
    """A ``tool_result`` block: what a tool call gave back, or why it failed.

    Attributes:
        tool_use_id: The id of the ``tool_use`` block this answers.
        content: The result: plain text, or text, image and document blocks.
        is_error: True when the call failed, was denied, timed out or was stopped.
    """

    tool_use_id: str
    content: str | tuple[TextBlock | ImageBlock | DocumentBlock | OtherBlock, ...] = ""
    is_error: bool = False
    type = "tool_result"

    @property
    def text(self) -> str:
        """The result's text, joined: what a person reads."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content if isinstance(p, TextBlock))

    def to_dict(self) -> dict[str, Any]:
        """The block in the Messages API shape."""
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": self.tool_use_id}
        if isinstance(self.content, str):
            if self.content:
                block["content"] = self.content
        else:
            block["content"] = [part.to_dict() for part in self.content]
        if self.is_error:
            block["is_error"] = True
        return block


ContentBlock: TypeAlias = (
    TextBlock
    | ImageBlock
    | DocumentBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | OtherBlock
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


def _image_from_dict(data: Mapping[str, Any]) -> ContentBlock:
    source = _source_from_dict(data.get("source"))
    if isinstance(source, PlainTextSource) or source is None:
        return OtherBlock(checked_json(dict(data), "a content block"))
    return ImageBlock(source)


def _document_from_dict(data: Mapping[str, Any]) -> ContentBlock:
    source = _source_from_dict(data.get("source"))
    if source is None:
        return OtherBlock(checked_json(dict(data), "a content block"))
    title, context, citations = data.get("title"), data.get("context"), data.get("citations")
    enabled = citations.get("enabled") if isinstance(citations, Mapping) else None
    return DocumentBlock(
        source,
        title if isinstance(title, str) else None,
        context if isinstance(context, str) else None,
        enabled if isinstance(enabled, bool) else None,
    )


def _tool_result_from_dict(data: Mapping[str, Any]) -> ContentBlock:
    tool_use_id = data.get("tool_use_id")
    if not isinstance(tool_use_id, str):
        return OtherBlock(checked_json(dict(data), "a content block"))
    raw = data.get("content", "")
    content: str | tuple[TextBlock | ImageBlock | DocumentBlock | OtherBlock, ...]
    if isinstance(raw, str):
        content = raw
    elif isinstance(raw, list):
        parts: list[TextBlock | ImageBlock | DocumentBlock | OtherBlock] = []
        for item in raw:
            if not isinstance(item, Mapping):
                continue
            part = block_from_dict(item)
            parts.append(
                part
                if isinstance(part, TextBlock | ImageBlock | DocumentBlock | OtherBlock)
                else OtherBlock(checked_json(dict(item), "a tool result"))
            )
        content = tuple(parts)
    else:
        content = ""
    return ToolResultBlock(tool_use_id, content, data.get("is_error") is True)


def blocks_to_dicts(blocks: Sequence[ContentBlock]) -> list[dict[str, Any]]:
    """Every block in the Messages API shape."""
    return [block.to_dict() for block in blocks]


def blocks_from_dicts(data: Sequence[Any]) -> list[ContentBlock]:
    """Typed blocks from a list of API-shaped objects; non-objects are skipped."""
    return [block_from_dict(item) for item in data if isinstance(item, Mapping)]


def block_from_dict(data: Mapping[str, Any]) -> ContentBlock:
    """Build a content block from its API shape; unknown types become ``OtherBlock``.

    Raises:
        ProtocolError: ``data`` is not an object, or a known field has the wrong type.
    """
    if not isinstance(data, Mapping):
        raise ProtocolError("a content block is not an object")
    kind = data.get("type")
    if kind == "image":
        return _image_from_dict(data)
    if kind == "document":
        return _document_from_dict(data)
    if kind == "tool_result":
        return _tool_result_from_dict(data)
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
