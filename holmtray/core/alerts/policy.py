"""The notification policy: which stored events pop up, when, and how many.

Pure logic over events, settings and an injected clock; no Qt and no notification backend.
The app hands every committed batch to :meth:`NotificationPolicy.on_events` and calls
:meth:`NotificationPolicy.tick` every few seconds; both return the actions to carry out now.

An event meets the rules in this order:

1. *What notifies*: the master switch, the switch for its kind and the minimum severity for its
   kind (a finished scan that needs attention passes any minimum). Events filtered out here
   are recorded in ``suppressed_ids``; they stay unread in the store.
2. *Quiet hours and snooze* suppress the rest (also recorded in ``suppressed_ids``), except
   critical events while ``notifications.critical_bypass`` is on.
3. *Bursts*: the first notifiable event of a burst window shows at once; later ones in the same
   window wait for the next tick, so that a burst is recognised before it pops up one by one.
   More than ``burst_threshold`` within ``burst_window_s`` start a burst: one summary (replace
   key ``burst:<id of its first event>``) counts the whole burst, including the few events
   shown on their own just before it was recognised, and updates at most once per update
   interval. The burst ends once ``burst_window_s`` passes without a new event and its final
   count has been shown; the next event then notifies on its own again.
4. *Hard cap*: at most ``max_per_minute`` actions in any 60 seconds, summary updates and
   missed-scan alerts included. An event that would go over the cap is counted into a summary
   instead, and that summary is shown, and finally updated, as soon as the cap allows: every
   notifiable event ends up shown on its own or counted in a summary that was shown.

Missed-scan alerts: a ``scheduled_scan`` sets an expectation; when no ``finished_scan`` of the
same name has arrived by ``starts_at`` + grace (twice the scan's last known duration, else
``notifications.missed_scan_default_grace_h``), :meth:`NotificationPolicy.tick` warns once.
:class:`ExpectationStore` keeps expectations and known durations in a small JSON file so that
they survive a restart.
"""

from __future__ import annotations

import enum
import json
import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, TypeAlias

from holmtray.core.alerts.notices import (
    BODY_MAX,
    SUMMARY_MAX,
    Notice,
    Urgency,
    notice_for,
    urgency_for,
    visible,
)
from holmtray.core.config.settings import Settings, parse_clock_time, weekday_index
from holmtray.core.events import Event, Kind, Severity, StoredEvent
from holmtray.core.fileio import write_atomically
from holmtray.core.text import plural

log = logging.getLogger("holmtray.policy")

CAP_WINDOW = timedelta(seconds=60)
MORNING = time(8, 0)  # "until tomorrow morning" means this local time
# A recorded duration of a few seconds would make the grace period shorter than the delay of
# the webhook itself.
MIN_GRACE = timedelta(minutes=5)
# Holm's times carry no zone and the parser reads them as UTC, so a finished scan may look
# up to a zone offset "earlier" than the start it fulfils.
_ZONE_SLACK = timedelta(hours=14)


# --------------------------------------------------------------------------------------------
# Actions


@dataclass(frozen=True, slots=True)
class Show:
    """Show this notification; it replaces an earlier one with the same ``replace_key``."""

    notice: Notice


@dataclass(frozen=True, slots=True)
class ShowSummary:
    """Show (or update, by ``replace_key``) a burst summary; a click shows ``event_ids``."""

    notice: Notice
    event_ids: frozenset[int]


Action: TypeAlias = Show | ShowSummary


# --------------------------------------------------------------------------------------------
# Missed-scan expectations


@dataclass(frozen=True, slots=True)
class Expectation:
    """A scheduled scan that should report as finished."""

    scan_name: str
    starts_at: datetime
    event_id: int | None = None
    link: str | None = None


