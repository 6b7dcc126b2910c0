"""What the offline server answers: scripted replies, usage figures and SSE events.

Replies are deterministic so that tests and screenshots are repeatable. A reply is
planned once as a list of blocks cut into word-sized pieces; the same plan then
becomes either the streamed events or the single JSON message, so both forms
always agree. Every piece counts as one output token.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from desktop_app.offline.validation import ImageInfo, MessagesRequest

COMMANDS = ("/markdown", "/think", "/tool", "/refuse", "/cite", "/long")

_PIECE = re.compile(r"\s*\S+|\s+")
_MAX_PIECE = 16
_JSON_PIECE = 8
_QUOTE_CHARS = 120


class SseEvent(NamedTuple):
    """One server-sent event: its name and the JSON object it carries.

    Attributes:
        name: The ``event:`` field, also the ``type`` inside ``data``.
        data: The ``data:`` payload.
    """

    name: str
    data: Mapping[str, Any]

    def encode(self) -> bytes:
        """Return the event in wire form, ending with the blank line."""
        payload = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))
        return f"event: {self.name}\ndata: {payload}\n\n".encode()


class Block:
    """One planned content block.

    Attributes:
        type: ``text``, ``thinking`` or ``tool_use``.
        pieces: The units streamed as deltas, one output token each.
        signature: The thinking block's signature.
        tool_id: The tool_use block's id.
        tool_name: The tool_use block's tool name.
        citation: A citation sent before the text of a cited text block.
    """

    def __init__(
        self,
        type: str,
        pieces: list[str],
        *,
        signature: str | None = None,
        tool_id: str | None = None,
        tool_name: str | None = None,
        citation: dict[str, Any] | None = None,
    ) -> None:
        """Describe a block; see the class attributes."""
        self.type = type
        self.pieces = pieces
        self.signature = signature
        self.tool_id = tool_id
        self.tool_name = tool_name
        self.citation = citation

    @property
    def text(self) -> str:
        """The block's full text (or partial JSON for a tool_use block)."""
        return "".join(self.pieces)


class InputUsage(NamedTuple):
    """Input-side token counts of one request.

    Attributes:
        input_tokens: Tokens neither read from nor written to the cache.
        cache_creation_input_tokens: Tokens written to the prompt cache.
        cache_read_input_tokens: Tokens read from the prompt cache.
        cache_creation_1h: The part of the creation count with a one-hour lifetime.
    """

    input_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_1h: int = 0

    def as_json(self) -> dict[str, Any]:
        """Return the usage fields as the API names them."""
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_input_tokens
                - self.cache_creation_1h,
                "ephemeral_1h_input_tokens": self.cache_creation_1h,
            },
        }


class Reply:
    """A planned assistant message.

    Attributes:
        id: The message id, ``msg_…``.
        model: The model id echoed from the request.
        blocks: The content blocks after limits were applied.
        stop_reason: Why the message ended.
        stop_sequence: The stop sequence that ended it, if any.
        stop_details: Refusal details, if any.
        usage: Input-side usage.
    """

    def __init__(
        self,
        *,
        id: str,
        model: str,
        blocks: list[Block],
        stop_reason: str,
        stop_sequence: str | None,
        stop_details: dict[str, Any] | None,
        usage: InputUsage,
    ) -> None:
        """Describe a message; see the class attributes."""
        self.id = id
        self.model = model
        self.blocks = blocks
        self.stop_reason = stop_reason
        self.stop_sequence = stop_sequence
        self.stop_details = stop_details
        self.usage = usage

    @property
    def output_tokens(self) -> int:
        """Counted output units: every streamed piece."""
        return sum(len(block.pieces) for block in self.blocks)

    def usage_json(self) -> dict[str, Any]:
        """Return the final usage object of the message."""
        return {**self.usage.as_json(), "output_tokens": self.output_tokens}

    def message(self) -> dict[str, Any]:
        """Return the complete message, as a non-streaming response carries it."""
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [_final_block(block) for block in self.blocks],
            "stop_reason": self.stop_reason,
            "stop_sequence": self.stop_sequence,
            "stop_details": self.stop_details,
            "usage": {**self.usage_json(), "service_tier": "standard"},
        }

    def events(self) -> Iterator[SseEvent]:
        """Yield the reply as the stream of events the service sends."""
        start: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "stop_details": None,
            "usage": {**self.usage.as_json(), "output_tokens": 1, "service_tier": "standard"},
        }
        yield SseEvent("message_start", {"type": "message_start", "message": start})
        for index, block in enumerate(self.blocks):
            yield SseEvent(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": _start(block)},
            )
            if index == 0:
                yield SseEvent("ping", {"type": "ping"})
            yield from _deltas(index, block)
            yield SseEvent("content_block_stop", {"type": "content_block_stop", "index": index})
        usage = self.usage.as_json()
        del usage["cache_creation"]
        yield SseEvent(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": self.stop_reason,
                    "stop_sequence": self.stop_sequence,
                    "stop_details": self.stop_details,
                },
                "usage": {**usage, "output_tokens": self.output_tokens},
            },
        )
        yield SseEvent("message_stop", {"type": "message_stop"})


