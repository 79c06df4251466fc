"""Counting events for a summary notification, and the summary's wording.

A summary stands for many events: a burst, what a pause held back, or what arrived while the
tray was away from its relay. It needs counts, not the events: a :class:`Tally` counts them
by group (new tickets, closed tickets, finished scans, ...), severity and attention, and a
:class:`Gathering` adds the newest ids (for the click, bounded: :data:`CLICK_IDS`) and the ids
whose fate the next summary shown settles (bounded too). A :class:`Burst` is a gathering with
its timing. Memory stays the same however long a burst lasts.

One vocabulary in title and body: both count the same things in the same words. Title
``"37 new tickets — 5 critical, 12 high · 2 scans finished"`` (the serious part, at most
SUMMARY_MAX long); body one line per group with every severity, then where the count starts::

    37 new tickets: 5 critical, 12 high, 20 medium
    2 scans finished
    Since 14:00
"""

from __future__ import annotations

import enum
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime

from holmtray.core.alerts.fates import FATE_KEEP
from holmtray.core.alerts.ids import IdLog
from holmtray.core.alerts.notices import SUMMARY_MAX, Notice, Urgency, urgency_for
from holmtray.core.events import Kind, Severity, StoredEvent
from holmtray.core.text import plural

CLICK_IDS = 5_000
"""Ids a summary keeps for its click (the newest): a window of them, not a burst of millions."""


class Group(enum.Enum):
    """The summary line's groups, in the order they are written."""

    NEW_TICKET = ("new ticket", "new tickets")
    CLOSED_TICKET = ("ticket closed", "tickets closed")
    FINISHED_SCAN = ("scan finished", "scans finished")
    SCHEDULED_SCAN = ("scan scheduled", "scans scheduled")
    CUSTOM = ("other event", "other events")

    def count(self, n: int) -> str:
        return plural(n, *self.value)


# Groups whose severity is the event's own (a scan's severity summarises its findings).
_BY_SEVERITY = (Group.NEW_TICKET, Group.CLOSED_TICKET, Group.CUSTOM)
_SERIOUS = (Severity.CRITICAL, Severity.HIGH)
_URGENCY_RANK = {Urgency.LOW: 0, Urgency.NORMAL: 1, Urgency.CRITICAL: 2}


@dataclass(frozen=True, slots=True)
class BurstItem:
    """What a summary needs to know about one event."""

    id: int
    group: Group
    severity: Severity
    attention: bool

    @classmethod
    def of(cls, e: StoredEvent) -> BurstItem:
        ev = e.event
        group = {
            Kind.FINISHED_SCAN: Group.FINISHED_SCAN,
            Kind.SCHEDULED_SCAN: Group.SCHEDULED_SCAN,
            Kind.CUSTOM: Group.CUSTOM,
            Kind.TICKET: Group.CLOSED_TICKET if ev.ticket.is_closed else Group.NEW_TICKET,
        }[ev.kind]
        return cls(e.id, group, ev.severity, ev.attention)


class Tally:
    """Counts of events by group, by group and severity, and of those needing attention."""

    __slots__ = ("attention", "by_group", "by_severity", "total", "urgency")

    def __init__(self) -> None:
        self.total = 0
        self.by_group: Counter[Group] = Counter()
        self.by_severity: Counter[tuple[Group, Severity]] = Counter()
        self.attention: Counter[Group] = Counter()
        self.urgency = Urgency.LOW

    def add(self, item: BurstItem) -> None:
        self.total += 1
        self.by_group[item.group] += 1
        self.by_severity[item.group, item.severity] += 1
        if item.attention:
            self.attention[item.group] += 1
        u = urgency_for(item.severity, item.attention)
        if _URGENCY_RANK[u] > _URGENCY_RANK[self.urgency]:
            self.urgency = u

    def serious(self) -> bool:
        """Whether any event counted is critical or high, or a scan needing attention."""
        return any(self.attention.values()) or any(
            n for (_, sev), n in self.by_severity.items() if sev in _SERIOUS
        )

    def _severities(self, group: Group, which: tuple[Severity, ...]) -> str:
        return ", ".join(
            f"{n:,} {sev.word}" for sev in which if (n := self.by_severity[group, sev])
        )

    def _attention(self, group: Group) -> str:
        n = self.attention[group]
        return f"{n:,} need{'s' if n == 1 else ''} attention" if n else ""

    def line(self, limit: int = SUMMARY_MAX) -> str:
        """``"37 new tickets — 5 critical, 12 high · 2 scans finished"``, at most ``limit``.

        When every detail does not fit, details go first where they matter least.
        """
        plain: dict[Group, str] = {}
        detailed: dict[Group, str] = {}
        for group in Group:
            n = self.by_group[group]
            if not n:
                continue
            plain[group] = text = group.count(n)
            if group in (Group.NEW_TICKET, Group.CUSTOM):
                detail = self._severities(group, _SERIOUS)
            elif group is Group.FINISHED_SCAN:
                detail = self._attention(group)
            else:
                detail = ""
            detailed[group] = f"{text} — {detail}" if detail else text
        line = " · ".join(detailed.values())
        for group in (Group.CUSTOM, Group.FINISHED_SCAN, Group.NEW_TICKET):
            if len(line) <= limit:
                break
            if group in detailed:
                detailed[group] = plain[group]
                line = " · ".join(detailed.values())
        return line

    def body_lines(self) -> list[str]:
        """One line per group, every severity: ``"37 new tickets: 5 critical, 20 medium"``."""
        lines = []
        for group in Group:
            n = self.by_group[group]
            if not n:
                continue
            if group in _BY_SEVERITY:
                detail = self._severities(group, tuple(sorted(Severity, reverse=True)))
            elif group is Group.FINISHED_SCAN:
                detail = self._attention(group)
            else:
                detail = ""
            lines.append(f"{group.count(n)}: {detail}" if detail else group.count(n))
        return lines


