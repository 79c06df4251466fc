"""Notification policy: filters, quiet hours, snooze, bursts, the cap, missed-scan alerts.

Every test drives the policy with a fake clock; nothing sleeps.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from holmtray.core.alerts.expectations import Expectation, ExpectationStore
from holmtray.core.alerts.notices import Urgency
from holmtray.core.alerts.policy import Action, NotificationPolicy, Show, ShowSummary
from holmtray.core.config.schema import SettingsError
from holmtray.core.config.settings import Settings
from holmtray.core.events import Severity, StoredEvent
from tests.core.alerts.kit import (
    MONDAY_NOON,
    STHLM,
    FakeClock,
    Maker,
    alone,
    make,
    shows,
    summaries,
)

# --------------------------------------------------------------------------------------------
# What notifies


def test_every_kind_notifies_by_default_except_scheduled_scans(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock)
    for event in (mk.ticket(), mk.ticket(closed=True), mk.finished(), mk.custom()):
        [action] = alone(policy, clock, event)
        assert isinstance(action, Show)
        assert action.notice.event_id == event.id
    quiet = mk.scheduled("Weekly", MONDAY_NOON + timedelta(days=1))
    assert alone(policy, clock, quiet) == []
    assert policy.suppressed_ids == {quiet.id}


@pytest.mark.parametrize(
    ("switch", "kind"),
    [
        ("finished_scan", "finished"),
        ("ticket_opened", "ticket"),
        ("ticket_closed", "closed"),
        ("ticket", "ticket"),  # the older master switch still covers both
        ("ticket", "closed"),
        ("custom", "custom"),
        ("enabled", "ticket"),
    ],
)
def test_each_kind_switch_turns_its_kind_off(
    clock: FakeClock, mk: Maker, switch: str, kind: str
) -> None:
    off: dict[str, Any] = {switch: False}
    policy = make(clock, **off)
    builders: dict[str, Callable[[], StoredEvent]] = {
        "finished": mk.finished,
        "ticket": mk.ticket,
        "closed": lambda: mk.ticket(closed=True),
        "custom": mk.custom,
    }
    event = builders[kind]()
    assert alone(policy, clock, event) == []
    assert policy.suppressed_ids == {event.id}


def test_ticket_opened_switch_leaves_closed_tickets_alone(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock, ticket_opened=False)
    assert alone(policy, clock, mk.ticket()) == []
    assert len(alone(policy, clock, mk.ticket(closed=True))) == 1


def test_minimum_severity_per_kind_with_the_global_one_as_default(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock, min_severity="high", min_severity_custom="low")
    assert alone(policy, clock, mk.ticket(Severity.MEDIUM)) == []
    assert len(alone(policy, clock, mk.ticket(Severity.HIGH))) == 1
    assert len(alone(policy, clock, mk.custom(Severity.LOW))) == 1
    assert alone(policy, clock, mk.custom(Severity.INFO)) == []
    policy.update_settings(Settings({"notifications.min_severity_ticket_opened": "critical"}))
    assert alone(policy, clock, mk.ticket(Severity.HIGH)) == []
    assert len(alone(policy, clock, mk.ticket(Severity.HIGH, closed=True))) == 1


def test_a_finished_scan_needing_attention_passes_any_minimum_but_not_its_switch(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock, min_severity_finished_scan="critical")
    assert alone(policy, clock, mk.finished(severity=Severity.HIGH)) == []
    [action] = alone(policy, clock, mk.finished(severity=Severity.INFO, attention=True))
    assert isinstance(action, Show)
    policy.update_settings(Settings({"notifications.finished_scan": False}))
    assert alone(policy, clock, mk.finished(severity=Severity.INFO, attention=True)) == []


def test_notifications_off_is_the_status(clock: FakeClock) -> None:
    policy = make(clock, enabled=False)
    assert policy.status() == "Notifications off"
    assert policy.paused


# --------------------------------------------------------------------------------------------
# Quiet hours


def arrives_suppressed(
    policy: NotificationPolicy, clock: FakeClock, mk: Maker, at: datetime, sev: Severity
) -> bool:
    clock.now = at
    event = mk.ticket(sev)
    policy.on_events([event])
    policy.tick()
    return event.id in policy.suppressed_ids


def quiet_at(policy: NotificationPolicy, clock: FakeClock, mk: Maker, at: datetime) -> bool:
    return arrives_suppressed(policy, clock, mk, at, Severity.HIGH)


def test_quiet_hours_across_midnight_belong_to_the_weekday_they_start(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock, tz=STHLM, quiet_enabled=True, quiet_days=["Fri"])

    def local(d: int, h: int, m: int = 0) -> datetime:
        return datetime(2024, 5, d, h, m, tzinfo=STHLM)

    # 2024-05-09 is a Thursday, 05-10 a Friday.
    assert not quiet_at(policy, clock, mk, local(9, 23))  # Thursday night
    assert not quiet_at(policy, clock, mk, local(10, 6, 30))  # Friday morning: Thursday's span
    assert not quiet_at(policy, clock, mk, local(10, 21, 59))
    assert quiet_at(policy, clock, mk, local(10, 22))
    assert quiet_at(policy, clock, mk, local(11, 0, 30))  # Saturday, Friday's span
    assert policy.status() == "Quiet until 07:00"
    assert quiet_at(policy, clock, mk, local(11, 6, 59))
    assert not quiet_at(policy, clock, mk, local(11, 7))
    assert policy.status() is None
    assert not quiet_at(policy, clock, mk, local(11, 23))  # Saturday night


def test_quiet_hours_within_one_day(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock, quiet_enabled=True, quiet_start="12:00", quiet_end="13:30")
    day = MONDAY_NOON.replace(hour=0)
    assert not quiet_at(policy, clock, mk, day.replace(hour=11, minute=59))
    assert quiet_at(policy, clock, mk, day.replace(hour=12))
    assert policy.status() == "Quiet until 13:30"
    assert not quiet_at(policy, clock, mk, day.replace(hour=13, minute=30))


def test_quiet_hours_are_off_unless_enabled_and_empty_days_mean_never(
    clock: FakeClock, mk: Maker
) -> None:
    night = datetime(2024, 5, 6, 23, tzinfo=UTC)
    assert not quiet_at(make(clock), clock, mk, night)
    assert not quiet_at(make(clock, quiet_enabled=True, quiet_days=[]), clock, mk, night)


def test_equal_start_and_end_make_the_whole_day_quiet(clock: FakeClock, mk: Maker) -> None:
    policy = make(
        clock, quiet_enabled=True, quiet_start="09:00", quiet_end="09:00", quiet_days=["monday"]
    )
    assert not quiet_at(policy, clock, mk, datetime(2024, 5, 6, 8, 59, tzinfo=UTC))
    assert quiet_at(policy, clock, mk, datetime(2024, 5, 6, 9, 0, tzinfo=UTC))
    assert quiet_at(policy, clock, mk, datetime(2024, 5, 7, 8, 59, tzinfo=UTC))
    assert not quiet_at(policy, clock, mk, datetime(2024, 5, 7, 9, 0, tzinfo=UTC))


def test_quiet_hours_follow_the_wall_clock_when_summer_time_starts(
    clock: FakeClock, mk: Maker
) -> None:
    # Sunday 2024-03-31 02:00 CET jumps to 03:00 CEST; Saturday night's span is 8 real hours.
    policy = make(clock, tz=STHLM, quiet_enabled=True, quiet_days=["saturday"])

    def utc(d: int, h: int, m: int = 0) -> datetime:
        return datetime(2024, 3, d, h, m, tzinfo=UTC)

    assert not quiet_at(policy, clock, mk, utc(30, 20, 59))  # 21:59 CET
    assert quiet_at(policy, clock, mk, utc(30, 21))  # 22:00 CET
    assert quiet_at(policy, clock, mk, utc(31, 1, 30))  # 03:30 CEST, just after the jump
    assert quiet_at(policy, clock, mk, utc(31, 4, 59))  # 06:59 CEST
    assert not quiet_at(policy, clock, mk, utc(31, 5))  # 07:00 CEST (06:00 in winter time)


def test_quiet_hours_ending_in_the_skipped_hour_end_at_the_jump(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock, tz=STHLM, quiet_enabled=True, quiet_end="02:30", quiet_days=["sat"])
    assert quiet_at(policy, clock, mk, datetime(2024, 3, 31, 0, 59, tzinfo=UTC))  # 01:59 CET
    assert not quiet_at(policy, clock, mk, datetime(2024, 3, 31, 1, 0, tzinfo=UTC))  # 03:00


def test_quiet_hours_follow_the_wall_clock_when_summer_time_ends(
    clock: FakeClock, mk: Maker
) -> None:
    # Sunday 2024-10-27 03:00 CEST falls back to 02:00 CET; Saturday's span is 10 real hours.
    policy = make(clock, tz=STHLM, quiet_enabled=True, quiet_days=["saturday"])

    def utc(d: int, h: int, m: int = 0) -> datetime:
        return datetime(2024, 10, d, h, m, tzinfo=UTC)

    assert not quiet_at(policy, clock, mk, utc(26, 19, 59))  # 21:59 CEST
    assert quiet_at(policy, clock, mk, utc(26, 20))  # 22:00 CEST
    assert quiet_at(policy, clock, mk, utc(27, 5, 30))  # 06:30 CET (07:30 in summer time)
    assert not quiet_at(policy, clock, mk, utc(27, 6))  # 07:00 CET


def test_both_occurrences_of_a_repeated_hour_are_inside_a_span_covering_it(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(
        clock,
        tz=STHLM,
        quiet_enabled=True,
        quiet_start="02:00",
        quiet_end="03:00",
        quiet_days=["sunday"],
    )

    def utc(h: int, m: int = 0) -> datetime:
        return datetime(2024, 10, 27, h, m, tzinfo=UTC)

    assert not quiet_at(policy, clock, mk, utc(23, 59) - timedelta(days=1))  # 01:59 CEST
    assert quiet_at(policy, clock, mk, utc(0, 30))  # 02:30 CEST
    assert quiet_at(policy, clock, mk, utc(1, 30))  # 02:30 CET
    assert not quiet_at(policy, clock, mk, utc(2))  # 03:00 CET


@pytest.mark.parametrize("bypass", [True, False])
def test_critical_events_pass_quiet_hours_only_with_the_bypass(
    clock: FakeClock, mk: Maker, bypass: bool
) -> None:
    policy = make(clock, quiet_enabled=True, critical_bypass=bypass)
    night = datetime(2024, 5, 6, 23, tzinfo=UTC)
    assert arrives_suppressed(policy, clock, mk, night, Severity.CRITICAL) is not bypass
    assert arrives_suppressed(policy, clock, mk, night + timedelta(minutes=5), Severity.HIGH)


# --------------------------------------------------------------------------------------------
# Snooze


def test_snooze_for_an_hour_counts_down_and_then_notifies_again(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock)
    policy.snooze_for(60)
    assert policy.status() == "Paused until 13:00"
    assert policy.paused
    clock.advance(minutes=17)
    assert policy.status() == "Paused until 13:00"
    muted = mk.ticket()
    assert policy.on_events([muted]) + policy.tick() == []
    assert policy.suppressed_ids == {muted.id}
    clock.advance(minutes=43)
    assert policy.status() is None
    assert not policy.paused
    fresh = mk.ticket()
    shown, catch_up = policy.on_events([fresh])
    assert isinstance(shown, Show)
    assert shown.notice.event_id == fresh.id
    # What the snooze held back comes back as one summary.
    assert isinstance(catch_up, ShowSummary)
    assert catch_up.notice.summary == "While paused: 1 new ticket — 1 high"
    assert catch_up.event_ids == {muted.id}


def test_snooze_until_tomorrow_ends_at_0800_local_even_across_a_dst_change(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock, tz=STHLM)
    clock.now = datetime(2024, 3, 30, 20, 0, tzinfo=UTC)  # Saturday 21:00 CET
    policy.snooze_until_tomorrow()
    assert policy.status() == "Paused until tomorrow 08:00"
    clock.now = datetime(2024, 3, 31, 5, 59, tzinfo=UTC)  # 07:59 CEST
    assert policy.status() == "Paused until 08:00"
    clock.now = datetime(2024, 3, 31, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert policy.status() is None


def test_snooze_until_resumed_holds_until_resume(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock)
    policy.snooze(None)
    clock.advance(hours=72)
    assert policy.status() == "Paused until resumed"
    held = [mk.ticket(Severity.MEDIUM), mk.ticket(Severity.HIGH), mk.finished("Nightly")]
    for event in held:
        assert alone(policy, clock, event) == []
    policy.resume()
    assert policy.status() is None
    [catch_up] = policy.tick()
    assert isinstance(catch_up, ShowSummary)
    assert catch_up.notice.summary == (
        "While paused: 3 events · 2 new tickets — 1 high · 1 scan finished"
    )
    assert catch_up.notice.body == (
        "2 new tickets: 1 high, 1 medium\n1 scan finished\nHeld back since 12:10"
    )
    assert catch_up.event_ids == {e.id for e in held}
    assert policy.tick() == []  # once
    assert len(alone(policy, clock, mk.ticket())) == 1


def test_a_long_snooze_names_its_end(clock: FakeClock) -> None:
    policy = make(clock)
    policy.snooze(MONDAY_NOON + timedelta(hours=5))
    assert policy.status() == "Paused until 17:00"
    policy.snooze(MONDAY_NOON + timedelta(days=3))
    assert policy.status() == "Paused until Thu 12:00"
    policy.snooze(MONDAY_NOON + timedelta(days=14))
    assert policy.status() == "Paused until 20 May 12:00"


@pytest.mark.parametrize("bypass", [True, False])
def test_critical_events_pass_a_snooze_only_with_the_bypass(
    clock: FakeClock, mk: Maker, bypass: bool
) -> None:
    policy = make(clock, critical_bypass=bypass)
    policy.snooze(None)
    critical = mk.ticket(Severity.CRITICAL)
    actions = alone(policy, clock, critical)
    assert (critical.id in policy.notified_ids) is bypass
    assert len(actions) == int(bypass)


def test_snooze_rejects_naive_times_and_non_positive_durations(clock: FakeClock) -> None:
    policy = make(clock)
    with pytest.raises(ValueError, match="aware"):
        policy.snooze(datetime(2024, 5, 6, 13, 0))
    with pytest.raises(ValueError, match="more than 0"):
        policy.snooze_for(0)


# --------------------------------------------------------------------------------------------
# Bursts, the cap, replace keys


def test_a_lone_event_shows_at_once_and_a_second_in_the_window_waits_for_the_tick(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock)
    first, second = mk.ticket(number="1"), mk.ticket(number="2")
    [action] = policy.on_events([first])
    assert isinstance(action, Show)
    assert action.notice.event_id == first.id
    clock.advance(3)
    assert policy.on_events([second]) == []
    clock.advance(1)
    [action] = policy.tick()
    assert isinstance(action, Show)
    assert action.notice.event_id == second.id
    assert policy.notified_ids == {first.id, second.id}


def test_a_burst_becomes_one_summary_with_counts_by_kind_and_severity(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock, tz=STHLM)
    batch = (
        [mk.ticket(Severity.CRITICAL) for _ in range(5)]
        + [mk.ticket(Severity.HIGH) for _ in range(12)]
        + [mk.ticket(Severity.MEDIUM) for _ in range(20)]
        + [mk.finished("A"), mk.finished("B")]
    )
    [action] = policy.on_events(batch)
    assert isinstance(action, ShowSummary)
    assert action.notice.summary == "37 new tickets — 5 critical, 12 high · 2 scans finished"
    # The body counts the same things as the title, with every severity.
    assert action.notice.body == (
        "37 new tickets: 5 critical, 12 high, 20 medium\n2 scans finished\nSince 14:00"
    )
    assert action.notice.urgency is Urgency.CRITICAL
    assert action.notice.replace_key == f"burst:{batch[0].id}"
    assert action.notice.link is None
    assert action.event_ids == {e.id for e in batch}
    assert policy.summarised_ids == action.event_ids
    assert policy.notified_ids == set()


def test_summary_text_covers_every_kind_and_stays_short() -> None:
    clock = FakeClock()
    mk = Maker(clock)
    policy = make(clock)
    batch = (
        [mk.ticket(Severity.CRITICAL) for _ in range(2)]
        + [mk.ticket(closed=True)]
        + [mk.finished(attention=True)]
        + [mk.scheduled("S", MONDAY_NOON), mk.scheduled("T", MONDAY_NOON)]
        + [mk.custom(Severity.HIGH)]
    )
    policy.update_settings(Settings({"notifications.scheduled_scan": True}))
    [action] = policy.on_events(batch)
    assert action.notice.summary == (
        "2 new tickets — 2 critical · 1 ticket closed · 1 scan finished — 1 needs attention"
        " · 2 scans scheduled · 1 other event"  # the least useful detail did not fit
    )
    big = [mk.ticket(Severity.CRITICAL) for _ in range(2_000)]
    big += [mk.ticket(Severity.HIGH, closed=True) for _ in range(2_000)]
    big += [mk.finished(attention=True) for _ in range(2_000)]
    big += [mk.custom(Severity.HIGH) for _ in range(2_000)]
    clock.advance(hours=1)
    policy.tick()
    [action] = policy.on_events(big)
    assert len(action.notice.summary) <= 120
    assert action.notice.summary == (
        "2,000 new tickets — 2,000 critical · 2,000 tickets closed"
        " · 2,000 scans finished · 2,000 other events"  # the scans' detail did not fit
    )


def new_popups(actions: Sequence[Action]) -> list[Action]:
    """The actions that interrupt: single events and first showings of a summary."""
    return [a for a in actions if not (isinstance(a, ShowSummary) and a.update)]


def test_the_summary_is_updated_in_place_within_a_second_of_each_arrival(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock)
    [first] = policy.on_events([mk.ticket() for _ in range(4)])
    assert isinstance(first, ShowSummary)
    assert not first.update
    key = first.notice.replace_key
    timeline: list[tuple[float, Action]] = []
    for tenth in range(1, 300):  # one event every 0.7 s for 20 s, a tick each second
        clock.advance(0.1)
        batch = [mk.ticket()] if tenth % 7 == 0 and tenth <= 200 else []
        timeline += [(tenth / 10, a) for a in policy.on_events(batch)]
        if tenth % 10 == 0:
            timeline += [(tenth / 10, a) for a in policy.tick()]
    updates = [(t, a) for t, a in timeline if isinstance(a, ShowSummary)]
    assert all(a.update and a.notice.replace_key == key for _, a in updates)
    assert new_popups([a for _, a in timeline]) == []
    # Every arrival is counted by an update shown at most a second later.
    for n, tenth in enumerate(range(7, 201, 7), start=5):
        arrived = tenth / 10
        assert any(
            arrived <= t <= arrived + 1.0 and _count(a.notice.summary) >= n for t, a in updates
        ), f"event {n} (at {arrived} s) not shown within a second"
    assert _count(updates[-1][1].notice.summary) == 4 + 28
    assert len(updates[-1][1].event_ids) == 4 + 28


def _count(summary: str) -> int:
    m = re.match(r"(\d+) new tickets?", summary)
    assert m is not None, summary
    return int(m.group(1))


def test_summary_updates_do_not_count_against_the_cap_but_new_popups_do(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock, max_per_minute=1)
    [first] = policy.on_events([mk.ticket() for _ in range(4)])  # the minute's one pop-up
    clock.advance(5)
    [update] = policy.on_events([mk.ticket(), mk.ticket()])
    assert isinstance(update, ShowSummary)
    assert update.update
    assert update.notice.replace_key == first.notice.replace_key
    assert update.notice.summary == "6 new tickets — 6 high"
    clock.advance(15)
    assert policy.tick() == []  # the burst ended with its count shown
    lone = mk.ticket()
    assert policy.on_events([lone]) + policy.tick() == []  # a new pop-up: over the cap
    clock.advance(40)
    [late] = policy.tick()  # a minute after the first pop-up
    assert isinstance(late, ShowSummary)
    assert not late.update
    assert late.event_ids == {lone.id}


def test_a_single_event_after_a_burst_notifies_on_its_own_again(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock)
    assert len(policy.on_events([mk.ticket() for _ in range(10)])) == 1
    for _ in range(11):
        clock.advance(1)
        assert policy.tick() == []
    clock.advance(60)
    lone = mk.ticket(Severity.CRITICAL, number="99")
    [action] = policy.on_events([lone])
    assert isinstance(action, Show)
    assert action.notice.event_id == lone.id
    assert action.notice.replace_key == "ticket:99"


def test_200_tickets_in_five_seconds_give_at_most_3_actions_one_naming_200(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock)
    actions: list[Action] = []
    start = clock.now
    next_tick = 1
    events = [mk.ticket(Severity.HIGH if i % 10 else Severity.CRITICAL) for i in range(200)]
    for i, event in enumerate(events):  # one event every 25 ms, each its own commit batch
        clock.now = start + timedelta(seconds=i * 0.025)
        while clock.now >= start + timedelta(seconds=next_tick):
            actions += policy.tick()
            next_tick += 1
        actions += policy.on_events([event])
    for second in range(next_tick, 60):  # ticks every second for the next minute
        clock.now = start + timedelta(seconds=second)
        actions += policy.tick()
    assert len(new_popups(actions)) <= 3
    final = summaries(actions)[-1]
    assert final.notice.summary == "200 new tickets — 20 critical, 180 high"
    assert final.event_ids == {e.id for e in events}
    assert policy.notified_ids | policy.summarised_ids == {e.id for e in events}


def test_events_over_the_cap_are_counted_into_a_summary(clock: FakeClock, mk: Maker) -> None:
    # One event every 4 s never makes a burst (3 in 10 s) but is 15 a minute.
    policy = make(clock)
    timeline: list[tuple[datetime, Action]] = []
    events = []
    for _ in range(30):
        event = mk.ticket()
        events.append(event)
        timeline += [(clock.now, a) for a in policy.on_events([event])]
        for _ in range(4):
            clock.advance(1)
            timeline += [(clock.now, a) for a in policy.tick()]
    clock.advance(hours=1)
    timeline += [(clock.now, a) for a in policy.tick()]
    assert len(shows([a for _, a in timeline])) == 6  # the cap, then the summary takes over
    popups = [(t, a) for t, a in timeline if a in new_popups([a])]
    for when, _ in popups:
        assert sum(1 for t, _ in popups if when - timedelta(seconds=60) < t <= when) <= 6
    final = summaries([a for _, a in timeline])[-1]
    assert policy.notified_ids | final.event_ids == {e.id for e in events}
    assert policy.notified_ids | policy.summarised_ids == {e.id for e in events}


def test_a_summary_held_back_by_the_cap_shows_once_the_cap_allows(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock, max_per_minute=2)
    start = clock.now
    assert len(policy.on_events([mk.ticket()])) == 1
    clock.advance(20)
    assert len(policy.on_events([mk.ticket()])) == 1
    clock.advance(20)
    late = mk.ticket()
    assert policy.on_events([late]) == []  # over the cap: counted into a summary
    clock.now = start + timedelta(seconds=59)
    assert policy.tick() == []  # ...which waits for the cap
    clock.now = start + timedelta(seconds=60)
    [summary] = policy.tick()
    assert isinstance(summary, ShowSummary)
    assert summary.event_ids == {late.id}
    assert summary.notice.summary == "1 new ticket — 1 high"


def test_replace_keys_tie_a_ticket_and_a_scan_to_their_earlier_notices(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock)
    [opened] = alone(policy, clock, mk.ticket(number="4711"))
    [closed] = alone(policy, clock, mk.ticket(number="4711", closed=True))
    assert isinstance(opened, Show)
    assert isinstance(closed, Show)
    assert opened.notice.replace_key == closed.notice.replace_key == "ticket:4711"
    [scan] = alone(policy, clock, mk.finished("Nightly"))
    assert isinstance(scan, Show)
    assert scan.notice.replace_key == "scan:Nightly"


def test_a_clock_going_back_keeps_the_cap(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock, max_per_minute=2)
    assert len(policy.on_events([mk.ticket()])) == 1
    clock.advance(20)
    assert len(policy.on_events([mk.ticket()])) == 1
    clock.advance(hours=-1)  # what happened "later" now counts as happening now
    late = mk.ticket()
    assert policy.on_events([late]) + policy.tick() == []
    clock.advance(59)
    assert policy.tick() == []
    clock.advance(2)
    [summary] = policy.tick()
    assert isinstance(summary, ShowSummary)
    assert late.id in summary.event_ids
    assert policy.summarised_ids == {late.id}


# --------------------------------------------------------------------------------------------
# Missed scans


def missed(actions: Sequence[Action]) -> list[Show]:
    return [a for a in shows(actions) if a.notice.summary.endswith("has not reported")]


def test_a_scheduled_scan_that_never_reports_is_flagged_after_the_default_grace(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock, tz=STHLM)
    starts = MONDAY_NOON + timedelta(hours=1)
    scheduled = mk.scheduled("Nightly", starts)
    policy.on_events([scheduled])
    clock.now = starts + timedelta(hours=6) - timedelta(seconds=1)
    assert missed(policy.tick()) == []
    clock.advance(1)
    [alert] = policy.tick()
    assert isinstance(alert, Show)
    assert alert.notice.summary == "Scan 'Nightly' has not reported"
    assert alert.notice.urgency is Urgency.NORMAL
    assert "2024-05-06 15:00" in alert.notice.body  # due to start, local time
    assert "2024-05-06 21:00" in alert.notice.body  # due to report
    assert alert.notice.replace_key == "scan:Nightly"
    assert alert.notice.event_id == scheduled.id
    assert alert.notice.link == scheduled.event.link
    clock.advance(hours=1)
    assert policy.tick() == []  # once


def test_a_finished_scan_clears_its_expectation(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock)
    starts = MONDAY_NOON + timedelta(hours=1)
    policy.on_events([mk.scheduled("Nightly", starts), mk.scheduled("Other", starts)])
    clock.now = starts + timedelta(hours=2)
    policy.on_events([mk.finished("Nightly")])
    clock.now = starts + timedelta(days=1)
    [alert] = policy.tick()
    assert alert.notice.summary == "Scan 'Other' has not reported"


def test_a_finished_scan_clears_expectations_even_when_it_is_not_notified(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock, finished_scan=False)
    policy.snooze(None)
    policy.on_events([mk.scheduled("Nightly", MONDAY_NOON)])
    policy.on_events([mk.finished("Nightly")])
    policy.resume()
    clock.advance(hours=24)
    assert policy.tick() == []


def test_expectations_survive_a_restart(clock: FakeClock, mk: Maker, tmp_path: Path) -> None:
    path = tmp_path / "state" / "expectations.json"
    first = make(clock, expectations=ExpectationStore(path=path))
    first.on_events([mk.scheduled("Nightly", MONDAY_NOON + timedelta(hours=1))])
    del first
    clock.advance(hours=8)
    second = make(clock, expectations=ExpectationStore(path=path))
    [alert] = second.tick()
    assert alert.notice.summary == "Scan 'Nightly' has not reported"
    third = make(clock, expectations=ExpectationStore(path=path))
    assert third.tick() == []  # the alert cleared it on disk too


def test_grace_is_twice_the_last_known_duration_and_that_survives_a_restart(
    clock: FakeClock, mk: Maker, tmp_path: Path
) -> None:
    path = tmp_path / "expectations.json"
    policy = make(clock, expectations=ExpectationStore(path=path))
    policy.on_events([mk.finished("Quick", duration=timedelta(minutes=40))])
    policy = make(clock, expectations=ExpectationStore(path=path))
    assert policy.grace("Quick") == timedelta(minutes=80)
    assert policy.grace("Unknown") == timedelta(hours=6)
    starts = clock.now + timedelta(hours=1)
    policy.on_events([mk.scheduled("Quick", starts)])
    clock.now = starts + timedelta(minutes=79)
    assert policy.tick() == []
    clock.now = starts + timedelta(minutes=80)
    assert len(missed(policy.tick())) == 1


def test_the_default_grace_is_a_setting(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock, missed_scan_default_grace_h=0.5)
    policy.on_events([mk.scheduled("X", MONDAY_NOON)])
    clock.advance(minutes=30)
    assert len(missed(policy.tick())) == 1


def test_a_missed_scan_alert_waits_for_quiet_hours_to_end(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock, quiet_enabled=True, quiet_start="13:00", quiet_end="20:00")
    # Due at 13:00, inside the quiet hours that start then.
    policy.on_events([mk.scheduled("Nightly", MONDAY_NOON - timedelta(hours=5))])
    clock.now = MONDAY_NOON.replace(hour=14)
    assert policy.tick() == []
    clock.now = MONDAY_NOON.replace(hour=20)
    assert len(missed(policy.tick())) == 1


def test_missed_scan_alerts_can_be_switched_off(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock, missed_scan=False)
    policy.on_events([mk.scheduled("Nightly", MONDAY_NOON)])
    clock.advance(hours=7)
    assert policy.tick() == []
    assert policy.expectations.expectations() == []


def test_the_expectations_file_is_small_json_written_once_per_flush_without_leftovers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "expectations.json"
    store = ExpectationStore(path=path)
    store.expect(Expectation("Nightly", MONDAY_NOON, 7, None))
    store.expect(Expectation("Nightly", MONDAY_NOON, 8, None))  # same start: replaced
    store.scan_finished("Other", duration=timedelta(minutes=3), starts_up_to=MONDAY_NOON)
    assert not path.exists()  # changes are written in one go, by flush()
    store.flush()
    data = json.loads(path.read_text())
    assert data["expectations"] == [
        {"scan_name": "Nightly", "starts_at": MONDAY_NOON.isoformat(), "event_id": 8, "link": None}
    ]
    assert data["durations"] == {"Other": 180.0}
    assert [p.name for p in tmp_path.iterdir()] == ["expectations.json"]


@pytest.mark.parametrize("text", ["{not json", '{"version": 1, "expectations": [{}]}', "[]"])
def test_an_unreadable_expectations_file_is_logged_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    path = tmp_path / "expectations.json"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="holmtray.alerts.expectations"):
        store = ExpectationStore(path=path)
    assert store.expectations() == []
    assert str(path) in caplog.text


# --------------------------------------------------------------------------------------------
# Settings for the policy


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("notifications.quiet_start", "25:00", "not a time of day"),
        ("notifications.quiet_end", "7am", "not a time of day"),
        ("notifications.quiet_days", ["monday", "funday"], "'funday' is not a weekday"),
        ("notifications.min_severity_ticket_opened", "urgent", "one of default, info"),
        ("notifications.max_per_minute", 0, "from 1 to 60"),
        ("notifications.burst_threshold", 0, "from 1 to 1000"),
    ],
)
def test_policy_settings_name_the_bad_value(key: str, value: object, why: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings({key: value})
    assert key in str(err.value)
    assert why in str(err.value)


def test_policy_setting_defaults() -> None:
    cfg = Settings()
    assert cfg.flag("notifications.quiet_enabled") is False
    assert (cfg.text("notifications.quiet_start"), cfg.text("notifications.quiet_end")) == (
        "22:00",
        "07:00",
    )
    assert len(cfg.strings("notifications.quiet_days")) == 7
    assert cfg.flag("notifications.critical_bypass") is True
    assert cfg.integer("notifications.burst_threshold") == 3
    assert cfg.number("notifications.burst_window_s") == 10.0
    assert cfg.integer("notifications.max_per_minute") == 6
    assert cfg.number("notifications.missed_scan_default_grace_h") == 6.0


# --------------------------------------------------------------------------------------------
# The property: the cap holds, and no event vanishes

KINDS = ("ticket", "closed", "finished", "attention", "scheduled", "custom")
NAMES = ("A", "B", "C")
_GROUP = re.compile(r"^(\d+) ")

gap = st.one_of(st.just(0.0), st.floats(0, 30, allow_nan=False), st.sampled_from([0.001, 1.0]))
spec = st.tuples(st.sampled_from(KINDS), st.sampled_from(list(Severity)), st.sampled_from(NAMES))
step: st.SearchStrategy[tuple[str, float, Any]] = st.one_of(
    st.tuples(st.just("events"), gap, st.lists(spec, min_size=1, max_size=6)),
    st.tuples(st.just("tick"), gap, st.just([])),
    st.tuples(st.just("snooze"), gap, st.integers(1, 3)),
    st.tuples(st.just("resume"), gap, st.just([])),
)
policy_settings = st.fixed_dictionaries(
    {
        "burst_threshold": st.integers(1, 5),
        "burst_window_s": st.sampled_from([1.0, 5.0, 10.0, 20.0]),
        "max_per_minute": st.integers(1, 8),
        "min_severity": st.sampled_from([s.word for s in Severity]),
        "ticket_closed": st.booleans(),
        "scheduled_scan": st.booleans(),
        "critical_bypass": st.booleans(),
        "missed_scan_default_grace_h": st.sampled_from([0.1, 6.0]),
    }
)


def _event(mk: Maker, kind: str, sev: Severity, name: str) -> StoredEvent:
    if kind == "ticket":
        return mk.ticket(sev)
    if kind == "closed":
        return mk.ticket(sev, closed=True)
    if kind in ("finished", "attention"):
        return mk.finished(
            name, severity=sev, attention=kind == "attention", duration=timedelta(seconds=90)
        )
    if kind == "scheduled":
        return mk.scheduled(name, mk.clock.now + timedelta(minutes=2))
    return mk.custom(sev)


def _wanted(cfg: dict[str, Any], kind: str, sev: Severity) -> bool:
    """The filter rules restated independently of the policy."""
    if kind == "scheduled":
        return bool(cfg["scheduled_scan"])
    if kind == "attention":
        return True
    if kind == "closed" and not cfg["ticket_closed"]:
        return False
    return sev >= Severity.from_word(cfg["min_severity"])


@hsettings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=policy_settings, steps=st.lists(step, max_size=80))
def test_property_cap_holds_and_every_event_is_shown_or_summarised(
    cfg: dict[str, Any], steps: list[tuple[str, float, Any]]
) -> None:
    """For random arrivals (kinds, severities, gaps 0-30 s, ticks, snoozes interleaved):

    (a) for every new pop-up emitted at time s, at most max_per_minute new pop-ups (Show and
        ShowSummary of every kind: single events, first showings of summaries and catch-ups,
        missed-scan alerts; not in-place updates of a summary) were emitted in the half-open
        window (s - 60 s, s]; hence in any 60 s window;
    (b) after ticking far in the future until a tick (61 s after the last) emits nothing,
        every event id is in exactly one of notified_ids, summarised_ids, suppressed_ids;
        suppressed are exactly those the filter rules or an active snooze (without critical
        bypass) hold back; each notified id is the event of exactly one Show; each summarised
        id is carried by a shown burst summary; a summary's updates only grow its set; an
        update follows a first showing of the same key; a catch-up after a snooze carries
        only ids the snooze held back; and
    (c) every summary's per-group counts, in its title and in its body, each add up to the
        number of event ids it carries.
    """
    clock = FakeClock()
    mk = Maker(clock)
    policy = make(clock, **cfg)
    cap = cfg["max_per_minute"]
    timeline: list[tuple[datetime, Action]] = []
    expect_suppressed: set[int] = set()
    expect_shown: set[int] = set()
    snooze_until: datetime | None = None

    for op, pause, arg in steps:
        clock.advance(pause)
        if op == "events":
            batch = [_event(mk, *a) for a in arg]
            snoozed = snooze_until is not None and clock.now < snooze_until
            for (kind, sev, _), e in zip(arg, batch, strict=True):
                through = not snoozed or (cfg["critical_bypass"] and sev is Severity.CRITICAL)
                if kind == "scheduled":
                    through = not snoozed  # always severity info
                ok = _wanted(cfg, kind, sev) and through
                (expect_shown if ok else expect_suppressed).add(e.id)
            timeline += [(clock.now, a) for a in policy.on_events(batch)]
        elif op == "tick":
            timeline += [(clock.now, a) for a in policy.tick()]
        elif op == "snooze":
            policy.snooze_for(arg)
            snooze_until = clock.now + timedelta(minutes=arg)
        else:
            policy.resume()
            snooze_until = None

    clock.advance(days=1)
    for _ in range(1000):
        clock.advance(61)
        emitted = policy.tick()
        timeline += [(clock.now, a) for a in emitted]
        if not emitted:
            break
    else:
        pytest.fail("the policy never settled")

    # (a) the cap, in every half-open 60 s window ending at a new pop-up
    popups = [(t, a) for t, a in timeline if a in new_popups([a])]
    for when, _ in popups:
        in_window = [t for t, _ in popups if when - timedelta(seconds=60) < t <= when]
        assert len(in_window) <= cap

    # (b) none vanishes, none is counted twice
    notified, summarised, suppressed = (
        policy.notified_ids,
        policy.summarised_ids,
        policy.suppressed_ids,
    )
    assert not notified & summarised
    assert not notified & suppressed
    assert not summarised & suppressed
    assert suppressed == expect_suppressed
    assert notified | summarised == expect_shown
    actions = [a for _, a in timeline]
    singles = [
        a.notice.event_id for a in shows(actions) if not a.notice.summary.endswith("reported")
    ]
    assert sorted(i for i in singles if i is not None) == sorted(notified)
    by_key: dict[str | None, frozenset[int]] = {}
    held_back: set[int] = set()
    for s in summaries(actions):
        key = s.notice.replace_key
        assert key is not None
        if key.startswith("catchup:"):
            assert not s.update
            held_back |= s.event_ids
        else:
            assert key in by_key or not s.update
            before = by_key.get(key, frozenset())
            assert before <= s.event_ids
            by_key[key] = frozenset(s.event_ids)
        # (c) title and body count the same things, and as many as the summary carries
        title = s.notice.summary.split(": ", 1)[-1].split(" · ")
        body = s.notice.body.split("\n")
        for parts in (title, body):
            counts = [_GROUP.match(p) for p in parts if not re.fullmatch(r"\d+ events?", p)]
            assert sum(int(m.group(1)) for m in counts if m) == len(s.event_ids)
    carried = frozenset().union(*by_key.values()) if by_key else frozenset()
    assert summarised <= carried
    assert carried <= notified | summarised
    assert held_back <= suppressed


def test_a_schedule_already_overdue_on_arrival_sets_no_expectation(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock)
    policy.on_events([mk.scheduled("Weekly", MONDAY_NOON - timedelta(days=30))])
    clock.advance(hours=1)
    assert policy.tick() == []
    assert policy.expectations.expectations() == []
