"""Which :mod:`~holmtray.core.subscribe.source` state a relay subscription is in, and when it
changes.

:class:`StateTracker` turns what happens to the connection into the states the tray shows:
a lost stream is *Reconnecting* (a tooltip only) and becomes *Offline* after two minutes
without a healthy stream (a timer on the loop, cancelled by the next hello); a refused token
is *AuthFailed* until the relay accepts one; while connected the subscriber sets *CatchingUp*,
*Live* or *RelayDegraded* itself. Only changes reach ``on_state``, and a failing callback is
logged, never raised into the client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from holmtray.core.subscribe.source import AuthFailed, Offline, Reconnecting, RelayState

log = logging.getLogger("holmtray.subscribe.state")


class StateTracker:
    """The current state and the bookkeeping behind Reconnecting, Offline and AuthFailed."""

    def __init__(
        self,
        *,
        on_state: Callable[[RelayState], None] | None,
        clock: Callable[[], datetime],
        offline_after_s: float,
    ) -> None:
        self._on_state = on_state
        self._clock = clock
        self._offline_after_s = offline_after_s
        self._state: RelayState | None = None
        self._lost_since: datetime | None = None
        self._offline = False
        self._timer: asyncio.TimerHandle | None = None
        self._next_try: datetime | None = None
        self._problem = ""
        self._refusal: str | None = None

    @property
    def state(self) -> RelayState | None:
        return self._state

    def set(self, state: RelayState) -> None:
        if state == self._state:
            return
        self._state = state
        log.debug("relay state: %s", state)
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:
                log.exception("on_state callback failed")

    def healthy(self) -> None:
        """A stream is up (the relay said hello): no longer lost, the token was accepted."""
        self._lost_since = None
        self._offline = False
        self._problem = ""
        self._refusal = None
        self.cancel()

    def lost(self, problem: str) -> None:
        """The stream is gone or did not come; ``problem`` says why in plain words."""
        self._problem = problem
        if self._lost_since is None:
            self._lost_since = self._clock()
            self._offline = False
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._offline_after_s, self._go_offline)
        self._report()

    def refused(self, detail: str) -> None:
        """The relay refused the token: AuthFailed until a stream is accepted."""
        self._refusal = detail
        self.lost(detail)

    def forget_refusal(self) -> None:
        """New settings: the refusal was about the old token."""
        self._refusal = None

    def waiting(self, next_try: datetime) -> None:
        """The next attempt is at ``next_try``."""
        self._next_try = next_try
        self._report()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _go_offline(self) -> None:
        self._timer = None
        if self._lost_since is not None:
            self._offline = True
            self._report()

    def _report(self) -> None:
        since = self._lost_since
        if since is None:
            return
        if self._refusal is not None:
            self.set(AuthFailed(self._refusal))
        elif self._offline:
            self.set(Offline(since, self._next_try or self._clock(), self._problem))
        else:
            self.set(Reconnecting(since, self._problem))