def _start(block: Block) -> dict[str, Any]:
    if block.type == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.tool_id, "name": block.tool_name, "input": {}}
    return {"type": "text", "text": ""}


def _deltas(index: int, block: Block) -> Iterator[SseEvent]:
    def delta(payload: dict[str, Any]) -> SseEvent:
        return SseEvent(
            "content_block_delta",
            {"type": "content_block_delta", "index": index, "delta": payload},
        )

    if block.type == "thinking":
        for piece in block.pieces:
            yield delta({"type": "thinking_delta", "thinking": piece})
        # The signature always comes last, just before the block stops.
        yield delta({"type": "signature_delta", "signature": block.signature or ""})
    elif block.type == "tool_use":
        # The service opens every tool input with an empty fragment.
        yield delta({"type": "input_json_delta", "partial_json": ""})
        for piece in block.pieces:
            yield delta({"type": "input_json_delta", "partial_json": piece})
    else:
        if block.citation is not None:
            yield delta({"type": "citations_delta", "citation": block.citation})
        for piece in block.pieces:
            yield delta({"type": "text_delta", "text": piece})


def _final_block(block: Block) -> dict[str, Any]:
    if block.type == "thinking":
        return {"type": "thinking", "thinking": block.text, "signature": block.signature or ""}
    if block.type == "tool_use":
        try:
            tool_input = json.loads(block.text)
        except ValueError:
            tool_input = {}  # cut short by max_tokens
        return {
            "type": "tool_use",
            "id": block.tool_id,
            "name": block.tool_name,
            "input": tool_input,
        }
    final: dict[str, Any] = {"type": "text", "text": block.text}
    if block.citation is not None:
        final["citations"] = [block.citation]
    return final


def split_pieces(text: str) -> list[str]:
    """Cut text into word-sized pieces whose concatenation is ``text``.

    Leading whitespace stays with the word that follows, as in the service's
    deltas (``"Hello"``, ``" there"``); very long words are cut further.
    """
    pieces: list[str] = []
    for match in _PIECE.finditer(text):
        piece = match.group()
        while len(piece) > _MAX_PIECE:
            pieces.append(piece[:_MAX_PIECE])
            piece = piece[_MAX_PIECE:]
        pieces.append(piece)
    return pieces


# -- usage and the prompt cache ------------------------------------------------------------


class _Segment(NamedTuple):
    tokens: int
    material: bytes
    breakpoint: str | None  # the cache lifetime when the segment ends a cached prefix


def _tokens_for_text(text: str) -> int:
    return max(1, round(len(text) / 4)) if text else 0


def _without_cache_control(block: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k != "cache_control"}


def _segment(block: Mapping[str, Any], tokens: int) -> _Segment:
    control = block.get("cache_control")
    ttl = str(control.get("ttl", "5m")) if isinstance(control, Mapping) else None
    material = json.dumps(_without_cache_control(block), sort_keys=True).encode()
    return _Segment(tokens, material, ttl)


