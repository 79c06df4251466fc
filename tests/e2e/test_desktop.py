"""The whole path on a real desktop: HTTP in, notification on screen, click, browser.

Needs an X display with a tray host (trayer), a session D-Bus and dunst, as `.ci/run` starts
them. Without them these tests skip — except where HOLMTRAY_REQUIRE_DESKTOP=1 (CI), where a
missing desktop is a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import SAMPLES, require_or_skip
from tests.e2e.desktop import Browser, Dunst, TrayProc, X, desktop_missing, wait_until
from tests.load import hammer
from tests.procs import holmtray_env

pytestmark = pytest.mark.desktop

HOLM_HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "python-requests/2.8.1",
    "Accept": "*/*",
}
# Posting the samples one by one must not be taken for a burst.
NO_BURST = {"notifications.burst_threshold": 1000, "notifications.max_per_minute": 60}


@pytest.fixture
def dunst() -> Dunst:
    why = desktop_missing()
    if why:
        require_or_skip(why)
    return Dunst()


@pytest.fixture
def browser(tmp_path: Path) -> Browser:
    return Browser.make(tmp_path / "browser")


def _start(tmp_path: Path, browser: Browser, **settings: Any) -> TrayProc:
    return TrayProc(tmp_path / "home", browser, settings=settings)


@pytest.fixture
def app(tmp_path: Path, dunst: Dunst, browser: Browser) -> Iterator[TrayProc]:
    proc = _start(tmp_path, browser, **NO_BURST, **{"notifications.scheduled_scan": True})
    yield proc
    if proc.popen.poll() is None:
        proc.stop()


def post(url: str, body: bytes | dict[str, Any]) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body

    async def go() -> tuple[int, dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as s,
            s.post(url, data=data, headers=HOLM_HEADERS) as r,
        ):
            return r.status, await r.json()

    return asyncio.run(go())


def pick_in_dunst_menu(text: str) -> None:
    """Choose the context-menu line containing ``text`` for the next `dunstctl context`."""
    Path(_pick_file()).write_text(text)


def _pick_file() -> str:
    require_project_dunst("its context menu must go through the project's picker")
    return os.environ["DUNST_PICK_FILE"]


def require_project_dunst(needs: str) -> None:
    """Skip (fail where the desktop is required) unless dunst runs with the project's config.

    ``.ci/desktop.sh`` starts dunst with ``tests/e2e/desktop/dunstrc`` and sets
    ``DUNST_PICK_FILE``; a stock dunst (a developer's own session) has neither. ``needs`` says
    what the test relies on, for the skip reason.
    """
    if not os.environ.get("DUNST_PICK_FILE"):
        require_or_skip(
            "dunst was not started with the project's config (tests/e2e/desktop/dunstrc, as"
            f" .ci/desktop.sh starts it; DUNST_PICK_FILE is not set): {needs}"
        )


def tray_icon_geometry() -> tuple[int, int, int, int] | None:
    """Where holmtray's icon is embedded in trayer's panel (absolute), or None."""
    tree = X.tree()
    in_panel = False
    for line in tree.splitlines():
        if '"panel"' in line:
            in_panel = True
            continue
        if in_panel and '"holmtray"' in line:
            m = re.search(r"(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)", line)
            if m:
                w, h, x, y = map(int, m.groups())
                return x, y, w, h
    return None


def window_ids(title: str) -> list[str]:
    return X.windows_named(f"^{re.escape(title)}$")


def test_tray_icon_is_embedded_and_its_state_follows_unread_events(app: TrayProc) -> None:
    geometry = wait_until(tray_icon_geometry, what="holmtray's icon in trayer's panel")
    assert geometry[2] > 0
    assert geometry[3] > 0
    status, _ = post(app.hook, json.loads((SAMPLES / "finished_scan.json").read_bytes()))
    assert status == 200
    wait_until(
        lambda: any("unread=1 highest=critical" in s for s in app.tray_states()),
        what="the tray to show 1 unread critical event",
    )
    status, _ = post(app.hook, {"subject": "another", "severity": "low"})
    wait_until(
        lambda: any("unread=2 highest=critical" in s for s in app.tray_states()),
        what="the tray to count 2 unread",
    )


EXPECTED = {
    "finished_scan.json": (
        "Daily scan finished — 1 critical, 3 high, 5 medium",
        ["12 low"],
        "CRITICAL",
    ),
    "finished_scan_with_errors.json": (
        "Scan 'DMZ web apps' stopped with 2 errors",
        ["Target https://shop.example.com unreachable", "Authentication failed"],
        "NORMAL",
    ),
    "scheduled_scan.json": (
        "Weekly external scan scheduled for 2024-03-15 22:00 UTC",
        ["network"],
        "LOW",
    ),
    "ticket_opened_nested.json": (
        "Ticket #4711 opened: OpenSSH < 9.6 Terrapin prefix truncation on web-01 (High)",
        ["CVE-2023-48795", "CVSS 5.9", "web-01.corp.example"],
        "NORMAL",
    ),
    "ticket_closed_titlecase.json": (
        "Ticket #4711 closed: OpenSSH < 9.6 Terrapin prefix truncation on web-01 (High)",
        ["CVE-2023-48795"],
        "NORMAL",
    ),
    "custom_placeholders.json": (
        "New ticket 4712: Apache HTTP Server 2.4.x RCE on web-02",
        ["Critical"],
        "CRITICAL",
    ),
}


def test_each_sample_gives_one_notification_with_the_expected_texts(
    app: TrayProc, dunst: Dunst
) -> None:
    require_project_dunst("the urgency is read from the message format that config sets")
    for name, (summary, body_parts, urgency) in EXPECTED.items():
        status, _ = post(app.hook, (SAMPLES / name).read_bytes())
        assert status == 200, name
        got = wait_until(
            lambda s=summary: [n for n in dunst.received() if n["summary"] == s],
            what=f"the notification for {name}",
        )
        assert len(got) == 1, f"{name}: {len(got)} notifications"
        note = got[0]
        for part in body_parts:
            assert part in note["body"], f"{name}: {part!r} not in {note['body']!r}"
        assert note["message"].endswith(f"(urgency: {urgency.lower()})"), name
    assert len(dunst.received()) == len(EXPECTED)


def test_markup_and_bidi_controls_in_a_payload_reach_dunst_as_literal_text(
    app: TrayProc, dunst: Dunst
) -> None:
    hostile = (
        "\u202eevil <b>bold</b> <img src=x onerror=alert(1)> <a href='https://evil.example'>x</a> &"
    )
    payload = {
        "ticket": {
            "number": 99,
            "status": "Open",
            "severity": "high",
            "asset": {"name": hostile, "hostname": hostile, "ipv4": "10.0.0.9"},
            "vulnerability": {"name": hostile, "cve_id": "CVE-2024-0001"},
        }
    }
    assert post(app.hook, payload)[0] == 200
    [note] = wait_until(
        lambda: [n for n in dunst.received() if "Ticket #99" in n["summary"]],
        what="the hostile ticket's notification",
    )
    # The body is markup to dunst: every payload bracket must arrive as an entity.
    assert "&lt;b&gt;bold&lt;/b&gt;" in note["body"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in note["body"]
    assert "&amp;" in note["body"]
    assert "<b>" not in note["body"]
    assert "<img" not in note["body"]
    assert "<a " not in note["body"]
    # The summary is plain text by the spec: dunst escapes it itself when rendering.
    assert "<b>bold</b>" in note["summary"]
    assert "&lt;b&gt;bold" in note["message"]
    # Right-to-left override cannot reorder the text: it is shown as a visible mark.
    assert "\u202e" not in note["summary"] + note["body"]
    assert "[U+202E]evil" in note["body"]


def test_open_button_opens_a_security_center_link_through_the_safe_opener(
    app: TrayProc, dunst: Dunst, browser: Browser
) -> None:
    assert post(app.hook, (SAMPLES / "finished_scan.json").read_bytes())[0] == 200
    wait_until(dunst.displayed, what="the notification on screen")
    pick_in_dunst_menu("Open in Security Center")
    subprocess.run(["dunstctl", "context"], check=True, timeout=15)
    wait_until(browser.opened, what="the stand-in browser to be called")
    assert browser.opened() == ["https://sc.holmsecurity.com/scans/view/123"]


def test_link_to_a_host_not_on_the_list_asks_before_opening(
    app: TrayProc, dunst: Dunst, browser: Browser
) -> None:
    payload = {"subject": "Reset your password", "url": "https://phish.example/login"}
    assert post(app.hook, payload)[0] == 200
    wait_until(dunst.displayed, what="the notification on screen")
    pick_in_dunst_menu("Open in Security Center")
    subprocess.run(["dunstctl", "context"], check=True, timeout=15)
    wait_until(lambda: window_ids("Open link?"), what="the confirmation dialog")
    assert browser.opened() == []
    X.key("Escape")  # Cancel is the default: nothing opens
    wait_until(lambda: not window_ids("Open link?"), what="the dialog to close")
    assert browser.opened() == []


def test_clicking_a_notification_shows_that_event_in_the_window(
    app: TrayProc, dunst: Dunst
) -> None:
    assert post(app.hook, (SAMPLES / "ticket_opened_nested.json").read_bytes())[0] == 200
    wait_until(dunst.displayed, what="the notification on screen")
    subprocess.run(["dunstctl", "action", "0"], check=True, timeout=15)
    wait_until(lambda: window_ids("holmtray — events"), what="the event window")
    wait_until(
        lambda: any("showing event 1" in line for line in app.lines),
        what="the window to select the clicked event",
    )


def test_event_window_from_the_tray_shows_events_and_a_screenshot_is_kept(
    app: TrayProc, dunst: Dunst, artifacts: Path
) -> None:
    for f in sorted(SAMPLES.glob("*.json")):
        assert post(app.hook, f.read_bytes())[0] == 200
    wait_until(lambda: any("unread=6" in s for s in app.tray_states()), what="6 unread")
    x, y, w, h = wait_until(tray_icon_geometry, what="the tray icon")
    X.click(x + w // 2, y + h // 2)
    first_click = time.monotonic()
    [wid] = wait_until(lambda: window_ids("holmtray — events"), what="the event window")
    dunst.close_all()  # keep the popups out of the picture
    shot = artifacts / "desktop_event_window.png"
    subprocess.run(["import", "-window", "root", str(shot)], check=True, timeout=30)
    colours = subprocess.run(
        ["convert", str(shot), "-format", "%k", "info:"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert int(colours) > 50, "the screenshot looks blank"
    _, _, ww, wh = X.geometry(wid)
    assert ww > 400
    assert wh > 300
    # A second, separate click on the tray icon hides the window again. Qt would take a
    # second click within its double-click interval for a double click (which shows).
    time.sleep(max(0.0, first_click + 1.0 - time.monotonic()))
    X.click(x + w // 2, y + h // 2)
    wait_until(lambda: not window_ids("holmtray — events"), what="the window to hide")


def test_second_launch_exits_0_and_the_first_shows_its_window(
    app: TrayProc, tmp_path: Path
) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "holmtray"],
        env=holmtray_env(app.home, QT_QPA_PLATFORM="xcb"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "already running" in r.stderr
    wait_until(lambda: window_ids("holmtray — events"), what="the first instance's window")
    assert app.popen.poll() is None


def _ids_in(db: Path) -> set[int]:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {r[0] for r in con.execute("SELECT id FROM events")}
    finally:
        con.close()


def test_kill_9_during_a_stream_then_restart_keeps_every_acknowledged_event(
    tmp_path: Path, dunst: Dunst, browser: Browser
) -> None:
    app = _start(tmp_path, browser)
    ledger: list[int] = []
    errors: list[str] = []

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(hammer(app.hook, 8, ledger, stop, errors))
        while len(ledger) < 300:
            await asyncio.sleep(0.01)
        app.popen.kill()
        await task

    asyncio.run(run())
    app.kill()
    assert not set(ledger) - _ids_in(app.paths.database)
    again = TrayProc(app.home, browser)
    try:
        assert post(again.hook, {"subject": "after the restart"})[0] == 200
    finally:
        assert again.stop() == 0
    assert not errors


def test_quit_from_the_tray_menu_while_requests_are_in_flight(
    tmp_path: Path, dunst: Dunst, browser: Browser
) -> None:
    app = _start(tmp_path, browser)
    ledger: list[int] = []
    errors: list[str] = []
    x, y, w, h = wait_until(tray_icon_geometry, what="the tray icon")

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(hammer(app.hook, 8, ledger, stop, errors))
        while len(ledger) < 200:
            await asyncio.sleep(0.01)
        X.click(x + w // 2, y + h // 2, button=3)  # the tray menu
        await asyncio.to_thread(app.wait_for, re.compile("tray menu shown"), 15)
        X.key("Up", "Return")  # from no selection, Up selects the last item: Quit
        await asyncio.to_thread(app.popen.wait, 60)
        await task

    asyncio.run(run())
    assert app.popen.returncode == 0, app.output()[-2000:]
    assert "quit requested" in app.output()
    assert ledger
    assert not set(ledger) - _ids_in(app.paths.database)
    assert not errors


def test_200_tickets_in_five_seconds_give_at_most_3_notifications_and_all_are_stored(
    tmp_path: Path, dunst: Dunst, browser: Browser
) -> None:
    app = _start(tmp_path, browser)

    async def burst() -> list[int]:
        statuses = []
        async with aiohttp.ClientSession() as s:
            for i in range(200):
                body = {
                    "ticket": {
                        "number": 5000 + i,
                        "status": "Open",
                        "severity": "critical" if i % 10 == 0 else "high",
                        "asset": {"name": f"host-{i}"},
                        "vulnerability": {"name": f"Finding {i}"},
                    }
                }
                async with s.post(app.hook, json=body) as r:
                    statuses.append(r.status)
                await asyncio.sleep(0.02)
        return statuses

    assert asyncio.run(burst()) == [200] * 200
    # The final summary names the total once the burst is over.
    final = wait_until(
        lambda: [n for n in dunst.received() if n["summary"].startswith("200 new tickets")],
        timeout=60,
        what="the burst summary naming 200",
    )
    notes = dunst.received()
    assert len(notes) <= 3, [n["summary"] for n in notes]
    assert final
    con = sqlite3.connect(app.paths.database)
    try:
        assert con.execute("SELECT count(*), sum(read) FROM events").fetchone() == (200, 0)
    finally:
        con.close()
    assert app.stop() == 0