class ExpectationStore:
    """Expected scans and last known scan durations, kept in a small JSON file.

    Without a ``path`` it only keeps them in memory. Changes are written by :meth:`flush`
    (atomically: temporary file, fsync, rename), which the policy calls once per batch of
    events and per tick — not once per event, which froze the GUI thread during a burst of
    finished scans (bench/RESULTS.md). A file that cannot be read is logged and ignored, and a
    failed write is logged: neither may take the tray app down.
    """

    MAX_ENTRIES = 500  # per list; the oldest go first

    def __init__(self, *, path: Path | None = None) -> None:
        self._path = path
        self._expected: list[Expectation] = []
        self._durations: dict[str, timedelta] = {}
        self._dirty = False
        if path is not None:
            self._load(path)

    @property
    def path(self) -> Path | None:
        return self._path

    def expectations(self) -> list[Expectation]:
        return list(self._expected)

    def duration(self, scan_name: str) -> timedelta | None:
        return self._durations.get(scan_name)

    def expect(self, expectation: Expectation) -> None:
        """Add an expectation; a second one for the same scan and start replaces the first."""
        same = (expectation.scan_name, expectation.starts_at)
        kept = [e for e in self._expected if (e.scan_name, e.starts_at) != same]
        kept.append(expectation)
        kept.sort(key=lambda e: e.starts_at)
        self._expected = kept[-self.MAX_ENTRIES :]
        self._dirty = True

    def scan_finished(
        self, scan_name: str, *, duration: timedelta | None, starts_up_to: datetime
    ) -> None:
        """Record a finished scan: remember its duration, clear expectations it fulfils."""
        changed = False
        if duration is not None and duration > timedelta(0):
            self._durations.pop(scan_name, None)  # re-insert: the dict is kept in use order
            self._durations[scan_name] = duration
            while len(self._durations) > self.MAX_ENTRIES:
                del self._durations[next(iter(self._durations))]
            changed = True
        kept = [
            e
            for e in self._expected
            if not (e.scan_name == scan_name and e.starts_at <= starts_up_to)
        ]
        if len(kept) != len(self._expected):
            self._expected = kept
            changed = True
        if changed:
            self._dirty = True

    def discard(self, expectation: Expectation) -> None:
        if expectation in self._expected:
            self._expected.remove(expectation)
            self._dirty = True

    def flush(self) -> None:
        """Write the changes made since the last flush, if any."""
        if self._dirty:
            self._dirty = False
            self._save()

    def _load(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read scan expectations %s: %s", path, exc.strerror)
            return
        try:
            self._expected, self._durations = _decode_expectations(json.loads(text))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("ignoring unreadable scan expectations %s: %s", path, exc)

    def _save(self) -> None:
        if self._path is None:
            return
        data = {
            "version": 1,
            "expectations": [
                {
                    "scan_name": e.scan_name,
                    "starts_at": e.starts_at.isoformat(),
                    "event_id": e.event_id,
                    "link": e.link,
                }
                for e in self._expected
            ],
            "durations": {k: v.total_seconds() for k, v in self._durations.items()},
        }
        try:
            write_atomically(self._path, json.dumps(data, ensure_ascii=False, indent=1))
        except OSError as exc:
            log.warning("cannot save scan expectations %s: %s", self._path, exc.strerror)


def _decode_expectations(
    data: Any,
) -> tuple[list[Expectation], dict[str, timedelta]]:
    if not isinstance(data, dict) or data.get("version") != 1:
        raise ValueError("not a version 1 expectations file")
    expected: list[Expectation] = []
    for entry in data["expectations"]:
        name, event_id, link = entry["scan_name"], entry.get("event_id"), entry.get("link")
        if not isinstance(name, str) or not isinstance(event_id, int | None):
            raise TypeError(f"bad expectation entry {entry!r}")
        if not isinstance(link, str | None):
            raise TypeError(f"bad expectation entry {entry!r}")
        starts_at = datetime.fromisoformat(entry["starts_at"])
        if starts_at.tzinfo is None:
            starts_at = starts_at.replace(tzinfo=UTC)
        expected.append(Expectation(name, starts_at, event_id, link))
    durations: dict[str, timedelta] = {}
    for name, seconds in dict(data["durations"]).items():
        if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"bad duration {seconds!r} for scan {name!r}")
        durations[str(name)] = timedelta(seconds=seconds)
    return expected, durations


def _scan_duration(ev: Event) -> timedelta | None:
    if ev.duration is not None:
        return ev.duration
    if ev.started is not None and ev.finished is not None:
        return ev.finished - ev.started
    return None


# --------------------------------------------------------------------------------------------
# Burst summaries


class _Group(enum.Enum):
    """The summary line's groups, in the order they are written."""

    NEW_TICKET = ("new ticket", "new tickets")
    CLOSED_TICKET = ("ticket closed", "tickets closed")
    FINISHED_SCAN = ("scan finished", "scans finished")
    SCHEDULED_SCAN = ("scan scheduled", "scans scheduled")
    CUSTOM = ("other event", "other events")