def _segments(request: MessagesRequest) -> list[_Segment]:
    # The service renders the prompt as tools, then system, then messages.
    images = {image.path: image for image in request.images}
    segments = [_segment(tool, _tokens_for_text(_compact(tool))) for tool in request.tools]
    segments += [_segment(block, _tokens_for_text(block["text"])) for block in request.system]
    for m_index, message in enumerate(request.messages):
        content = message["content"]
        if isinstance(content, str):
            segments.append(_segment({"text": content}, _tokens_for_text(content)))
            continue
        for b_index, block in enumerate(content):
            path = f"messages.{m_index}.content.{b_index}"
            segments.append(_segment(block, _block_tokens(block, path, images)))
    automatic = request.body.get("cache_control")
    if isinstance(automatic, Mapping) and segments and segments[-1].breakpoint is None:
        # Automatic caching puts the breakpoint on the last block.
        last = segments[-1]
        segments[-1] = _Segment(last.tokens, last.material, str(automatic.get("ttl", "5m")))
    return segments


def _compact(value: Mapping[str, Any]) -> str:
    return json.dumps(_without_cache_control(value), separators=(",", ":"))


def _block_tokens(block: Mapping[str, Any], path: str, images: Mapping[str, ImageInfo]) -> int:
    kind = block["type"]
    if kind == "text":
        return _tokens_for_text(block["text"])
    if kind == "image":
        return _image_tokens(images.get(path))
    if kind == "tool_result" and isinstance(block.get("content"), list):
        total = 0
        for index, inner in enumerate(block["content"]):
            total += _block_tokens(inner, f"{path}.content.{index}", images)
        return max(total, 1)
    if kind == "thinking":
        return _tokens_for_text(block["thinking"])
    return _tokens_for_text(_compact(block))


def _image_tokens(image: ImageInfo | None) -> int:
    if image is None or image.width == 0:
        return 1  # a URL image: the offline server never sees its pixels
    return max(1, round(image.width * image.height / 750))


def count_input_tokens(request: MessagesRequest) -> int:
    """Estimate the request's input tokens: characters / 4, plus w*h/750 per image."""
    return sum(segment.tokens for segment in _segments(request))


class PromptCache:
    """Remembers which cached prompt prefixes this server has seen.

    A prefix written once is read on every later identical request. Entries
    never expire, which keeps the figures deterministic for one server.
    """

    def __init__(self) -> None:
        """Start with an empty cache."""
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def usage(self, request: MessagesRequest) -> InputUsage:
        """Return the request's input usage and record its cached prefixes."""
        segments = _segments(request)
        total = sum(segment.tokens for segment in segments)
        keys: list[str] = []
        import hashlib  # on first use only: it loads OpenSSL, and start-up time matters

        digest = hashlib.sha256(request.model.id.encode())
        for segment in segments:
            digest.update(len(segment.material).to_bytes(8, "big"))
            digest.update(segment.material)
            keys.append(digest.hexdigest())
        breakpoints = [i for i, segment in enumerate(segments) if segment.breakpoint is not None]
        if not breakpoints:
            return InputUsage(total)
        with self._lock:
            hit = max((i for i in breakpoints if keys[i] in self._seen), default=-1)
            self._seen.update(keys[i] for i in breakpoints)
        last = breakpoints[-1]
        read = sum(segment.tokens for segment in segments[: hit + 1])
        created = sum(segment.tokens for segment in segments[hit + 1 : last + 1])
        created_1h = created if segments[last].breakpoint == "1h" else 0
        return InputUsage(total - read - created, created, read, created_1h)


# -- composing the reply -------------------------------------------------------------------


