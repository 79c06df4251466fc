"""The tray app's notification path under load: summaries kept current, memory bounded.

A real ``TrayApp`` (offscreen) started as ``run()`` starts it, with its real receiver thread,
listener and writer: events arrive over HTTP. Two things are swapped: the policy's clock (a
fake one the test advances, so "within a second" is checked without sleeping or timing), and
the notification backend, which records what it is asked to show (the real notification
server is exercised by the desktop tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from holmtray.core.alerts import bursts
from holmtray.core.alerts.fates import FATE_KEEP, Fate
from holmtray.core.alerts.notices import Notice
from holmtray.core.alerts.policy import NotificationPolicy
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.ui.app import TrayApp
from holmtray.ui.events import window as event_window
from holmtray.ui.events.window import EventWindow
from holmtray.ui.notifier import Notifier
from tests.core.alerts.kit import FakeClock
from tests.load import burst_ticket
from tests.ui.test_app_settings import until

TOKEN = "T0ken-for-app-notifications-0123456789ab"
Run = Callable[[Coroutine[Any, Any, None]], None]


@dataclass
class Recorder:
    """A notification backend that records what it shows, at the policy's time."""

    clock: FakeClock
    name: str = "recorder"
    shown: list[tuple[float, Notice, bool]] = field(default_factory=list)

    async def show(self, notice: Notice, *, update: bool = False) -> None:
        self.shown.append((self.clock.now.timestamp(), notice, update))

    async def close(self) -> None:
        pass

    def disconnect(self) -> None:
        pass

    def summaries(self) -> list[tuple[float, Notice, bool]]:
        return [(t, n, u) for t, n, u in self.shown if n.event_id is None]


@pytest.fixture
def started(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TrayApp, FakeClock, Recorder]]:
    # Only what a test does writes: a shown event is not marked read on its own later.
    monkeypatch.setattr(EventWindow, "MARK_READ_DELAY_MS", 3_600_000)
    settings = Settings({"listener.token": TOKEN, "listener.port": 0, "ui.welcome_shown": True})
    app = TrayApp(
        settings=settings, paths=Paths.under(tmp_path / "home"), quit_event=asyncio.Event()
    )
    clock = FakeClock()
    app.policy = NotificationPolicy(settings=settings, clock=clock)
    recorder = Recorder(clock)

    async def start() -> None:
        await app.start()
        assert app.notifier is not None
        app.notifier.disconnect()  # the one start() chose (on a desktop: the session bus)
        app.notifier = Notifier([recorder])

    run(start())
    try:
        yield app, clock, recorder
    finally:
        app.shutdown()
        if app.window is not None:
            app.window.hide()  # nothing of this test may repaint during the next one


async def post_all(url: str, bodies: list[dict[str, Any]]) -> None:
    async with aiohttp.ClientSession() as s:

        async def one(body: dict[str, Any]) -> None:
            async with s.post(url, json=body) as r:
                assert r.status == 200

        await asyncio.gather(*(one(b) for b in bodies))


def hook(app: TrayApp) -> str:
    ep = app.receiver.endpoint
    assert ep is not None
    return f"{ep.local_url()}/hooks/{TOKEN}"


def count_in(notice: Notice) -> int:
    return int(notice.summary.split(" ", 1)[0])


