"""The assistant's message as typed data: its content blocks, stop reason and usage."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from desktop_app.core.wire.blocks import (
    ContentBlock,
    Role,
    TextBlock,
    block_from_dict,
    blocks_to_dicts,
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
        """Apply the fields ``data`` carries; fields it leaves out keep their values."""
        if not data:
            return
        for key, value in data.items():
            if key in _USAGE_COUNTS:
                if isinstance(value, int):
                    setattr(self, key, value)
            elif value is not None:
                self.extra[key] = value

    @property
    def total_input_tokens(self) -> int:
        """Input tokens including those written to and read from the cache."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    def to_dict(self) -> dict[str, Any]:
        """The usage in the Messages API shape."""
        out: dict[str, Any] = {key: getattr(self, key) for key in _USAGE_COUNTS}
        out.update(self.extra)
        return out


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
        """Build a message from the API's message object."""
        content = data.get("content")
        stop_details = data.get("stop_details")
        known = {"id", "type", "model", "role", "content", "stop_reason", "stop_sequence"}
        known |= {"stop_details", "usage"}
        return cls(
            id=str(data.get("id", "")),
            model=str(data.get("model", "")),
            role=str(data.get("role", "assistant")),
            content=[block_from_dict(b) for b in content if isinstance(b, Mapping)]
            if isinstance(content, list)
            else [],
            stop_reason=data.get("stop_reason"),
            stop_sequence=data.get("stop_sequence"),
            stop_details=stop_details if isinstance(stop_details, dict) else None,
            usage=Usage.from_dict(data.get("usage")),
            extra={k: v for k, v in data.items() if k not in known},
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
