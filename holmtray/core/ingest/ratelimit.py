"""Per-source rate limiting: token buckets in a bounded LRU table, and a log throttle.

It owns the arithmetic only; the listener decides what is counted and what the answer is. Time
is a monotonic clock passed in (seconds), so tests move it by hand. Both tables are bounded:
past ``max_sources`` the least recently seen source is forgotten, so a flood from many
addresses costs a fixed amount of memory (the forgotten source simply starts afresh).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable

DEFAULT_MAX_SOURCES = 10_000


class TokenBuckets:
    """One token bucket per source key: ``burst`` tokens, refilled at ``rate_per_s``."""

    __slots__ = ("_buckets", "_clock", "_max")

    def __init__(
        self, *, clock: Callable[[], float], max_sources: int = DEFAULT_MAX_SOURCES
    ) -> None:
        self._clock = clock
        self._max = max_sources
        # key -> [tokens, time of the last refill]; a list keeps the update in place.
        self._buckets: OrderedDict[Hashable, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: Hashable, *, rate_per_s: float, burst: int) -> float:
        """Spend one token: 0.0 if allowed, else the seconds until a token is available.

        The rate and burst are passed on every call so a settings change applies at once.
        """
        now = self._clock()
        buckets = self._buckets
        bucket = buckets.get(key)
        if bucket is None:
            if len(buckets) >= self._max:
                buckets.popitem(last=False)
            bucket = buckets[key] = [float(burst), now]
        else:
            buckets.move_to_end(key)
            elapsed = now - bucket[1]
            if elapsed > 0:
                bucket[0] = min(float(burst), bucket[0] + elapsed * rate_per_s)
                bucket[1] = now
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            return 0.0
        return (1.0 - bucket[0]) / rate_per_s


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))


class OncePer:
    """Says yes to a key at most once per ``interval`` seconds (for log lines under a flood)."""

    __slots__ = ("_clock", "_interval", "_max", "_seen")

    def __init__(
        self,
        *,
        interval: float,
        clock: Callable[[], float],
        max_keys: int = DEFAULT_MAX_SOURCES,
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._max = max_keys
        self._seen: OrderedDict[Hashable, float] = OrderedDict()

    def __call__(self, key: Hashable) -> bool:
        now = self._clock()
        last = self._seen.get(key)
        if last is not None and now - last < self._interval:
            return False
        self._seen[key] = now
        self._seen.move_to_end(key)
        if len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return True
