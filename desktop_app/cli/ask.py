"""``iris ask``: send one prompt (and images) and stream the reply to stdout.

Exit codes: 0 success; 2 bad usage or input (no key, an unreadable image); 1 an
API or network failure. Errors are one line on stderr, never a traceback. When a
stream breaks off, what arrived stays on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from desktop_app.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

EXIT_BROKEN_PIPE = 141  # as a shell reports a program stopped by SIGPIPE

if TYPE_CHECKING:
    from desktop_app.core.conversation.runner import RunFinished
    from desktop_app.core.engine import DemoServer
    from desktop_app.core.wire.blocks import ContentBlock


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

    attachments: list[ContentBlock] = []
    notes: list[str] = []
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
            attachments.append(prepared.to_content_block())
            notes.append(prepared.summary())

    if args.demo:
        return _ask(args, model.id, prompt, attachments, notes, None)

    from desktop_app.core.secrets import load_api_key

    key = load_api_key()
    if key is None:
        return _fail(
            EXIT_USAGE,
            "no API key: set ANTHROPIC_API_KEY or save a key in the Iris app, "
            "or try the offline demo with --demo",
        )
    return _ask(args, model.id, prompt, attachments, notes, key)


def _ask(
    args: argparse.Namespace,
    model_id: str,
    prompt: str,
    attachments: list[ContentBlock],
    notes: list[str],
    api_key: str | None,
) -> int:
    from desktop_app.core import logs
    from desktop_app.core.conversation.memory import MemoryHistory
    from desktop_app.core.conversation.model import TurnStatus, user_turn
    from desktop_app.core.conversation.notices import stop_notice
    from desktop_app.core.conversation.runner import ReplyProgress, RetryScheduled, RunEvent
    from desktop_app.core.conversation.session import ConversationSession
    from desktop_app.core.engine import Engine
    from desktop_app.core.errors import APIError, ConfigurationError
    from desktop_app.core.paths import app_paths
    from desktop_app.core.safe_text import terminal_safe
    from desktop_app.core.settings import Settings
    from desktop_app.core.wire.events import ContentBlockDeltaEvent, TextDelta

    # The same settings-to-request mapping as the window, from the command's options.
    settings = Settings(
        model=model_id,
        max_tokens=args.max_tokens,
        system_prompt=args.system or "",
        temperature=args.temperature,
        prompt_caching=args.cache,
        stall_timeout=args.stall_timeout,
    )
    engine = Engine(
        app_paths(), settings, demo=args.demo, start_demo=_start_demo, with_history=False
    )
    engine.set_api_key(api_key)
    session = ConversationSession(MemoryHistory())
    turn = session.add_prompt(user_turn(prompt, attachments, notes))
    out = sys.stdout

    reader_gone = False  # stdout's reader closed the pipe (``iris ask … | head``)
    running: list[asyncio.Task[Any]] = []

    def write(text: str) -> None:
        nonlocal reader_gone
        if reader_gone:
            return
        try:
            out.write(text)
            out.flush()
        except BrokenPipeError:
            reader_gone = True
            running[0].cancel()  # nobody reads the reply any more: stop it

    def on_event(event: RunEvent) -> None:
        if isinstance(event, RetryScheduled):
            notice = event.notice
            sys.stderr.write(
                f"iris: {notice.error.kind}; retrying in {notice.delay:.1f}s "
                f"(attempt {notice.attempt})\n"
            )
        elif (
            not args.json
            and isinstance(event, ReplyProgress)
            and isinstance(event.event, ContentBlockDeltaEvent)
            and isinstance(event.event.delta, TextDelta)
        ):
            write(event.event.delta.text)

    async def main() -> RunFinished:
        task = asyncio.current_task()
        assert task is not None
        running.append(task)
        logs.attach_loop(asyncio.get_running_loop())
        try:
            return await engine.runner().run(session, turn, engine.options(), on_event)
        finally:
            await engine.aclose()

    finished = asyncio.run(main())
    if reader_gone:
        # Python would complain about the closed pipe on exit; nobody is reading.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    reply = finished.reply
    message = reply.message if reply is not None else None
    error = finished.error
    if args.json and message is not None:
        _print_json(out, message.to_dict())
    elif message is not None and not message.text.endswith("\n"):
        out.write("\n")
        out.flush()
    if isinstance(error, ConfigurationError):
        return _fail(EXIT_USAGE, str(error))
    if isinstance(error, APIError):
        return _fail(EXIT_FAILURE, error.summary())
    if finished.status is TurnStatus.FAILED:
        return _fail(EXIT_FAILURE, turn.error or "the message could not be sent")
    if message is not None:
        notice = stop_notice(message)
        if notice is not None:
            # A refusal's explanation is the service's text: never let it drive the terminal.
            sys.stderr.write(f"iris: {terminal_safe(notice.text)}\n")
    return EXIT_OK


def _start_demo() -> tuple[DemoServer, str]:
    from desktop_app.offline.server import start_demo

    # No artificial pacing: on the command line the answer matters, not the show.
    return start_demo(delay=0.0)


def _print_json(out: TextIO, payload: dict[str, Any]) -> None:
    out.write(json.dumps(payload, ensure_ascii=False) + "\n")
    out.flush()
