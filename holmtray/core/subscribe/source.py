"""What an event source tells its owner: the connection states of a relay subscription.

The tray runs one event source per ``source.mode``: the direct
:class:`~holmtray.core.ingest.receiver.Receiver` or the
:class:`~holmtray.core.subscribe.client.RelayClient`. The relay client reports its state as
one of the small immutable values below, which the tray renders (icon, tooltip, menu) without
knowing anything about HTTP:

- :class:`Live` — streaming; new events arrive as they are stored on the relay.
- :class:`CatchingUp` — fetching what was missed (``remaining``: about how many, if known).
- :class:`Reconnecting` — the stream was lost at ``since``; retrying (a tooltip, no alarm).
- :class:`Offline` — no healthy stream for two minutes since ``since``; next try at
  ``next_try``. The events wait on the relay.

  Both carry ``problem``: why the last attempt failed ("connection refused by …").
- :class:`AuthFailed` — the relay refused the read token (``detail`` says how).
- :class:`RelayDegraded` — connected, but the relay cannot store new events (``cause``).

Times are aware UTC datetimes (wall clock), for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar


class StateKind(StrEnum):
    LIVE = "live"
    CATCHING_UP = "catching_up"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"
    AUTH_FAILED = "auth_failed"
    RELAY_DEGRADED = "relay_degraded"


@dataclass(frozen=True, slots=True)
class Live:
    kind: ClassVar[StateKind] = StateKind.LIVE


@dataclass(frozen=True, slots=True)
class CatchingUp:
    remaining: int | None
    kind: ClassVar[StateKind] = StateKind.CATCHING_UP


@dataclass(frozen=True, slots=True)
class Reconnecting:
    since: datetime
    problem: str = ""  # why the last attempt failed, in plain words ("" before the first)
    kind: ClassVar[StateKind] = StateKind.RECONNECTING


@dataclass(frozen=True, slots=True)
class Offline:
    since: datetime
    next_try: datetime
    problem: str = ""
    kind: ClassVar[StateKind] = StateKind.OFFLINE


@dataclass(frozen=True, slots=True)
class AuthFailed:
    detail: str
    kind: ClassVar[StateKind] = StateKind.AUTH_FAILED


@dataclass(frozen=True, slots=True)
class RelayDegraded:
    cause: str
    kind: ClassVar[StateKind] = StateKind.RELAY_DEGRADED


RelayState = Live | CatchingUp | Reconnecting | Offline | AuthFailed | RelayDegraded
"""Every state a :class:`~holmtray.core.subscribe.client.RelayClient` reports."""