class Gathering:
    """Events counted for one summary: a tally, the newest ids (for a click), and the ids
    whose fate waits for the next summary shown (both bounded)."""

    __slots__ = ("ids", "pending", "tally")

    def __init__(self) -> None:
        self.tally = Tally()
        self.ids = IdLog(keep=CLICK_IDS)
        self.pending: deque[int] = deque(maxlen=FATE_KEEP)  # the fate log keeps no more

    def add(self, item: BurstItem, *, pending: bool = True) -> None:
        self.tally.add(item)
        self.ids.add(item.id)
        if pending:
            self.pending.append(item.id)

    def take_pending(self) -> list[int]:
        out = list(self.pending)
        self.pending.clear()
        return out

    def merge(self, other: Gathering) -> None:
        """Count ``other``'s events here too (its ids and pending fates as well)."""
        t, o = self.tally, other.tally
        t.total += o.total
        t.by_group.update(o.by_group)
        t.by_severity.update(o.by_severity)
        t.attention.update(o.attention)
        if _URGENCY_RANK[o.urgency] > _URGENCY_RANK[t.urgency]:
            t.urgency = o.urgency
        for i in other.ids.snapshot():
            self.ids.add(i)
        self.ids.total += other.ids.total - len(other.ids)  # the ones it no longer kept
        self.pending.extend(other.pending)

    def notice(self, *, key: str, title: str | None = None, footer: str = "") -> Notice:
        """The summary notification for what was gathered (``event_ids``: for a click);
        ``title`` defaults to :meth:`Tally.line`."""
        lines = self.tally.body_lines()
        if footer:
            lines.append(footer)
        return Notice(
            event_id=None,
            summary=self.tally.line() if title is None else title,
            body="\n".join(lines),
            urgency=self.tally.urgency,
            link=None,
            replace_key=key,
            event_ids=self.ids.snapshot(),
        )

    def headline(self, lead: str) -> str:
        """``"<lead>: 212 events · 200 new tickets — 3 critical · 12 scans finished"``; with one
        group only, ``"<lead>: 5 new tickets — 1 critical"``. At most SUMMARY_MAX long."""
        t = self.tally
        head = f"{lead}: "
        if sum(1 for n in t.by_group.values() if n) > 1:
            head += f"{plural(t.total, 'event')} · "
        return head + t.line(SUMMARY_MAX - len(head))


@dataclass(slots=True)
class Burst:
    """One burst: what it gathered, and what of it the last summary shown counted."""

    started: datetime
    last_arrival: datetime
    first_id: int
    gathered: Gathering = field(default_factory=Gathering)
    shown_total: int = 0  # events counted in the last summary shown; 0: not shown yet
    last_shown: datetime | None = None

    @property
    def key(self) -> str:
        return f"burst:{self.first_id}"

    @property
    def dirty(self) -> bool:
        return self.gathered.tally.total != self.shown_total

    def notice(self, since: datetime) -> Notice:
        """The summary for this burst; ``since`` is its start in local time."""
        return self.gathered.notice(key=self.key, footer=f"Since {since:%H:%M}")
