"""Whether events are received, in words: each source state's line, headline and alarm, and the
stop/resume notifications (pure, no Qt)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from holmtray.core.alerts.notices import Urgency
from holmtray.core.subscribe.source import (
    AuthFailed,
    CatchingUp,
    Live,
    Offline,
    Reconnecting,
    RelayDegraded,
)
from holmtray.ui.source_status import (
    Look,
    ReceivingWatch,
    SourceFacts,
    StripAction,
    clock_time,
    source_status,
    wait_words,
)

NOW = datetime(2026, 11, 29, 9, 40, tzinfo=UTC)
URL = "http://127.0.0.1:8747/hooks/<token>"
HOST = "hooks.example.org"
IN_USE = "port 8747 on 127.0.0.1 is already in use (another holmtray or another program)"


def relay(state: object, **extra: object) -> SourceFacts:
    return SourceFacts(mode="relay", relay_state=state, relay_host=HOST, **extra)  # type: ignore[arg-type]


def test_listening_is_receiving_with_a_url_and_no_alarm() -> None:
    s = source_status(SourceFacts(mode="direct", address=URL), NOW)
    assert s.line == f"Listening on {URL}"
    assert s.headline == "holmtray is listening"
    assert s.receiving
    assert s.has_url
    assert s.can_test
    assert s.alarm is None
    assert s.look is Look.OK


def test_a_taken_port_is_an_alarm_with_change_port_and_retry_and_no_url() -> None:
    s = source_status(SourceFacts(mode="direct", listener_error=IN_USE), NOW)
    assert s.line == f"Not receiving: {IN_USE}"
    assert "listening" not in s.headline
    assert not s.receiving
    assert not s.has_url
    assert not s.can_test
    assert s.look is Look.ERROR
    assert s.alarm is not None
    assert s.alarm.strip == f"Not receiving: {IN_USE}"
    assert s.alarm.actions == (StripAction.CHANGE_PORT, StripAction.RETRY)
    assert s.alarm.urgency is Urgency.CRITICAL
    assert "lost" in s.alarm.body


def test_another_listener_problem_offers_settings_not_change_port() -> None:
    s = source_status(
        SourceFacts(mode="direct", listener_error="cannot serve HTTPS: no such file"), NOW
    )
    assert s.alarm is not None
    assert s.alarm.actions == (StripAction.SETTINGS, StripAction.RETRY)


def test_a_store_that_cannot_commit_is_an_alarm_while_the_url_stays() -> None:
    why = "cannot store events: the disk is full"
    s = source_status(SourceFacts(mode="direct", address=URL, store_error=why), NOW)
    assert s.line == f"Not receiving: {why}"
    assert s.headline == "holmtray cannot store events"
    assert s.has_url
    assert not s.can_test
    assert s.alarm is not None
    assert s.alarm.kind == "store"
    assert s.alarm.strip.startswith(f"Not receiving: {why}")


def test_starting_is_neither_listening_nor_an_alarm() -> None:
    s = source_status(SourceFacts(mode="direct"), NOW)
    assert s.line == "Starting…"
    assert "listening" not in s.headline
    assert s.alarm is None
    assert not s.receiving


def test_relay_live_and_catching_up() -> None:
    live = source_status(relay(Live()), NOW)
    assert live.line == f"Subscribed to {HOST} (live)"
    assert live.headline == f"holmtray is subscribed to {HOST}"
    assert live.receiving
    assert live.alarm is None
    assert not live.has_url
    catching = source_status(relay(CatchingUp(212)), NOW)
    assert catching.line == f"Fetching 212 missed events from {HOST}…"
    assert catching.receiving
    assert catching.alarm is None
    assert source_status(relay(CatchingUp(None)), NOW).line.startswith("Fetching missed events")


def test_a_brief_drop_is_words_only_no_alarm_no_grey() -> None:
    s = source_status(relay(Reconnecting(NOW, "connection refused by hooks.example.org")), NOW)
    assert s.line == "Reconnecting: connection refused by hooks.example.org"
    assert s.alarm is None
    assert s.look is Look.OK
    assert not s.reconnect
    assert source_status(relay(Reconnecting(NOW, "")), NOW).line == f"Connecting to {HOST}…"


def test_offline_says_since_when_that_events_wait_and_when_it_tries_next() -> None:
    since = datetime(2026, 11, 29, 9, 12).astimezone()
    s = source_status(relay(Offline(since, NOW + timedelta(seconds=40), "no route")), NOW)
    assert s.line == (f"No connection to {HOST} since 09:12 — events wait there; next try in 40 s")
    assert s.look is Look.OFFLINE
    assert s.reconnect
    assert s.alarm is not None
    assert s.alarm.kind == "offline"
    assert s.alarm.actions == (StripAction.RECONNECT,)
    assert s.alarm.strip == (
        "Offline since 09:12: no connection to hooks.example.org (no route). "
        "Events wait on the relay; next try in 40 s."
    )
    assert s.alarm.urgency is Urgency.NORMAL  # the events wait on the relay
    trying = source_status(relay(Offline(since, NOW - timedelta(seconds=1))), NOW)
    assert trying.line.endswith("events wait there; trying now")


def test_a_refused_token_points_to_settings() -> None:
    s = source_status(relay(AuthFailed("the relay refused the read token (HTTP 401)")), NOW)
    assert s.line == (
        f"Not receiving: {HOST} rejected the read token — see Settings → General → Source"
    )
    assert s.look is Look.ERROR
    assert s.alarm is not None
    assert s.alarm.actions == (StripAction.SETTINGS,)
    assert "Settings → General → Source" in s.alarm.body


def test_a_relay_that_cannot_store_is_grey_and_told() -> None:
    s = source_status(relay(RelayDegraded("cannot store events: the disk is full")), NOW)
    assert s.look is Look.OFFLINE
    assert s.alarm is not None
    assert s.alarm.title == "Relay cannot store events"
    assert s.alarm.urgency is Urgency.CRITICAL  # webhooks are being lost there


def test_relay_settings_that_cannot_work_are_an_alarm_at_once() -> None:
    s = source_status(
        relay(Reconnecting(NOW, ""), relay_problem="no relay address is set (subscribe.urls)"),
        NOW,
    )
    assert s.alarm is not None
    assert s.alarm.kind == "config"
    assert s.alarm.actions == (StripAction.SETTINGS,)


@pytest.mark.parametrize(
    ("seconds", "words"), [(0.2, "now"), (1, "in 1 s"), (39.2, "in 40 s"), (150, "in 3 min")]
)
def test_wait_words(seconds: float, words: str) -> None:
    assert wait_words(NOW + timedelta(seconds=seconds), NOW) == words


def test_clock_time_names_the_day_when_not_today() -> None:
    today = datetime(2026, 11, 29, 9, 12).astimezone()
    assert clock_time(today, today + timedelta(minutes=5)) == "09:12"
    assert clock_time(today - timedelta(days=1), today) == "28 Nov 09:12"


def test_watch_tells_a_stop_once_and_a_resume_once() -> None:
    watch = ReceivingWatch()
    ok = source_status(SourceFacts(mode="direct", address=URL), NOW)
    down = source_status(SourceFacts(mode="direct", listener_error=IN_USE), NOW)
    assert watch.update(ok) is None
    stop = watch.update(down)
    assert stop is not None
    assert stop.summary == "Not receiving events"
    assert stop.replace_key == "holmtray-receiving"
    assert watch.update(down) is None
    other_port = SourceFacts(mode="direct", listener_error=IN_USE.replace("8747", "8748"))
    assert watch.update(source_status(other_port, NOW)) is None  # same kind: not again
    resumed = watch.update(ok)
    assert resumed is not None
    assert resumed.summary == "Receiving events again"
    assert resumed.replace_key == stop.replace_key
    assert watch.update(ok) is None


def test_watch_is_silent_on_brief_drops_and_tells_offline_then_the_way_back() -> None:
    watch = ReceivingWatch()
    since = NOW - timedelta(minutes=3)
    steps = [
        relay(Live()),
        relay(Reconnecting(NOW, "timeout")),
        relay(CatchingUp(3)),
        relay(Live()),
        relay(Reconnecting(since, "timeout")),
        relay(Offline(since, NOW, "timeout")),
        relay(Offline(since, NOW + timedelta(seconds=30), "timeout")),
        relay(AuthFailed("refused")),
        relay(CatchingUp(12)),
        relay(Live()),
    ]
    told = [n.summary for n in (watch.update(source_status(f, NOW)) for f in steps) if n]
    assert told == ["Relay unreachable", "Relay rejected the read token", "Receiving events again"]


def test_an_alarm_at_start_is_told() -> None:
    watch = ReceivingWatch()
    notice = watch.update(source_status(SourceFacts(mode="direct", listener_error=IN_USE), NOW))
    assert notice is not None
    assert IN_USE in notice.body
