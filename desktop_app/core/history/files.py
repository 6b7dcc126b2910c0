"""Choosing the history file in the data folder, and starting fresh beside a bad one."""

from __future__ import annotations

import os
import time
from pathlib import Path

from desktop_app.core.errors import NewerStoreError, StoreUnavailableError
from desktop_app.core.history.store import HistoryStore

STORE_NAME = "history.sqlite3"
POINTER_NAME = "history.current"


def current_store_path(data_dir: Path) -> Path:
    """The history file in use in ``data_dir``.

    Normally ``history.sqlite3``; after a store could not be opened, the fresh
    one named in ``history.current``.
    """
    pointer = data_dir / POINTER_NAME
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        name = ""
    if name and "/" not in name and "\\" not in name and name not in (".", ".."):
        return data_dir / name
    return data_dir / STORE_NAME


def open_or_start_fresh(data_dir: Path) -> tuple[HistoryStore, str | None]:
    """Open the current history in ``data_dir``, or a fresh one beside a bad one.

    A store that is damaged or from a newer Iris is left exactly as it is; a new
    store with a time-stamped name is started and remembered as current.

    Args:
        data_dir: The data folder.

    Returns:
        The open store, and a message for the user when a fresh store was started
        (or the old one was migrated and backed up), else None.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = current_store_path(data_dir)
    try:
        store = HistoryStore.open(path)
    except StoreUnavailableError as exc:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        fresh = data_dir / f"history-{stamp}.sqlite3"
        counter = 1
        while fresh.exists():
            fresh = data_dir / f"history-{stamp}-{counter}.sqlite3"
            counter += 1
        store = HistoryStore.open(fresh)
        temporary = data_dir / (POINTER_NAME + ".tmp")
        temporary.write_text(fresh.name + "\n", encoding="utf-8")
        os.replace(temporary, data_dir / POINTER_NAME)
        why = (
            "was written by a newer version of Iris"
            if isinstance(exc, NewerStoreError)
            else ("is damaged")
        )
        return store, (
            f"Your conversation history {why}, so Iris started a new one. "
            f"The old file was left untouched: {exc.path}"
        )
    if store.backup is not None:
        return store, f"Your history was upgraded; a copy of the old file is at {store.backup}"
    return store, None
