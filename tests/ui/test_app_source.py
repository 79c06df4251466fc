"""The tray app tells the truth about receiving, in both modes (offscreen, real receiver thread).

Direct mode with the port taken: one notification, the event window's status strip with
*Change port…* and *Retry*, Copy and *Send test event* disabled, a welcome headline that does
not say "listening"; after *Retry* on a free port, one "receiving again". Relay mode against a
real relay on loopback: the window and the GUI's store follow the mirror; a sleep (a proxy that
stops forwarding) ends in one "While you were away" summary and no pop-up per event; an
unreachable relay is a tooltip only, then *Offline* (grey icon, "Reconnect now", the strip, one
notification); a refused token points to Settings. Switching the source through the app's
settings path applies without a restart.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from holmtray.core.alerts.notices import Notice
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.subscribe.source import Live
from holmtray.ui.app import TrayApp
from holmtray.ui.notifier import Notifier
from holmtray.ui.receiver_thread import ReceiverThread
from holmtray.ui.source_status import StripAction
from tests.relaythread import RelayThread

TOKEN = "T0ken-for-app-source-0123456789abcdefgh"
Run = Callable[[Coroutine[Any, Any, None]], None]


async def until(condition: Callable[[], bool], timeout: float = 90) -> None:
    """Poll on the app's loop (a bound for a broken build only; nothing here is timed)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Notice]:
    """Every notice the app hands its notifier, instead of showing it. (Offscreen the notifier
    is Qt's own tray balloon, a process-wide widget that outlives the test's tray icon.)"""
    notices: list[Notice] = []

    async def show(self: Notifier, notice: Notice, *, update: bool = False) -> None:
        notices.append(notice)

    monkeypatch.setattr(Notifier, "show", show)
    return notices


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., TrayApp]]:
    apps: list[TrayApp] = []

    def make(**values: Any) -> TrayApp:
        base: dict[str, Any] = {
            "listener.token": TOKEN,
            "listener.host": "127.0.0.1",
            "listener.port": 0,
            "ui.welcome_shown": True,
        }
        base.update(values)
        app = TrayApp(
            settings=Settings(base),
            paths=Paths.under(tmp_path / "home"),
            quit_event=asyncio.Event(),
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.shutdown()


async def settle(app: TrayApp) -> None:
    """Wait for the app's own tasks (a settings apply, a file save) to finish."""
    await until(lambda: not app._tasks)


def strip_of(app: TrayApp) -> Any:
    assert app.strip is not None
    return app.strip


def high(n: int) -> str:
    return json.dumps({"subject": f"away {n}", "severity": "high"})


# -- direct mode ----------------------------------------------------------------------------


def test_port_taken_is_told_once_everywhere_and_retry_tells_it_resumed(
    make_app: Callable[..., TrayApp], shown: list[Notice], run: Run
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = int(taken.getsockname()[1])
    app = make_app(**{"listener.port": port})

    async def scenario() -> None:
        await app.start()
        strip = strip_of(app)
        assert not strip.isHidden()
        text = strip.text()
        assert text is not None
        assert text.startswith(f"Not receiving: port {port} on 127.0.0.1 is already in use")
        assert [b.text() for b in strip.buttons] == ["Change port…", "Retry"]
        await until(lambda: bool(shown))  # shown from a task of its own
        stops = [n for n in shown if n.summary == "Not receiving events"]
        assert len(stops) == 1
        assert f"port {port}" in stops[0].body
        assert "lost" in stops[0].body  # Holm does not resend
        assert not app.tray.action("Copy webhook URL").isEnabled()
        assert not app.tray.action("Send test event").isEnabled()
        assert app.tray.view.error is not None

        dialog = app.show_welcome()
        assert "listening" not in dialog.heading.text()
        assert dialog.heading.text() == "holmtray is not receiving events"
        assert f"port {port}" in dialog.detail_label.text()
        assert not dialog.copy_button.isEnabled()
        assert not dialog.send_button.isEnabled()
        assert dialog.url_edit.text() == ""

        for _ in range(3):  # the truth refreshed again and again: still one notification
            app._refresh_tray()
        assert len([n for n in shown if n.summary == "Not receiving events"]) == 1

        taken.close()
        strip.button(StripAction.RETRY).click()
        await until(lambda: app.receiver.endpoint is not None)
        await until(strip.isHidden)
        await until(lambda: any(n.summary == "Receiving events again" for n in shown))
        assert app.tray.action("Copy webhook URL").isEnabled()
        assert app.tray.action("Send test event").isEnabled()
        await until(lambda: dialog.heading.text() == "holmtray is listening")
        assert dialog.copy_button.isEnabled()
        assert dialog.send_button.isEnabled()
        assert dialog.url_edit.text().endswith(f":{port}/hooks/{TOKEN}")
        await settle(app)

    try:
        run(scenario())
    finally:
        taken.close()


def test_a_listening_app_raises_no_alarm_and_hides_the_strip(
    make_app: Callable[..., TrayApp], shown: list[Notice], run: Run
) -> None:
    app = make_app()

    async def scenario() -> None:
        await app.start()
        assert strip_of(app).isHidden()
        assert app.receiving.status.receiving
        assert not [n for n in shown if n.replace_key == "holmtray-receiving"]
        dialog = app.show_welcome()
        assert dialog.heading.text() == "holmtray is listening"
        assert dialog.direct_radio.isChecked()
        await settle(app)

    run(scenario())


def test_a_store_that_cannot_commit_is_told_in_the_strip_and_once_until_it_can(
    make_app: Callable[..., TrayApp], shown: list[Notice], run: Run
) -> None:
    app = make_app()

    async def post(url: str) -> int:
        async with aiohttp.ClientSession() as session, session.post(url, json={"s": 1}) as r:
            return r.status

    async def scenario() -> None:
        await app.start()
        url = app.setup.webhook_url()
        assert url is not None
        assert await post(url) == 200
        data = app.paths.data_dir
        shutil.rmtree(data)
        data.write_text("in the way")  # the database cannot be made again until this goes
        assert await post(url) == 503
        await until(lambda: not strip_of(app).isHidden())
        text = strip_of(app).text() or ""
        assert text.startswith("Not receiving: cannot store events: ")
        assert "webhooks are refused" in text.lower()

        def told() -> list[str]:
            return [n.summary for n in shown if n.replace_key == "holmtray-receiving"]

        await until(lambda: bool(told()))
        assert told() == ["Not receiving events"]
        assert app.tray.action("Copy webhook URL").isEnabled()  # the URL itself is right
        assert not app.tray.action("Send test event").isEnabled()  # a test would be refused

        data.unlink()  # fixed: the writer's probe notices within seconds
        await until(lambda: strip_of(app).isHidden())
        await until(lambda: len(told()) == 2)
        assert told() == ["Not receiving events", "Receiving events again"]
        assert await post(url) == 200

    run(scenario())


# -- relay mode -----------------------------------------------------------------------------


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[RelayThread]:
    with RelayThread(tmp_path / "relay", proxy=True, **{"relay.ping_interval": 1.0}) as r:
        yield r


def relay_values(relay: RelayThread, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "source.mode": "relay",
        "subscribe.urls": [relay.url],
        "subscribe.token": relay.token,
        "subscribe.read_timeout": 2.0,
    }
    values.update(extra)
    return values


def test_relay_mode_follows_the_mirror_and_a_sleep_ends_in_one_summary(
    make_app: Callable[..., TrayApp], shown: list[Notice], relay: RelayThread, run: Run
) -> None:
    relay.post(range(20))
    app = make_app(**relay_values(relay))

    async def scenario() -> None:
        await app.start()
        await until(lambda: isinstance(app.receiver.state, Live))
        await until(lambda: app.window is not None and app.window.model.match_count() == 20)
        window = app.window  # on the mirror now (a placeholder before the relay named itself)
        assert app.store is not None
        assert app.store.path == app.receiver.database
        assert app.store.path.name.startswith("relay-")
        assert app.tray.view.line == f"Subscribed to {relay.url.split('//')[1]} (live)"
        assert not app.tray.action("Copy webhook URL").isVisible()
        assert not app.tray.action("Reconnect now").isVisible()
        assert strip_of(app).isHidden()
        before = len(shown)

        relay.hold()  # the laptop sleeps: the stream goes silent, new connections hang
        await until(lambda: not isinstance(app.receiver.state, Live))
        away = relay.post_bodies([high(n) for n in range(30)])
        relay.release()
        await until(lambda: isinstance(app.receiver.state, Live))
        await until(lambda: app.window is not None and app.window.model.match_count() == 50)
        await until(lambda: len(shown) > before)
        await asyncio.sleep(1.5)  # a summary has its own pace: give a stray pop-up its chance
        new = shown[before:]
        assert len(new) == 1, [n.summary for n in new]
        assert new[0].summary.startswith("While you were away: 30 "), new[0].summary
        assert all(n.event_id is None for n in new)
        assert app.window is window  # the same mirror: the window stayed
        assert strip_of(app).isHidden()  # a brief drop raised no alarm
        assert max(away) == 50
        assert app.received == 50

    run(scenario())


def test_unreachable_relay_is_a_tooltip_first_then_offline_with_reconnect_now(
    make_app: Callable[..., TrayApp],
    shown: list[Notice],
    monkeypatch: pytest.MonkeyPatch,
    run: Run,
) -> None:
    monkeypatch.setattr(ReceiverThread, "OFFLINE_AFTER_S", 3.0)
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    app = make_app(
        **{"source.mode": "relay", "subscribe.urls": [dead], "subscribe.token": "htr_" + "x" * 43}
    )

    async def scenario() -> None:
        await app.start()
        await until(lambda: "connection refused" in (app.tray.view.line or ""))
        # Reconnecting: words in the tooltip, nothing else.
        assert app.tray.view.line is not None
        assert app.tray.view.line.startswith("Reconnecting: connection refused by 127.0.0.1:")
        assert not app.tray.view.offline
        assert not app.tray.action("Reconnect now").isVisible()
        assert strip_of(app).isHidden()
        assert not [n for n in shown if n.replace_key == "holmtray-receiving"]

        await until(lambda: app.tray.view.offline)
        await until(lambda: bool(shown))
        line = app.tray.view.line or ""
        assert line.startswith(f"No connection to {dead.split('//')[1]} since ")
        assert "— events wait there; " in line
        assert "next try in " in line or "trying now" in line
        assert line in app.tray.icon.toolTip()
        reconnect = app.tray.action("Reconnect now")
        assert reconnect.isVisible()
        assert reconnect.isEnabled()
        strip = strip_of(app)
        assert not strip.isHidden()
        assert (strip.text() or "").startswith("Offline since ")
        assert [b.text() for b in strip.buttons] == ["Reconnect now"]
        told = [n for n in shown if n.replace_key == "holmtray-receiving"]
        assert [n.summary for n in told] == ["Relay unreachable"]
        assert "Events wait on the relay" in told[0].body

        connects = app.receiver.state
        reconnect.trigger()  # tries at once; still unreachable, still offline, told once
        await asyncio.sleep(0.5)
        assert app.tray.view.offline
        assert connects is not None
        assert len([n for n in shown if n.replace_key == "holmtray-receiving"]) == 1

    run(scenario())


def test_a_refused_read_token_points_to_settings(
    make_app: Callable[..., TrayApp], shown: list[Notice], relay: RelayThread, run: Run
) -> None:
    app = make_app(**relay_values(relay, **{"subscribe.token": "htr_" + "n" * 43}))

    async def scenario() -> None:
        await app.start()
        await until(lambda: not strip_of(app).isHidden())
        await until(lambda: bool(shown))
        strip = strip_of(app)
        assert "refused the read token" in (strip.text() or "")
        assert [b.text() for b in strip.buttons] == ["Settings…"]
        assert app.tray.view.error is not None
        assert "Settings → General → Source" in (app.tray.view.line or "")
        assert [n.summary for n in shown if n.replace_key == "holmtray-receiving"] == [
            "Relay rejected the read token"
        ]
        assert "htr_nnnn" not in (strip.text() or "") + (app.tray.view.line or "")

    run(scenario())


def test_switching_the_source_in_settings_moves_window_and_store_without_a_restart(
    make_app: Callable[..., TrayApp], relay: RelayThread, run: Run
) -> None:
    relay.post(range(7))
    app = make_app()

    async def scenario() -> None:
        await app.start()
        direct_db = app.store.path if app.store else None
        assert direct_db == app.paths.database
        assert app.receiver.endpoint is not None
        first = app.window

        problems: list[str | None] = []
        app.apply_settings(app.settings.with_values(relay_values(relay)), problems.append)
        await until(lambda: problems == [None])
        await until(lambda: app.window is not None and app.window.model.match_count() == 7)
        assert app.window is not first
        assert app.store is not None
        assert app.store.path.name.startswith("relay-")
        assert app.receiver.endpoint is None
        assert app.settings.text("source.mode") == "relay"

        app.apply_settings(app.settings.with_values({"source.mode": "direct"}), problems.append)
        await until(lambda: problems == [None, None])
        await until(lambda: app.store is not None and app.store.path == direct_db)
        assert app.receiver.endpoint is not None
        assert app.window is not None
        assert app.window.model.match_count() == 0

    run(scenario())


def test_welcome_tests_a_relay_in_words_and_subscribes_to_it(
    make_app: Callable[..., TrayApp], relay: RelayThread, run: Run
) -> None:
    relay.post(range(3))
    app = make_app()

    async def scenario() -> None:
        await app.start()
        dialog = app.show_welcome()
        dialog.relay_radio.setChecked(True)
        page = dialog.relay_page
        page.url_edit.setText(relay.url)
        page.token_edit.setText("htr_" + "w" * 43)
        page.test_button.click()
        await until(page.test_button.isEnabled)
        assert "refused the read token" in page.result_label.text()
        assert "htr_wwww" not in page.result_label.text()

        page.token_edit.setText(relay.token)
        page.test_button.click()
        await until(page.test_button.isEnabled)
        assert page.result_label.text().startswith(f"Connected to {relay.url.split('//')[1]}: ")
        assert "3 events kept" in page.result_label.text()
        assert "{" not in page.result_label.text()  # words, not JSON

        page.subscribe_button.click()
        await until(page.subscribe_button.isEnabled)
        assert page.result_label.text().startswith("Subscribed to ")
        await until(lambda: isinstance(app.receiver.state, Live))
        assert app.settings.text("source.mode") == "relay"
        await until(lambda: dialog.heading.text().startswith("holmtray is subscribed to "))
        assert not dialog.switch_row.isHidden()
        assert dialog.url_row.isHidden()
        await settle(app)

    run(scenario())
