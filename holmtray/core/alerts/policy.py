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
:class:`~holmtray.core.alerts.expectations.ExpectationStore` keeps expectations and known
durations in a small JSON file so that they survive a restart; :mod:`holmtray.core.alerts.bursts`
groups a burst's events and words its summary.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TypeAlias

from holmtray.core.alerts.bursts import Burst, BurstItem, summary_notice
from holmtray.core.alerts.expectations import Expectation, ExpectationStore, scan_duration
from holmtray.core.alerts.notices import BODY_MAX, SUMMARY_MAX, Notice, Urgency, notice_for, visible
from holmtray.core.config.checks import parse_clock_time, weekday_index
from holmtray.core.config.settings import Settings
from holmtray.core.events import Event, Kind, Severity, StoredEvent

log = logging.getLogger("holmtray.alerts.policy")

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
        self._recent_shown: deque[tuple[datetime, BurstItem]] = deque()
        self._held: list[tuple[datetime, StoredEvent]] = []  # waiting for the next tick
        self._burst: Burst | None = None
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
            self._burst.items.append(BurstItem.of(e))
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
            self._burst.items.append(BurstItem.of(e))
            self._burst.last_arrival = max(self._burst.last_arrival, arrived)
        elif self._budget(now):
            actions.append(Show(notice_for(e)))
            self._sent.append(now)
            self.notified_ids.add(e.id)
            self._recent_shown.append((arrived, BurstItem.of(e)))
        else:  # over the cap: count it into a summary
            self._start_burst(now, [(arrived, e)])

    def _start_burst(self, now: datetime, events: Iterable[tuple[datetime, StoredEvent]]) -> None:
        self._prune_arrivals(now)
        lead_ins = [item for _, item in self._recent_shown]
        pending = list(events)
        self._burst = Burst(
            started=min([t for t, _ in self._recent_shown] + [t for t, _ in pending]),
            items=lead_ins + [BurstItem.of(e) for _, e in pending],
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
                notice = summary_notice(burst, self._local(burst.started))
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
                ev.scan_name, duration=scan_duration(ev), starts_up_to=now + _ZONE_SLACK
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
