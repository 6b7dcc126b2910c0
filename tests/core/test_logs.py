"""The log file: where it is, who may read it, what it holds and what it never holds."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import stat
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

from desktop_app.core import logs
from desktop_app.core.api.client import MessagesClient
from desktop_app.core.catalog import Catalog
from desktop_app.core.paths import app_paths
from desktop_app.core.wire.blocks import Role
from desktop_app.core.wire.message import MessageParam
from desktop_app.core.wire.request import MessageRequest
from tests.support.offline import Fault, FaultyServer

REGISTERED_KEY = "iris-custom-gateway-key-5d41402abc4b2a76"
ANTHROPIC_SHAPED = "sk-ant-api03-Zx9_never-registered-Q1w2E3r4T5y6-AA"
MARKER = "periwinkle-okapi-4471"

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[logs.LogSetup]:
    """Warnings and errors to ``tmp_path/logs/iris.log``; undone afterwards."""
    setup = logs.configure(tmp_path / "logs")
    yield setup
    setup.close()


@pytest.fixture
def verbose(tmp_path: Path) -> Iterator[logs.LogSetup]:
    """Debug lines too, as with ``--verbose``."""
    setup = logs.configure(tmp_path / "logs", verbose=True)
    yield setup
    setup.close()


def text_of(setup: logs.LogSetup) -> str:
    assert setup.path is not None
    for handler in logging.getLogger().handlers:
        handler.flush()
    return setup.path.read_text(encoding="utf-8")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def raised(error: BaseException) -> BaseException:
    """``error`` with a real traceback."""
    try:
        raise error
    except BaseException as caught:
        return caught


# -- where, and who may read it ----------------------------------------------------------------


def test_the_log_folder_comes_from_iris_log_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IRIS_LOG_DIR", str(tmp_path / "elsewhere"))
    assert app_paths().logs == tmp_path / "elsewhere"
    monkeypatch.delenv("IRIS_LOG_DIR")
    default = app_paths().logs
    assert default is not None
    assert "iris" in default.parts


@posix_only
def test_the_folder_is_made_private_and_so_is_every_file(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "logs"
    setup = logs.configure(folder)
    try:
        logging.getLogger("iris.test").warning("one line")
        assert setup.path == folder / logs.LOG_FILE
        assert mode(folder) == 0o700
        assert mode(setup.path) == 0o600
    finally:
        setup.close()


@posix_only
def test_a_folder_and_file_made_readable_by_others_become_private(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    (folder / logs.LOG_FILE).write_text("older lines\n", encoding="utf-8")
    os.chmod(folder / logs.LOG_FILE, 0o644)
    setup = logs.configure(folder)
    setup.close()
    assert mode(folder) == 0o700
    assert mode(folder / logs.LOG_FILE) == 0o600
    assert (folder / logs.LOG_FILE).read_text(encoding="utf-8") == "older lines\n"


def test_a_full_file_rotates_and_three_older_ones_are_kept(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    setup = logs.configure(folder, max_bytes=2000)
    try:
        log = logging.getLogger("iris.test")
        for n in range(200):
            log.warning("line %03d %s", n, "x" * 40)
    finally:
        setup.close()
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["iris.log", "iris.log.1", "iris.log.2", "iris.log.3"]
    for path in folder.iterdir():
        assert path.stat().st_size <= 2000
        if os.name == "posix":
            assert mode(path) == 0o600
    # The newest line is in the current file, the one before it in the first backup.
    assert "line 199" in (folder / "iris.log").read_text(encoding="utf-8")
    newest = (folder / "iris.log").read_text(encoding="utf-8").splitlines()[0]
    previous = (folder / "iris.log.1").read_text(encoding="utf-8").splitlines()[-1]
    assert int(previous.split("line ")[1][:3]) + 1 == int(newest.split("line ")[1][:3])


def test_when_the_file_cannot_be_rotated_the_lines_still_go_into_it(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    # Older files that cannot be moved (as when another process holds them open).
    for n in (1, 2, 3):
        (folder / f"iris.log.{n}").mkdir()
        (folder / f"iris.log.{n}" / "keep").write_text("", encoding="utf-8")
    setup = logs.configure(folder, max_bytes=300)
    try:
        log = logging.getLogger("iris.test")
        for n in range(20):
            log.warning("line %02d", n)
    finally:
        setup.close()
    text = (folder / logs.LOG_FILE).read_text(encoding="utf-8")
    assert [f"line {n:02d}" in text for n in range(20)] == [True] * 20


def test_a_folder_that_cannot_be_made_means_one_line_warnings_on_the_stream(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    stream = io.StringIO()
    setup = logs.configure(blocker / "logs", stream=stream)
    try:
        assert setup.path is None
        log = logging.getLogger("iris.test")
        log.info("not shown")
        try:
            raise ValueError("inner detail")
        except ValueError:
            log.exception("Something failed")
    finally:
        setup.close()
    assert stream.getvalue() == "iris: error: Something failed\n"


# -- how much ----------------------------------------------------------------------------------


def test_warnings_and_errors_only_by_default(configured: logs.LogSetup) -> None:
    log = logging.getLogger("iris.test")
    log.debug("a debug line")
    log.info("an info line")
    log.warning("a warning line")
    logging.getLogger("desktop_app.ui.something").error("an error line")
    text = text_of(configured)
    assert "a warning line" in text
    assert "an error line" in text
    assert "debug line" not in text
    assert "info line" not in text


def test_verbose_adds_our_debug_lines_but_not_other_libraries(verbose: logs.LogSetup) -> None:
    logging.getLogger("iris.test").debug("our debug line")
    logging.getLogger("desktop_app.ui.attachments").debug("a module's debug line")
    logging.getLogger("httpx").info("a library's info line")
    # Their debug lines can print call arguments and results: message text.
    logging.getLogger("markdown_it.rules_block").debug("entering paragraph: MARKDOWN")
    logging.getLogger("qasync").debug("Setting Future result: REPLY")
    text = text_of(verbose)
    assert "our debug line" in text
    assert "a module's debug line" in text
    assert "a library's info line" in text
    assert "MARKDOWN" not in text
    assert "REPLY" not in text


def test_python_warnings_go_to_the_log(configured: logs.LogSetup) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a deprecated call", DeprecationWarning, stacklevel=1)
    assert "a deprecated call" in text_of(configured)


def test_closing_puts_logging_back_as_it_was(tmp_path: Path) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    own = logging.getLogger("iris").level
    setup = logs.configure(tmp_path / "logs", verbose=True, echo=True, stream=io.StringIO())
    assert len(root.handlers) == len(handlers) + 2
    assert logging.getLogger("iris").level == logging.DEBUG
    setup.close()
    assert root.handlers == handlers
    assert root.level == level
    assert logging.getLogger("iris").level == own
    logging.getLogger("iris.test").error("after closing")
    assert "after closing" not in (tmp_path / "logs" / logs.LOG_FILE).read_text(encoding="utf-8")


# -- never the key -----------------------------------------------------------------------------


def test_the_key_is_redacted_from_messages_arguments_tracebacks_and_stacks(
    verbose: logs.LogSetup,
) -> None:
    logs.register_secret(REGISTERED_KEY)
    log = logging.getLogger("iris.test")
    log.warning(f"in the message itself: {REGISTERED_KEY}")
    log.info("as an argument: %s and %r", REGISTERED_KEY, {"x-api-key": ANTHROPIC_SHAPED})
    log.debug("as JSON: %s", '{"key": "' + REGISTERED_KEY + '"}')
    try:
        raise RuntimeError(f"an error that quotes {REGISTERED_KEY} and {ANTHROPIC_SHAPED}")
    except RuntimeError:
        log.exception("with a traceback")
    log.warning("with a stack: %s", "here", stack_info=True)
    text = text_of(verbose)
    assert REGISTERED_KEY not in text
    assert ANTHROPIC_SHAPED not in text
    assert "sk-ant-" not in text
    assert text.count(logs.REDACTED) >= 6
    # Everything else is kept: the line still says what happened.
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: an error that quotes [redacted] and [redacted]" in text
    assert "with a stack: here" in text
    assert "Stack (most recent call last)" in text


def test_every_form_of_a_registered_key_is_redacted() -> None:
    key = 'odd key/with "quotes"+slash'
    logs.register_secret(key)
    for form in (
        key,
        '"odd key/with \\"quotes\\"+slash"',
        "odd%20key%2Fwith%20%22quotes%22%2Bslash",
    ):
        assert "quotes" not in logs.redact(f"before {form} after"), form
    assert logs.redact("the word odd stays") == "the word odd stays"


def test_the_echo_is_one_redacted_line_per_record_and_never_a_traceback(tmp_path: Path) -> None:
    stream = io.StringIO()
    setup = logs.configure(tmp_path / "logs", verbose=True, echo=True, stream=stream)
    try:
        log = logging.getLogger("iris.api")
        log.info("POST /v1/messages -> 200 (%s)", "req_1")
        try:
            raise OSError(f"the proxy said\nno to {ANTHROPIC_SHAPED}")
        except OSError:
            log.exception("request failed")
    finally:
        setup.close()
    assert stream.getvalue().splitlines() == [
        "iris: info: POST /v1/messages -> 200 (req_1)",
        "iris: error: request failed",
    ]
    # The file has the whole story, still without the key.
    text = (tmp_path / "logs" / logs.LOG_FILE).read_text(encoding="utf-8")
    assert "Traceback" in text
    assert ANTHROPIC_SHAPED not in text


def test_a_real_request_at_debug_level_logs_neither_the_key_nor_any_text(
    verbose: logs.LogSetup, offline_server: FaultyServer
) -> None:
    key = "iris-e2e-key-0123456789abcdef"
    model = Catalog.load().get("claude-haiku-4-5")
    # One overload first, so the retry path logs too.
    offline_server.push(Fault.status(529, "overloaded_error", headers={"retry-after": "0"}))
    request = MessageRequest(
        model.id,
        [MessageParam.text(Role.USER, f"Please repeat {MARKER} back to me.")],
        system=f"The system prompt mentions {MARKER} as well.",
    )

    async def ask() -> str:
        async with MessagesClient(key, base_url=offline_server.base_url) as client:
            message = await client.create(request, model)
            return message.text

    reply = asyncio.run(ask())
    assert MARKER in reply  # the offline server quotes the prompt: the reply holds it too
    assert offline_server.received[-1].headers["x-api-key"] == key
    text = text_of(verbose)
    assert "POST /v1/messages -> 529" in text
    assert "retrying /v1/messages" in text
    assert "POST /v1/messages -> 200" in text
    assert key not in text
    assert MARKER not in text


# -- unhandled exceptions ----------------------------------------------------------------------


class Told:
    """Records what the hooks tell the person."""

    def __init__(self) -> None:
        self.notices: list[str] = []

    def __call__(self, text: str) -> None:
        self.notices.append(text)


@pytest.fixture
def hooks(configured: logs.LogSetup) -> Iterator[tuple[logs.ExceptionHooks, Told]]:
    told = Told()
    installed = logs.ExceptionHooks(told, configured.path).install()
    yield installed, told
    installed.uninstall()


def test_an_unhandled_exception_is_logged_and_the_person_told_once(
    hooks: tuple[logs.ExceptionHooks, Told], configured: logs.LogSetup
) -> None:
    installed, told = hooks
    first = raised(RuntimeError("first failure"))
    sys.excepthook(type(first), first, first.__traceback__)
    second = raised(KeyError("second failure"))
    sys.excepthook(type(second), second, second.__traceback__)
    text = text_of(configured)
    assert "Unhandled exception on the main thread" in text
    assert text.count("Traceback (most recent call last)") == 2
    assert "RuntimeError: first failure" in text
    assert "KeyError: 'second failure'" in text
    assert told.notices == [installed.notice]
    assert str(configured.path) in installed.notice
    assert "Traceback" not in installed.notice


def test_ctrl_c_is_neither_logged_nor_told(
    hooks: tuple[logs.ExceptionHooks, Told], configured: logs.LogSetup
) -> None:
    _installed, told = hooks
    stop = raised(KeyboardInterrupt())
    sys.excepthook(type(stop), stop, stop.__traceback__)
    assert told.notices == []
    assert "KeyboardInterrupt" not in text_of(configured)


def test_an_exception_in_a_thread_is_logged_and_told_once(
    hooks: tuple[logs.ExceptionHooks, Told], configured: logs.LogSetup
) -> None:
    _installed, told = hooks

    def fail(text: str) -> None:
        raise ValueError(text)

    for n in range(2):
        worker = threading.Thread(target=fail, args=(f"worker {n} broke",), name=f"worker-{n}")
        worker.start()
        worker.join()
    text = text_of(configured)
    assert "Unhandled exception in thread worker-0" in text
    assert "ValueError: worker 0 broke" in text
    assert "ValueError: worker 1 broke" in text
    assert len(told.notices) == 1


def test_a_thread_that_exits_is_not_an_error(
    hooks: tuple[logs.ExceptionHooks, Told], configured: logs.LogSetup
) -> None:
    _installed, told = hooks
    worker = threading.Thread(target=sys.exit, args=(0,))
    worker.start()
    worker.join()
    assert told.notices == []
    assert "SystemExit" not in text_of(configured)


def test_a_failed_loop_callback_is_logged_without_its_arguments(
    hooks: tuple[logs.ExceptionHooks, Told], configured: logs.LogSetup
) -> None:
    installed, told = hooks

    def show(text: str) -> None:
        raise LookupError("no such row")

    loop = asyncio.new_event_loop()
    try:
        installed.attach(loop)
        loop.call_soon(show, MARKER)  # short: asyncio would shorten a long repr
        # Callbacks run in order: this one ends the run after the failing one.
        done = loop.create_future()
        loop.call_soon(done.set_result, None)
        loop.run_until_complete(done)
    finally:
        loop.close()
    text = text_of(configured)
    assert "Unhandled exception in the event loop: Exception in callback" in text
    assert "LookupError: no such row" in text
    assert MARKER not in text
    assert told.notices == [installed.notice]


def test_a_loop_made_after_the_hooks_can_be_handed_to_them(
    hooks: tuple[logs.ExceptionHooks, Told], configured: logs.LogSetup
) -> None:
    installed, told = hooks

    def fail() -> None:
        raise LookupError("a command's loop broke")

    async def main() -> None:
        # As iris ask does for the loop asyncio.run makes.
        logs.attach_loop(asyncio.get_running_loop())
        asyncio.get_running_loop().call_soon(fail)
        await asyncio.sleep(0)  # one loop turn: the callback runs

    asyncio.run(main())
    assert "LookupError: a command's loop broke" in text_of(configured)
    assert told.notices == [installed.notice]
    installed.uninstall()
    # Once uninstalled, nothing is attached any more.
    loop = asyncio.new_event_loop()
    try:
        logs.attach_loop(loop)
        assert loop.get_exception_handler() is None
    finally:
        loop.close()


def test_a_loop_problem_without_an_exception_is_logged_but_not_told(
    hooks: tuple[logs.ExceptionHooks, Told], configured: logs.LogSetup
) -> None:
    installed, told = hooks
    loop = asyncio.new_event_loop()
    try:
        installed.attach(loop)
        loop.call_exception_handler({"message": "Unclosed connection"})
    finally:
        loop.close()
    assert "Unclosed connection" in text_of(configured)
    assert told.notices == []


def test_a_failing_tell_does_not_escape_the_hook(configured: logs.LogSetup) -> None:
    def broken_tell(text: str) -> None:
        raise RuntimeError("the window is gone")

    installed = logs.ExceptionHooks(broken_tell, configured.path).install()
    try:
        error = raised(ZeroDivisionError("division by zero"))
        sys.excepthook(type(error), error, error.__traceback__)  # must not raise
    finally:
        installed.uninstall()
    text = text_of(configured)
    assert "ZeroDivisionError" in text
    assert "Could not tell the user about an unexpected error" in text


def test_uninstall_gives_the_hooks_back(configured: logs.LogSetup) -> None:
    before_sys, before_thread = sys.excepthook, threading.excepthook
    loop = asyncio.new_event_loop()
    try:
        installed = logs.ExceptionHooks(Told(), configured.path).install()
        installed.attach(loop)
        assert sys.excepthook is not before_sys
        assert threading.excepthook is not before_thread
        assert loop.get_exception_handler() is not None
        installed.uninstall()
        assert sys.excepthook is before_sys
        assert threading.excepthook is before_thread
        assert loop.get_exception_handler() is None
    finally:
        loop.close()


def test_without_a_log_file_the_notice_says_so() -> None:
    hooks = logs.ExceptionHooks(Told(), None)
    assert "could not be written to a log file" in hooks.notice


def test_the_exception_text_is_redacted_in_the_log(
    hooks: tuple[logs.ExceptionHooks, Told], configured: logs.LogSetup
) -> None:
    error = raised(PermissionError(f"the gateway refused {ANTHROPIC_SHAPED}"))
    tb: TracebackType | None = error.__traceback__
    sys.excepthook(type(error), error, tb)
    text = text_of(configured)
    assert "PermissionError: the gateway refused [redacted]" in text
    assert ANTHROPIC_SHAPED not in text
