"""A client-side limiter that keeps requests under the user's rate-limit tier.

Each model family has a token bucket refilled at the tier's requests per minute.
The bucket holds only a few seconds' worth of requests, because the service may
enforce a per-minute limit over shorter intervals (60 RPM as one per second), so a
full minute's burst up front would earn 429s. The service's own
``anthropic-ratelimit-*`` headers are authoritative: when they say nothing is left,
the limiter waits for their reset time, and their figures are kept for display.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from desktop_app.core.catalog import Tier

# Float round-off after sleeping exactly the computed wait must not cause
# another, vanishingly small wait.
_EPSILON = 1e-6
_KINDS = ("requests", "tokens", "input-tokens", "output-tokens")


@dataclasses.dataclass(frozen=True, slots=True)
class LimitFigures:
    """One ``anthropic-ratelimit-<kind>-*`` triple as last seen."""

    limit: int | None
    remaining: int | None
    reset: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitSnapshot:
    """What the UI shows about rate limits for one family.

    Attributes:
        family: The model family.
        tier_rpm: Requests per minute allowed by the chosen tier.
        server: The service's latest figures by kind (``requests``, ``tokens``, ...).
        paused_for: Seconds until the limiter lets the next request go.
    """

    family: str
    tier_rpm: int
    server: Mapping[str, LimitFigures]
    paused_for: float


def parse_reset(value: str | None) -> datetime | None:
    """Parse an RFC 3339 reset time from a rate-limit header."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


@dataclasses.dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    paused_until: float = 0.0
    # Send times of the last minute: the bucket alone would allow its burst plus
    # a full minute's refill inside one 60 s window.
    sent: collections.deque[float] = dataclasses.field(default_factory=collections.deque)


class RateLimiter:
    """Paces requests per model family to the chosen tier and the service's headers."""

    def __init__(
        self,
        tier: Tier,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        burst_seconds: float = 5.0,
    ) -> None:
        """Create a limiter for ``tier``; the clocks and sleep are injectable for tests."""
        self._tier = tier
        self._clock = clock
        self._wall = wall_clock
        self._sleep = sleep
        self._burst_seconds = burst_seconds
        self._buckets: dict[str, _Bucket] = {}
        self._server: dict[str, dict[str, LimitFigures]] = {}
        self._lock = asyncio.Lock()

    @property
    def tier(self) -> Tier:
        """The tier in force."""
        return self._tier

    def set_tier(self, tier: Tier) -> None:
        """Switch tiers; buckets restart full at the new size."""
        self._tier = tier
        self._buckets.clear()

    def _capacity(self, family: str) -> float:
        rpm = self._tier.rpm_for(family)
        return max(1.0, math.floor(rpm * self._burst_seconds / 60.0))

    def _bucket(self, family: str) -> _Bucket:
        bucket = self._buckets.get(family)
        if bucket is None:
            bucket = _Bucket(self._capacity(family), self._clock())
            self._buckets[family] = bucket
        return bucket

    def _refill(self, family: str, bucket: _Bucket, now: float) -> None:
        rate = self._tier.rpm_for(family) / 60.0
        bucket.tokens = min(self._capacity(family), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now

    def delay(self, family: str) -> float:
        """Seconds the next request for ``family`` would have to wait now."""
        now = self._clock()
        bucket = self._bucket(family)
        self._refill(family, bucket, now)
        wait = max(0.0, bucket.paused_until - now)
        if wait <= _EPSILON:
            wait = 0.0
        rpm = self._tier.rpm_for(family)
        if bucket.tokens < 1.0 - _EPSILON:
            wait = max(wait, (1.0 - bucket.tokens) * 60.0 / rpm)
        sent = bucket.sent
        while sent and sent[0] <= now - 60.0 + _EPSILON:
            sent.popleft()
        if len(sent) >= rpm:
            wait = max(wait, sent[len(sent) - rpm] + 60.0 - now)
        return wait

    async def acquire(self, family: str) -> float:
        """Wait until a request for ``family`` may go, take its slot, return the wait."""
        waited = 0.0
        async with self._lock:
            while True:
                wait = self.delay(family)
                if wait <= _EPSILON:
                    break
                await self._sleep(wait)
                waited += wait
            bucket = self._bucket(family)
            bucket.tokens -= 1.0
            bucket.sent.append(self._clock())
        return waited

    def pause(self, family: str, seconds: float) -> None:
        """Hold requests for ``family`` back for ``seconds`` (after a 429, say)."""
        bucket = self._bucket(family)
        bucket.paused_until = max(bucket.paused_until, self._clock() + max(0.0, seconds))

    def observe(self, family: str, headers: Mapping[str, str]) -> None:
        """Take in a response's ``anthropic-ratelimit-*`` headers."""
        figures = self._server.setdefault(family, {})
        for kind in _KINDS:
            prefix = f"anthropic-ratelimit-{kind}-"
            limit = _int(headers.get(prefix + "limit"))
            remaining = _int(headers.get(prefix + "remaining"))
            reset = parse_reset(headers.get(prefix + "reset"))
            if limit is None and remaining is None and reset is None:
                continue
            figures[kind] = LimitFigures(limit, remaining, reset)
            if remaining is not None and remaining <= 0 and reset is not None:
                self.pause(family, reset.timestamp() - self._wall())
        requests = figures.get("requests")
        if requests is not None and requests.remaining is not None:
            bucket = self._bucket(family)
            self._refill(family, bucket, self._clock())
            bucket.tokens = min(bucket.tokens, float(requests.remaining))

    def snapshot(self, family: str) -> RateLimitSnapshot:
        """The latest figures for ``family``, for display."""
        return RateLimitSnapshot(
            family=family,
            tier_rpm=self._tier.rpm_for(family),
            server=dict(self._server.get(family, {})),
            paused_for=self.delay(family),
        )


def _figure(name: str, figures: LimitFigures | None, suffix: str = "") -> str | None:
    if figures is None:
        return None
    if figures.remaining is not None and figures.limit is not None:
        return f"{name} {figures.remaining:,}/{figures.limit:,}{suffix}"
    if figures.remaining is not None:
        return f"{name} {figures.remaining:,} left"
    if figures.limit is not None:
        return f"{name} limit {figures.limit:,}"
    return None


def rate_limit_summary(snapshot: RateLimitSnapshot | None) -> str:
    """One line on the service's latest rate-limit figures, or ``No response yet``.

    For example ``Requests 48/50 left · tokens 79,000/80,000 · resets 10:32:05``.
    """
    if snapshot is None:
        return "No response yet"
    server = snapshot.server
    # Accounts limited on input and output tokens separately get no combined figure.
    token_kinds = ("tokens",) if "tokens" in server else ("input-tokens", "output-tokens")
    candidates = [_figure("requests", server.get("requests"), " left")]
    candidates += [_figure(kind.replace("-", " "), server.get(kind)) for kind in token_kinds]
    parts = [part for part in candidates if part is not None]
    resets = [figures.reset for figures in server.values() if figures.reset is not None]
    if resets:
        # Local wall-clock time, to compare with the clock on the screen.
        parts.append(f"resets {min(resets).astimezone().strftime('%H:%M:%S')}")
    text = " · ".join(parts) if parts else "No response yet"
    if snapshot.paused_for >= 1.0:
        text += f" · waiting {snapshot.paused_for:.0f} s"
    return text[0].upper() + text[1:]
