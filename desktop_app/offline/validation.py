"""Request validation for the offline server, following the rules of the real service.

Each rejection is an :class:`OfflineApiError` whose message names the offending field by
its path (``messages.0.content.1.text``), so the client's error display can be
tested against the same kind of text the service sends.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from desktop_app.core.catalog import Catalog, ModelInfo
from desktop_app.offline import images

MAX_IMAGE_BASE64 = 5_242_880
MAX_IMAGE_SIDE = 8000
MAX_IMAGE_SIDE_MANY = 2000
MANY_IMAGES = 20
MAX_CACHE_BREAKPOINTS = 4
MAX_MESSAGES = 100_000

_KNOWN_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "metadata",
        "tools",
        "tool_choice",
        "thinking",
        "output_config",
        "service_tier",
        "cache_control",
        "container",
        "context_management",
        "mcp_servers",
        "inference_geo",
        "diagnostics",
        "speed",
        "fallbacks",
    }
)
_BLOCK_TYPES = frozenset(
    {
        "text",
        "image",
        "document",
        "search_result",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "container_upload",
    }
)
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")


class OfflineApiError(Exception):
    """A request the offline server rejects, carried up to the HTTP layer.

    Attributes:
        status: The HTTP status code.
        error_type: The API's ``error.type``, e.g. ``invalid_request_error``.
        message: The human-readable ``error.message``.
        details: The optional ``error.details`` object.
        headers: Extra response headers, e.g. ``retry-after``.
    """

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Build an error response description."""
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.details = dict(details) if details is not None else None
        self.headers = dict(headers or {})


def invalid(message: str, *, details: Mapping[str, Any] | None = None) -> OfflineApiError:
    """Return a 400 ``invalid_request_error`` with ``message``."""
    return OfflineApiError(400, "invalid_request_error", message, details=details)


class ImageInfo(NamedTuple):
    """One image block of the request, as the server measured it.

    Attributes:
        path: Where the block sits, e.g. ``messages.0.content.1``.
        message_index: The index of the message that holds it.
        media_type: The declared media type; None for a URL source.
        width: Width in pixels (0 when not known, as for a URL source).
        height: Height in pixels (0 when not known).
        size_bytes: Decoded size of the file in bytes (0 for a URL source).
        url: The URL of a URL source, else None.
    """

    path: str
    message_index: int
    media_type: str | None
    width: int
    height: int
    size_bytes: int
    url: str | None = None


class MessagesRequest(NamedTuple):
    """A validated ``POST /v1/messages`` body.

    Attributes:
        body: The request JSON as sent.
        model: The model's catalog entry.
        max_tokens: The output budget (0 for a token-count request).
        stream: Whether the client asked for server-sent events.
        messages: The conversation turns.
        system: The system prompt normalised to a list of text blocks.
        tools: The tool definitions.
        stop_sequences: Strings that end the reply early.
        images: Every image block in request order.
        thinking: Whether the request switched extended thinking on.
    """

    body: Mapping[str, Any]
    model: ModelInfo
    max_tokens: int
    stream: bool
    messages: Sequence[Mapping[str, Any]]
    system: Sequence[Mapping[str, Any]]
    tools: Sequence[Mapping[str, Any]]
    stop_sequences: Sequence[str]
    images: Sequence[ImageInfo]
    thinking: bool


def header_value(headers: Mapping[str, str], name: str) -> str:
    """Return a header's stripped value from a lower-case mapping, or ``""``."""
    return headers.get(name, "").strip()


def api_key_of(headers: Mapping[str, str]) -> str:
    """Return the API key from ``x-api-key`` or ``Authorization: Bearer``, or ``""``."""
    key = header_value(headers, "x-api-key")
    if key:
        return key
    scheme, _, token = header_value(headers, "authorization").partition(" ")
    if scheme.lower() == "bearer":
        return token.strip()
    return ""


def check_headers(headers: Mapping[str, str]) -> None:
    """Reject a request without an API key or without ``anthropic-version``.

    Args:
        headers: The request headers with lower-case names.

    Raises:
        OfflineApiError: 401 without a key, 400 without a version.
    """
    if not api_key_of(headers):
        raise OfflineApiError(
            401,
            "authentication_error",
            "x-api-key header is required (or an Authorization: Bearer token)",
        )
    if not header_value(headers, "anthropic-version"):
        raise invalid("anthropic-version: header is required")


def parse_body(raw: bytes) -> dict[str, Any]:
    """Decode a JSON request body that must be an object.

    Raises:
        OfflineApiError: 400 when the body is not JSON or not an object.
    """
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object")
    return data


def betas_of(headers: Mapping[str, str]) -> set[str]:
    """Return the comma-separated ``anthropic-beta`` names."""
    return {b.strip() for b in header_value(headers, "anthropic-beta").split(",") if b.strip()}


