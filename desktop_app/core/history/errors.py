"""The history store's errors; their text is written for people."""

from __future__ import annotations

from pathlib import Path


class StoreUnavailableError(Exception):
    """The history file cannot be used; the message is written for people."""

    def __init__(self, message: str, path: Path) -> None:
        """Keep the path of the file that could not be used."""
        super().__init__(message)
        self.path = path


class CorruptStoreError(StoreUnavailableError):
    """The file is damaged or is not an Iris history database."""


class NewerStoreError(StoreUnavailableError):
    """The file was written by a newer Iris, with a schema this version does not know."""
