"""Export conversations as Markdown or JSON, and import JSON back.

The JSON export is a Messages API request body (``model``, ``system``,
``messages`` with images as base64 blocks) plus ``format``/``version``/``title``
and an ``iris`` side field with per-turn facts (status, error, notes, usage, reply
metadata). Importing it gives back an identical conversation. A bare request
body is accepted too.

Exports hold content only: no settings, headers or keys. Imports are checked
completely before anything is written, and written in one transaction. An
import file is read only up to :data:`MAX_IMPORT_BYTES` and holds at most
:data:`MAX_IMPORT_MESSAGES` messages; it must be UTF-8 JSON nested at most
:data:`MAX_DEPTH` levels, with valid Unicode text (no lone surrogates), finite
times, and image blocks whose data really is an image of the declared type.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.errors import HistoryFormatError, NotAnImageError, ProtocolError
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.wire.blocks import Role, blocks_from_dicts, blocks_to_dicts
from desktop_app.core.wire.message import Message

FORMAT_NAME = "iris-conversation"
FORMAT_VERSION = 1
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
MAX_IMPORT_BYTES = 40 * 1024 * 1024
"""Larger import files are refused unread. The service takes requests of up to 32 MB,
so no conversation it could have answered comes near this."""
MAX_IMPORT_MESSAGES = 10_000
MAX_DEPTH = 100
"""Objects and arrays nested deeper than this are refused (exports nest about 6 deep)."""
# Times are seconds since 1970; anything past the year 9999 is not a time.
_LATEST_TIME = 253_402_300_799.0
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MESSAGE_FIELDS = ("id", "stop_reason", "stop_sequence", "stop_details", "usage")


# Export --------------------------------------------------------------------------


def _turn_blocks(turn: Turn) -> list[dict[str, Any]]:
    return blocks_to_dicts(turn.blocks)


def export_json(store: HistoryStore, conversation_id: int) -> dict[str, Any]:
    """The active path of a conversation in the Messages API shape, with our facts.

    Args:
        store: The history.
        conversation_id: The conversation to export.

    Returns:
        A JSON-ready object; see the module description.
    """
    info = store.conversation(conversation_id)
    path = store.load_active_path(conversation_id)
    messages = []
    turns = []
    for stored in path:
        turn = stored.turn
        messages.append({"role": turn.role.value, "content": _turn_blocks(turn)})
        facts: dict[str, Any] = {"status": turn.status.value, "created": turn.created}
        if turn.error:
            facts["error"] = turn.error
        if turn.notes:
            facts["notes"] = list(turn.notes)
        if turn.model:
            facts["model"] = turn.model
        if turn.message is not None:
            whole = turn.message.to_dict()
            facts["message"] = {k: whole[k] for k in _MESSAGE_FIELDS if k in whole}
            facts["message"]["model"] = turn.message.model
            extra = dict(turn.message.extra)
            if extra:
                facts["message"]["extra"] = extra
        turns.append(facts)
    out: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "title": info.title,
        "model": info.model,
    }
    if info.system:
        out["system"] = info.system
    out["messages"] = messages
    out["iris"] = {"created": info.created, "updated": info.updated, "turns": turns}
    return out


def export_markdown(store: HistoryStore, conversation_id: int) -> str:
    """The active path of a conversation as Markdown for people to read.

    Images appear as a short note (type and size), not as data.
    """
    info = store.conversation(conversation_id)
    lines = [f"# {info.title or 'Untitled conversation'}", ""]
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created))
    lines += [f"*{stamp}{' · ' + info.model if info.model else ''}*", ""]
    if info.system:
        lines += ["## System", "", info.system, ""]
    for stored in store.load_active_path(conversation_id):
        turn = stored.turn
        if turn.role is Role.USER:
            lines += ["## You", ""]
        else:
            lines += [f"## Claude{f' ({turn.model})' if turn.model else ''}", ""]
        for block in _turn_blocks(turn):
            kind = block.get("type")
            if kind == "text" and block.get("text"):
                lines += [str(block["text"]), ""]
            elif kind == "image":
                source = block.get("source") or {}
                size = len(str(source.get("data", ""))) * 3 // 4
                lines += [f"*[image: {source.get('media_type', '?')}, {size // 1024} KB]*", ""]
            elif kind == "thinking" and block.get("thinking"):
                quoted = "\n".join("> " + line for line in str(block["thinking"]).splitlines())
                lines += ["> **Thinking**", ">", quoted, ""]
            elif kind in ("tool_use", "server_tool_use"):
                lines += [f"*[tool call: {block.get('name', '?')}]*", ""]
        for note in turn.notes:
            lines += [f"*{note}*", ""]
        if turn.status in (TurnStatus.FAILED, TurnStatus.INTERRUPTED, TurnStatus.STOPPED):
            why = f": {turn.error}" if turn.error else ""
            lines += [f"*({turn.status.value}{why})*", ""]
    return "\n".join(lines).rstrip() + "\n"


# Import --------------------------------------------------------------------------


def _fail(path: str, problem: str) -> HistoryFormatError:
    if len(path) > 120:  # deep inside nested data: the start says where
        path = path[:100] + "…"
    return HistoryFormatError(f"{path}: {problem}")


def read_import_file(path: Path) -> Any:
    """Read and decode an import file, refusing it when it is too large or not JSON.

    At most :data:`MAX_IMPORT_BYTES` + 1 bytes are read, so a device that never
    ends (``/dev/zero``) or a file that keeps growing is refused too.

    Raises:
        OSError: The file cannot be read.
        HistoryFormatError: Too large, not UTF-8, not JSON, or nested too deeply.
    """
    with path.open("rb") as handle:
        raw = handle.read(MAX_IMPORT_BYTES + 1)
    return decode_import(raw)


def decode_import(raw: bytes) -> Any:
    """Decode the bytes of an import file as JSON, within the import bounds.

    Raises:
        HistoryFormatError: Too large, not UTF-8, not JSON (NaN and Infinity are not
            JSON), or nested too deeply.
    """
    if len(raw) > MAX_IMPORT_BYTES:
        raise HistoryFormatError(
            f"the file is larger than {MAX_IMPORT_BYTES // 1_048_576} MB, the most Iris imports"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HistoryFormatError("the file is not UTF-8 text") from None
    del raw  # a large file is not kept three times over while it is parsed
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except HistoryFormatError:
        raise
    except RecursionError:
        raise HistoryFormatError("the file is nested too deeply to be a conversation") from None
    except json.JSONDecodeError as exc:
        raise HistoryFormatError(
            f"the file is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None


def _refuse_constant(name: str) -> Any:
    raise HistoryFormatError(f"the file is not valid JSON: {name} is not a number JSON allows")


def _check_tree(data: Any) -> None:
    """Refuse nesting past :data:`MAX_DEPTH`, lone surrogates and non-finite numbers."""
    pending: list[tuple[Any, str, int]] = [(data, "$", 1)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, str):
            if not value.isascii() and _LONE_SURROGATE.search(value):
                raise _fail(path, "holds a lone surrogate, which is not valid Unicode text")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise _fail(path, "must be a finite number")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise _fail(path, f"nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, list):
                pending.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
                continue
            for key, item in value.items():
                if not isinstance(key, str):
                    raise _fail(path, "object keys must be strings")
                if not key.isascii() and _LONE_SURROGATE.search(key):
                    raise _fail(path, "a key holds a lone surrogate, which is not valid Unicode")
                pending.append((item, f"{path}.{key}", depth + 1))


def _check_block(block: Any, path: str) -> dict[str, Any]:
    if not isinstance(block, dict):
        raise _fail(path, "a content block must be an object")
    kind = block.get("type")
    if not isinstance(kind, str) or not kind:
        raise _fail(f"{path}.type", "missing or not a string")
    if kind == "text" and not isinstance(block.get("text"), str):
        raise _fail(f"{path}.text", "a text block needs a string")
    if kind == "image":
        source = block.get("source")
        if not isinstance(source, dict):
            raise _fail(f"{path}.source", "an image block needs a source object")
        if source.get("type") == "base64":
            media = source.get("media_type")
            if media not in IMAGE_TYPES:
                raise _fail(f"{path}.source.media_type", f"unsupported image type {media!r}")
            data = source.get("data")
            if not isinstance(data, str) or not data:
                raise _fail(f"{path}.source.data", "missing image data")
            try:
                decoded = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise _fail(f"{path}.source.data", "not valid base64") from None
            _check_image(decoded, media, f"{path}.source.data")
        elif source.get("type") == "url":
            if not isinstance(source.get("url"), str):
                raise _fail(f"{path}.source.url", "missing or not a string")
        else:
            raise _fail(f"{path}.source.type", "must be 'base64' or 'url'")
    return dict(block)


def _check_image(data: bytes, media_type: str, path: str) -> None:
    # Pillow loads only for files that hold images.
    from desktop_app.core.images import identify_image

    try:
        found, _width, _height = identify_image(data)
    except NotAnImageError:
        raise _fail(path, f"not a readable {media_type} image") from None
    if found != media_type:
        raise _fail(path, f"declared {media_type}, but the data is {found}")


def _check_content(content: Any, path: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise _fail(path, "content must be a string or a list of blocks")
    return [_check_block(b, f"{path}[{i}]") for i, b in enumerate(content)]


def _check_system(system: Any) -> str:
    if system is None:
        return ""
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        parts = []
        for i, block in enumerate(system):
            if not isinstance(block, dict) or not isinstance(block.get("text"), str):
                raise _fail(f"$.system[{i}]", "a system block must be a text block")
            parts.append(block["text"])
        return "\n\n".join(parts)
    raise _fail("$.system", "must be a string or a list of text blocks")


def _opt_str(facts: Mapping[str, Any], key: str, path: str) -> str | None:
    value = facts.get(key)
    if value is not None and not isinstance(value, str):
        raise _fail(f"{path}.{key}", "must be a string")
    return value


def _time(value: Any, path: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, "must be a number")
    seconds = float(value)
    if not 0.0 <= seconds <= _LATEST_TIME:  # also false for NaN
        raise _fail(path, "must be a time in seconds since 1970, up to the year 9999")
    return seconds


def parse_conversation(data: Any) -> tuple[str, str, str, list[Turn], float | None]:
    """Check an import object completely and build its turns.

    Args:
        data: Decoded JSON: our export or a bare Messages API request body.

    Returns:
        Title, model, system prompt, turns, and the creation time if known.

    Raises:
        HistoryFormatError: The object is not usable; nothing was written.
    """
    if not isinstance(data, dict):
        raise _fail("$", "expected a JSON object")
    _check_tree(data)
    ours = "format" in data
    if ours and (data.get("format") != FORMAT_NAME or data.get("version") != FORMAT_VERSION):
        raise _fail(
            "$.format",
            f"expected {FORMAT_NAME!r} version {FORMAT_VERSION}, "
            f"got {data.get('format')!r} version {data.get('version')!r}",
        )
    model = data.get("model", "")
    if not isinstance(model, str):
        raise _fail("$.model", "must be a string")
    system = _check_system(data.get("system"))
    title = data.get("title", "")
    if not isinstance(title, str):
        raise _fail("$.title", "must be a string")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _fail("$.messages", "expected a non-empty list of messages")
    if len(messages) > MAX_IMPORT_MESSAGES:
        raise _fail(
            "$.messages",
            f"{len(messages):,} messages; Iris imports up to {MAX_IMPORT_MESSAGES:,}",
        )
    side = data.get("iris", {}) if ours else {}
    if not isinstance(side, dict):
        raise _fail("$.iris", "must be an object")
    facts_list = side.get("turns", [{} for _ in messages])
    if not isinstance(facts_list, list) or len(facts_list) != len(messages):
        raise _fail("$.iris.turns", "must be a list with one entry per message")
    created = side.get("created")
    created_at = None if created is None else _time(created, "$.iris.created", 0.0)
    now = time.time()
    turns = []
    for i, (entry, facts) in enumerate(zip(messages, facts_list, strict=True)):
        path = f"$.messages[{i}]"
        fpath = f"$.iris.turns[{i}]"
        if not isinstance(entry, dict):
            raise _fail(path, "a message must be an object")
        role = entry.get("role")
        if role not in ("user", "assistant"):
            raise _fail(f"{path}.role", "must be 'user' or 'assistant'")
        content = _check_content(entry.get("content"), f"{path}.content")
        if not isinstance(facts, dict):
            raise _fail(fpath, "must be an object")
        try:
            status = TurnStatus(facts.get("status", "done"))
        except ValueError:
            raise _fail(f"{fpath}.status", f"unknown status {facts.get('status')!r}") from None
        notes = facts.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise _fail(f"{fpath}.notes", "must be a list of strings")
        error = _opt_str(facts, "error", fpath)
        turn_model = _opt_str(facts, "model", fpath) or ""
        turn_created = _time(facts.get("created"), f"{fpath}.created", now + i * 1e-3)
        if role == "user":
            try:
                blocks = blocks_from_dicts(content)
            except ProtocolError as exc:  # a field or block of the wrong type
                raise _fail(path, str(exc)) from None
            turn = Turn(Role.USER, blocks, status=status, error=error, notes=list(notes))
        else:
            meta = facts.get("message", {})
            if not isinstance(meta, dict):
                raise _fail(f"{fpath}.message", "must be an object")
            extra = meta.get("extra", {})
            if not isinstance(extra, dict):
                raise _fail(f"{fpath}.message.extra", "must be an object")
            reply_model = _opt_str(meta, "model", f"{fpath}.message")
            whole = {k: meta[k] for k in _MESSAGE_FIELDS if k in meta}
            if whole.get("usage") is not None and not isinstance(whole["usage"], dict):
                raise _fail(f"{fpath}.message.usage", "must be an object")
            whole.update(extra)
            whole.update(role="assistant", content=content)
            whole["model"] = reply_model if reply_model is not None else turn_model or model
            try:
                message = Message.from_dict(whole)
            except ProtocolError as exc:  # a field or block of the wrong type
                raise _fail(path, str(exc)) from None
            turn = Turn(
                Role.ASSISTANT,
                message=message,
                status=status,
                error=error,
                notes=list(notes),
                model=turn_model if ours else model,
            )
        turn.created = turn_created
        turns.append(turn)
    if not title:
        first = next((t for t in turns if t.role is Role.USER), None)
        title = " ".join(first.text.split())[:60] if first is not None else ""
    return title, model, system, turns, created_at


def import_json(store: HistoryStore, data: Any) -> int:
    """Add the conversation in ``data`` to the store and return its id.

    Raises:
        HistoryFormatError: ``data`` is not usable; the store was not changed.
    """
    title, model, system, turns, created = parse_conversation(data)
    return store.import_conversation(title, turns, model=model, system=system, created=created)