def validate_messages(
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    catalog: Catalog,
    *,
    count_only: bool = False,
) -> MessagesRequest:
    """Validate a Messages (or token-count) request body.

    Args:
        body: The decoded JSON object.
        headers: The request headers with lower-case names (for ``anthropic-beta``).
        catalog: Where model limits come from.
        count_only: True for ``/v1/messages/count_tokens``, which takes no
            ``max_tokens`` and no sampling options.

    Returns:
        The validated request.

    Raises:
        OfflineApiError: The first rule the body breaks.
    """
    for field in body:
        if field not in _KNOWN_FIELDS:
            raise invalid(f"{field}: Extra inputs are not permitted")
    model = _model(body, catalog)
    max_tokens = 0 if count_only else _max_tokens(body, model, headers)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise invalid("stream: Input should be a valid boolean")
    _unit_interval(body, "temperature")
    _unit_interval(body, "top_p")
    top_k = body.get("top_k")
    if top_k is not None and (not _is_int(top_k) or top_k < 0):
        raise invalid("top_k: Input should be a non-negative integer")
    stop_sequences = _stop_sequences(body)
    system = _system(body.get("system"))
    tools = _tools(body.get("tools"))
    thinking = _thinking(body.get("thinking"), max_tokens, count_only=count_only)
    messages = _messages(body.get("messages"))
    found_images = _images(messages, model)
    _cache_breakpoints(system, tools, messages, body.get("cache_control"))
    return MessagesRequest(
        body=body,
        model=model,
        max_tokens=max_tokens,
        stream=stream,
        messages=messages,
        system=system,
        tools=tools,
        stop_sequences=stop_sequences,
        images=found_images,
        thinking=thinking,
    )


# -- top-level fields ----------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _model(body: Mapping[str, Any], catalog: Catalog) -> ModelInfo:
    model_id = body.get("model")
    if model_id is None:
        raise invalid("model: Field required")
    if not isinstance(model_id, str) or not model_id:
        raise invalid("model: Input should be a valid string")
    if model_id not in catalog:
        # The service answers an unknown model with 404 and the model's name.
        raise OfflineApiError(404, "not_found_error", f"model: {model_id}")
    return catalog.get(model_id)


def _max_tokens(body: Mapping[str, Any], model: ModelInfo, headers: Mapping[str, str]) -> int:
    value = body.get("max_tokens")
    if value is None:
        raise invalid("max_tokens: Field required")
    if not _is_int(value):
        raise invalid("max_tokens: Input should be a valid integer")
    if value < 1:
        raise invalid("max_tokens: Input should be greater than or equal to 1")
    ceiling = model.max_output
    if (
        model.extended_max_output is not None
        and model.extended_output_beta is not None
        and model.extended_output_beta in betas_of(headers)
    ):
        ceiling = model.extended_max_output
    if value > ceiling:
        raise invalid(
            f"max_tokens: {value} > {ceiling}, which is the maximum allowed number of "
            f"output tokens for {model.id}"
        )
    return int(value)


def _unit_interval(body: Mapping[str, Any], name: str) -> None:
    value = body.get(name)
    if value is None:
        return
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise invalid(f"{name}: Input should be a valid number")
    if value < 0:
        raise invalid(f"{name}: Input should be greater than or equal to 0")
    if value > 1:
        raise invalid(f"{name}: Input should be less than or equal to 1")


def _stop_sequences(body: Mapping[str, Any]) -> list[str]:
    value = body.get("stop_sequences")
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("stop_sequences: Input should be a valid list")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise invalid(f"stop_sequences.{index}: Input should be a valid string")
        if not item.strip():
            raise invalid(f"stop_sequences.{index}: stop sequences must contain non-whitespace")
    return list(value)


def _system(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "text", "text": value}] if value else []
    if not isinstance(value, list):
        raise invalid("system: Input should be a valid string or a list of text blocks")
    for index, block in enumerate(value):
        path = f"system.{index}"
        if not isinstance(block, dict) or block.get("type") != "text":
            raise invalid(f"{path}: Input should be a text block")
        _text_block(block, path)
    return list(value)


