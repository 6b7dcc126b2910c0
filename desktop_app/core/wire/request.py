"""What a request asks for, and its JSON body: no HTTP stack needed.

Kept apart from :mod:`desktop_app.core.api.client` so the window can build
requests without loading httpx at start-up.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

from desktop_app.core.catalog import ModelInfo
from desktop_app.core.wire.message import MessageParam

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_API_VERSION = "2023-06-01"
MAX_CACHE_BREAKPOINTS = 4


def base_url_from_env(configured: str | None = None) -> str:
    """The base URL to use: the configured one, else ``ANTHROPIC_BASE_URL``, else the API's."""
    url = configured or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL
    return url.rstrip("/")


@dataclasses.dataclass(frozen=True)
class MessageRequest:
    """What the user asked for; :func:`build_body` turns it into the wire format.

    Sampling fields left as None are not sent, so the model's defaults apply.
    """

    model: str
    messages: Sequence[MessageParam]
    max_tokens: int = 4096
    system: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: Sequence[str] = ()
    user_id: str | None = None
    tools: Sequence[Mapping[str, Any]] = ()
    cache: bool = False


def _count_breakpoints(value: Any) -> int:
    if isinstance(value, dict):
        own = 1 if "cache_control" in value else 0
        return own + sum(_count_breakpoints(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_breakpoints(v) for v in value)
    return 0


def _clean_content(content: Any) -> Any:
    """Drop empty text blocks: the API rejects them, and image-only turns are valid."""
    if isinstance(content, list):
        return [
            b
            for b in content
            if not (isinstance(b, dict) and b.get("type") == "text" and not b.get("text"))
        ]
    return content


def build_body(request: MessageRequest, model: ModelInfo) -> tuple[dict[str, Any], list[str]]:
    """Build the JSON body and the ``anthropic-beta`` values for ``request``.

    ``max_tokens`` is clamped to the model's ceiling, and the extended-output beta
    is named only when the clamped value needs it. With caching on, ephemeral
    breakpoints go on the system prompt and the last user turn, never taking
    the request past four in all.
    """
    max_tokens = model.clamp_max_tokens(request.max_tokens)
    betas = [b for b in (model.beta_for(max_tokens),) if b]
    messages = [m.to_dict() for m in request.messages]
    for message in messages:
        message["content"] = _clean_content(message["content"])
    body: dict[str, Any] = {"model": request.model, "max_tokens": max_tokens}

    tools = [dict(t) for t in request.tools]
    budget = MAX_CACHE_BREAKPOINTS - _count_breakpoints(tools) - _count_breakpoints(messages)
    if request.system:
        if request.cache and budget > 0:
            body["system"] = [
                {"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}
            ]
            budget -= 1
        else:
            body["system"] = request.system
    if request.cache and budget > 0:
        for message in reversed(messages):
            if message["role"] != "user":
                continue
            content = message["content"]
            if isinstance(content, str):
                content = [{"type": "text", "text": content}] if content else []
                message["content"] = content
            if content and isinstance(content[-1], dict) and "cache_control" not in content[-1]:
                content[-1] = {**content[-1], "cache_control": {"type": "ephemeral"}}
            break
    body["messages"] = messages
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop_sequences:
        body["stop_sequences"] = list(request.stop_sequences)
    if request.user_id:
        body["metadata"] = {"user_id": request.user_id}
    if tools:
        body["tools"] = tools
    body["stream"] = True
    return body, betas
