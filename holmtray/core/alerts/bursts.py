"""Burst grouping and the wording of a burst's summary notification.

While a burst lasts, the policy (:mod:`holmtray.core.alerts.policy`) collects its events as
:class:`BurstItem` entries in one :class:`Burst`; :func:`summary_notice` words the summary that
stands for them all: ``"37 new tickets — 5 critical, 12 high · 2 scans finished"``, a body that
counts them by severity, and the most urgent urgency among them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from holmtray.core.alerts.notices import SUMMARY_MAX, Notice, Urgency, urgency_for
from holmtray.core.events import Kind, Severity, StoredEvent
from holmtray.core.text import plural


class Group(enum.Enum):
    """The summary line's groups, in the order they are written."""

    NEW_TICKET = ("new ticket", "new tickets")
    CLOSED_TICKET = ("ticket closed", "tickets closed")
    FINISHED_SCAN = ("scan finished", "scans finished")
    SCHEDULED_SCAN = ("scan scheduled", "scans scheduled")
    CUSTOM = ("other event", "other events")


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


@dataclass(slots=True)
class Burst:
    """One burst: its events so far and what of them the last summary shown counted."""

    started: datetime
    items: list[BurstItem]
    lead_ins: frozenset[int]  # shown on their own before the burst was recognised
    last_arrival: datetime
    shown_count: int = 0  # items in the last summary shown; 0: not shown yet
    last_shown: datetime | None = None
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = f"burst:{self.items[0].id}"

    @property
    def dirty(self) -> bool:
        return len(self.items) != self.shown_count


def summary_line(items: Sequence[BurstItem]) -> str:
    """``"37 new tickets — 5 critical, 12 high · 2 scans finished"``, at most SUMMARY_MAX long.

    When every detail does not fit, details go first where they matter least.
    """
    plain: dict[Group, str] = {}
    detailed: dict[Group, str] = {}
    for group in Group:
        members = [i for i in items if i.group is group]
        if not members:
            continue
        plain[group] = text = plural(len(members), *group.value)
        if group in (Group.NEW_TICKET, Group.CUSTOM):
            serious = [
                f"{n} {sev.word}"
                for sev in (Severity.CRITICAL, Severity.HIGH)
                if (n := sum(1 for i in members if i.severity is sev))
            ]
            if serious:
                text += " — " + ", ".join(serious)
        elif group is Group.FINISHED_SCAN:
            n = sum(1 for i in members if i.attention)
            if n:
                text += f" — {n} need{'s' if n == 1 else ''} attention"
        detailed[group] = text
    line = " · ".join(detailed.values())
    for group in (Group.CUSTOM, Group.FINISHED_SCAN, Group.NEW_TICKET):
        if len(line) <= SUMMARY_MAX:
            break
        if group in detailed:
            detailed[group] = plain[group]
            line = " · ".join(detailed.values())
    return line


_URGENCY_RANK = {Urgency.LOW: 0, Urgency.NORMAL: 1, Urgency.CRITICAL: 2}
_BY_RANK = {v: k for k, v in _URGENCY_RANK.items()}


def summary_notice(burst: Burst, since: datetime) -> Notice:
    """The summary notification for ``burst`` (replace key ``burst.key``); ``since`` is local."""
    items = burst.items
    line = summary_line(items)
    by_severity = ", ".join(
        f"{n} {sev.word}"
        for sev in sorted(Severity, reverse=True)
        if (n := sum(1 for i in items if i.severity is sev))
    )
    ranks = [_URGENCY_RANK[urgency_for(i.severity, i.attention)] for i in items]
    return Notice(
        event_id=None,
        summary=line,
        body=f"{plural(len(items), 'event')} since {since:%H:%M}: {by_severity}",
        urgency=_BY_RANK[max(ranks)],
        link=None,
        replace_key=burst.key,
    )
