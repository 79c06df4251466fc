"""What the receiver thread hands the GUI, in the order it happened.

The event source (the direct listener or the relay subscription) runs on the receiver's own
thread; the GUI drains what it produced a few times a second. Three kinds of entries travel
in one ordered buffer, because their order carries meaning:

- :class:`Delivery` — committed events, flagged ``backfill`` when the relay sent them before
  saying it was caught up. The GUI never takes a backfill for live events (no storm of
  pop-ups after sleep).
- :class:`RelayStateChange` — the relay subscription's new state. Coming after the backfill
  it ends, a change to *Live* is the moment for the one "While you were away" summary.
- :class:`DatabaseSwitch` — the source now stores into another database (a mode switch, a
  relay's first or a new mirror). Events before it belong to the old one, events after it to
  the new one, so the GUI reopens its reader exactly between them.

:class:`DeliveryBuffer` is the thread-safe buffer: ``put`` from the receiver's loop says
whether the buffer was empty (then the owner wakes the GUI once), ``take`` from the GUI
empties it. Consecutive deliveries with the same flag are merged.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from holmtray.core.events import StoredEvent
from holmtray.core.subscribe.source import RelayState


@dataclass(slots=True)
class Delivery:
    events: list[StoredEvent] = field(default_factory=list)
    backfill: bool = False


@dataclass(frozen=True, slots=True)
class RelayStateChange:
    state: RelayState


@dataclass(frozen=True, slots=True)
class DatabaseSwitch:
    """The source's database is now ``path`` (``None``: none yet — relay mode before the
    relay named itself). ``relay``: the source is a relay subscription; ``fresh``: a mirror
    that holds nothing yet (its first load is coming)."""

    path: Path | None
    relay: bool
    fresh: bool = False


Entry = Delivery | RelayStateChange | DatabaseSwitch


class DeliveryBuffer:
    """An ordered, thread-safe list of :data:`Entry`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []

    def put(self, entry: Entry) -> bool:
        """Append ``entry``; ``True`` when the buffer was empty before."""
        with self._lock:
            was_empty = not self._entries
            last = self._entries[-1] if self._entries else None
            if (
                isinstance(entry, Delivery)
                and isinstance(last, Delivery)
                and last.backfill == entry.backfill
            ):
                last.events.extend(entry.events)
            elif isinstance(entry, Delivery):
                self._entries.append(Delivery(list(entry.events), entry.backfill))
            else:
                self._entries.append(entry)
        return was_empty

    def take(self) -> list[Entry]:
        """Everything put since the last call, in order."""
        with self._lock:
            entries, self._entries = self._entries, []
        return entries
