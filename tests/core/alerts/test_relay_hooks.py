"""The policy's hooks for a relay source (issue 13): a backlog is counted, not shown, and
becomes one summary; missed-scan alerts wait while the source is not live."""

from __future__ import annotations

from datetime import timedelta

from holmtray.core.alerts.fates import Fate
from holmtray.core.alerts.policy import NotificationPolicy, Show, ShowSummary
from holmtray.core.events import Severity, StoredEvent
from tests.core.alerts.kit import MONDAY_NOON, FakeClock, Maker, make, shows


def backlog(mk: Maker) -> list[StoredEvent]:
    """212 events: 200 new tickets (3 critical, 9 high, 188 medium) and 12 finished scans."""
    events = [mk.ticket(Severity.CRITICAL) for _ in range(3)]
    events += [mk.ticket(Severity.HIGH) for _ in range(9)]
    events += [mk.ticket(Severity.MEDIUM) for _ in range(188)]
    events += [mk.finished(f"Scan {i}", duration=timedelta(minutes=30)) for i in range(12)]
    return events


def test_a_backlog_is_collected_and_becomes_one_summary_whatever_its_size(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock)
    events = backlog(mk)
    for start in range(0, len(events), 50):  # as the relay client hands it over
        assert policy.on_events(events[start : start + 50], catching_up=True) == []
        clock.advance(0.25)
    assert policy.tick() == []  # nothing pops up while catching up
    [summary] = policy.caught_up()
    assert isinstance(summary, ShowSummary)
    assert not summary.update
    assert summary.notice.summary == (
        "While you were away: 212 events · 200 new tickets — 3 critical, 9 high · 12 scans finished"
    )
    assert summary.notice.body == (
        "200 new tickets: 3 critical, 9 high, 188 medium\n12 scans finished"
    )
    assert summary.event_ids == {e.id for e in events}
    assert policy.fates.ids(Fate.SUMMARISED) == {e.id for e in events}
    assert policy.caught_up() == []  # once
    # Live again: the next event notifies on its own, as ever.
    clock.advance(minutes=1)
    lone = mk.ticket(number="7")
    [shown] = policy.on_events([lone])
    assert isinstance(shown, Show)
    assert shown.notice.event_id == lone.id


def test_a_first_load_pops_up_only_when_something_in_it_is_serious(
    clock: FakeClock, mk: Maker
) -> None:
    quiet = make(clock)
    quiet.on_events([mk.ticket(Severity.MEDIUM) for _ in range(300)], catching_up=True)
    assert quiet.caught_up(first_load=True) == []
    serious = make(clock)
    serious.on_events(backlog(mk), catching_up=True)
    [summary] = serious.caught_up(first_load=True)
    assert isinstance(summary, ShowSummary)
    assert summary.notice.summary.startswith("Loaded 212 events from the relay · ")
    assert "3 critical, 9 high" in summary.notice.summary


def test_filtered_events_are_not_counted_in_the_catch_up(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock, min_severity="high")
    low = [mk.ticket(Severity.LOW) for _ in range(5)]
    high = [mk.ticket(Severity.HIGH) for _ in range(2)]
    policy.on_events(low + high, catching_up=True)
    [summary] = policy.caught_up()
    assert summary.notice.summary == "While you were away: 2 new tickets — 2 high"
    assert policy.suppressed_ids == {e.id for e in low}


def test_caught_up_while_paused_joins_what_the_pause_holds_back(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock)
    policy.snooze_for(30)
    events = [mk.ticket() for _ in range(20)]
    policy.on_events(events, catching_up=True)
    assert policy.caught_up() == []
    held = mk.ticket()
    assert policy.on_events([held]) == []
    clock.advance(minutes=31)
    [catch_up] = policy.tick()
    assert isinstance(catch_up, ShowSummary)
    assert catch_up.notice.summary == "While paused: 21 new tickets — 21 high"
    assert catch_up.event_ids == {e.id for e in [*events, held]}


def test_the_catch_up_summary_waits_for_the_cap(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock, max_per_minute=1)
    assert len(shows(policy.on_events([mk.ticket()]))) == 1  # the minute's one pop-up
    policy.on_events([mk.ticket() for _ in range(40)], catching_up=True)
    assert policy.caught_up() == []
    clock.advance(30)
    # The relay dropped and caught up again meanwhile: still one summary, counting both.
    policy.on_events([mk.ticket() for _ in range(2)], catching_up=True)
    assert policy.caught_up() == []
    clock.advance(29)
    assert policy.tick() == []
    clock.advance(1)
    [summary] = policy.tick()
    assert isinstance(summary, ShowSummary)
    assert summary.notice.summary.startswith("While you were away: 42 new tickets")
    assert len(summary.event_ids) == 42
    assert policy.tick() == []


def _expect_nightly(policy: NotificationPolicy, mk: Maker) -> None:
    policy.on_events([mk.scheduled("Nightly", MONDAY_NOON + timedelta(hours=1))])


def missed(actions: list[object]) -> list[str]:
    return [
        a.notice.summary
        for a in actions
        if isinstance(a, Show) and a.notice.summary.endswith("has not reported")
    ]


def test_no_missed_scan_alert_while_the_source_is_not_live(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock, missed_scan_default_grace_h=2)
    _expect_nightly(policy, mk)
    policy.set_source_live(False)
    clock.advance(hours=5)  # well past the deadline: 13:00 + 2 h
    assert missed(policy.tick()) == []
    # The backlog holds its report: nothing was missed, and waking raises no alarm.
    policy.on_events([mk.finished("Nightly")], catching_up=True)
    policy.caught_up()
    policy.set_source_live(True)
    assert missed(policy.tick()) == []
    assert policy.expectations.expectations() == []


def test_a_scan_truly_missed_is_reported_once_the_source_is_live(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock, missed_scan_default_grace_h=2)
    _expect_nightly(policy, mk)
    policy.set_source_live(False)
    clock.advance(hours=5)
    policy.on_events([mk.ticket()], catching_up=True)  # a backlog without its report
    assert missed(policy.tick()) == []
    policy.caught_up()
    assert missed(policy.tick()) == []  # still not live
    policy.set_source_live(True)
    assert missed(policy.tick()) == ["Scan 'Nightly' has not reported"]


def test_no_missed_scan_alert_while_catching_up_even_if_live(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock, missed_scan_default_grace_h=2)
    _expect_nightly(policy, mk)
    clock.advance(hours=5)
    policy.on_events([mk.ticket()], catching_up=True)  # the backlog is still coming
    assert missed(policy.tick()) == []
    policy.on_events([mk.finished("Nightly")], catching_up=True)
    policy.caught_up()
    assert missed(policy.tick()) == []
