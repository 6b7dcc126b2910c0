"""``iris ask``: send one prompt (and images) and stream the reply to stdout.

Exit codes: 0 success; 2 bad usage or input (no key, an unreadable image); 1 an
API or network failure. Errors are one line on stderr, never a traceback. When a
stream breaks off, what arrived stays on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from desktop_app.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from desktop_app.core.catalog import ModelInfo
    from desktop_app.core.wire.message import Message


def add_parser(subparsers: Any) -> None:
    """Register ``ask`` on the ``iris`` parser."""
    parser = subparsers.add_parser(
        "ask",
        help="send one prompt and stream the reply",
        description="Send one prompt to Claude and stream the reply to stdout.",
    )
    parser.add_argument("prompt", metavar="PROMPT", help="the prompt text, or - to read stdin")
    parser.add_argument("--model", help="model id (default: the catalog's default)")
    parser.add_argument("--system", help="system prompt")
    parser.add_argument("--max-tokens", type=int, default=4096, help="output limit (default 4096)")
    parser.add_argument("--temperature", type=float, help="sampling temperature, 0 to 1")
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="PATH",
        help="attach an image (repeatable); prepared to fit the model's limits",
    )
    parser.add_argument("--cache", action="store_true", help="use prompt caching")
    parser.add_argument(
        "--json", action="store_true", help="print the final message as one JSON object"
    )
    parser.add_argument(
        "--demo", action="store_true", help="talk to the built-in offline server (no key needed)"
    )
    parser.add_argument(
        "--stall-timeout",
        type=float,
        default=180.0,
        metavar="SECONDS",
        help="give up when the reply brings no new content for this long (default 180)",
    )
    parser.set_defaults(run=run)


def _fail(code: int, text: str) -> int:
    from desktop_app.core.safe_text import terminal_safe

    # Error text may quote the service: never let it drive the terminal.
    sys.stderr.write(f"iris: {terminal_safe(text)}\n")
    sys.stderr.flush()
    return code


def _read_prompt(prompt: str) -> str:
    if prompt != "-":
        return prompt
    return sys.stdin.read()


def run(args: argparse.Namespace) -> int:
    """Run ``iris ask``."""
    try:
        return _run(args)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        return 130


def _run(args: argparse.Namespace) -> int:
    from desktop_app.core.catalog import Catalog
    from desktop_app.core.errors import CatalogError

    if args.temperature is not None and not 0.0 <= args.temperature <= 1.0:
        return _fail(EXIT_USAGE, "--temperature must be between 0 and 1")
    if args.max_tokens < 1:
        return _fail(EXIT_USAGE, "--max-tokens must be a positive number")
    if not 0.0 < args.stall_timeout < float("inf"):
        return _fail(EXIT_USAGE, "--stall-timeout must be a positive number of seconds")
    try:
        prompt = _read_prompt(args.prompt).strip()
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(EXIT_USAGE, f"could not read the prompt from stdin ({exc})")
    if not prompt and not args.image:
        return _fail(EXIT_USAGE, "the prompt is empty")
    try:
        catalog = Catalog.load()
    except (OSError, CatalogError) as exc:
        return _fail(EXIT_USAGE, str(exc))
    model = catalog.get(args.model or catalog.default_model)

    content: list[dict[str, Any]] = []
    if args.image:
        from desktop_app.core.errors import ImageError
        from desktop_app.core.images import prepare_image

        for path in args.image:
            try:
                prepared = prepare_image(path, model.image, images_in_request=len(args.image))
            except ImageError as exc:
                return _fail(EXIT_USAGE, f"{path}: {exc}")
            except OSError as exc:
                return _fail(EXIT_USAGE, f"{path}: could not read the file ({exc.strerror})")
            content.append(prepared.to_content_block())
    if prompt:
        content.append({"type": "text", "text": prompt})

    if args.demo:
        from desktop_app.offline.server import DEMO_API_KEY, OfflineServer

        # No artificial pacing: on the command line the answer matters, not the show.
        with OfflineServer(delay=0.0) as server:
            return _ask(args, model, content, DEMO_API_KEY, server.base_url)

    from desktop_app.core.secrets import load_api_key

    key = load_api_key()
    if key is None:
        return _fail(
            EXIT_USAGE,
            "no API key: set ANTHROPIC_API_KEY or save a key in the Iris app, "
            "or try the offline demo with --demo",
        )
    return _ask(args, model, content, key, None)


def _ask(
    args: argparse.Namespace,
    model: ModelInfo,
    content: list[dict[str, Any]],
    api_key: str,
    base_url: str | None,
) -> int:
    from desktop_app.core.api.client import MessagesClient
    from desktop_app.core.errors import APIError, ConfigurationError, StreamInterruptedError
    from desktop_app.core.wire.events import ContentBlockDeltaEvent, TextDelta
    from desktop_app.core.wire.request import MessageRequest

    request = MessageRequest(
        model=model.id,
        messages=[{"role": "user", "content": content}],
        max_tokens=args.max_tokens,
        system=args.system,
        temperature=args.temperature,
        cache=args.cache,
    )
    out = sys.stdout

    async def main() -> Message:
        async with MessagesClient(
            api_key, base_url=base_url, stall_timeout=args.stall_timeout
        ) as client:

            def on_retry(notice: Any) -> None:
                sys.stderr.write(
                    f"iris: {notice.error.kind}; retrying in {notice.delay:.1f}s "
                    f"(attempt {notice.attempt})\n"
                )

            async with client.stream(request, model, on_retry=on_retry) as stream:
                async for event in stream:
                    if (
                        not args.json
                        and isinstance(event, ContentBlockDeltaEvent)
                        and isinstance(event.delta, TextDelta)
                    ):
                        out.write(event.delta.text)
                        out.flush()
                return stream.message

    try:
        message = asyncio.run(main())
    except StreamInterruptedError as exc:
        if args.json and exc.partial is not None:
            _print_json(out, exc.partial.to_dict())
        else:
            out.write("\n")
            out.flush()
        return _fail(EXIT_FAILURE, exc.summary())
    except ConfigurationError as exc:
        return _fail(EXIT_USAGE, str(exc))
    except APIError as exc:
        return _fail(EXIT_FAILURE, exc.summary())

    if args.json:
        _print_json(out, message.to_dict())
    else:
        if not message.text.endswith("\n"):
            out.write("\n")
        out.flush()
    _note_stop_reason(message)
    return EXIT_OK


def _print_json(out: TextIO, payload: dict[str, Any]) -> None:
    out.write(json.dumps(payload, ensure_ascii=False) + "\n")
    out.flush()


def _note_stop_reason(message: Message) -> None:
    if message.stop_reason == "max_tokens":
        sys.stderr.write("iris: the reply stopped at the --max-tokens limit\n")
    elif message.stop_reason == "refusal":
        from desktop_app.core.safe_text import terminal_safe

        details = message.stop_details or {}
        explanation = details.get("explanation")
        if not isinstance(explanation, str) or not terminal_safe(explanation).strip():
            explanation = "the model declined to answer"
        sys.stderr.write(f"iris: refused: {terminal_safe(explanation)}\n")
    elif message.stop_reason == "model_context_window_exceeded":
        sys.stderr.write("iris: the conversation is longer than the model's context window\n")
