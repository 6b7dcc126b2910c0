"""``iris image``: run the image preflight on one file and print what would be sent.

Pillow and the catalog are imported inside :func:`run`, so ``iris --help`` stays fast;
nothing here loads Qt or the HTTP stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from desktop_app.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``image`` subcommand to the ``iris`` parser.

    Args:
        subparsers: The object returned by ``add_subparsers`` on the main parser.
    """
    parser = subparsers.add_parser(
        "image",
        help="prepare an image for a model and describe the result as JSON",
        description=(
            "Resize and re-encode an image exactly as Iris would before sending it, "
            "and print one JSON object describing the result."
        ),
    )
    parser.add_argument("path", metavar="PATH", type=Path, help="the image file")
    parser.add_argument(
        "--model", metavar="ID", help="model whose limits apply (default: the catalog's default)"
    )
    parser.add_argument(
        "--images-in-request",
        metavar="N",
        type=_positive_int,
        default=1,
        help="how many images the request carries; above 20 every side is held to 2000 px",
    )
    parser.add_argument(
        "-o", "--output", metavar="OUT", type=Path, help="also write the prepared bytes here"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Prepare ``args.path`` and print the JSON summary; return the exit code.

    Args:
        args: Parsed arguments with ``path``, ``model``, ``images_in_request`` and ``output``.

    Returns:
        0 on success, 2 when the input cannot be used, 1 when the output cannot be written.
    """
    from desktop_app.core.catalog import Catalog
    from desktop_app.core.errors import CatalogError, ImageError
    from desktop_app.core.images import prepare_image

    try:
        catalog = Catalog.load()
    except (CatalogError, OSError) as exc:
        return _fail(f"cannot load the model catalog: {exc}", EXIT_FAILURE)
    model = catalog.get(args.model or catalog.default_model)
    try:
        result = prepare_image(args.path, model.image, images_in_request=args.images_in_request)
    except ImageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    if args.output is not None:
        try:
            args.output.write_bytes(result.data)
        except OSError as exc:
            return _fail(f"cannot write {args.output}: {exc.strerror or exc}", EXIT_FAILURE)
    summary = result.to_json()
    if not model.known:
        summary["notes"].append(f"Unknown model {model.id}: conservative image limits were used.")
    print(json.dumps(summary, ensure_ascii=False))
    return EXIT_OK


def _fail(message: str, code: int) -> int:
    print(f"iris image: {message}", file=sys.stderr)
    return code
