"""The one module that knows where the shipped ``resources/`` folder lives."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """Return the folder holding the data files shipped with Iris.

    A wheel carries them inside the package, a frozen bundle next to the
    executable, and a source checkout at the top of the tree.
    """
    package = Path(__file__).resolve().parent.parent
    candidates = [package / "resources", package.parent / "resources"]
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        candidates.insert(0, Path(frozen_root) / "resources")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the Iris resources folder is missing from this installation")


def resource_path(name: str) -> Path:
    """Return the path of one shipped data file."""
    return resources_dir() / name
