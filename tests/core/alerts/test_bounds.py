"""The policy's memory does not grow with the events it sees (issue 17).

Each test sends far more events than any bound (a steady stream that never ends its burst, a
long pause, a relay's big backlog) and then checks every growing structure against its bound
(:meth:`NotificationPolicy.footprint`), and that what used them still works: the summary
counts every event, its click ids are the newest, fates stay observable. No sleeps: a fake
clock.
"""

from __future__ import annotations

from holmtray.core.alerts.bursts import CLICK_IDS
from holmtray.core.alerts.fates import FATE_KEEP, Fate, FateLog
from holmtray.core.alerts.policy import Action, NotificationPolicy, ShowSummary
from holmtray.core.events import Severity
from tests.core.alerts.kit import FakeClock, Maker, make, summaries

N = 3 * max(FATE_KEEP, CLICK_IDS)  # far above every bound


def assert_within_bounds(policy: NotificationPolicy) -> None:
    sizes = policy.footprint()
    assert sizes["fates"] <= FATE_KEEP
    for name in ("burst", "held_back", "away"):
        assert sizes[f"{name}_ids"] <= CLICK_IDS
        assert sizes[f"{name}_runs"] <= CLICK_IDS
        assert sizes[f"{name}_pending"] <= FATE_KEEP
    assert sizes["relay_ids"] <= CLICK_IDS
    assert sizes["relay_pending"] <= FATE_KEEP
    cap = 60  # the largest max_per_minute these tests use
    assert sizes["sent"] <= cap
    assert sizes["arrivals"] <= 1000
    assert sizes["recent_shown"] <= 1000
    assert sizes["held"] <= 1000


def stream(
    policy: NotificationPolicy, clock: FakeClock, mk: Maker, n: int, *, every_other_low: bool
) -> list[Action]:
    """``n`` events at 160/s in batches of 40 every 250 ms (the app's drain), a tick a second;
    with ``every_other_low``, every other event is below the minimum severity (suppressed), so
    the notifiable ids never make a run longer than one."""
    actions: list[Action] = []
    sent = 0
    while sent < n:
        batch = []
        for _ in range(40):
            low = every_other_low and sent % 2 == 1
            batch.append(mk.ticket(Severity.LOW if low else Severity.HIGH))
            sent += 1
        actions += policy.on_events(batch)
        clock.advance(0.25)
        if sent % 160 == 0:
            actions += policy.tick()
    clock.advance(1)
    return actions + policy.tick()  # the last update


def test_a_stream_that_never_ends_its_burst_keeps_counts_not_events(
    clock: FakeClock, mk: Maker
) -> None:
    policy = make(clock, min_severity="medium")
    actions = stream(policy, clock, mk, N, every_other_low=True)
    assert_within_bounds(policy)
    final = summaries(actions)[-1]
    wanted = N // 2
    assert final.notice.summary == f"{wanted:,} new tickets — {wanted:,} high"
    # The click keeps the newest ids the summary stands for, no more.
    ids = final.event_ids
    assert len(ids) == CLICK_IDS
    assert ids.total == wanted
    last_id = N
    assert set(ids) == set(range(last_id - 2 * CLICK_IDS + 1, last_id + 1, 2))
    # Fates: the recent ones are kept exactly, and every one was counted.
    assert policy.fates.of(last_id - 1) is Fate.SUMMARISED
    assert policy.fates.of(last_id) is Fate.SUPPRESSED
    assert policy.fates.of(1) is None  # long gone from the recent record
    assert policy.fates.counts[Fate.SUPPRESSED] == N // 2
    assert policy.fates.counts[Fate.SUMMARISED] + policy.fates.counts[Fate.NOTIFIED] == wanted


def test_a_steady_stream_of_consecutive_ids_holds_one_run(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock)
    actions = stream(policy, clock, mk, N, every_other_low=False)
    assert_within_bounds(policy)
    assert policy.footprint()["burst_runs"] == 1
    final = summaries(actions)[-1]
    assert final.notice.summary.startswith(f"{N:,} new tickets")
    assert final.event_ids.runs == ((N - CLICK_IDS + 1, N),)


def test_a_long_pause_holds_back_counts_and_catches_up_once(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock)
    policy.snooze(None)
    assert stream(policy, clock, mk, N, every_other_low=False) == []
    assert_within_bounds(policy)
    policy.resume()
    [catch_up] = policy.tick()
    assert isinstance(catch_up, ShowSummary)
    assert catch_up.notice.summary == f"While paused: {N:,} new tickets — {N:,} high"
    assert len(catch_up.event_ids) == CLICK_IDS
    assert max(catch_up.event_ids) == N
    assert policy.fates.counts[Fate.SUPPRESSED] == N
    assert_within_bounds(policy)


def test_a_huge_relay_backlog_gives_one_summary_within_bounds(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock)
    for _ in range(N // 500):
        batch = [mk.ticket(Severity.CRITICAL if i == 0 else Severity.MEDIUM) for i in range(500)]
        assert policy.on_events(batch, catching_up=True) == []
        assert_within_bounds(policy)
    [summary] = policy.caught_up()
    assert isinstance(summary, ShowSummary)
    critical = N // 500
    assert summary.notice.summary == (
        f"While you were away: {N:,} new tickets — {critical:,} critical"
    )
    assert len(summary.event_ids) == CLICK_IDS
    assert_within_bounds(policy)
    clock.advance(minutes=5)
    assert policy.tick() == []


def test_the_fate_log_keeps_the_recent_fates_and_counts_them_all() -> None:
    log = FateLog(keep=100)
    log.record(range(1, 1001), Fate.SUPPRESSED)
    log.record(range(1001, 1011), Fate.NOTIFIED)
    log.record([1005], Fate.SUMMARISED)  # a later fate replaces the earlier one
    assert len(log) == 100
    assert log.of(1) is None
    assert log.of(1000) is Fate.SUPPRESSED
    assert log.of(1005) is Fate.SUMMARISED
    assert log.ids(Fate.NOTIFIED) == frozenset(range(1001, 1011)) - {1005}
    assert log.counts == {Fate.SUPPRESSED: 1000, Fate.NOTIFIED: 9, Fate.SUMMARISED: 1}


def test_bursts_one_after_another_leave_nothing_behind(clock: FakeClock, mk: Maker) -> None:
    policy = make(clock)
    for _ in range(200):
        policy.on_events([mk.ticket() for _ in range(50)])
        clock.advance(minutes=2)
        policy.tick()
        clock.advance(1)
        policy.tick()
    sizes = policy.footprint()
    assert sizes["burst_ids"] == 0  # the last burst ended and was dropped
    assert sizes["fates"] <= FATE_KEEP
    assert_within_bounds(policy)