def plan_reply(request: MessagesRequest, message_id: str, usage: InputUsage) -> Reply:
    """Compose the reply to ``request`` and apply ``stop_sequences`` and ``max_tokens``.

    Args:
        request: The validated request.
        message_id: The id the message gets.
        usage: Its input-side usage.

    Returns:
        The planned message.
    """
    turn = _last_user_turn(request)
    blocks, stop_reason, stop_details = _compose(request, turn)
    blocks, stop_reason, stop_sequence = _apply_limits(
        blocks, stop_reason, request.stop_sequences, request.max_tokens
    )
    if stop_reason != "refusal":
        stop_details = None
    return Reply(
        id=message_id,
        model=request.model.id,
        blocks=blocks,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        stop_details=stop_details,
        usage=usage,
    )


class _Turn(NamedTuple):
    text: str
    images: list[ImageInfo]
    tool_results: list[str]


def _last_user_turn(request: MessagesRequest) -> _Turn:
    index = max(i for i, m in enumerate(request.messages) if m["role"] == "user")
    content = request.messages[index]["content"]
    texts: list[str] = []
    results: list[str] = []
    if isinstance(content, str):
        texts.append(content)
    else:
        for block in content:
            if block["type"] == "text":
                texts.append(block["text"])
            elif block["type"] == "tool_result":
                results.append(_tool_result_text(block.get("content")))
    found = [image for image in request.images if image.message_index == index]
    return _Turn("\n".join(texts).strip(), found, results)


def _tool_result_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(block["text"]) for block in content if block.get("type") == "text")
    return ""


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > _QUOTE_CHARS:
        flat = flat[: _QUOTE_CHARS - 1].rstrip() + "…"
    return f"“{flat}”"


def _image_paragraph(found: Sequence[ImageInfo]) -> str:
    if not found:
        return ""
    noun = "image" if len(found) == 1 else "images"
    lines = [f"You attached {len(found)} {noun}:"]
    for number, image in enumerate(found, 1):
        if image.url is not None:
            lines.append(
                f"- Image {number}: from {image.url} (the offline demo does not fetch URLs)"
            )
        else:
            lines.append(
                f"- Image {number}: {image.width}\N{MULTIPLICATION SIGN}{image.height} "
                f"pixels, {image.media_type}, "
                f"{image.size_bytes:,} bytes"
            )
    return "\n".join(lines)


def _text(text: str) -> Block:
    return Block("text", split_pieces(text))


def _compose(
    request: MessagesRequest, turn: _Turn
) -> tuple[list[Block], str, dict[str, Any] | None]:
    words = turn.text.split(maxsplit=1)
    command = words[0].lower() if words and words[0].lower() in COMMANDS else None
    rest = words[1] if len(words) > 1 else ""
    if command == "/refuse":
        details = {
            "type": "refusal",
            "category": None,
            "explanation": "The offline demo refuses any message that starts with /refuse, "
            "so that the app can show what a refusal looks like.",
        }
        return [Block("text", [])], "refusal", details
    blocks: list[Block] = []
    if command == "/think" or request.thinking:
        blocks.append(_thinking_block(turn.text))
    images = _image_paragraph(turn.images)
    if command == "/tool":
        tool_blocks, stop_reason = _tool_reply(request, rest)
        return blocks + tool_blocks, stop_reason, None
    if command == "/cite":
        blocks += _cite_blocks(request)
    elif command == "/markdown":
        blocks.append(_text(_join(_MARKDOWN, images)))
    elif command == "/long":
        topic = f"You asked about {_quote(rest)}." if rest else ""
        blocks.append(_text(_join(*_LONG_PARAGRAPHS, topic, images)))
    elif command == "/think":
        blocks.append(
            _text(
                _join(
                    "That was a scripted thinking block: a real model would show its "
                    f"reasoning there before answering. You asked: {_quote(rest or turn.text)}",
                    images,
                )
            )
        )
    else:
        blocks.append(_text(_default_text(turn, images)))
    return blocks, "end_turn", None


def _join(*paragraphs: str) -> str:
    return "\n\n".join(p.strip() for p in paragraphs if p.strip())


