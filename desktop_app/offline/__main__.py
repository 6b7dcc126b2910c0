"""Run the offline server on its own: ``python -m desktop_app.offline [--port N]``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from desktop_app.offline.server import DEFAULT_DELAY, DEMO_API_KEY, OfflineServer


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until Ctrl+C or SIGTERM and return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m desktop_app.offline",
        description="Serve the Iris offline Messages API on the loopback interface.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument(
        "--delay", type=float, default=DEFAULT_DELAY, help="seconds between streamed deltas"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print request lines (never keys) to stderr"
    )
    args = parser.parse_args(argv)
    try:
        server = OfflineServer(args.host, args.port, delay=args.delay, verbose=args.verbose)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    done = threading.Event()

    def on_terminate(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_terminate)
    with server:
        print(f"Iris offline Messages API at {server.base_url}", flush=True)
        print(f"Any non-empty API key works (the demo sends {DEMO_API_KEY}). Ctrl+C stops.")
        sys.stdout.flush()
        try:
            # A timeout keeps the wait interruptible by Ctrl+C on every platform.
            while not done.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
