"""A place for the unexpected: the log file, the API key kept out of it, and the excepthooks.

Where: ``iris.log`` in :attr:`AppPaths.logs <desktop_app.core.paths.AppPaths>`,
rotated at :data:`MAX_BYTES` with :data:`BACKUP_COUNT` older files kept. The
folder is created private (0700) and every log file is 0600.

What: warnings and errors by default. With ``--verbose`` also Iris's own debug
lines and other libraries' information lines; their debug lines stay off, since
some print the arguments and results of calls, which can be message text. On the
command line ``--verbose`` also echoes each line to stderr, one line per record
and never a traceback.

Never the API key: :class:`RedactingFilter` sits on every handler and replaces
each key registered with :func:`register_secret` (in every form it may be
printed in) and anything shaped like an Anthropic key with ``[redacted]``, in the
message, in a traceback's text and in a stack. Never what people write or read:
no log call in Iris passes prompt, reply or system prompt text.

Unhandled exceptions: :class:`ExceptionHooks` takes over ``sys.excepthook``,
``threading.excepthook`` and an asyncio loop's exception handler. Each exception
goes to the log with its traceback; the first one also tells the person, once and
in plain words, where the details are (the window through the message bridge, the
command line as one line on stderr). Later ones are only logged: one notice says
all a person can do about them.

This module never imports Qt; the window's part lives in ``desktop_app.ui.excepthook``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import sys
import threading
import urllib.parse
import warnings
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import asyncio

LOG_FILE = "iris.log"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 3
REDACTED = "[redacted]"

# The loggers whose debug lines Iris writes with --verbose: its own.
OWN_LOGGERS = ("iris", "desktop_app")

# An Anthropic key: sk-ant-<kind><digits>-<base64url>; the rest of the word goes too.
_ANTHROPIC_KEY = re.compile(r"sk-ant-[A-Za-z0-9_\-]+")
_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"

log = logging.getLogger("iris.unexpected")


# -- keeping the key out -----------------------------------------------------------------------

_secrets_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Keep ``value`` (an API key) out of every log line from now on.

    Values under four characters are ignored: hiding them would blank out
    ordinary words.
    """
    if value is None:
        return
    forms = {value, value.strip()}
    # The forms a key takes when printed inside JSON, a URL or a repr.
    forms |= {json.dumps(f)[1:-1] for f in list(forms)}
    forms |= {urllib.parse.quote(f, safe="") for f in list(forms)}
    forms |= {repr(f)[1:-1] for f in list(forms)}
    with _secrets_lock:
        _secrets.update(f for f in forms if len(f) >= 4)


def redact(text: str) -> str:
    """``text`` without any registered key or anything shaped like an Anthropic key."""
    with _secrets_lock:
        # Longest first, so a key is never half replaced by a shorter form of it.
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _ANTHROPIC_KEY.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Removes keys from a record before any handler writes it.

    The message is formatted here and its arguments dropped, so the key cannot
    come back through an argument; a traceback is rendered here too, so the key
    cannot come back through an exception's text.
    """

    _traceback_formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` without keys; always keep it."""
        try:
            message = record.getMessage()
        except Exception:  # a call with the wrong arguments still leaves a line
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._traceback_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# -- the log file ------------------------------------------------------------------------------


def _private_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(folder, 0o700)


class PrivateRotatingFileHandler(logging.FileHandler):
    """A log file rotated by size, each file created 0600, that never complains on stderr.

    Our own few lines rather than ``logging.handlers``, whose import alone costs
    the window's start-up several milliseconds.
    """

    def __init__(
        self, path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUP_COUNT
    ) -> None:
        """Open ``path`` for appending; keep ``backups`` older files of ``max_bytes`` each."""
        self.max_bytes = max_bytes
        self.backups = backups
        super().__init__(path, mode="a", encoding="utf-8")

    def _open(self) -> Any:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
        fd = os.open(self.baseFilename, flags, 0o600)
        if os.name == "posix":
            os.fchmod(fd, 0o600)  # a file made earlier, or by hand, becomes private too
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record``, starting a new file first when this one is full."""
        try:
            if self._full_after(record):
                self._rotate()
        except OSError:
            pass  # another process holds the file open (Windows): write on in this one
        super().emit(record)

    def _full_after(self, record: logging.LogRecord) -> bool:
        if self.stream is None:
            return False
        size = self.stream.seek(0, os.SEEK_END)
        added = len((self.format(record) + self.terminator).encode("utf-8", "replace"))
        return size > 0 and size + added > self.max_bytes

    def _rotate(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None  # FileHandler opens it again when it is None
        base = self.baseFilename
        try:
            for n in range(self.backups - 1, 0, -1):
                if os.path.exists(f"{base}.{n}"):
                    os.replace(f"{base}.{n}", f"{base}.{n + 1}")
            if self.backups > 0:
                os.replace(base, f"{base}.1")
            else:
                os.remove(base)
        finally:
            self.stream = self._open()

    def handleError(self, record: logging.LogRecord) -> None:
        """Drop the record: a full disk must not become a traceback on someone's terminal."""
        return