@dataclass(frozen=True, slots=True)
class _Item:
    """What a summary needs to know about one event."""

    id: int
    group: _Group
    severity: Severity
    attention: bool

    @classmethod
    def of(cls, e: StoredEvent) -> _Item:
        ev = e.event
        group = {
            Kind.FINISHED_SCAN: _Group.FINISHED_SCAN,
            Kind.SCHEDULED_SCAN: _Group.SCHEDULED_SCAN,
            Kind.CUSTOM: _Group.CUSTOM,
            Kind.TICKET: _Group.CLOSED_TICKET if ev.ticket.is_closed else _Group.NEW_TICKET,
        }[ev.kind]
        return cls(e.id, group, ev.severity, ev.attention)


@dataclass(slots=True)
class _Burst:
    started: datetime
    items: list[_Item]
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


def _summary_line(items: Sequence[_Item]) -> str:
    """``"37 new tickets — 5 critical, 12 high · 2 scans finished"``, at most SUMMARY_MAX long.

    When every detail does not fit, details go first where they matter least.
    """
    plain: dict[_Group, str] = {}
    detailed: dict[_Group, str] = {}
    for group in _Group:
        members = [i for i in items if i.group is group]
        if not members:
            continue
        plain[group] = text = plural(len(members), *group.value)
        if group in (_Group.NEW_TICKET, _Group.CUSTOM):
            serious = [
                f"{n} {sev.word}"
                for sev in (Severity.CRITICAL, Severity.HIGH)
                if (n := sum(1 for i in members if i.severity is sev))
            ]
            if serious:
                text += " — " + ", ".join(serious)
        elif group is _Group.FINISHED_SCAN:
            n = sum(1 for i in members if i.attention)
            if n:
                text += f" — {n} need{'s' if n == 1 else ''} attention"
        detailed[group] = text
    line = " · ".join(detailed.values())
    for group in (_Group.CUSTOM, _Group.FINISHED_SCAN, _Group.NEW_TICKET):
        if len(line) <= SUMMARY_MAX:
            break
        if group in detailed:
            detailed[group] = plain[group]
            line = " · ".join(detailed.values())
    return line


def _summary_notice(burst: _Burst, since: datetime) -> Notice:
    items = burst.items
    line = _summary_line(items)
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


_URGENCY_RANK = {Urgency.LOW: 0, Urgency.NORMAL: 1, Urgency.CRITICAL: 2}
_BY_RANK = {v: k for k, v in _URGENCY_RANK.items()}


# --------------------------------------------------------------------------------------------
# The policy


