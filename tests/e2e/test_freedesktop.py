"""The freedesktop notification backend against the real daemon (dunst on a private bus).

A summary is updated in place (same notification, new text); an update of a notification the
user closed is dropped, not shown as a new pop-up; clicks reach the notice that was shown
last; and however many notifications are shown, the backend remembers a bounded number.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from holmtray.core.alerts.ids import IdRuns
from holmtray.core.alerts.notices import Notice, Urgency
from holmtray.ui.freedesktop import MAX_OPEN, FreedesktopBackend
from holmtray.ui.notifier import escape_markup
from tests.conftest import require_or_skip
from tests.e2e.desktop import Dunst, NotifyMonitor, desktop_missing, wait_until

pytestmark = pytest.mark.desktop
ICON = Path(__file__).parents[2] / "resources" / "holmtray.svg"


@pytest.fixture
def dunst() -> Dunst:
    why = desktop_missing()
    if why:
        require_or_skip(why)
    return Dunst()


def summary(n: int, key: str = "burst:1") -> Notice:
    return Notice(
        event_id=None,
        summary=f"{n} new tickets — {n} high",
        body=f"{n} new tickets: {n} high\nSince 12:00",
        urgency=Urgency.NORMAL,
        link=None,
        replace_key=key,
        event_ids=IdRuns.of(range(1, n + 1)),
    )


def test_a_summary_updates_in_place_and_a_closed_one_stays_closed(dunst: Dunst) -> None:
    clicked: list[Notice] = []
    monitor = NotifyMonitor()

    async def go() -> None:
        backend = FreedesktopBackend(
            icon=ICON, on_clicked=clicked.append, on_open=clicked.append, escape=escape_markup
        )
        await backend.probe()
        try:
            await backend.show(summary(5))
            for n in (20, 60, 200):
                await backend.show(summary(n), update=True)
            assert backend.open_count == 1
            # A click goes to the notice shown last: its ids are the 200.
            subprocess.run(["dunstctl", "action", "0"], check=True, timeout=15)
            await _until(lambda: bool(clicked))
            assert clicked[-1].summary.startswith("200 new tickets")
            assert len(clicked[-1].event_ids or ()) == 200
            # Closed by the user: a later update is not a new pop-up.
            dunst.close_all()
            await _until(lambda: backend.open_count == 0)
            await backend.show(summary(250), update=True)
        finally:
            await backend.close()

    try:
        asyncio.run(go())
        calls = wait_until(monitor.calls, what="the Notify calls")
    finally:
        monitor.stop()
    assert [c.summary.split(" —")[0] for c in calls] == [
        "5 new tickets",
        "20 new tickets",
        "60 new tickets",
        "200 new tickets",
    ]
    first = calls[0]
    assert first.replaces_id == 0
    # Every update replaced the same notification (dunst keeps the id of the one replaced).
    assert {c.replaces_id for c in calls[1:]} == {calls[1].replaces_id}
    assert calls[1].replaces_id != 0
    notes = dunst.received()
    assert [n["summary"] for n in notes] == ["200 new tickets — 200 high"]


def test_the_backend_remembers_a_bounded_number_of_notifications(dunst: Dunst) -> None:
    async def go() -> int:
        backend = FreedesktopBackend(
            icon=None, on_clicked=print, on_open=print, escape=escape_markup
        )
        await backend.probe()
        try:
            for i in range(MAX_OPEN + 16):
                await backend.show(summary(i + 1, key=f"ticket:{i}"))  # distinct: no stacking
            return backend.open_count
        finally:
            await backend.close()

    assert asyncio.run(go()) == MAX_OPEN
    dunst.close_all()


async def _until(condition: object) -> None:
    assert callable(condition)
    async with asyncio.timeout(15):
        while not condition():
            await asyncio.sleep(0.02)