def _default_text(turn: _Turn, images: str) -> str:
    # Kept short: ``iris ask --demo`` streams it with a visible delay per piece.
    intro = (
        "Hello from the Iris offline demo! This reply comes from a small server on your "
        "computer; nothing was sent or billed."
    )
    if turn.tool_results:
        said = (
            f"The tool returned {_quote(' '.join(turn.tool_results))}. A real model would "
            "now use that result to answer your question."
        )
    elif turn.text:
        said = f"You wrote: {_quote(turn.text)}"
    else:
        said = ""
    outro = (
        "Add an API key in Settings to talk to Claude. "
        "Try /markdown, /think, /tool, /refuse, /cite or /long."
    )
    return _join(intro, said, images, outro)


def _thinking_block(text: str) -> Block:
    thinking = (
        f"The message was {_quote(text)}. This is the offline demo, so there is no model "
        "to reason with; this thinking block is scripted. It streams as thinking_delta "
        "events, then a signature_delta arrives just before the block stops, and the "
        "visible answer follows in a text block."
    )
    import hashlib

    digest = hashlib.sha256(b"iris-offline-thinking\0" + thinking.encode()).digest()
    signature = base64.b64encode(b"offline-signature:" + digest).decode("ascii")
    return Block("thinking", split_pieces(thinking), signature=signature)


def _tool_reply(request: MessagesRequest, rest: str) -> tuple[list[Block], str]:
    tools = [tool for tool in request.tools if isinstance(tool.get("input_schema"), Mapping)]
    if not tools:
        text = (
            "The /tool prompt calls the first tool the request defines, but this request "
            "defines no tools, so there is nothing to call."
        )
        return [_text(text)], "end_turn"
    tool = tools[0]
    arguments = _example_input(tool["input_schema"], rest.strip())
    encoded = json.dumps(arguments, ensure_ascii=False)
    pieces = [encoded[i : i + _JSON_PIECE] for i in range(0, len(encoded), _JSON_PIECE)]
    seed = json.dumps([request.model.id, request.messages], sort_keys=True).encode()
    import hashlib

    tool_id = "toolu_01" + hashlib.sha256(seed).hexdigest()[:22]
    intro = _text(f"I'll call the `{tool['name']}` tool for that.")
    call = Block("tool_use", pieces, tool_id=tool_id, tool_name=str(tool["name"]))
    return [intro, call], "tool_use"


def _example_input(schema: Mapping[str, Any], hint: str) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return {}
    result: dict[str, Any] = {}
    used_hint = False
    for name, spec in properties.items():
        spec = spec if isinstance(spec, Mapping) else {}
        kind = spec.get("type")
        if isinstance(spec.get("enum"), list) and spec["enum"]:
            result[name] = spec["enum"][0]
        elif kind == "integer":
            result[name] = 1
        elif kind == "number":
            result[name] = 1.5
        elif kind == "boolean":
            result[name] = True
        elif kind == "array":
            result[name] = []
        elif kind == "object":
            result[name] = {}
        else:
            # The first string gets the words after /tool, so the call reflects the prompt.
            result[name] = hint if hint and not used_hint else "example"
            used_hint = used_hint or bool(hint)
    return result


def _cite_blocks(request: MessagesRequest) -> list[Block]:
    citation: dict[str, Any]
    document_index = 0
    for message in request.messages:
        content = message["content"]
        if not isinstance(content, list):
            continue
        for block in content:
            if block["type"] != "document":
                continue
            source = block["source"]
            if source.get("type") == "text" and isinstance(source.get("data"), str):
                cited = _first_sentence(source["data"])
                start = source["data"].find(cited)
                citation = {
                    "type": "char_location",
                    "cited_text": cited,
                    "document_index": document_index,
                    "document_title": block.get("title"),
                    "start_char_index": start,
                    "end_char_index": start + len(cited),
                }
                return _cited(cited, citation, "the document")
            document_index += 1
    cited = "The offline demo answers every request locally, without a network."
    citation = {
        "type": "search_result_location",
        "cited_text": cited,
        "search_result_index": 0,
        "source": "iris://offline-demo",
        "title": "About the Iris offline demo",
        "start_block_index": 0,
        "end_block_index": 1,
    }
    return _cited(cited, citation, "the demo notes")


