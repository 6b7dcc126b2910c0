"""A private desktop for one test: an X server, a session bus, and a program driven on it.

Nothing here touches the person's own display, session bus or accessibility bus:
the X server (Xvfb) and the session bus are started for the test, and the
accessibility bus is started by the session bus on demand, as on a desktop.
"""

from __future__ import annotations

import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

A11Y_BUS_SERVICE = Path("/usr/share/dbus-1/services/org.a11y.Bus.service")


def missing_tools() -> str | None:
    """Why a private accessible desktop cannot start here, or None."""
    if not sys.platform.startswith("linux"):
        return "AT-SPI is the Linux accessibility bus"
    for tool, package in (("Xvfb", "xvfb"), ("dbus-daemon", "dbus")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian/Ubuntu: apt-get install {package})"
    launcher = _service_program(A11Y_BUS_SERVICE)
    if launcher is None or not launcher.exists():
        return "at-spi-bus-launcher is not installed (Debian/Ubuntu: apt-get install at-spi2-core)"
    return None


def _service_program(service: Path) -> Path | None:
    """The program a D-Bus service file starts."""
    try:
        lines = service.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("Exec="):
            return Path(line.removeprefix("Exec=").split()[0])
    return None


def _read_line(stream: IO[bytes], deadline: float, what: str) -> bytes:
    """One line from a pipe, or TimeoutError at ``deadline``."""
    line = b""
    fd = stream.fileno()
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError(f"{what}: nothing within the time allowed")
        chunk = os.read(fd, 1)
        if not chunk:
            raise RuntimeError(f"{what}: the program ended first")
        line += chunk
    return line


def _stop(process: subprocess.Popen[Any], group: bool = False) -> None:
    """End ``process`` (and the processes it started in its own group, with ``group``)."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, signal.SIGTERM)
            else:
                process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL) if group else process.kill()
            process.wait(5)
    elif group:
        # Services the bus started outlive it for a moment; they share its group.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


@contextmanager
def private_desktop(home: Path, seconds: float = 15.0) -> Iterator[dict[str, str]]:
    """Start Xvfb and a session bus; yield the environment of a program on them."""
    runtime = home / "runtime"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DISPLAY", "WAYLAND", "DBUS_", "AT_SPI", "XDG_", "QT_"))
    }
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime))
    deadline = time.monotonic() + seconds
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(write_end)
    bus: subprocess.Popen[bytes] | None = None
    try:
        with os.fdopen(read_end, "rb") as display:
            env["DISPLAY"] = ":" + _read_line(display, deadline, "Xvfb").decode().strip()
        # Its own process group: the accessibility bus it starts goes with it.
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        assert bus.stdout is not None
        env["DBUS_SESSION_BUS_ADDRESS"] = (
            _read_line(bus.stdout, deadline, "dbus-daemon").decode().strip()
        )
        yield env
    finally:
        if bus is not None:
            _stop(bus, group=True)
        _stop(xvfb)


class Driven:
    """A program that answers one JSON line per command line (see ``atspi_window``)."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path) -> None:
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            list(args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=dict(env),
            cwd=cwd,
        )
        self.log_path = log
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(b"")

    def read(self, seconds: float = 30.0) -> dict[str, Any]:
        """The next answer, or an error that carries the program's log."""
        try:
            line = self._lines.get(timeout=seconds)
        except queue.Empty:
            raise TimeoutError(f"no answer within {seconds:.0f} s\n{self.log()}") from None
        if not line:
            raise RuntimeError(f"the program ended (exit {self.process.wait(5)})\n{self.log()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def ask(self, command: str, seconds: float = 30.0) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")
        self.process.stdin.flush()
        return self.read(seconds)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.process.poll() is None:
            with suppress(OSError, RuntimeError, TimeoutError):
                self.ask("quit", 10)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        if self.process.poll() is not None:
            self._pump_thread.join(5)  # it has read the end of the output
        _stop(self.process)
        self._log.close()
