"""The notification policy: which stored events pop up, when, and how many.

Pure logic over events, settings and an injected clock; no Qt and no notification backend.
The app hands every committed batch to :meth:`NotificationPolicy.on_events` and calls
:meth:`NotificationPolicy.tick` every second; both return the actions to carry out now.

An event meets the rules in this order:

1. *What notifies*: the master switch, the switch for its kind and the minimum severity for its
   kind (a finished scan that needs attention passes any minimum). Events filtered out here
   are recorded as :attr:`Fate.SUPPRESSED`; they stay unread in the store.
2. *Quiet hours and snooze* hold the rest back (also recorded as suppressed), except critical
   events while ``notifications.critical_bypass`` is on. When the pause ends, one catch-up
   summary counts what it held back ("While paused: 37 new tickets — 5 critical").
3. *Bursts*: the first notifiable event of a burst window shows at once; later ones in the same
   window wait for the next tick, so that a burst is recognised before it pops up one by one.
   More than ``burst_threshold`` within ``burst_window_s`` start a burst: one summary (replace
   key ``burst:<id of its first event>``) counts the whole burst, including the few events
   shown on their own just before it was recognised. It is kept current in place: updated on
   the first batch or tick at least :data:`UPDATE_GAP` after the last update, so it is never
   more than about a second behind. The burst ends once ``burst_window_s`` passes without a
   new event and its final count has been shown; the next event then notifies on its own.
4. *Hard cap*: at most ``max_per_minute`` new pop-ups in any 60 seconds (single events, new
   summaries, catch-ups, missed-scan alerts). Updating a summary in place is not a new pop-up
   and does not count. An event that would go over the cap is counted into a summary instead,
   which pops up as soon as the cap allows: every notifiable event ends up shown on its own or
   counted in a summary that was shown.

Memory does not grow with the events seen: a summary keeps counts (:class:`Tally`) and the
newest ids for its click (bounded), and fates are kept for recent events only
(:class:`~holmtray.core.alerts.fates.FateLog`).

A relay source (issue 13): events that arrive while the tray catches up with its relay go
through ``on_events(batch, catching_up=True)`` and are only counted; :meth:`caught_up` then
gives one summary for all of them ("While you were away: ..."), never a storm. While the
source is not live (:meth:`set_source_live`), missed-scan alerts wait: a scan's report may be
in the backlog still to come.

Missed-scan alerts: a ``scheduled_scan`` sets an expectation; when no ``finished_scan`` of the
same name has arrived by ``starts_at`` + grace (twice the scan's last known duration, else
``notifications.missed_scan_default_grace_h``), :meth:`NotificationPolicy.tick` warns once.
:class:`~holmtray.core.alerts.expectations.ExpectationStore` keeps expectations and known
durations in a small JSON file so that they survive a restart; :mod:`holmtray.core.alerts.bursts`
counts a summary's events and words it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TypeAlias

from holmtray.core.alerts.bursts import Burst, BurstItem, Gathering
from holmtray.core.alerts.expectations import Expectation, ExpectationStore, scan_duration
from holmtray.core.alerts.fates import Fate, FateLog
from holmtray.core.alerts.ids import IdRuns
from holmtray.core.alerts.notices import BODY_MAX, SUMMARY_MAX, Notice, Urgency, notice_for, visible
from holmtray.core.alerts.pause import Pause
from holmtray.core.config.settings import Settings
from holmtray.core.events import Event, Kind, Severity, StoredEvent
from holmtray.core.text import plural

log = logging.getLogger("holmtray.alerts.policy")

CAP_WINDOW = timedelta(seconds=60)
UPDATE_GAP = timedelta(seconds=1)
"""A summary is brought up to date on the first batch or tick this long after its last update."""
# A recorded duration of a few seconds would make the grace period shorter than the delay of
# the webhook itself.
MIN_GRACE = timedelta(minutes=5)
# Holm's times carry no zone and the parser reads them as UTC, so a finished scan may look
# up to a zone offset "earlier" than the start it fulfils.
_ZONE_SLACK = timedelta(hours=14)
PAUSE_KEY = "catchup:pause"
RELAY_KEY = "catchup:relay"


# --------------------------------------------------------------------------------------------
# Actions


@dataclass(frozen=True, slots=True)
class Show:
    """Show this notification; it replaces an earlier one with the same ``replace_key``."""

    notice: Notice


@dataclass(frozen=True, slots=True)
class ShowSummary:
    """Show a summary notification; a click shows :attr:`event_ids`.

    ``update``: bring the summary already shown under the same ``replace_key`` up to date in
    place. An update is not a new pop-up: it does not count against the cap, and a backend
    that can tell drops it when that notification has been closed in the meantime.
    """

    notice: Notice
    update: bool = False

    @property
    def event_ids(self) -> IdRuns:
        ids = self.notice.event_ids
        return ids if ids is not None else IdRuns()


Action: TypeAlias = Show | ShowSummary


# --------------------------------------------------------------------------------------------
# The policy


class NotificationPolicy:
    """Decides which notifications to show; see the module docstring for the rules.

    ``clock`` returns the current time as an aware datetime. ``tz`` is the local zone for quiet
    hours and "tomorrow 08:00"; ``None`` means the system's local zone (DST rules included).
    :attr:`fates` records what became of the most recent events, for tests and diagnostics.
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
        self._expectations = expectations if expectations is not None else ExpectationStore()
        self.pause = Pause(settings=lambda: self._settings, clock=clock, tz=tz)
        self._last_now: datetime | None = None
        self._sent: deque[datetime] = deque()  # new pop-ups within the cap window
        self._arrivals: deque[datetime] = deque()  # notifiable arrivals, outside bursts
        self._recent_shown: deque[tuple[datetime, BurstItem]] = deque()
        self._held: list[tuple[datetime, StoredEvent]] = []  # waiting for the next tick
        self._burst: Burst | None = None
        self._held_back: Gathering | None = None  # what a pause held back, until shown
        self._held_since: datetime | None = None
        self._held_by = ""  # "While paused" / "During quiet hours"
        self._away: Gathering | None = None  # collected while catching up with a relay
        self._relay: Gathering | None = None  # caught up: waiting for the cap to show it
        self._relay_first_load = False
        self._catching_up = False
        self._source_live = True
        self.fates = FateLog()

    # -- fates (recent events only) -------------------------------------------------------

    @property
    def notified_ids(self) -> frozenset[int]:
        """Recent events shown in a notification of their own."""
        return self.fates.ids(Fate.NOTIFIED)

    @property
    def summarised_ids(self) -> frozenset[int]:
        """Recent events counted in a summary that was shown."""
        return self.fates.ids(Fate.SUMMARISED)

    @property
    def suppressed_ids(self) -> frozenset[int]:
        """Recent events filtered out or held back by a pause."""
        return self.fates.ids(Fate.SUPPRESSED)

    def footprint(self) -> dict[str, int]:
        """How many entries each structure that could grow holds now (tests and the soak
        benchmark check them against their bounds)."""
        gatherings = {
            "burst": self._burst.gathered if self._burst is not None else None,
            "held_back": self._held_back,
            "away": self._away,
        }
        sizes = {
            "fates": len(self.fates),
            "sent": len(self._sent),
            "arrivals": len(self._arrivals),
            "recent_shown": len(self._recent_shown),
            "held": len(self._held),
            "expectations": len(self._expectations.expectations()),
        }
        for name, g in gatherings.items():
            sizes[f"{name}_ids"] = len(g.ids) if g is not None else 0
            sizes[f"{name}_runs"] = g.ids.run_count if g is not None else 0
            sizes[f"{name}_pending"] = len(g.pending) if g is not None else 0
        sizes["relay_ids"] = len(self._relay.ids) if self._relay is not None else 0
        sizes["relay_pending"] = len(self._relay.pending) if self._relay is not None else 0
        return sizes

    # -- configuration --------------------------------------------------------------------

    def update_settings(self, settings: Settings) -> None:
        self._settings = settings

    @property
    def expectations(self) -> ExpectationStore:
        return self._expectations

    @property
    def _window(self) -> timedelta:
        return timedelta(seconds=self._settings.number("notifications.burst_window_s"))

    @property
    def _cap(self) -> int:
        return self._settings.integer("notifications.max_per_minute")

    # -- the entry points -----------------------------------------------------------------

    def on_events(self, batch: Sequence[StoredEvent], catching_up: bool = False) -> list[Action]:
        """Decide about a committed batch (oldest first); returns what to show now.

        ``catching_up``: the batch is a relay's backlog; its events are counted for the one
        summary :meth:`caught_up` gives, and nothing pops up for them now.
        """
        now = self._now()
        actions: list[Action] = []
        self._burst_step(now, actions, tick=False)  # a burst that ended may close first
        if catching_up:
            self._collect(batch, now)
            self._expectations.flush()
            return actions
        notifiable: list[StoredEvent] = []
        suppressed: list[int] = []
        for e in batch:
            self._note_scan(e, now)
            if not self._wanted(e.event):
                suppressed.append(e.id)
            elif self._holding_back(now) and not self._bypasses(e.event):
                suppressed.append(e.id)
                self._hold_back(BurstItem.of(e), now)
            else:
                notifiable.append(e)
        self.fates.record(suppressed, Fate.SUPPRESSED)
        if self._burst is None and notifiable:
            self._prune_arrivals(now)
            if len(self._arrivals) + len(notifiable) > self._threshold:
                # Already a burst: none of these pops up on its own.
                self._start_burst(now, [*self._held, *((now, e) for e in notifiable)])
                self._held = []
                notifiable = []
        for e in notifiable:
            self._arrive(e, now, actions)
        self._burst_step(now, actions, tick=False)  # a new burst's first summary, or an update
        self._catch_up_step(now, actions)
        self._expectations.flush()
        return actions

    def tick(self) -> list[Action]:
        """Periodic work: held events, summary updates, ends of bursts and pauses, missed
        scans (only while the source is live and not catching up)."""
        now = self._now()
        actions: list[Action] = []
        if self._source_live and not self._catching_up:
            self._missed_scans(now, actions)
        if self._held:
            held, self._held = self._held, []
            self._prune_arrivals(now)
            if self._burst is None and len(self._arrivals) > self._threshold:
                self._start_burst(now, held)
            else:
                for arrived, e in held:
                    self._show_or_count(e, arrived, now, actions)
        self._burst_step(now, actions, tick=True)
        self._catch_up_step(now, actions)
        self._expectations.flush()
        return actions

    # -- a relay source -------------------------------------------------------------------

    def set_source_live(self, live: bool) -> None:
        """Whether the events' source is live; missed-scan alerts wait while it is not."""
        if live != self._source_live:
            log.info("event source %s", "live" if live else "not live: missed-scan alerts wait")
        self._source_live = live

    def caught_up(self, first_load: bool = False) -> list[Action]:
        """The relay's backlog is in: one summary of what :meth:`on_events` collected.

        ``"While you were away: 212 events · 200 new tickets — 3 critical, 9 high · 12 scans
        finished"``. ``first_load`` (a new mirror's whole history): ``"Loaded 212 events from
        the relay · ..."``, and only when something in it is serious (critical or high, or a
        scan needing attention): loading a history is not news. While paused, the count joins
        what the pause holds back. Over the cap, the summary waits for the next tick that
        allows it. Never more than one action, whatever the count.
        """
        now = self._now()
        away, self._away = self._away, None
        self._catching_up = False
        if away is None or away.tally.total == 0:
            return []
        if self._holding_back(now):
            self.fates.record(away.take_pending(), Fate.SUPPRESSED)
            self._merge_held_back(away, now)
            return []
        if first_load and not away.tally.serious():
            log.info(
                "loaded %d events from the relay (nothing serious: no pop-up)", away.tally.total
            )
            self.fates.record(away.take_pending(), Fate.SUPPRESSED)
            return []
        if self._relay is None:
            self._relay, self._relay_first_load = away, first_load
        else:  # an earlier catch-up still waits for the cap: one summary for both
            self._relay.merge(away)
            self._relay_first_load = self._relay_first_load and first_load
        actions: list[Action] = []
        self._catch_up_step(now, actions)
        return actions

    def _collect(self, events: Sequence[StoredEvent], now: datetime) -> None:
        self._catching_up = True
        away = self._away if self._away is not None else Gathering()
        self._away = away
        suppressed: list[int] = []
        for e in events:
            self._note_scan(e, now)
            if self._wanted(e.event):
                away.add(BurstItem.of(e))
            else:
                suppressed.append(e.id)
        self.fates.record(suppressed, Fate.SUPPRESSED)

    # -- snooze and state (kept by :class:`Pause`) --------------------------------------

    def snooze(self, until: datetime | None) -> None:
        """Hold back notifications until ``until`` (aware), or until resumed when ``None``."""
        self.pause.snooze(until)

    def snooze_for(self, minutes: float) -> None:
        self.pause.snooze_for(minutes)

    def snooze_until_tomorrow(self) -> None:
        """Snooze until 08:00 local time tomorrow."""
        self.pause.snooze_until_tomorrow()

    def resume(self) -> None:
        """End a snooze; the next :meth:`tick` shows one catch-up of what it held back."""
        self.pause.resume()

    @property
    def paused(self) -> bool:
        """Whether non-critical events are being held back now (see :meth:`status`)."""
        return self.status() is not None

    def status(self) -> str | None:
        """Why notifications are held back, for the tray; ``None`` if not (:meth:`Pause.status`)."""
        return self.pause.status()

    def _holding_back(self, now: datetime) -> bool:
        return self.pause.holding_back(now)

    def _local(self, when: datetime) -> datetime:
        return self.pause.local(when)

    # -- filters -----------------------------------------------------

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
            self._burst.gathered.add(BurstItem.of(e))
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
            self._burst.gathered.add(BurstItem.of(e))
            self._burst.last_arrival = max(self._burst.last_arrival, arrived)
        elif self._budget(now):
            actions.append(Show(notice_for(e)))
            self._sent.append(now)
            self.fates.record((e.id,), Fate.NOTIFIED)
            self._recent_shown.append((arrived, BurstItem.of(e)))
        else:  # over the cap: count it into a summary
            self._start_burst(now, [(arrived, e)])

    def _start_burst(self, now: datetime, events: Iterable[tuple[datetime, StoredEvent]]) -> None:
        self._prune_arrivals(now)
        lead_ins = list(self._recent_shown)
        pending = [(t, BurstItem.of(e)) for t, e in events]
        burst = Burst(
            started=min(t for t, _ in lead_ins + pending),
            last_arrival=max(t for t, _ in pending),
            first_id=(lead_ins + pending)[0][1].id,
        )
        for _, item in lead_ins:  # already shown on their own: counted, their fate kept
            burst.gathered.add(item, pending=False)
        for _, item in pending:
            burst.gathered.add(item)
        self._burst = burst
        self._arrivals.clear()
        self._recent_shown.clear()

    def _burst_step(self, now: datetime, actions: list[Action], *, tick: bool) -> None:
        burst = self._burst
        if burst is None:
            return
        ending = now - burst.last_arrival >= self._window
        if burst.dirty:
            if burst.last_shown is None:
                if self._budget(now):  # the first summary is a new pop-up
                    self._sent.append(now)
                    self._show_burst(burst, now, actions, update=False)
            elif tick or ending or now - burst.last_shown >= UPDATE_GAP:
                self._show_burst(burst, now, actions, update=True)
        if ending and not burst.dirty:
            self._burst = None

    def _show_burst(
        self, burst: Burst, now: datetime, actions: list[Action], *, update: bool
    ) -> None:
        actions.append(ShowSummary(burst.notice(self._local(burst.started)), update=update))
        self.fates.record(burst.gathered.take_pending(), Fate.SUMMARISED)
        burst.shown_total = burst.gathered.tally.total
        burst.last_shown = now

    # -- catch-up summaries (after a pause, after catching up with a relay) ---------------

    def _hold_back(self, item: BurstItem, now: datetime) -> None:
        if self._held_back is None:
            self._held_back = Gathering()
            self._held_since = now
            self._held_by = "While paused" if self.pause.snoozed_at(now) else "During quiet hours"
        self._held_back.add(item, pending=False)

    def _merge_held_back(self, gathered: Gathering, now: datetime) -> None:
        if self._held_back is None:
            self._held_back = Gathering()
            self._held_since = now
            self._held_by = "While paused" if self.pause.snoozed_at(now) else "During quiet hours"
        self._held_back.merge(gathered)

    def _catch_up_step(self, now: datetime, actions: list[Action]) -> None:
        """Show the relay's catch-up summary, and the pause's once the pause is over, each
        as one new pop-up when the cap allows."""
        relay = self._relay
        if relay is not None and self._budget(now):
            self._relay = None
            if self._relay_first_load:
                lead = f"Loaded {plural(relay.tally.total, 'event')} from the relay · "
                title = lead + relay.tally.line(SUMMARY_MAX - len(lead))
            else:
                title = relay.headline("While you were away")
            self._sent.append(now)
            actions.append(ShowSummary(relay.notice(key=RELAY_KEY, title=title)))
            self.fates.record(relay.take_pending(), Fate.SUMMARISED)
        held = self._held_back
        if held is None or self._holding_back(now) or not self._budget(now):
            return
        self._held_back = None
        if not self._settings.flag("notifications.enabled"):
            return  # turned off meanwhile: nothing to catch up on
        since = self._local(self._held_since or now)
        notice = held.notice(
            key=PAUSE_KEY,
            title=held.headline(self._held_by),
            footer=f"Held back since {since:%H:%M}",
        )
        self._sent.append(now)
        actions.append(ShowSummary(notice))

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
