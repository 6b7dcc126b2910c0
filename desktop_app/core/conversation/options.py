"""``RequestOptions``: the one mapping from the user's settings to what a request asks for.

The window and ``iris ask`` both build their requests here, so a setting means
the same thing everywhere. A conversation may set some of them differently
(:class:`ConversationOverrides`); :meth:`RequestOptions.from_settings` applies
those over the global settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from desktop_app.core.catalog import Catalog, ModelInfo
from desktop_app.core.settings import Settings
from desktop_app.core.wire.message import MessageParam
from desktop_app.core.wire.request import MessageRequest


@dataclasses.dataclass(frozen=True)
class ConversationOverrides:
    """What one conversation asks for differently from the global settings.

    Each field is None to use the global setting ("use default"). The system
    prompt may be overridden with "": this conversation has none, whatever the
    default says.

    Attributes:
        model: The model id, or None.
        system: The system prompt, or None.
        max_tokens: The output limit (at least 1), or None.
        temperature: Sampling temperature in ``0..1``, or None.
        top_p: Nucleus sampling in ``0..1``, or None.
    """

    model: str | None = None
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None

    def __post_init__(self) -> None:
        """Refuse values the settings would never hold.

        Raises:
            ValueError: A value is out of range or of the wrong type.
        """
        for field in dataclasses.fields(self):
            problem = _override_problem(field.name, getattr(self, field.name))
            if problem is not None:
                raise ValueError(problem)

    @property
    def is_empty(self) -> bool:
        """True when the conversation uses the global settings throughout."""
        return self == ConversationOverrides()

    def apply(self, settings: Settings) -> Settings:
        """``settings`` with these overrides in place."""
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("model", self.model),
                ("system_prompt", self.system),
                ("max_tokens", self.max_tokens),
                ("temperature", self.temperature),
                ("top_p", self.top_p),
            )
            if value is not None
        }
        return settings.with_changes(**changes) if changes else settings

    def to_dict(self) -> dict[str, Any]:
        """The overrides that are set, as JSON-ready values (for the history)."""
        return {
            f.name: v for f in dataclasses.fields(self) if (v := getattr(self, f.name)) is not None
        }

    @classmethod
    def from_dict(cls, data: object) -> ConversationOverrides:
        """Read stored overrides forgivingly: a value that cannot be used is dropped.

        Args:
            data: What :meth:`to_dict` gave, as read back; anything else gives no
                overrides.
        """
        if not isinstance(data, Mapping):
            return cls()
        kept: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            value = data.get(field.name)
            if field.name in ("temperature", "top_p") and type(value) is int:
                value = float(value)
            if value is not None and _override_problem(field.name, value) is None:
                kept[field.name] = value
        return cls(**kept)


def _override_problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be the override ``name``; None when it can (or is None)."""
    if value is None:
        return None
    if name == "model":
        ok = isinstance(value, str) and bool(value.strip())
        return None if ok else "the model must be a model id"
    if name == "system":
        return None if isinstance(value, str) else "the system prompt must be text"
    if name == "max_tokens":
        ok = type(value) is int and value >= 1
        return None if ok else "max tokens must be a positive whole number"
    ok = type(value) is float and 0.0 <= value <= 1.0  # NaN fails the comparison
    return None if ok else f"{name.replace('_', ' ')} must be a number from 0 to 1"


@dataclasses.dataclass(frozen=True)
class RequestOptions:
    """Everything about a request except its messages.

    Attributes:
        model: The model's catalog entry (its limits shape the request).
        max_tokens: The output limit asked for (clamped to the model's when sent).
        system: The system prompt, or None.
        temperature: Sampling temperature, or None for the model's default.
        top_p: Nucleus sampling, or None for the model's default.
        stop_sequences: Extra stop sequences.
        cache: Whether to mark prompt-cache breakpoints.
    """

    model: ModelInfo
    max_tokens: int = 4096
    system: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: tuple[str, ...] = ()
    cache: bool = True

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        catalog: Catalog,
        overrides: ConversationOverrides | None = None,
    ) -> RequestOptions:
        """The options ``settings`` describe, with a conversation's ``overrides`` applied."""
        if overrides is not None:
            settings = overrides.apply(settings)
        return cls(
            model=catalog.get(settings.model),
            max_tokens=settings.max_tokens,
            system=settings.system_prompt or None,
            temperature=settings.temperature,
            top_p=settings.top_p,
            stop_sequences=tuple(settings.stop_sequences),
            cache=settings.prompt_caching,
        )

    def record(self) -> dict[str, Any]:
        """What a stored reply keeps of how it was asked for (never a key or header)."""
        return {
            "model": self.model.id,
            "max_tokens": self.max_tokens,
            "system": self.system,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop_sequences": list(self.stop_sequences),
            "cache": self.cache,
        }

    def request(
        self, messages: Sequence[MessageParam], tools: Sequence[Mapping[str, Any]] = ()
    ) -> MessageRequest:
        """The request that sends ``messages`` with these options, offering ``tools``."""
        return MessageRequest(
            model=self.model.id,
            messages=tuple(messages),
            max_tokens=self.max_tokens,
            system=self.system,
            temperature=self.temperature,
            top_p=self.top_p,
            stop_sequences=self.stop_sequences,
            tools=tuple(tools),
            cache=self.cache,
        )
