"""The export and import file dialogs, and the folder they open in.

The first time, they open in the Documents folder (or the home folder when there
is none); after that, in the folder last chosen in either of them, for as long as
the app runs.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QDialog, QFileDialog, QWidget

MARKDOWN_FILTER = "Markdown (*.md)"
JSON_FILTER = "JSON in the Messages API shape (*.json)"
IMPORT_FILTER = "Conversations (*.json)"


def default_folder(home: Path | None = None, documents: Path | None = None) -> Path:
    """The Documents folder if it exists, else the home folder.

    Args:
        home: The home folder; by default the user's.
        documents: The Documents folder; by default the system's idea of it.
    """
    home = home if home is not None else Path.home()
    if documents is None:
        location = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation
        )
        documents = Path(location) if location else home / "Documents"
    return documents if documents.is_dir() else home


class DialogFolders:
    """Where the next export or import dialog opens: the last folder used, or a default."""

    def __init__(self, home: Path | None = None, documents: Path | None = None) -> None:
        """Start at :func:`default_folder` of ``home`` and ``documents``."""
        self._home = home
        self._documents = documents
        self._last: Path | None = None

    def start(self) -> Path:
        """The folder the next dialog opens in."""
        if self._last is not None and self._last.is_dir():
            return self._last
        return default_folder(self._home, self._documents)

    def remember(self, chosen: str | Path) -> None:
        """A file was chosen: its folder is where the next dialog opens."""
        self._last = Path(chosen).parent


def ask_export_path(parent: QWidget, suggested: str, folders: DialogFolders) -> str:
    """Ask where to export, starting at ``folders``; "" when cancelled.

    Args:
        parent: The window the dialog belongs to.
        suggested: The file name offered, such as ``Trip plans.md``.
        folders: Where to start, and what to remember.
    """
    dialog = QFileDialog(parent, "Export conversation")
    dialog.setObjectName("exportDialog")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setNameFilters([MARKDOWN_FILTER, JSON_FILTER])
    # A name typed without an ending gets the chosen format's.
    dialog.setDefaultSuffix("md")
    dialog.filterSelected.connect(
        lambda chosen: dialog.setDefaultSuffix("json" if chosen == JSON_FILTER else "md")
    )
    dialog.setDirectory(str(folders.start()))
    dialog.selectFile(suggested)
    return _run(dialog, folders)


def ask_import_path(parent: QWidget, folders: DialogFolders) -> str:
    """Ask which file to import, starting at ``folders``; "" when cancelled."""
    dialog = QFileDialog(parent, "Import conversation")
    dialog.setObjectName("importDialog")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setNameFilters([IMPORT_FILTER])
    dialog.setDirectory(str(folders.start()))
    return _run(dialog, folders)


def _run(dialog: QFileDialog, folders: DialogFolders) -> str:
    try:
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return ""
        chosen = dialog.selectedFiles()
        if not chosen:
            return ""
        folders.remember(chosen[0])
        return chosen[0]
    finally:
        dialog.deleteLater()