def _tools(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("tools: Input should be a valid list")
    for index, tool in enumerate(value):
        path = f"tools.{index}"
        if not isinstance(tool, dict):
            raise invalid(f"{path}: Input should be a valid dictionary")
        name = tool.get("name")
        if not isinstance(name, str):
            raise invalid(f"{path}.name: Field required")
        if "type" in tool and "input_schema" not in tool:
            continue  # a server tool such as web search: its own fields, no schema
        if not _TOOL_NAME.match(name):
            raise invalid(f"{path}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
        if not isinstance(tool.get("input_schema"), dict):
            raise invalid(f"{path}.input_schema: Field required")
        _cache_control(tool, path)
    return list(value)


def _thinking(value: object, max_tokens: int, *, count_only: bool) -> bool:
    if value is None:
        return False
    if not isinstance(value, dict):
        raise invalid("thinking: Input should be a valid dictionary")
    kind = value.get("type")
    if kind == "disabled":
        return False
    if kind == "adaptive":
        return value.get("display") != "omitted"
    if kind != "enabled":
        raise invalid(
            f"thinking.type: Input tag {json.dumps(kind)} found using 'type' does not match "
            "any of the expected tags: 'enabled', 'adaptive', 'disabled'"
        )
    budget = value.get("budget_tokens")
    if not isinstance(budget, int) or isinstance(budget, bool):
        raise invalid("thinking.enabled.budget_tokens: Field required")
    if budget < 1024:
        raise invalid(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        )
    if not count_only and budget >= max_tokens:
        raise invalid("`max_tokens` must be greater than `thinking.budget_tokens`")
    return value.get("display") != "omitted"


# -- messages and content blocks -----------------------------------------------------------


def _messages(value: object) -> list[dict[str, Any]]:
    if value is None:
        raise invalid("messages: Field required")
    if not isinstance(value, list):
        raise invalid("messages: Input should be a valid list")
    if not value:
        raise invalid("messages: at least one message is required")
    if len(value) > MAX_MESSAGES:
        raise invalid(f"messages: A maximum of {MAX_MESSAGES} messages may be provided.")
    previous: str | None = None
    for index, message in enumerate(value):
        path = f"messages.{index}"
        if not isinstance(message, dict):
            raise invalid(f"{path}: Input should be a valid dictionary")
        role = message.get("role")
        if role == "system":
            raise invalid(
                f'{path}.role: Unexpected role "system". The Messages API accepts a top-level '
                '`system` parameter, not "system" as an input message role.'
            )
        if role not in ("user", "assistant"):
            raise invalid(f"{path}.role: Input should be 'user' or 'assistant'")
        if previous is None and role != "user":
            raise invalid(f'{path}.role: the first message must use the "user" role')
        if role == previous:
            raise invalid(
                f'{path}.role: roles must alternate between "user" and "assistant", '
                f'but found two "{role}" messages in a row'
            )
        previous = role
        if "content" not in message:
            raise invalid(f"{path}.content: Field required")
        _content(message["content"], f"{path}.content")
    return list(value)


def _content(content: object, path: str) -> None:
    if isinstance(content, str):
        if not content:
            raise invalid(f"{path}: text content must be non-empty")
        return
    if not isinstance(content, list):
        raise invalid(f"{path}: Input should be a valid string or a list of content blocks")
    if not content:
        raise invalid(f"{path}: List should have at least 1 item")
    for index, block in enumerate(content):
        _block(block, f"{path}.{index}")


def _block(block: object, path: str) -> None:
    if not isinstance(block, dict):
        raise invalid(f"{path}: Input should be a valid dictionary")
    kind = block.get("type")
    if kind not in _BLOCK_TYPES:
        raise invalid(
            f"{path}.type: Input tag {json.dumps(kind)} found using 'type' does not match "
            "any of the expected tags"
        )
    if kind == "text":
        _text_block(block, path)
    elif kind == "tool_use":
        for field in ("id", "name"):
            if not isinstance(block.get(field), str):
                raise invalid(f"{path}.{field}: Field required")
        if not isinstance(block.get("input"), dict):
            raise invalid(f"{path}.input: Input should be a valid dictionary")
    elif kind == "tool_result":
        if not isinstance(block.get("tool_use_id"), str):
            raise invalid(f"{path}.tool_use_id: Field required")
        inner = block.get("content")
        if isinstance(inner, list):
            for index, item in enumerate(inner):
                _block(item, f"{path}.content.{index}")
        elif inner is not None and not isinstance(inner, str):
            raise invalid(f"{path}.content: Input should be a valid string or list")
    elif kind == "thinking":
        if not isinstance(block.get("thinking"), str) or not isinstance(
            block.get("signature"), str
        ):
            raise invalid(f"{path}: thinking blocks need `thinking` and `signature` strings")
    elif kind in ("image", "document") and not isinstance(block.get("source"), dict):
        raise invalid(f"{path}.source: Field required")
    _cache_control(block, path)


def _text_block(block: Mapping[str, Any], path: str) -> None:
    text = block.get("text")
    if not isinstance(text, str):
        raise invalid(f"{path}.text: Input should be a valid string")
    if not text:
        raise invalid(f"{path}.text: text content blocks must be non-empty")
    _cache_control(block, path)


def _cache_control(block: Mapping[str, Any], path: str) -> None:
    control = block.get("cache_control")
    if control is None:
        return
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise invalid(f"{path}.cache_control.type: Input should be 'ephemeral'")
    if control.get("ttl", "5m") not in ("5m", "1h"):
        raise invalid(f"{path}.cache_control.ttl: Input should be '5m' or '1h'")


def _cache_breakpoints(
    system: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]],
    messages: Sequence[Mapping[str, Any]],
    automatic: object,
) -> None:
    if automatic is not None:
        _cache_control({"cache_control": automatic}, "cache_control")
    found = sum(1 for tool in tools if tool.get("cache_control") is not None)
    found += sum(1 for block in system if block.get("cache_control") is not None)
    for message in messages:
        content = message["content"]
        if isinstance(content, list):
            found += sum(1 for block in content if block.get("cache_control") is not None)
    if found > MAX_CACHE_BREAKPOINTS:
        raise invalid(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {found}."
        )


