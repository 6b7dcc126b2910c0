"""The tier limiter, on a virtual clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from desktop_app.core.api.ratelimit import RateLimiter, parse_reset
from desktop_app.core.catalog import Catalog, custom_tier


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.wall_offset = 1_800_000_000.0 - 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + self.wall_offset

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limiter_for(rpm: dict[str, int], clock: VirtualClock) -> RateLimiter:
    return RateLimiter(
        custom_tier(rpm), clock=clock.monotonic, wall_clock=clock.wall, sleep=clock.sleep
    )


def test_requests_are_spaced_to_the_tier_rpm() -> None:
    clock = VirtualClock()
    limiter = limiter_for({"opus": 20}, clock)  # one request every 3 s, burst of 1

    async def run() -> list[float]:
        return [await limiter.acquire("opus") for _ in range(4)]

    waits = asyncio.run(run())
    assert waits[0] == 0.0
    assert all(abs(w - 3.0) < 1e-6 for w in waits[1:])
    assert abs(clock.now - 1009.0) < 1e-6


def test_burst_then_steady_rate_never_exceeds_rpm_in_any_minute() -> None:
    clock = VirtualClock()
    limiter = limiter_for({"haiku": 120}, clock)
    times: list[float] = []

    async def run() -> None:
        for _ in range(300):
            await limiter.acquire("haiku")
            times.append(clock.now)

    asyncio.run(run())
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t < start + 60.0)
        assert in_window <= 120
    # And it does use the rate: 300 requests take about 2.5 minutes, not far more.
    assert times[-1] - times[0] < 151.0


def test_families_have_separate_buckets() -> None:
    clock = VirtualClock()
    limiter = limiter_for({"opus": 20, "haiku": 20}, clock)

    async def run() -> tuple[float, float]:
        await limiter.acquire("opus")
        return await limiter.acquire("haiku"), limiter.delay("opus")

    haiku_wait, opus_delay = asyncio.run(run())
    assert haiku_wait == 0.0
    assert opus_delay > 2.9


def test_unknown_family_uses_the_strictest_rate() -> None:
    tier = Catalog.load().tier("tier-1")
    assert tier.rpm_for("mystery") == 20
    assert tier.rpm_for("haiku") == 100


def test_server_headers_with_nothing_left_pause_until_reset() -> None:
    clock = VirtualClock()
    limiter = limiter_for({"sonnet": 1000}, clock)
    reset = datetime.fromtimestamp(clock.wall() + 12.0, tz=UTC).isoformat().replace("+00:00", "Z")
    limiter.observe(
        "sonnet",
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": reset,
            "anthropic-ratelimit-tokens-limit": "90000",
            "anthropic-ratelimit-tokens-remaining": "80000",
        },
    )
    snap = limiter.snapshot("sonnet")
    assert snap.server["requests"].limit == 50
    assert snap.server["requests"].remaining == 0
    assert snap.server["tokens"].remaining == 80000
    assert abs(snap.paused_for - 12.0) < 0.01
    waited = asyncio.run(limiter.acquire("sonnet"))
    assert abs(waited - 12.0) < 0.01


def test_remaining_caps_the_local_burst() -> None:
    clock = VirtualClock()
    limiter = limiter_for({"haiku": 2000}, clock)  # local burst would be 166
    limiter.observe("haiku", {"anthropic-ratelimit-requests-remaining": "1"})

    async def run() -> list[float]:
        return [await limiter.acquire("haiku") for _ in range(2)]

    waits = asyncio.run(run())
    assert waits[0] == 0.0
    assert waits[1] > 0.0


def test_pause_after_retry_after() -> None:
    clock = VirtualClock()
    limiter = limiter_for({"opus": 400}, clock)
    limiter.pause("opus", 7.5)
    assert abs(asyncio.run(limiter.acquire("opus")) - 7.5) < 1e-6


def test_set_tier_changes_the_rate() -> None:
    clock = VirtualClock()
    catalog = Catalog.load()
    limiter = RateLimiter(catalog.tier("tier-1"), clock=clock.monotonic, sleep=clock.sleep)
    assert limiter.snapshot("opus").tier_rpm == 20
    limiter.set_tier(catalog.tier("tier-4"))
    assert limiter.snapshot("opus").tier_rpm == 400


def test_parse_reset() -> None:
    assert parse_reset("2026-11-24T10:00:00Z") == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert parse_reset("garbage") is None
    assert parse_reset(None) is None
