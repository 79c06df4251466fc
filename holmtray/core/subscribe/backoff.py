"""When a subscriber tries again: full-jitter exponential backoff, and a detector for sleep.

:class:`Backoff` picks the wait before the next connection attempt. Ordinary failures (the
relay unreachable, a cut stream, a 5xx) wait a uniformly random time in ``[0, ceiling)``, the
ceiling doubling from 1 s up to 5 min ("full jitter": a hundred laptops cut off by one relay
restart do not come back in step). A stream that stayed healthy for a minute resets the
ceiling. ``Retry-After`` is a floor: the wait is at least that, plus jitter. A refused token
(401/403) follows its own slower schedule, 5 min doubling to 15 min and never below half the
ceiling, since retrying a refused token quickly only fills the relay's log.

:class:`WakeDetector` notices that the machine slept. asyncio's timers run on the monotonic
clock, which on Linux stops during suspend (PEP 418), so neither a read deadline nor a backoff
wait can see a night of sleep; the wall clock does. A tick every 5 s compares how far each
clock moved: the wall clock ahead by more than 30 s means the machine was asleep (or its
clock was set forward, which is handled the same harmless way: one reconnect).

Both take their clocks and random source as parameters, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

log = logging.getLogger("holmtray.subscribe.backoff")

BASE_S = 1.0
CAP_S = 300.0
HEALTHY_AFTER_S = 60.0
AUTH_BASE_S = 300.0
AUTH_CAP_S = 900.0
SHUTDOWN_SPREAD_ATTEMPT = 3
"""After the relay said it is shutting down, the first wait is drawn as if three attempts had
failed already (``[0, 8 s)``): a restart takes seconds, and every subscriber learns of it at
the same instant."""

WAKE_TICK_S = 5.0
WAKE_THRESHOLD_S = 30.0


class Backoff:
    """The delay before each reconnect attempt (see the module docstring for the schedule)."""

    def __init__(
        self,
        *,
        rng: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
        base_s: float = BASE_S,
        cap_s: float = CAP_S,
        healthy_after_s: float = HEALTHY_AFTER_S,
        auth_base_s: float = AUTH_BASE_S,
        auth_cap_s: float = AUTH_CAP_S,
    ) -> None:
        self._rng = rng
        self._monotonic = monotonic
        self._base = base_s
        self._cap = cap_s
        self._healthy_after = healthy_after_s
        self._auth_base = auth_base_s
        self._auth_cap = auth_cap_s
        self._attempts = 0
        self._auth_attempts = 0
        self._healthy_since: float | None = None

    @property
    def attempts(self) -> int:
        """Failures counted towards the current ceiling (0 after a reset)."""
        return self._attempts

    def connected(self) -> None:
        """A stream became healthy (the relay said hello): the clock for the reset starts."""
        self._healthy_since = self._monotonic()
        self._auth_attempts = 0  # the token was accepted

    def reset(self) -> None:
        """Start the schedule over (after a wake or a manual *Reconnect now*)."""
        self._attempts = 0
        self._auth_attempts = 0
        self._healthy_since = None

    def _settle(self) -> None:
        """Count the stream that just ended: a minute of health forgives earlier failures."""
        since, self._healthy_since = self._healthy_since, None
        if since is not None and self._monotonic() - since >= self._healthy_after:
            self._attempts = 0

    def ceiling(self, attempts: int) -> float:
        return min(self._cap, self._base * 2.0 ** min(attempts, 62))

    def failure(self, *, retry_after: float | None = None) -> float:
        """The wait after a failed attempt or a lost stream, in seconds."""
        self._settle()
        ceiling = self.ceiling(self._attempts)
        self._attempts += 1
        delay = self._rng() * ceiling
        if retry_after is not None and retry_after > 0:
            # The relay's floor, spread over at most the current ceiling so that everyone told
            # "30 s" does not return in the same millisecond.
            delay = min(retry_after, self._auth_cap) + self._rng() * min(ceiling, retry_after)
        return delay

    def shutdown(self) -> float:
        """The wait after the relay announced a shutdown (``bye shutdown``)."""
        self._settle()
        self._attempts = max(self._attempts, SHUTDOWN_SPREAD_ATTEMPT)
        return self.failure()

    def refused(self) -> float:
        """The wait after the relay refused the token (401, 403, ``bye revoked``)."""
        self._settle()
        ceiling = min(self._auth_cap, self._auth_base * 2.0 ** min(self._auth_attempts, 62))
        self._auth_attempts += 1
        return ceiling / 2 + self._rng() * ceiling / 2


class WakeDetector:
    """Tells, each time it is asked, whether the machine slept since the last time."""

    def __init__(
        self,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        threshold_s: float = WAKE_THRESHOLD_S,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._threshold = threshold_s
        self._last = (wall(), monotonic())

    def check(self) -> float | None:
        """Seconds the wall clock moved beyond the monotonic clock since the last check, when
        that is more than the threshold (the machine slept); else ``None``."""
        wall, mono = self._wall(), self._monotonic()
        last_wall, last_mono = self._last
        self._last = (wall, mono)
        extra = (wall - last_wall) - (mono - last_mono)
        return extra if extra > self._threshold else None

    async def watch(self, on_wake: Callable[[float], None], *, tick_s: float = WAKE_TICK_S) -> None:
        """Call ``on_wake(seconds asleep)`` whenever a tick finds a sleep; runs until cancelled."""
        while True:
            await asyncio.sleep(tick_s)
            slept = self.check()
            if slept is not None:
                log.info("the computer was asleep for about %.0f s; reconnecting", slept)
                on_wake(slept)
