"""What became of each event the policy saw: shown on its own, counted in a summary, or not.

The policy records one :class:`Fate` per event id for tests and diagnostics. An app that runs
for months sees millions of events, so :class:`FateLog` keeps the fates of the most recent
``keep`` ids only, plus a count of every fate ever recorded.
"""

from __future__ import annotations

import enum
from collections import Counter, OrderedDict
from collections.abc import Iterable

FATE_KEEP = 1_000
"""Recent fates kept by default: enough for a test or a look at the last bursts; a fate costs
about 100 bytes, so a bound in the thousands keeps the record well under a megabyte."""


class Fate(enum.Enum):
    NOTIFIED = "notified"  # shown in a notification of its own
    SUMMARISED = "summarised"  # counted in a summary notification that was shown
    SUPPRESSED = "suppressed"  # not shown: filtered out, or held back by a pause


class FateLog:
    """The fates of the last ``keep`` event ids recorded, and how many met each fate."""

    def __init__(self, *, keep: int = FATE_KEEP) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, not {keep}")
        self._keep = keep
        self._recent: OrderedDict[int, Fate] = OrderedDict()
        self.counts: Counter[Fate] = Counter()

    @property
    def keep(self) -> int:
        return self._keep

    def __len__(self) -> int:
        return len(self._recent)

    def record(self, ids: Iterable[int], fate: Fate) -> None:
        recent = self._recent
        for i in ids:
            # A later fate replaces an earlier one (and the id moves to the newest end).
            earlier = recent.pop(i, None)
            if earlier is not None:
                self.counts[earlier] -= 1
            recent[i] = fate
            self.counts[fate] += 1
        while len(recent) > self._keep:
            recent.popitem(last=False)

    def of(self, event_id: int) -> Fate | None:
        """The fate of ``event_id``, or ``None`` if it was not seen or is no longer recent."""
        return self._recent.get(event_id)

    def ids(self, fate: Fate) -> frozenset[int]:
        """The recent ids that met ``fate``."""
        return frozenset(i for i, f in self._recent.items() if f is fate)
