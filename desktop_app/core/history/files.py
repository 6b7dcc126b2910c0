"""Choosing the history file in the data folder, and starting fresh beside a bad one."""

from __future__ import annotations

import os
import time
from pathlib import Path

from desktop_app.core.errors import (
    CorruptStoreError,
    NewerStoreError,
    StoreAccessError,
    StoreError,
)
from desktop_app.core.history.schema import os_store_error
from desktop_app.core.history.store import HistoryStore

STORE_NAME = "history.sqlite3"
POINTER_NAME = "history.current"
_READ_ONLY_NOTE = (
    "Your conversations are shown, but nothing new can be saved until this is fixed "
    "and Iris is restarted."
)
_MEMORY_NOTE = "Conversations in this window will not be kept after Iris closes."


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


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, readable by its owner only.

    Raises:
        OSError: The file could not be written.
    """
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)  # a full disk: leave no half-written file
        raise


def open_or_start_fresh(data_dir: Path) -> tuple[HistoryStore, str | None]:
    """Open the current history in ``data_dir``, or a fresh one beside a bad one.

    A store that is damaged or from a newer Iris is left exactly as it is; a new
    store with a time-stamped name is started and remembered as current.

    A store that is busy, read-only, on a full or failing disk is not damaged:
    it is never replaced. It is opened read-only when it can be read, else a
    store in memory is used, and the message says which and why.

    Args:
        data_dir: The data folder.

    Returns:
        The open store, and a message for the user when it is not the usual
        one (a fresh store, read-only, in memory) or was migrated and backed
        up, else None.
    """
    path = current_store_path(data_dir)
    try:
        try:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise os_store_error(exc, data_dir / STORE_NAME) from exc
        try:
            store = HistoryStore.open(path)
        except (CorruptStoreError, NewerStoreError) as exc:
            return _start_fresh(data_dir, exc)
    except StoreAccessError as exc:
        return _fall_back(path, exc)
    if store.backup is not None:
        return store, f"Your history was upgraded; a copy of the old file is at {store.backup}"
    return store, None


def _start_fresh(
    data_dir: Path, bad: CorruptStoreError | NewerStoreError
) -> tuple[HistoryStore, str | None]:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    fresh = data_dir / f"history-{stamp}.sqlite3"
    counter = 1
    while fresh.exists():
        fresh = data_dir / f"history-{stamp}-{counter}.sqlite3"
        counter += 1
    why = (
        "was written by a newer version of Iris"
        if isinstance(bad, NewerStoreError)
        else "is damaged"
    )
    old = bad.path
    try:
        store = HistoryStore.open(fresh)
        try:
            write_private(data_dir / POINTER_NAME, fresh.name + "\n")
        except OSError as exc:
            store.close()
            raise os_store_error(exc, fresh) from exc
    except StoreError as exc:
        # Not even a new file can be made: keep the old one untouched all the same.
        store = HistoryStore.in_memory_store()
        return store, (
            f"Your conversation history {why} and was left untouched ({old}), and a new "
            f"one could not be started: {exc} {_MEMORY_NOTE}"
        )
    return store, (
        f"Your conversation history {why}, so Iris started a new one. "
        f"The old file was left untouched: {old}"
    )


def _fall_back(path: Path, problem: StoreAccessError) -> tuple[HistoryStore, str]:
    if _exists(path):
        try:
            store = HistoryStore.open(path, read_only=True)
        except StoreError:
            pass  # not readable either: the message below names the first cause
        else:
            store.read_only_reason = str(problem)
            return store, f"{problem} {_READ_ONLY_NOTE}"
    return HistoryStore.in_memory_store(), f"{problem} {_MEMORY_NOTE}"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # the folder cannot even be searched
        return False
