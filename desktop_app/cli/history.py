"""``iris history``: list, export, import and delete saved conversations.

Exit codes: 0 success; 2 bad usage or an unusable input (unknown id, a bad or
truncated import file); 1 the history or an output file cannot be used. Errors
are one line on stderr. Nothing here loads Qt or the HTTP stack.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_app.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from desktop_app.core.history.store import HistoryStore


class _CommandError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``history`` subcommand to the ``iris`` parser.

    Args:
        subparsers: The object returned by ``add_subparsers`` on the main parser.
    """
    parser = subparsers.add_parser(
        "history",
        help="list, export, import and delete saved conversations",
        description="List, export, import and delete the conversations Iris has saved.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser(
        "list", help="print one JSON object per conversation (id, title, updated, message_count)"
    )
    export = actions.add_parser("export", help="export one or every conversation")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("id", metavar="ID", type=int, nargs="?", help="the conversation id")
    which.add_argument("--all", action="store_true", help="export every conversation")
    export.add_argument("--format", choices=("md", "json"), default="json", help="default json")
    export.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        type=Path,
        help="file to write (default stdout); with --all, a folder to write one file each into",
    )
    importer = actions.add_parser("import", help="import a JSON conversation or request body")
    importer.add_argument("path", metavar="PATH", type=Path, help="the JSON file")
    deleter = actions.add_parser(
        "delete", help="delete a conversation for good, at once (there is no undo)"
    )
    deleter.add_argument("id", metavar="ID", type=int, help="the conversation id")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the chosen ``history`` action; return the exit code.

    Args:
        args: Parsed arguments with ``action`` and the action's options.

    Returns:
        The exit code (see the module description).
    """
    from desktop_app.core.errors import StoreError
    from desktop_app.core.history.files import current_store_path
    from desktop_app.core.history.store import HistoryStore
    from desktop_app.core.paths import app_paths

    path = current_store_path(app_paths().data)
    if args.action == "list" and not path.exists():
        return EXIT_OK
    if args.action == "delete" and not path.exists():
        return _fail(f"no conversation with id {args.id}", EXIT_USAGE)
    if args.action == "export" and args.all and args.output is None:
        return _fail("--all needs -o PATH (a folder)", EXIT_USAGE)
    try:
        # Reading needs no write lock, so it works while the window or an import writes.
        reading = args.action in ("list", "export")
        store = HistoryStore.open_for_reading(path) if reading else HistoryStore.open(path)
    except StoreError as exc:
        return _fail(str(exc), EXIT_FAILURE)
    try:
        with store:
            if args.action == "list":
                _list(store)
            elif args.action == "export":
                _export(store, args)
            elif args.action == "delete":
                _delete(store, args.id)
            else:
                _import(store, args.path)
    except _CommandError as exc:
        return _fail(str(exc), exc.code)
    except StoreError as exc:
        return _fail(str(exc), EXIT_FAILURE)
    return EXIT_OK


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _list(store: HistoryStore) -> None:
    for summary in store.list_conversations(limit=-1):
        row = {
            "id": summary.id,
            "title": summary.title,
            "updated": _iso(summary.updated),
            "message_count": summary.message_count,
        }
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


def _render(store: HistoryStore, conversation_id: int, fmt: str) -> str:
    from desktop_app.core.history.io import export_json, export_markdown

    try:
        if fmt == "md":
            return export_markdown(store, conversation_id)
        return json.dumps(export_json(store, conversation_id), ensure_ascii=False, indent=1) + "\n"
    except KeyError:
        raise _CommandError(f"no conversation with id {conversation_id}", EXIT_USAGE) from None


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _CommandError(f"cannot write {path}: {exc.strerror or exc}", EXIT_FAILURE) from None


def _export(store: HistoryStore, args: argparse.Namespace) -> None:
    if not args.all:
        text = _render(store, args.id, args.format)
        if args.output is None:
            sys.stdout.write(text)
        else:
            _write(args.output, text)
        return
    folder: Path = args.output
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _CommandError(
            f"cannot create {folder}: {exc.strerror or exc}", EXIT_FAILURE
        ) from None
    for summary in store.list_conversations(limit=-1):
        slug = re.sub(r"[^\w-]+", "-", summary.title.lower()).strip("-")[:40] or "untitled"
        name = f"{summary.id}-{slug}.{args.format}"
        _write(folder / name, _render(store, summary.id, args.format))


def _import(store: HistoryStore, path: Path) -> None:
    from desktop_app.core.errors import HistoryFormatError
    from desktop_app.core.history.io import import_json, read_import_file

    try:
        # Read under a size cap: a huge file or a device is refused, not read whole.
        data = read_import_file(path)
    except OSError as exc:
        raise _CommandError(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from None
    except HistoryFormatError as exc:
        raise _CommandError(f"{path}: {exc}", EXIT_USAGE) from None
    try:
        conversation_id = import_json(store, data)
    except HistoryFormatError as exc:
        raise _CommandError(f"{path}: {exc}", EXIT_USAGE) from None
    title = store.conversation(conversation_id).title
    sys.stdout.write(
        json.dumps({"id": conversation_id, "title": title}, ensure_ascii=False) + "\n"
    )


def _delete(store: HistoryStore, conversation_id: int) -> None:
    try:
        title = store.conversation(conversation_id).title
        store.purge(conversation_id)
    except KeyError:
        raise _CommandError(f"no conversation with id {conversation_id}", EXIT_USAGE) from None
    sys.stdout.write(
        json.dumps({"id": conversation_id, "title": title, "deleted": True}, ensure_ascii=False)
        + "\n"
    )


def _fail(message: str, code: int) -> int:
    # One line, whatever the message holds.
    print("iris history: " + " ".join(message.split()), file=sys.stderr)
    return code