class OneLineFormatter(logging.Formatter):
    """``iris: <level>: <message>`` on one line, without any traceback (for stderr)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line."""
        text = " ".join(record.getMessage().split())
        return f"iris: {record.levelname.lower()}: {text}"


class _QuietStreamHandler(logging.StreamHandler[TextIO]):
    def handleError(self, record: logging.LogRecord) -> None:
        return  # a closed stderr is no reason for a traceback


@dataclasses.dataclass
class LogSetup:
    """What :func:`configure` set up; :meth:`close` undoes it.

    Attributes:
        path: The log file, or None when there is none (no folder given, or it
            could not be written).
        verbose: Whether debug lines are written.
    """

    path: Path | None
    verbose: bool
    _handlers: list[logging.Handler]
    _levels: dict[str, int]
    _captures_warnings: bool

    def close(self) -> None:
        """Remove the handlers, close the file and restore the previous levels."""
        root = logging.getLogger()
        for handler in self._handlers:
            root.removeHandler(handler)
            handler.close()
        self._handlers = []
        for name, level in self._levels.items():
            logging.getLogger(name or None).setLevel(level)
        if self._captures_warnings:
            logging.captureWarnings(False)
            self._captures_warnings = False


def configure(
    folder: Path | None,
    *,
    verbose: bool = False,
    echo: bool = False,
    stream: TextIO | None = None,
    max_bytes: int = MAX_BYTES,
) -> LogSetup:
    """Send log records to a private rotating file in ``folder``.

    Args:
        folder: The log folder, created 0700 when missing; None writes no file.
        verbose: Write Iris's debug lines (and other libraries' information lines)
            instead of warnings and errors only.
        echo: Also write each line to ``stream`` as one line (the command line's
            ``--verbose``).
        stream: Where ``echo`` writes; stderr when None.
        max_bytes: The size at which the file is rotated.

    Returns:
        The setup, whose ``path`` names the file the details are in. Without a
        file (none asked for, or the folder cannot be written) ``path`` is None
        and warnings go to ``stream`` as single lines, so that none ever arrives
        as a traceback.
    """
    handlers: list[logging.Handler] = []
    path: Path | None = None
    if folder is not None:
        try:
            _private_folder(folder)
            file_handler = PrivateRotatingFileHandler(folder / LOG_FILE, max_bytes)
        except OSError:
            pass
        else:
            file_handler.setFormatter(logging.Formatter(_FILE_FORMAT))
            handlers.append(file_handler)
            path = folder / LOG_FILE
    if echo or path is None:
        echoing = _QuietStreamHandler(stream if stream is not None else sys.stderr)
        echoing.setFormatter(OneLineFormatter())
        if not echo:
            echoing.setLevel(logging.WARNING)
        handlers.append(echoing)

    root = logging.getLogger()
    levels = {"": root.level}
    levels.update({name: logging.getLogger(name).level for name in OWN_LOGGERS})
    for handler in handlers:
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.NOTSET)
    # warnings.warn() lines belong in the log too, not on a terminal nobody reads.
    before = warnings.showwarning
    logging.captureWarnings(True)
    return LogSetup(path, verbose, handlers, levels, warnings.showwarning is not before)