def test_a_200_ticket_burst_summary_is_current_within_a_second_of_each_arrival(
    started: tuple[TrayApp, FakeClock, Recorder], run: Run
) -> None:
    app, clock, recorder = started
    start = clock.now
    arrivals: list[tuple[float, int]] = []  # (policy time, events received so far)

    async def burst() -> None:
        # 200 tickets in five seconds: ten every 250 ms (the app's drain interval), the
        # app's one-second tick driven at the fake time it is due.
        for step in range(20):
            clock.now = start + timedelta(milliseconds=250 * step)
            await post_all(hook(app), [burst_ticket(10 * step + i) for i in range(10)])
            await until(lambda step=step: app.received == 10 * (step + 1))
            arrivals.append((clock.now.timestamp(), app.received))
            if step % 4 == 3:
                clock.now += timedelta(milliseconds=249)
                app._tick()
            await until(lambda: not app._tasks)
        clock.now = start + timedelta(seconds=6)
        app._tick()
        await until(lambda: not app._tasks)

    run(burst())
    summaries = recorder.summaries()
    assert summaries, recorder.shown
    keys = {n.replace_key for _, n, _ in summaries}
    assert len(keys) == 1  # one summary, kept current in place
    assert [u for _, _, u in summaries][1:] == [True] * (len(summaries) - 1)
    popups = [s for s in recorder.shown if not s[2]]
    assert len(popups) <= 3  # the first ticket alone, then the summary
    for arrived, received in arrivals:
        if received <= app.settings.integer("notifications.burst_threshold"):
            continue  # before the burst was recognised
        assert any(
            arrived <= t <= arrived + 1.0 and count_in(n) >= received for t, n, _ in summaries
        ), f"{received} events at {arrived - start.timestamp():.2f} s: not shown within 1 s"
    final = summaries[-1][1]
    assert final.summary == "200 new tickets — 20 critical, 180 high"
    assert final.body.startswith("200 new tickets: 20 critical, 180 high\n")
    assert final.event_ids is not None
    assert len(final.event_ids) == 200


def test_memory_stays_bounded_after_far_more_events_than_any_bound(
    started: tuple[TrayApp, FakeClock, Recorder],
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, clock, recorder = started
    monkeypatch.setattr(bursts, "CLICK_IDS", 300)
    monkeypatch.setattr(event_window, "LIVE_ROWS", 200)
    n = 3000
    window = app.window
    assert window is not None
    assert not window.isVisible()

    async def stream() -> None:
        for start in range(0, n, 300):
            clock.now += timedelta(seconds=1)
            await post_all(hook(app), [burst_ticket(start + i) for i in range(300)])
            await until(lambda start=start: app.received == start + 300)
            app._tick()
        await until(lambda: not app._tasks)

    run(stream())
    # The hidden window holds a few pages, not a row per event.
    assert window.model.rowCount() <= 200 + 1 + 200
    assert window.model.event_at(0).id == n  # the newest is on top
    # The policy's structures are within their bounds, and fates are still observable.
    sizes = app.policy.footprint()
    assert sizes["burst_ids"] <= 300
    assert sizes["fates"] <= FATE_KEEP
    assert app.policy.fates.of(n) is Fate.SUMMARISED
    assert sum(app.policy.fates.counts.values()) == n
    # Nothing is kept per notification shown: the notices carry their (bounded) ids.
    assert not hasattr(app, "_summary_ids")
    assert not app._tasks
    final = recorder.summaries()[-1][1]
    assert final.summary.startswith(f"{n:,} new tickets")
    ids = final.event_ids
    assert ids is not None
    assert len(ids) == 300
    assert ids.total == n

    # Clicking the summary shows its events: the newest 300 of the 3,000.
    app._notice_clicked(final)
    assert window.isVisible()
    assert window.ids_label.text().endswith("the newest 300 of 3,000 events from the summary")
    assert window.model.match_count() == 300
    assert window.model.event_at(0).id == n


def test_a_drained_events_notification_goes_out_before_the_window_and_tray_catch_up(
    started: tuple[TrayApp, FakeClock, Recorder], run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: the alert is not kept waiting by the event list's and the icon's updates;
    they follow on the loop's next turn, with the same events."""
    app, _clock, recorder = started
    window = app.window
    assert window is not None
    order: list[str] = []
    show, add_events, refresh = recorder.show, window.add_events, app._refresh_tray

    async def recorded_show(notice: Notice, *, update: bool = False) -> None:
        order.append("notification")
        await show(notice, update=update)

    def recorded_add(events: Any) -> None:
        order.append("window")
        add_events(events)

    def recorded_refresh(last: Any = None) -> None:
        if "notification" in order or "window" in order:
            order.append("tray")
        refresh(last)

    monkeypatch.setattr(recorder, "show", recorded_show)
    monkeypatch.setattr(window, "add_events", recorded_add)
    monkeypatch.setattr(app, "_refresh_tray", recorded_refresh)

    async def one() -> None:
        await post_all(hook(app), [burst_ticket(1)])
        await until(lambda: "tray" in order and window.model.rowCount() == 1)

    run(one())
    assert order[:3] == ["notification", "window", "tray"]
    assert [n.event_id for _, n, _ in recorder.shown] == [window.model.top_id()]
