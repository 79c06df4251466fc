"""The policy tests' kit: a fake clock, a maker of stored events, a policy with settings.

Shared by the policy's test modules; nothing here sleeps or reads the real clock.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from holmtray.core.alerts.expectations import ExpectationStore
from holmtray.core.alerts.policy import Action, NotificationPolicy, Show, ShowSummary
from holmtray.core.config.settings import Settings
from holmtray.core.events import Counts, Event, Kind, Severity, StoredEvent, TicketInfo

STHLM = ZoneInfo("Europe/Stockholm")
MONDAY_NOON = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    now: datetime = MONDAY_NOON

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0, **kw: float) -> datetime:
        self.now += timedelta(seconds=seconds, **kw)
        return self.now


@dataclass
class Maker:
    """Builds stored events with increasing ids, received at the clock's time."""

    clock: FakeClock
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def stored(self, event: Event) -> StoredEvent:
        return StoredEvent(next(self.ids), self.clock.now, False, event, "{}")

    def ticket(
        self, severity: Severity = Severity.HIGH, *, number: str | None = None, closed: bool = False
    ) -> StoredEvent:
        title = "Outdated OpenSSL on web-01"
        info = TicketInfo(number=number, status="Closed" if closed else "Open")
        return self.stored(Event(Kind.TICKET, title, severity, ticket=info))

    def finished(
        self,
        name: str = "Nightly",
        *,
        severity: Severity = Severity.MEDIUM,
        attention: bool = False,
        duration: timedelta | None = None,
    ) -> StoredEvent:
        counts = Counts(critical=int(severity is Severity.CRITICAL), medium=1)
        return self.stored(
            Event(
                Kind.FINISHED_SCAN,
                f"Scan '{name}' finished",
                severity,
                attention=attention,
                counts=counts,
                scan_name=name,
                scan_status="Failed" if attention else "Completed",
                duration=duration,
            )
        )

    def scheduled(self, name: str, starts_at: datetime) -> StoredEvent:
        return self.stored(
            Event(
                Kind.SCHEDULED_SCAN,
                f"Scan '{name}' scheduled",
                Severity.INFO,
                scan_name=name,
                starts_at=starts_at,
                link="https://sc.holmsecurity.com/scans/schedules/77",
            )
        )

    def custom(self, severity: Severity = Severity.MEDIUM) -> StoredEvent:
        return self.stored(Event(Kind.CUSTOM, "Custom event", severity))


def make(
    clock: FakeClock,
    tz: Any = UTC,
    expectations: ExpectationStore | None = None,
    **values: Any,
) -> NotificationPolicy:
    settings = Settings({f"notifications.{k}": v for k, v in values.items()})
    return NotificationPolicy(settings=settings, clock=clock, tz=tz, expectations=expectations)


def shows(actions: Sequence[Action]) -> list[Show]:
    return [a for a in actions if isinstance(a, Show)]


def summaries(actions: Sequence[Action]) -> list[ShowSummary]:
    return [a for a in actions if isinstance(a, ShowSummary)]


def alone(policy: NotificationPolicy, clock: FakeClock, event: StoredEvent) -> list[Action]:
    """Deliver one event well apart from anything else, then let a tick settle it."""
    clock.advance(minutes=10)
    return policy.on_events([event]) + policy.tick()
