"""The one path for transient messages, from any layer to the window.

Widgets call :func:`error`, :func:`warning` or :func:`info`; the main window
connects :data:`bridge` and shows them. Messages sent before anything is
connected are kept and delivered on :meth:`MessageBridge.flush`.

Where a person reads about something, by how long it matters and what it is about:

=============== ============================================ ===========================
channel         for                                          how
=============== ============================================ ===========================
transient       a result or problem of an action with no     this bridge: the window's
                lasting place (settings not saved, an        notification area shows
                import refused, "Exported to …", Undo        it, announces it, and lets
                after a delete)                              information go after a few
                                                             seconds; errors stay until
                                                             dismissed
per turn        what happened to one request: failed,        the turn's inline notice
                interrupted, stopped, refused, cut at max    (``MessageWidget.notice``)
                tokens, a retry countdown                    with Retry/Continue/Remove;
                                                             it stays with the turn
per attachment  why one image cannot be sent (unreadable,    the attachment's row
                too large, not an image)                     (``AttachmentRole.ERROR``);
                                                             the others are unaffected
unexpected      a bug: an exception nobody handled           the full traceback goes to
                                                             the log file; the first one
                                                             also sends ONE :func:`error`
                                                             naming that file
                                                             (``ui.excepthook``), later
                                                             ones only reach the log
=============== ============================================ ===========================

Every text is plain language written by Iris for people: never a traceback,
never an exception's repr, never the API key. Problems that belong to a turn or
an attachment go there, not here, so that they stay next to what they are about.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QObject, Signal

from desktop_app.core.errors import StoreError


class Level(enum.Enum):
    """How serious a message is."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclasses.dataclass(frozen=True)
class Action:
    """A button offered with a message, such as Undo."""

    label: str
    run: Callable[[], object]


@dataclasses.dataclass(frozen=True)
class UserMessage:
    """One message for people: plain language, never a traceback.

    Attributes:
        level: How serious it is.
        text: What to say.
        action: A button to offer with it, if any (it closes the message).
        key: Messages with the same key replace each other (one Undo at a time).
        timeout: Seconds it stays; None for its level's default (errors, and
            messages with an action, stay until dismissed).
    """

    level: Level
    text: str
    action: Action | None = None
    key: str | None = None
    timeout: float | None = None


class MessageBridge(QObject):
    """Carries :class:`UserMessage` objects to whoever shows them.

    Signals:
        shown: Emitted with each :class:`UserMessage` once a receiver is attached.
    """

    shown = Signal(object)

    def __init__(self) -> None:
        """Start with no receiver; messages wait in a queue until :meth:`flush`."""
        super().__init__()
        self._pending: list[UserMessage] = []
        self._ready = False

    def send(self, message: UserMessage) -> None:
        """Show ``message`` now, or keep it until the window is ready."""
        if self._ready:
            self.shown.emit(message)
        else:
            self._pending.append(message)

    def flush(self) -> None:
        """Mark the receiver as attached and deliver what was waiting."""
        self._ready = True
        pending, self._pending = self._pending, []
        for message in pending:
            self.shown.emit(message)

    def reset(self) -> None:
        """Detach: keep messages again until the next :meth:`flush` (for tests)."""
        self._ready = False
        self._pending.clear()


bridge = MessageBridge()


def error(
    text: str,
    *,
    action: Action | None = None,
    key: str | None = None,
    timeout: float | None = None,
) -> None:
    """Tell the user something failed; it stays until dismissed."""
    bridge.send(UserMessage(Level.ERROR, text, action, key, timeout))


def warning(
    text: str,
    *,
    action: Action | None = None,
    key: str | None = None,
    timeout: float | None = None,
) -> None:
    """Warn the user."""
    bridge.send(UserMessage(Level.WARNING, text, action, key, timeout))


def info(
    text: str,
    *,
    action: Action | None = None,
    key: str | None = None,
    timeout: float | None = None,
) -> None:
    """Tell the user something worth knowing."""
    bridge.send(UserMessage(Level.INFO, text, action, key, timeout))


async def saved_or_said(storing: Awaitable[None], failure: str) -> None:
    """Await a history write; if it fails, tell the person ``failure``, then why."""
    try:
        await storing
    except StoreError as exc:
        error(f"{failure}: {exc}")
