"""The receiver thread in relay mode, against a real relay on loopback.

``source.mode = relay``: no port is bound; the relay client's mirror is the database the GUI
reads and its writer the one the GUI's writes go to; what it stores reaches the GUI in one
ordered buffer in which the backfill comes flagged, before the relay's *Live*, and live events
after it. Switching ``source.mode`` applies without a restart, both ways.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.history.database import StoreUnavailable
from holmtray.core.history.store import Store
from holmtray.core.history.writer import GroupCommitWriter
from holmtray.core.ingest.endpoint import RUNTIME_FILE
from holmtray.core.subscribe.source import Live
from holmtray.ui.deliveries import DatabaseSwitch, Delivery, Entry, RelayStateChange
from holmtray.ui.receiver_thread import ReceiverThread
from tests.relaythread import RelayThread, mirror_entries

WAIT_MS = 60_000  # a bound for a broken build only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def relay_settings(relay: RelayThread, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "source.mode": "relay",
        "subscribe.urls": [relay.url],
        "subscribe.token": relay.token,
        "listener.token": "T0ken-for-receiver-relay-0123456789abcdef",
        "listener.host": "127.0.0.1",
        "listener.port": free_port(),
    }
    values.update(extra)
    return Settings(values)


class Collector:
    """Everything the receiver thread hands the GUI, in order (taken whenever asked)."""

    def __init__(self, receiver: ReceiverThread) -> None:
        self.entries: list[Entry] = []
        self._receiver = receiver

    def take(self) -> None:
        self.entries.extend(self._receiver.take())

    def ids(self, *, backfill: bool | None = None) -> list[int]:
        self.take()
        return [
            e.id
            for entry in self.entries
            if isinstance(entry, Delivery) and (backfill is None or entry.backfill == backfill)
            for e in entry.events
        ]

    def position(self, want: type) -> list[int]:
        return [i for i, e in enumerate(self.entries) if isinstance(e, want)]


@pytest.fixture
def relay(tmp_path: Path) -> Any:
    with RelayThread(tmp_path / "relay", **{"relay.ping_interval": 1.0}) as r:
        yield r


def test_relay_mode_binds_no_port_and_hands_over_backfill_then_live_in_order(
    qtbot: QtBot, tmp_path: Path, relay: RelayThread
) -> None:
    backlog = relay.post(range(40))
    paths = Paths.under(tmp_path / "tray")
    settings = relay_settings(relay)
    receiver = ReceiverThread(settings=settings, paths=paths)
    got = Collector(receiver)
    try:
        assert receiver.start().result(30) is None  # no endpoint: nothing listens
        qtbot.waitUntil(lambda: isinstance(receiver.state, Live), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: got.ids() == backlog, timeout=WAIT_MS)
        live = relay.post(range(40, 45))
        qtbot.waitUntil(lambda: got.ids() == backlog + live, timeout=WAIT_MS)

        assert receiver.mode == "relay"
        assert receiver.endpoint is None
        assert receiver.error is None
        assert port_is_free(settings.integer("listener.port"))
        assert not (paths.data_dir / RUNTIME_FILE).exists()
        mirror = receiver.database
        assert mirror is not None
        assert mirror.name.startswith("relay-")
        assert [e.id for e in mirror_entries(mirror)] == backlog + live
    finally:
        receiver.stop()
    got.take()

    assert got.ids(backfill=True) == backlog
    assert got.ids(backfill=False) == live
    # The GUI learns of the mirror before its first event, and of "live" after the backfill.
    switches = [e for e in got.entries if isinstance(e, DatabaseSwitch)]
    assert switches[-1].path == mirror
    assert switches[-1].relay
    assert switches[-1].fresh  # a first load
    first_delivery = got.position(Delivery)[0]
    assert got.entries.index(switches[-1]) < first_delivery
    live_at = next(
        i
        for i, e in enumerate(got.entries)
        if isinstance(e, RelayStateChange) and isinstance(e.state, Live)
    )
    for i, entry in enumerate(got.entries):
        if isinstance(entry, Delivery):
            assert entry.backfill == (i < live_at), (i, live_at, entry.backfill)


def test_the_guis_writes_go_to_the_mirror_and_a_write_for_another_database_is_refused(
    qtbot: QtBot, tmp_path: Path, relay: RelayThread
) -> None:
    ids = relay.post(range(3))
    paths = Paths.under(tmp_path / "tray")
    receiver = ReceiverThread(settings=relay_settings(relay), paths=paths)
    got = Collector(receiver)

    async def mark_read(writer: GroupCommitWriter) -> int:
        return await writer.set_read(ids[:2], True)

    try:
        receiver.start().result(30)
        qtbot.waitUntil(lambda: got.ids() == ids, timeout=WAIT_MS)
        mirror = receiver.database
        assert mirror is not None
        assert receiver.write(mark_read, database=mirror).result(30) == 2
        with pytest.raises(StoreUnavailable, match="event list has changed"):
            receiver.write(mark_read, database=tmp_path / "elsewhere.db").result(30)
    finally:
        receiver.stop()
    with Store.open(mirror, readonly=True, check=False) as store:
        assert [s.read for s in (store.get(i) for i in ids) if s is not None] == [True, True, False]


def test_switching_the_source_applies_without_a_restart_both_ways(
    qtbot: QtBot, tmp_path: Path, relay: RelayThread
) -> None:
    ids = relay.post(range(5))
    paths = Paths.under(tmp_path / "tray")
    relay_mode = relay_settings(relay)
    direct = relay_mode.with_values({"source.mode": "direct"})
    receiver = ReceiverThread(settings=direct, paths=paths)
    got = Collector(receiver)
    try:
        endpoint = receiver.start().result(30)
        assert endpoint is not None
        assert receiver.mode == "direct"
        assert receiver.database == paths.database
        assert not port_is_free(endpoint.port)

        assert receiver.apply_settings(relay_mode).result(30) is None
        assert receiver.mode == "relay"
        assert receiver.endpoint is None
        assert port_is_free(endpoint.port)  # the listener let go of its port
        qtbot.waitUntil(lambda: got.ids() == ids, timeout=WAIT_MS)
        mirror = receiver.database
        assert mirror is not None
        assert mirror != paths.database

        back = receiver.apply_settings(direct).result(30)
        assert back is not None
        assert receiver.mode == "direct"
        assert receiver.state is None
        assert receiver.database == paths.database
        got.take()
        switches = [e.path for e in got.entries if isinstance(e, DatabaseSwitch)]
        assert switches[0] == paths.database
        assert mirror in switches
        assert switches[-1] == paths.database
    finally:
        receiver.stop()


def test_a_switch_to_a_taken_port_keeps_the_relay_running_and_says_why(
    qtbot: QtBot, tmp_path: Path, relay: RelayThread
) -> None:
    relay.post(range(2))
    paths = Paths.under(tmp_path / "tray")
    relay_mode = relay_settings(relay)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        receiver = ReceiverThread(settings=relay_mode, paths=paths)
        try:
            receiver.start().result(30)
            qtbot.waitUntil(lambda: isinstance(receiver.state, Live), timeout=WAIT_MS)
            direct = relay_mode.with_values({"source.mode": "direct", "listener.port": port})
            with pytest.raises(Exception, match="already in use"):
                receiver.apply_settings(direct).result(30)
            assert receiver.mode == "relay"  # the relay subscription is back
            qtbot.waitUntil(lambda: isinstance(receiver.state, Live), timeout=WAIT_MS)
            assert receiver.error is None
        finally:
            receiver.stop()
