"""Backoff schedules and the wake detector, on injected clocks and random sources."""

from __future__ import annotations

import asyncio
import random

import pytest

from holmtray.core.subscribe.backoff import Backoff, WakeDetector


class Clock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_full_jitter_ceiling_doubles_from_one_second_to_five_minutes() -> None:
    top = Backoff(rng=lambda: 0.999999, monotonic=Clock())
    delays = [top.failure() for _ in range(12)]
    ceilings = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert delays == pytest.approx([c * 0.999999 for c in ceilings])
    bottom = Backoff(rng=lambda: 0.0, monotonic=Clock())
    assert [bottom.failure() for _ in range(5)] == [0.0] * 5  # full jitter reaches zero


def test_delays_are_spread_uniformly_below_the_ceiling() -> None:
    rng = random.Random(7)
    delays = [Backoff(rng=rng.random, monotonic=Clock()).failure() for _ in range(2000)]
    assert all(0 <= d < 1 for d in delays)
    # Roughly uniform: each quarter of [0, 1) gets a fair share.
    quarters = [sum(q / 4 <= d < (q + 1) / 4 for d in delays) for q in range(4)]
    assert min(quarters) > 400


def test_a_minute_of_health_resets_the_schedule_and_a_shorter_one_does_not() -> None:
    clock = Clock()
    b = Backoff(rng=lambda: 0.5, monotonic=clock)
    for _ in range(6):
        b.failure()
    assert b.attempts == 6
    b.connected()
    clock.now += 59
    assert b.failure() == pytest.approx(0.5 * 64)  # 59 s healthy: keeps climbing
    b.connected()
    clock.now += 60
    assert b.failure() == pytest.approx(0.5)  # a healthy minute: back to 1 s
    assert b.attempts == 1


def test_retry_after_is_a_floor_plus_jitter_within_the_ceiling() -> None:
    b = Backoff(rng=lambda: 0.5, monotonic=Clock())
    assert b.failure(retry_after=30) == pytest.approx(30 + 0.5 * 1)
    for _ in range(8):
        b.failure()
    assert b.failure(retry_after=30) == pytest.approx(30 + 0.5 * 30)
    low = Backoff(rng=lambda: 0.0, monotonic=Clock())
    assert low.failure(retry_after=12) >= 12


def test_refused_token_backs_off_five_then_ten_then_fifteen_minutes_never_quickly() -> None:
    b = Backoff(rng=lambda: 0.0, monotonic=Clock())
    assert [b.refused() for _ in range(4)] == [150, 300, 450, 450]
    hi = Backoff(rng=lambda: 0.999999, monotonic=Clock())
    assert [round(hi.refused()) for _ in range(4)] == [300, 600, 900, 900]
    hi.connected()  # an accepted token starts that schedule over
    assert round(hi.refused()) == 300


def test_shutdown_spreads_the_first_reconnect_over_eight_seconds() -> None:
    rng = random.Random(3)
    delays = [Backoff(rng=rng.random, monotonic=Clock()).shutdown() for _ in range(100)]
    assert all(0 <= d < 8 for d in delays)
    assert max(delays) - min(delays) > 6


def test_reset_forgets_failures() -> None:
    b = Backoff(rng=lambda: 0.999, monotonic=Clock())
    for _ in range(5):
        b.failure()
    b.refused()
    b.reset()
    assert b.failure() < 1
    assert b.refused() < 300


def test_wake_detector_sees_the_wall_clock_run_ahead_of_the_monotonic_one() -> None:
    wall, mono = Clock(1_700_000_000.0), Clock(50.0)
    d = WakeDetector(wall=wall, monotonic=mono, threshold_s=30)
    wall.now += 5
    mono.now += 5
    assert d.check() is None  # an ordinary tick
    wall.now += 25  # the wall clock corrected by 20 s (NTP): no sleep
    mono.now += 5
    assert d.check() is None
    wall.now += 3600 + 5  # an hour asleep: monotonic time stood still
    mono.now += 5
    assert d.check() == pytest.approx(3600)
    wall.now -= 600  # the clock set back: not a sleep
    mono.now += 5
    assert d.check() is None


async def test_watch_calls_back_on_a_wake_tick() -> None:
    wall, mono = Clock(1_700_000_000.0), Clock(0.0)
    woke: list[float] = []
    d = WakeDetector(wall=wall, monotonic=mono)
    task = asyncio.create_task(d.watch(woke.append, tick_s=0.01))
    try:
        await asyncio.sleep(0.05)
        assert woke == []
        wall.now += 600
        for _ in range(500):
            if woke:
                break
            await asyncio.sleep(0.01)
        assert woke == [pytest.approx(600)]
    finally:
        task.cancel()