# -- images --------------------------------------------------------------------------------


def _image_blocks(messages: Sequence[Mapping[str, Any]]) -> list[tuple[str, int, dict[str, Any]]]:
    found: list[tuple[str, int, dict[str, Any]]] = []
    for m_index, message in enumerate(messages):
        content = message["content"]
        if not isinstance(content, list):
            continue
        for b_index, block in enumerate(content):
            path = f"messages.{m_index}.content.{b_index}"
            if block["type"] == "image":
                found.append((path, m_index, block))
            elif block["type"] == "tool_result" and isinstance(block.get("content"), list):
                for i_index, inner in enumerate(block["content"]):
                    if inner["type"] == "image":
                        found.append((f"{path}.content.{i_index}", m_index, inner))
    return found


def _images(messages: Sequence[Mapping[str, Any]], model: ModelInfo) -> list[ImageInfo]:
    blocks = _image_blocks(messages)
    # Models with a context window above 200K tokens take more images per request.
    limit = 100 if model.context_window <= 200_000 else 600
    if len(blocks) > limit:
        raise invalid(f"A maximum of {limit} images may be provided. Found {len(blocks)}.")
    found = [_image(path, m_index, block) for path, m_index, block in blocks]
    if len(found) > MANY_IMAGES:
        for image in found:
            if max(image.width, image.height) > MAX_IMAGE_SIDE_MANY:
                raise _too_large(image.path, MAX_IMAGE_SIDE_MANY, " for many-image requests")
    return found


def _too_large(path: str, side: int, qualifier: str) -> OfflineApiError:
    return invalid(
        f"{path}.image.source.base64.data: At least one of the image dimensions exceed max "
        f"allowed size{qualifier}: {side} pixels",
        details={
            "error_code": "image_dimensions_too_large",
            "max_side_length_pixels": side,
            "paths": [path],
        },
    )


def _image(path: str, message_index: int, block: Mapping[str, Any]) -> ImageInfo:
    source = block["source"]
    kind = source.get("type")
    if kind == "url":
        url = source.get("url")
        if not isinstance(url, str) or not url:
            raise invalid(f"{path}.source.url: Field required")
        return ImageInfo(path, message_index, None, 0, 0, 0, url=url)
    if kind != "base64":
        raise invalid(
            f"{path}.source.type: Input tag {json.dumps(kind)} found using 'type' does not "
            "match any of the expected tags: 'base64', 'url'"
        )
    media_type = source.get("media_type")
    if media_type not in images.MEDIA_TYPES:
        raise invalid(
            f"{path}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
            "'image/gif' or 'image/webp'"
        )
    data = source.get("data")
    if not isinstance(data, str):
        raise invalid(f"{path}.source.base64.data: Field required")
    # The limit applies to the base64 text, checked before decoding anything.
    if len(data) > MAX_IMAGE_BASE64:
        raise invalid(
            f"{path}.image.source.base64: image exceeds 5 MB maximum: "
            f"{len(data)} bytes > {MAX_IMAGE_BASE64} bytes"
        )
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{path}.image.source.base64.data: invalid base64 data") from None
    actual = images.sniff_media_type(raw)
    if actual is None:
        raise invalid(f"{path}.image.source.base64.data: Could not process image")
    if actual != media_type:
        raise invalid(
            f"{path}.image.source.base64.data: Image does not match the provided media type "
            f"{media_type}"
        )
    size = images.image_size(raw, actual)
    if size is None:
        raise invalid(f"{path}.image.source.base64.data: Could not process image")
    width, height = size
    if max(width, height) > MAX_IMAGE_SIDE:
        raise _too_large(path, MAX_IMAGE_SIDE, "")
    return ImageInfo(path, message_index, media_type, width, height, len(raw))
