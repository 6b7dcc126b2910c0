"""The assistant's message as typed data: its content blocks, stop reason and usage.

:meth:`Message.from_dict` and :meth:`Usage.update` check the shape of what they are
given and raise :class:`ProtocolError` for a field of the wrong type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from desktop_app.core.errors import ProtocolError
from desktop_app.core.wire.blocks import (
    ContentBlock,
    Role,
    TextBlock,
    block_from_dict,
    blocks_to_dicts,
    checked_json,
)

_USAGE_COUNTS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


@dataclasses.dataclass
class Usage:
    """Token usage of one reply. Streamed figures are cumulative, not increments."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Usage:
        """Build usage from the API's ``usage`` object."""
        usage = cls()
        usage.update(data)
        return usage

    def update(self, data: Mapping[str, Any] | None) -> None:
        """Apply the fields ``data`` carries; fields it leaves out keep their values.

        A count that is not a whole number of tokens is ignored: it is only a figure,
        and a reply is worth more than its usage line.

        Raises:
            ProtocolError: ``data`` is not an object, or an extra field nests too deeply.
        """
        if not data:
            return
        if not isinstance(data, Mapping):
            raise ProtocolError("the usage figures are not an object")
        for key, value in data.items():
            if key in _USAGE_COUNTS:
                if type(value) is int and value >= 0:
                    setattr(self, key, value)
            elif value is not None:
                self.extra[key] = checked_json(value, "a usage figure")

    @property
    def total_input_tokens(self) -> int:
        """Input tokens including those written to and read from the cache."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    def to_dict(self) -> dict[str, Any]:
        """The usage in the Messages API shape."""
        out: dict[str, Any] = {key: getattr(self, key) for key in _USAGE_COUNTS}
        out.update(self.extra)
        return out


#: The fields of the API's message object that :class:`Message` has attributes for.
MESSAGE_FIELDS = frozenset(
    {"id", "type", "model", "role", "content", "stop_reason", "stop_sequence"}
    | {"stop_details", "usage"}
)


def _text(data: Mapping[str, Any], key: str, default: str) -> str:
    value = data.get(key)
    if value is None:
        return default
    if type(value) is not str:
        raise ProtocolError(f"the message's {key} is not a string")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and type(value) is not str:
        raise ProtocolError(f"the message's {key} is not a string")
    return value


@dataclasses.dataclass
class Message:
    """An assistant message, complete or as far as it streamed."""

    id: str = ""
    model: str = ""
    role: str = "assistant"
    content: list[ContentBlock] = dataclasses.field(default_factory=list)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None
    usage: Usage = dataclasses.field(default_factory=Usage)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Build a message from the API's message object.

        Raises:
            ProtocolError: ``data`` is not an object, or a field has the wrong type.
        """
        if not isinstance(data, Mapping):
            raise ProtocolError("the message is not an object")
        content = data.get("content")
        if content is None:
            content = []
        elif not isinstance(content, list):
            raise ProtocolError("the message's content is not a list")
        stop_details = data.get("stop_details")
        return cls(
            id=_text(data, "id", ""),
            model=_text(data, "model", ""),
            role=_text(data, "role", "assistant"),
            content=[block_from_dict(b) for b in content],
            stop_reason=_optional_text(data, "stop_reason"),
            stop_sequence=_optional_text(data, "stop_sequence"),
            stop_details=checked_json(stop_details, "the stop details")
            if isinstance(stop_details, dict)
            else None,
            usage=Usage.from_dict(data.get("usage")),
            extra=checked_json(
                {k: v for k, v in data.items() if k not in MESSAGE_FIELDS}, "a message"
            ),
        )

    @property
    def text(self) -> str:
        """All text blocks joined: what a person reads as the answer."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    def to_dict(self) -> dict[str, Any]:
        """The message in the Messages API response shape."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": self.role,
            "model": self.model,
            "content": [b.to_dict() for b in self.content],
            "stop_reason": self.stop_reason,
            "stop_sequence": self.stop_sequence,
        }
        if self.stop_details is not None:
            out["stop_details"] = self.stop_details
        out["usage"] = self.usage.to_dict()
        out.update(self.extra)
        return out

    def to_param(self) -> MessageParam:
        """The message as an ``assistant`` turn of a later request."""
        return MessageParam(Role.ASSISTANT, tuple(self.content))


@dataclasses.dataclass(frozen=True)
class MessageParam:
    """One message of a request: a role and its content blocks."""

    role: Role
    content: tuple[ContentBlock, ...]

    @classmethod
    def text(cls, role: Role, text: str) -> MessageParam:
        """A message holding one text block."""
        return cls(role, (TextBlock(text),))

    def to_dict(self) -> dict[str, Any]:
        """The message in the Messages API request shape."""
        return {"role": self.role.value, "content": blocks_to_dicts(self.content)}