def _cited(cited: str, citation: dict[str, Any], where: str) -> list[Block]:
    return [
        _text(f"According to {where}: "),
        Block("text", split_pieces(cited.strip()), citation=citation),
        _text(
            "\n\nThat quote carries a citation, so the app can show where it came from. "
            "Attach a plain-text document to cite from it instead."
        ),
    ]


def _first_sentence(text: str) -> str:
    stripped = text.strip()
    match = re.search(r"[.!?](\s|$)", stripped)
    sentence = stripped[: match.end()].strip() if match else stripped
    return sentence[:300] or stripped[:300]


def _apply_limits(
    blocks: list[Block], stop_reason: str, stop_sequences: Sequence[str], max_tokens: int
) -> tuple[list[Block], str, str | None]:
    stop_sequence: str | None = None
    # Stop sequences end generation where they first appear in generated text.
    for index, block in enumerate(blocks):
        if block.type != "text" or not stop_sequences:
            continue
        text = block.text
        hits = [(text.find(s), s) for s in stop_sequences if s in text]
        if hits:
            position, stop_sequence = min(hits)
            block.pieces = split_pieces(text[:position])
            blocks = blocks[: index + 1]
            stop_reason = "stop_sequence"
            break
    # Then the output budget: every piece is one token.
    budget = max_tokens
    for index, block in enumerate(blocks):
        if len(block.pieces) <= budget:
            budget -= len(block.pieces)
            continue
        block.pieces = block.pieces[:budget]
        kept = blocks[: index + 1] if budget or index == 0 else blocks[:index]
        return kept, "max_tokens", None
    return blocks, stop_reason, stop_sequence


_MARKDOWN = """\
# Markdown in the offline demo

This reply shows the formatting that Iris renders.

## A list

- **Bold**, *italic* and `inline code`
- A nested list:
  1. first item
  2. second item

## A table

| Feature | Offline demo | Claude |
|---|---|---|
| Streaming | yes | yes |
| Images | sizes only | understands them |
| Cost | free | billed per token |

## A link

The [Messages API reference](https://docs.anthropic.com/en/api/messages) describes the protocol.

## Code

```python
def greet(name: str) -> str:
    \"\"\"Return a friendly greeting.\"\"\"
    return f"Hello, {name}!"


print(greet("Iris"))
```"""

_LONG_PARAGRAPHS = (
    "This is a long reply from the Iris offline demo, useful for checking scrolling, "
    "text selection and how the window keeps up with a fast stream. Everything here comes "
    "from a small server on this computer, so the words are scripted rather than written "
    "by a model, but they travel exactly the way a real answer does: as server-sent "
    "events, one small piece at a time.",
    "Streaming matters because a long answer can take a while. Instead of waiting for the "
    "whole message, the app shows each piece as it arrives. The server first announces a "
    "message, then opens a content block, sends many deltas, closes the block, reports why "
    "the message stopped and how many tokens it used, and finally says the message is "
    "complete.",
    "Images work the same way in both directions of the demo. When you attach a picture, "
    "the offline server checks it as the service would: the declared type must match the "
    "bytes, the file must stay under five megabytes of base64 text, and no side may exceed "
    "eight thousand pixels. It then reports the size it measured, so you can see what "
    "would have been sent.",
    "Errors are part of the experience too. A missing key, a malformed request or an "
    "oversized image comes back as a JSON error with a type and a message, just like the "
    "real service. A good client shows that message, keeps the draft, and lets you try "
    "again without retyping anything.",
    "Prompt caching is simulated as well. When a request marks blocks with cache_control, "
    "the first request writes that prefix to the cache and the next identical one reads "
    "it back, and the usage figures say so. Real caching saves money and time on long, "
    "repeated prompts such as big documents or detailed instructions.",
    "Finally, the demo can show the other kinds of blocks a reply may contain: a thinking "
    "block with its signature, a tool call whose input arrives as fragments of JSON, a "
    "refusal, and a citation. Start a message with /think, /tool, /refuse or /cite to see "
    "each of them, or with /markdown for rich formatting.",
)