class NotificationPolicy:
    """Decides which notifications to show; see the module docstring for the rules.

    ``clock`` returns the current time as an aware datetime. ``tz`` is the local zone for quiet
    hours and "tomorrow 08:00"; ``None`` means the system's local zone (DST rules included).
    The ``*_ids`` sets record the fate of every event id seen, for tests and diagnostics.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        clock: Callable[[], datetime],
        tz: tzinfo | None = None,
        expectations: ExpectationStore | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._tz = tz
        self._expectations = expectations if expectations is not None else ExpectationStore()
        self._snoozed = False
        self._snooze_until: datetime | None = None
        self._last_now: datetime | None = None
        self._sent: deque[datetime] = deque()  # actions within the cap window
        self._arrivals: deque[datetime] = deque()  # notifiable arrivals, outside bursts
        self._recent_shown: deque[tuple[datetime, _Item]] = deque()
        self._held: list[tuple[datetime, StoredEvent]] = []  # waiting for the next tick
        self._burst: _Burst | None = None
        self.notified_ids: set[int] = set()
        self.summarised_ids: set[int] = set()
        self.suppressed_ids: set[int] = set()

    # -- configuration --------------------------------------------------------------------

    def update_settings(self, settings: Settings) -> None:
        self._settings = settings

    @property
    def expectations(self) -> ExpectationStore:
        return self._expectations

    @property
    def update_interval(self) -> timedelta:
        """The least time between two updates of one summary."""
        return max(self._window, CAP_WINDOW / self._cap)

    @property
    def _window(self) -> timedelta:
        return timedelta(seconds=self._settings.number("notifications.burst_window_s"))

    @property
    def _cap(self) -> int:
        return self._settings.integer("notifications.max_per_minute")

    # -- the two entry points -------------------------------------------------------------

    def on_events(self, events: Sequence[StoredEvent]) -> list[Action]:
        """Decide about a committed batch (oldest first); returns what to show now."""
        now = self._now()
        actions: list[Action] = []
        self._burst_step(now, actions, updates=False)  # a burst that ended may close first
        notifiable: list[StoredEvent] = []
        for e in events:
            self._note_scan(e, now)
            if not self._wanted(e.event) or (
                self._holding_back(now) and not self._bypasses(e.event)
            ):
                self.suppressed_ids.add(e.id)
            else:
                notifiable.append(e)
        if self._burst is None and notifiable:
            self._prune_arrivals(now)
            if len(self._arrivals) + len(notifiable) > self._threshold:
                # Already a burst: none of these pops up on its own.
                self._start_burst(now, [*self._held, *((now, e) for e in notifiable)])
                self._held = []
                notifiable = []
        for e in notifiable:
            self._arrive(e, now, actions)
        self._burst_step(now, actions, updates=False)  # a new burst's first summary
        self._expectations.flush()
        return actions

    def tick(self) -> list[Action]:
        """Periodic work: held events, summary updates, ends of bursts, missed scans."""
        now = self._now()
        actions: list[Action] = []
        self._missed_scans(now, actions)
        if self._held:
            held, self._held = self._held, []
            self._prune_arrivals(now)
            if self._burst is None and len(self._arrivals) > self._threshold:
                self._start_burst(now, held)
            else:
                for arrived, e in held:
                    self._show_or_count(e, arrived, now, actions)
        self._burst_step(now, actions, updates=True)
        self._expectations.flush()
        return actions

    # -- snooze and state -----------------------------------------------------------------

    def snooze(self, until: datetime | None) -> None:
        """Hold back notifications until ``until`` (aware), or until resumed when ``None``."""
        if until is not None and until.tzinfo is None:
            raise ValueError("snooze needs an aware datetime (with a time zone)")
        self._snoozed = True
        self._snooze_until = until

    def snooze_for(self, minutes: float) -> None:
        if minutes <= 0:
            raise ValueError(f"snooze for {minutes!r} minutes: expected more than 0")
        self.snooze(self._clock() + timedelta(minutes=minutes))

    def snooze_until_tomorrow(self) -> None:
        """Snooze until 08:00 local time tomorrow."""
        today = self._local(self._clock()).date()
        self.snooze(self._at_local(today + timedelta(days=1), MORNING))

    def resume(self) -> None:
        self._snoozed = False
        self._snooze_until = None

    @property
    def paused(self) -> bool:
        """Whether non-critical events are being held back now (see :meth:`status`)."""
        return self.status() is not None

    def status(self) -> str | None:
        """Why notifications are held back, for the tray menu and tooltip; ``None`` if not."""
        now = self._clock()
        if not self._settings.flag("notifications.enabled"):
            return "Notifications off"
        if self._snoozed_at(now):
            until = self._snooze_until
            if until is None:
                return "Snoozed until resumed"
            left = until - now
            minutes = math.ceil(left.total_seconds() / 60)
            if minutes <= 90:
                return f"Snoozed for {minutes} min"
            if left < timedelta(hours=24):
                return f"Snoozed until {self._local(until):%H:%M}"
            return f"Snoozed until {self._local(until):%Y-%m-%d %H:%M}"
        end = self._quiet_until(now)
        if end is not None:
            return f"Quiet until {end:%H:%M}"
        return None

    # -- filters, quiet hours, snooze -----------------------------------------------------

    def _wanted(self, ev: Event) -> bool:
        flag = self._settings.flag
        if not flag("notifications.enabled"):
            return False
        if ev.kind is Kind.SCHEDULED_SCAN:
            return flag("notifications.scheduled_scan")  # always severity info
        if ev.kind is Kind.TICKET:
            which = "ticket_closed" if ev.ticket.is_closed else "ticket_opened"
            if not (flag("notifications.ticket") and flag(f"notifications.{which}")):
                return False
        else:
            which = ev.kind.value
            if not flag(f"notifications.{which}"):
                return False
            if ev.kind is Kind.FINISHED_SCAN and ev.attention:
                return True
        word = self._settings.text(f"notifications.min_severity_{which}")
        if word == "default":
            word = self._settings.text("notifications.min_severity")
        return ev.severity >= Severity.from_word(word)

    def _bypasses(self, ev: Event) -> bool:
        return ev.severity is Severity.CRITICAL and self._settings.flag(
            "notifications.critical_bypass"
        )

    def _holding_back(self, now: datetime) -> bool:
        return self._snoozed_at(now) or self._quiet_until(now) is not None

    def _snoozed_at(self, now: datetime) -> bool:
        if not self._snoozed:
            return False
        if self._snooze_until is None or now < self._snooze_until:
            return True
        self.resume()
        return False

    def _quiet_until(self, now: datetime) -> time | None:
        """The local end of the quiet span ``now`` falls in, or ``None`` outside quiet hours.

        Times are compared on the local wall clock, so a span keeps its written start and end
        across a DST change (and is an hour shorter or longer that night). A span belongs to the
        weekday it starts on.
        """
        s = self._settings
        if not s.flag("notifications.quiet_enabled"):
            return None
        start = parse_clock_time(s.text("notifications.quiet_start"))
        end = parse_clock_time(s.text("notifications.quiet_end"))
        days = {weekday_index(d) for d in s.strings("notifications.quiet_days")}
        local = self._local(now)
        at = local.time()
        today, yesterday = local.weekday(), (local.weekday() - 1) % 7
        if start < end:
            return end if today in days and start <= at < end else None
        # start >= end: the span crosses midnight (equal: a whole day from start to start)
        if (today in days and at >= start) or (yesterday in days and at < end):
            return end
        return None

    def _local(self, when: datetime) -> datetime:
        return when.astimezone(self._tz)  # None: the system's local zone

    def _at_local(self, day: date, at: time) -> datetime:
        if self._tz is not None:
            return datetime.combine(day, at, tzinfo=self._tz)
        return datetime.combine(day, at).astimezone()

    # -- bursts and the cap ---------------------------------------------------------------

    @property
    def _threshold(self) -> int:
        return self._settings.integer("notifications.burst_threshold")

    def _now(self) -> datetime:
        now = self._clock()
        if self._last_now is not None and now < self._last_now:
            self._rewind(now)
        self._last_now = now
        return now

    def _rewind(self, now: datetime) -> None:
        # The wall clock went back: treat what happened "later" as happening now, so the
        # cap still counts it and no window stays open until the clock catches up.
        self._sent = deque(min(t, now) for t in self._sent)
        self._arrivals = deque(min(t, now) for t in self._arrivals)
        self._recent_shown = deque((min(t, now), i) for t, i in self._recent_shown)
        self._held = [(min(t, now), e) for t, e in self._held]
        if self._burst is not None:
            self._burst.started = min(self._burst.started, now)
            self._burst.last_arrival = min(self._burst.last_arrival, now)
            if self._burst.last_shown is not None:
                self._burst.last_shown = min(self._burst.last_shown, now)

    def _budget(self, now: datetime) -> bool:
        """Whether one more action now keeps every 60 s window within the cap."""
        while self._sent and self._sent[0] <= now - CAP_WINDOW:
            self._sent.popleft()
        return len(self._sent) < self._cap

    def _prune_arrivals(self, now: datetime) -> None:
        horizon = now - self._window
        while self._arrivals and self._arrivals[0] <= horizon:
            self._arrivals.popleft()
        while self._recent_shown and self._recent_shown[0][0] <= horizon:
            self._recent_shown.popleft()

    def _arrive(self, e: StoredEvent, now: datetime, actions: list[Action]) -> None:
        if self._burst is not None:
            self._burst.items.append(_Item.of(e))
            self._burst.last_arrival = now
            return
        self._prune_arrivals(now)
        self._arrivals.append(now)
        if len(self._arrivals) > self._threshold:
            self._start_burst(now, [*self._held, (now, e)])
            self._held = []
        elif len(self._arrivals) == 1 and not self._held:
            self._show_or_count(e, now, now, actions)
        else:
            self._held.append((now, e))

    def _show_or_count(
        self, e: StoredEvent, arrived: datetime, now: datetime, actions: list[Action]
    ) -> None:
        if self._burst is not None:
            self._burst.items.append(_Item.of(e))
            self._burst.last_arrival = max(self._burst.last_arrival, arrived)
        elif self._budget(now):
            actions.append(Show(notice_for(e)))
            self._sent.append(now)
            self.notified_ids.add(e.id)
            self._recent_shown.append((arrived, _Item.of(e)))
        else:  # over the cap: count it into a summary
            self._start_burst(now, [(arrived, e)])

    def _start_burst(self, now: datetime, events: Iterable[tuple[datetime, StoredEvent]]) -> None:
        self._prune_arrivals(now)
        lead_ins = [item for _, item in self._recent_shown]
        pending = list(events)
        self._burst = _Burst(
            started=min([t for t, _ in self._recent_shown] + [t for t, _ in pending]),
            items=lead_ins + [_Item.of(e) for _, e in pending],
            lead_ins=frozenset(i.id for i in lead_ins),
            last_arrival=max(t for t, _ in pending),
        )
        self._arrivals.clear()
        self._recent_shown.clear()

    def _burst_step(self, now: datetime, actions: list[Action], *, updates: bool) -> None:
        burst = self._burst
        if burst is None:
            return
        ending = now - burst.last_arrival >= self._window
        if burst.dirty:
            due = burst.last_shown is None or ending
            if updates and burst.last_shown is not None:
                due = due or now - burst.last_shown >= self.update_interval
            if due and self._budget(now):
                ids = frozenset(i.id for i in burst.items)
                notice = _summary_notice(burst, self._local(burst.started))
                actions.append(ShowSummary(notice, ids))
                self._sent.append(now)
                self.summarised_ids.update(ids - burst.lead_ins)
                burst.shown_count = len(burst.items)
                burst.last_shown = now
        if ending and not burst.dirty:
            self._burst = None

    # -- missed scans ---------------------------------------------------------------------

    def _note_scan(self, e: StoredEvent, now: datetime) -> None:
        ev = e.event
        if not ev.scan_name:
            return
        if ev.kind is Kind.SCHEDULED_SCAN and ev.starts_at is not None:
            if ev.starts_at + self.grace(ev.scan_name) <= now:
                # A schedule whose report was already due when it arrived (a replayed or
                # delayed message): alerting "has not reported" at once would only be noise.
                log.info("schedule for %r arrived after its report was due", ev.scan_name)
                return
            self._expectations.expect(Expectation(ev.scan_name, ev.starts_at, e.id, ev.link))
        elif ev.kind is Kind.FINISHED_SCAN:
            self._expectations.scan_finished(
                ev.scan_name, duration=_scan_duration(ev), starts_up_to=now + _ZONE_SLACK
            )

    def grace(self, scan_name: str) -> timedelta:
        """How long after its start a scan may take to report before it counts as missed."""
        known = self._expectations.duration(scan_name)
        if known is not None:
            return max(2 * known, MIN_GRACE)
        hours = self._settings.number("notifications.missed_scan_default_grace_h")
        return timedelta(hours=hours)

    def _missed_scans(self, now: datetime, actions: list[Action]) -> None:
        due = [
            (e.starts_at + self.grace(e.scan_name), e) for e in self._expectations.expectations()
        ]
        due.sort(key=lambda pair: pair[0])
        for deadline, expectation in due:
            if deadline > now:
                break
            on = self._settings.flag("notifications.enabled") and self._settings.flag(
                "notifications.missed_scan"
            )
            if not on:
                log.info("scan %r has not reported (alerts are off)", expectation.scan_name)
                self._expectations.discard(expectation)
                continue
            if self._holding_back(now) or not self._budget(now):
                break  # keep it for a later tick
            actions.append(Show(self._missed_notice(expectation, deadline)))
            self._sent.append(now)
            self._expectations.discard(expectation)

    def _missed_notice(self, expectation: Expectation, deadline: datetime) -> Notice:
        name = expectation.scan_name
        start, by = self._local(expectation.starts_at), self._local(deadline)
        return Notice(
            event_id=expectation.event_id,
            summary=visible(f"Scan '{name}' has not reported", SUMMARY_MAX),
            body=visible(
                f"It was due to start at {start:%Y-%m-%d %H:%M} and to report as finished "
                f"by {by:%Y-%m-%d %H:%M}.",
                BODY_MAX,
            ),
            urgency=Urgency.NORMAL,
            link=expectation.link,
            replace_key=f"scan:{name}",
        )
