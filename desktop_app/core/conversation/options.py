"""``RequestOptions``: the one mapping from the user's settings to what a request asks for.

The window and ``iris ask`` both build their requests here, so a setting means
the same thing everywhere.
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
    def from_settings(cls, settings: Settings, catalog: Catalog) -> RequestOptions:
        """The options ``settings`` describe, for the model they name."""
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