# -- unhandled exceptions ----------------------------------------------------------------------

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class ExceptionHooks:
    """Logs every unhandled exception with its traceback and tells the person once.

    ``tell`` receives :attr:`notice` the first time only. It may be called from
    any thread (a worker's exception is handled in that worker), so the window's
    ``tell`` hands the text over to the UI thread.
    """

    def __init__(self, tell: Callable[[str], None], log_file: Path | None) -> None:
        """Tell through ``tell``; ``log_file`` is where the details go, if anywhere."""
        self._tell = tell
        self._log_file = log_file
        self._lock = threading.Lock()
        self._told = False
        self._previous_sys: Callable[[type[BaseException], BaseException, Any], Any] | None = None
        self._previous_thread: Callable[[threading.ExceptHookArgs], Any] | None = None
        self._loops: list[asyncio.AbstractEventLoop] = []

    @property
    def notice(self) -> str:
        """The words a person reads: what happened and where the details are."""
        if self._log_file is None:
            return (
                "Something unexpected went wrong inside Iris, and the details could "
                "not be written to a log file."
            )
        return f"Something unexpected went wrong inside Iris. The details are in {self._log_file}"

    @property
    def told(self) -> bool:
        """Whether the person has been told."""
        return self._told

    def install(self) -> ExceptionHooks:
        """Take over ``sys.excepthook`` and ``threading.excepthook``; return self."""
        global _installed
        _installed = self
        if self._previous_sys is None:
            self._previous_sys = sys.excepthook
            self._previous_thread = threading.excepthook
            sys.excepthook = self._sys_hook
            threading.excepthook = self._thread_hook
        return self

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Handle the exceptions ``loop`` did not deliver to anyone (callbacks, tasks)."""
        loop.set_exception_handler(self.loop_exception_handler)
        self._loops.append(loop)

    def uninstall(self) -> None:
        """Give the hooks back to what was there before :meth:`install`."""
        global _installed
        if _installed is self:
            _installed = None
        if self._previous_sys is not None:
            if sys.excepthook == self._sys_hook:
                sys.excepthook = self._previous_sys
            if threading.excepthook == self._thread_hook and self._previous_thread is not None:
                threading.excepthook = self._previous_thread
            self._previous_sys = self._previous_thread = None
        for loop in self._loops:
            if not loop.is_closed():
                loop.set_exception_handler(None)
        self._loops = []

    def report(self, error: BaseException, where: str) -> None:
        """Log ``error`` with its traceback, and tell the person if nobody has yet."""
        self._report((type(error), error, error.__traceback__), where)

    def _report(self, exc_info: ExcInfo, where: str) -> None:
        log.error("Unhandled exception %s", where, exc_info=exc_info)
        with self._lock:
            if self._told:
                return
            self._told = True
        try:
            self._tell(self.notice)
        except Exception:  # telling must never raise out of an excepthook
            log.exception("Could not tell the user about an unexpected error")

    def _sys_hook(
        self, exc_type: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            return  # Ctrl+C is a request, not an error; the caller ends the program
        self._report((exc_type, error, tb), "on the main thread")

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return  # as the default hook: a thread that exits is not an error
        name = args.thread.name if args.thread is not None else "a thread"
        self._report((args.exc_type, args.exc_value, args.exc_traceback), f"in thread {name}")

    def loop_exception_handler(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        """An asyncio exception handler: log, and tell once when it carries an exception."""
        where = f"in the event loop: {_describe_context(context)}"
        error = context.get("exception")
        if isinstance(error, BaseException):
            self._report((type(error), error, error.__traceback__), where)
        else:
            # "Task was destroyed but it is pending!" and the like: worth a line, not a notice.
            log.warning("Event loop problem %s", where)


_installed: ExceptionHooks | None = None


def attach_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Let the installed hooks handle what ``loop`` cannot deliver (none installed: nothing).

    For loops made after the hooks, such as the one ``asyncio.run`` makes for a command.
    """
    if _installed is not None:
        _installed.attach(loop)


def _describe_context(context: dict[str, Any]) -> str:
    """What an asyncio error context says, without the reprs of call arguments.

    asyncio names a failed callback with its arguments ("Exception in callback
    f('text')"), and a handle's or a future's repr shows arguments and results: any
    of them may be message text, so only names are kept.
    """
    import asyncio

    message = str(context.get("message") or "an unhandled exception")
    parts = [message.split("(", 1)[0].strip()]
    for key in sorted(context):
        if key in ("message", "exception"):
            continue
        value = context[key]
        if isinstance(value, asyncio.Task):
            coro = value.get_coro()
            name = getattr(coro, "__qualname__", type(coro).__name__)
            parts.append(f"{key}: task {value.get_name()} running {name}")
        else:
            parts.append(f"{key}: {type(value).__name__}")
    return "; ".join(parts)
