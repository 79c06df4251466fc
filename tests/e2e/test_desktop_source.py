"""Where events come from, on a real desktop: the real tray app, trayer, dunst.

- **Sleep:** the tray app subscribes to a relay through a proxy that stops forwarding (as a
  sleeping laptop's connection does) while 500 events arrive; on resume all 500 are stored
  once each, in id order, byte-identical to the relay's, and exactly one summary notification
  reaches dunst.
- **Port taken at start:** a notification says so, and the welcome headline never says
  "listening"; screenshots of the welcome dialog and of the event window with its status strip.
- **Relay unreachable:** words in the tooltip only at first; then (the offline delay shortened
  for the test) the grey icon, its text, "Reconnect now" in the menu and one notification;
  screenshots.

Needs the desktop `.ci/run` starts (skips without it unless HOLMTRAY_REQUIRE_DESKTOP=1).
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from holmtray.core.history.places import read_subscription
from tests.e2e.desktop import Browser, Dunst, TrayProc, X, desktop_dunst, wait_until
from tests.e2e.test_desktop import tray_icon_geometry, window_ids
from tests.relaythread import RelayThread, mirror_entries

pytestmark = pytest.mark.desktop

NO_BURST = {"notifications.burst_threshold": 1000, "notifications.max_per_minute": 60}


@pytest.fixture
def dunst() -> Dunst:
    return desktop_dunst()


@pytest.fixture
def browser(tmp_path: Path) -> Browser:
    return Browser.make(tmp_path / "browser")


@pytest.fixture
def procs() -> Iterator[list[TrayProc]]:
    started: list[TrayProc] = []
    yield started
    for proc in started:
        if proc.popen.poll() is None:
            proc.stop()


def screenshot(path: Path) -> None:
    subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=30)
    colours = subprocess.run(
        ["convert", str(path), "-format", "%k", "info:"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert int(colours) > 30, f"{path.name} looks blank"


def zoom_on_tray(shot: Path, geometry: tuple[int, int, int, int], out: Path) -> None:
    """The tray icon from a screenshot, eight times larger (to look at its state)."""
    x, y, w, h = geometry
    subprocess.run(
        ["convert", str(shot), "-crop", f"{w}x{h}+{x}+{y}", "-scale", "800%", str(out)],
        check=True,
        timeout=30,
    )


def mine(dunst: Dunst) -> list[dict[str, Any]]:
    return dunst.received()


# -- sleep ----------------------------------------------------------------------------------


def test_sleep_500_events_arrive_once_each_in_order_with_exactly_one_summary(
    tmp_path: Path, dunst: Dunst, browser: Browser, procs: list[TrayProc], artifacts: Path
) -> None:
    with RelayThread(tmp_path / "relay", proxy=True, **{"relay.ping_interval": 1.0}) as relay:
        earlier = relay.post(range(3))
        app = TrayProc(
            tmp_path / "home",
            browser,
            settings={
                "source.mode": "relay",
                "subscribe.urls": [relay.url],
                "subscribe.token": relay.token,
                "subscribe.read_timeout": 2.0,
                **NO_BURST,
            },
        )
        procs.append(app)
        folder = app.paths.data_dir
        sub = wait_until(lambda: read_subscription(folder), what="the mirror to be recorded")
        mirror = sub.path(folder)
        wait_until(lambda: len(mirror_entries(mirror)) == 3, what="the first load", timeout=60)
        wait_until(lambda: any("(live)" in s for s in app.tray_states()), what="live", timeout=60)
        before = mine(dunst)

        relay.hold()  # asleep: the stream goes silent, new connections hang unanswered
        wait_until(
            lambda: any("line=Reconnecting" in s for s in app.tray_states()),
            what="the tray app to notice the dead stream",
            timeout=60,
        )
        away = relay.post(range(3, 503))
        assert len(away) == 500
        relay.release()  # awake
        wait_until(
            lambda: len(mirror_entries(mirror)) == 503, what="all 500 in the mirror", timeout=180
        )
        summary = wait_until(
            lambda: [n for n in mine(dunst) if n["summary"].startswith("While you were away")],
            what="the summary on dunst",
            timeout=60,
        )
        # Reading dunst's history closed the pop-up: show it again for the screenshot.
        subprocess.run(["dunstctl", "history-pop"], check=True, timeout=10)
        time.sleep(0.5)
        screenshot(artifacts / "desktop_relay_summary.png")
        time.sleep(3)  # anything else it would show comes with the summary, not later
        new = [n for n in mine(dunst) if n not in before]
        relay_entries = relay.entries()

    assert len(summary) == 1
    assert [n["summary"] for n in new] == [summary[0]["summary"]], [n["summary"] for n in new]
    assert summary[0]["summary"].startswith("While you were away: 500 "), summary[0]["summary"]
    stored = mirror_entries(mirror)
    assert [e.id for e in stored] == earlier + away  # once each, in id order
    assert [e.id for e in stored] == [e.id for e in relay_entries]
    assert [e.body for e in stored] == [e.body for e in relay_entries]  # byte-identical
    assert [e.received_at for e in stored] == [e.received_at for e in relay_entries]
    assert app.stop() == 0


# -- port taken at start --------------------------------------------------------------------


def test_port_taken_at_start_is_told_and_the_welcome_never_says_listening(
    tmp_path: Path, dunst: Dunst, browser: Browser, procs: list[TrayProc], artifacts: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        app = TrayProc(
            tmp_path / "home",
            browser,
            welcome=True,
            settings={"listener.host": "127.0.0.1", "listener.port": port},
        )
        procs.append(app)
        told = wait_until(
            lambda: [n for n in mine(dunst) if n["summary"] == "Not receiving events"],
            what="the not-receiving notification",
        )
        assert len(told) == 1
        assert f"port {port} on 127.0.0.1 is already in use" in told[0]["body"]
        app.wait_for(re.compile("welcome headline: holmtray is not receiving events"))
        [welcome] = wait_until(lambda: window_ids("Welcome to holmtray"), what="the welcome")
        dunst.close_all()
        screenshot(artifacts / "desktop_welcome_port_taken.png")

        x, y, w, h = wait_until(tray_icon_geometry, what="the tray icon")
        X.click(x + w // 2, y + h // 2)
        wait_until(lambda: window_ids("holmtray — events"), what="the event window")
        dunst.close_all()
        screenshot(artifacts / "desktop_event_window_port_taken.png")
        assert not any("welcome headline: holmtray is listening" in line for line in app.lines)
        assert len([n for n in mine(dunst) if n["summary"] == "Not receiving events"]) == 1
        assert welcome
    assert app.stop() == 0


# -- relay unreachable ----------------------------------------------------------------------


def test_unreachable_relay_is_a_tooltip_first_then_grey_with_reconnect_now(
    tmp_path: Path, dunst: Dunst, browser: Browser, procs: list[TrayProc], artifacts: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"  # nothing listens there once closed
    app = TrayProc(
        tmp_path / "home",
        browser,
        settings={
            "source.mode": "relay",
            "subscribe.urls": [f"http://{dead}"],
            "subscribe.token": "htr_" + "u" * 43,
        },
        module="tests.e2e.tray_quick_offline",
        env={"HOLMTRAY_TEST_OFFLINE_AFTER_S": "8"},
    )
    procs.append(app)
    first = wait_until(
        lambda: [s for s in app.tray_states() if "line=Reconnecting: connection refused" in s],
        what="the tray to say it is reconnecting",
    )
    assert "offline=False" in first[0]
    assert not [n for n in mine(dunst) if n["summary"] == "Relay unreachable"]
    assert not any("offline=True" in s for s in app.tray_states())
    icon = wait_until(tray_icon_geometry, what="the tray icon")
    screenshot(artifacts / "desktop_relay_reconnecting.png")
    zoom_on_tray(
        artifacts / "desktop_relay_reconnecting.png",
        icon,
        artifacts / "desktop_tray_reconnecting.png",
    )

    offline = wait_until(
        lambda: [s for s in app.tray_states() if "offline=True" in s],
        what="the tray to turn grey",
        timeout=60,
    )
    assert f"line=No connection to {dead} since " in offline[0]
    assert "— events wait there; " in offline[0]
    told = wait_until(
        lambda: [n for n in mine(dunst) if n["summary"] == "Relay unreachable"],
        what="the offline notification",
    )
    assert len(told) == 1
    assert "Events wait on the relay" in told[0]["body"]

    dunst.close_all()
    screenshot(artifacts / "desktop_relay_offline.png")
    zoom_on_tray(
        artifacts / "desktop_relay_offline.png", icon, artifacts / "desktop_tray_offline.png"
    )
    x, y, w, h = icon
    X.click(x + w // 2, y + h // 2, button=3)  # the tray menu
    shown = app.wait_for(re.compile(r"tray menu shown: (.*)$"), timeout=15)
    items = shown.group(1).split(" | ")
    assert items[0].startswith(f"No connection to {dead} since ")
    assert items[1] == "Reconnect now"
    assert "Copy webhook URL" not in items  # no webhook URL here in relay mode
    dunst.close_all()
    screenshot(artifacts / "desktop_relay_offline_menu.png")
    X.key("Escape")
    assert len([n for n in mine(dunst) if n["summary"] == "Relay unreachable"]) == 1
    assert app.stop() == 0
