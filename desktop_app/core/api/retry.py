"""Retry arithmetic: the countdown notice, ``retry-after`` parsing and backoff.

No HTTP stack needed, so the window can show a countdown without loading httpx.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Mapping
from typing import NamedTuple

from desktop_app.core.errors import APIError


class RetryNotice(NamedTuple):
    """A retry is about to wait; the UI can show a countdown from it.

    Attributes:
        attempt: The number of the attempt that will follow the wait (2 for the first retry).
        delay: Seconds the client will wait.
        deadline: ``time.monotonic()`` value when the wait ends.
        error: The failure that caused the retry.
    """

    attempt: int
    delay: float
    deadline: float
    error: APIError

    def seconds_left(self, now: float | None = None) -> float:
        """Seconds until the retry, never negative."""
        return max(0.0, self.deadline - (time.monotonic() if now is None else now))


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the service asked us to wait, from ``retry-after-ms`` or ``retry-after``."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        with contextlib.suppress(ValueError):
            value = float(raw_ms) / 1000.0
            if value > 0:
                return value
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        import email.utils  # rare: HTTP-date form only, and slow to import

        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (ValueError, TypeError):
            return None
        value = parsed.timestamp() - (time.time() if now is None else now)
    return value if value > 0 else None


def backoff_delay(attempt: int, *, initial: float = 0.5, maximum: float = 8.0) -> float:
    """Exponential backoff with jitter for retry number ``attempt`` (0 for the first)."""
    return min(initial * 2.0**attempt, maximum) * random.uniform(0.75, 1.0)
