"""Export conversations as Markdown or JSON, and import JSON back.

The JSON export is a Messages API request body (``model``, ``system``,
``messages`` with images as base64 blocks) plus ``format``/``version``/``title``
and an ``iris`` side field with per-turn facts (status, error, notes, usage, reply
metadata). Importing it gives back an identical conversation. A bare request
body is accepted too.

Exports hold content only: no settings, headers or keys. Imports are checked
completely before anything is written, and written in one transaction.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from typing import Any

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.errors import HistoryFormatError, ProtocolError
from desktop_app.core.history.store import HistoryStore
from desktop_app.core.wire.message import Message

FORMAT_NAME = "iris-conversation"
FORMAT_VERSION = 1
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_MESSAGE_FIELDS = ("id", "stop_reason", "stop_sequence", "stop_details", "usage")


# Export --------------------------------------------------------------------------


def _turn_blocks(turn: Turn) -> list[dict[str, Any]]:
    if turn.message is None:
        return [dict(b) for b in turn.content]
    return [b.to_dict() for b in turn.message.content]


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
        messages.append({"role": turn.role, "content": _turn_blocks(turn)})
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
        if turn.role == "user":
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
    return HistoryFormatError(f"{path}: {problem}")


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
                base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise _fail(f"{path}.source.data", "not valid base64") from None
        elif source.get("type") == "url":
            if not isinstance(source.get("url"), str):
                raise _fail(f"{path}.source.url", "missing or not a string")
        else:
            raise _fail(f"{path}.source.type", "must be 'base64' or 'url'")
    return dict(block)


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


def _number(value: Any, path: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, "must be a number")
    return float(value)


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
    side = data.get("iris", {}) if ours else {}
    if not isinstance(side, dict):
        raise _fail("$.iris", "must be an object")
    facts_list = side.get("turns", [{} for _ in messages])
    if not isinstance(facts_list, list) or len(facts_list) != len(messages):
        raise _fail("$.iris.turns", "must be a list with one entry per message")
    created = side.get("created")
    created_at = None if created is None else _number(created, "$.iris.created", 0.0)
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
        turn_created = _number(facts.get("created"), f"{fpath}.created", now + i * 1e-3)
        if role == "user":
            turn = Turn("user", content, status=status, error=error, notes=list(notes))
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
                "assistant",
                message=message,
                status=status,
                error=error,
                notes=list(notes),
                model=turn_model if ours else model,
            )
        turn.created = turn_created
        turns.append(turn)
    if not title:
        first = next((t for t in turns if t.role == "user"), None)
        title = " ".join(first.text.split())[:60] if first is not None else ""
    return title, model, system, turns, created_at


def import_json(store: HistoryStore, data: Any) -> int:
    """Add the conversation in ``data`` to the store and return its id.

    Raises:
        HistoryFormatError: ``data`` is not usable; the store was not changed.
    """
    title, model, system, turns, created = parse_conversation(data)
    return store.import_conversation(title, turns, model=model, system=system, created=created)
