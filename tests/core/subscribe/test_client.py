"""RelayClient against a relay over loopback HTTP(S), storing into real SQLite mirrors.

The relay is tests/relaytools.TestRelay (protocol-faithful); what the tests check is read
through the protocol's own terms: the relay's ids and bodies from its database, the mirror's
rows and cursor from the mirror file, and what the client told its owner.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from holmtray.core.history.places import read_subscription
from holmtray.core.history.store import Store
from holmtray.core.subscribe.client import RESET_NOTICE, gap_notice
from holmtray.core.subscribe.relayconn import RelayConfigError, RelayTarget
from holmtray.core.subscribe.source import (
    AuthFailed,
    CatchingUp,
    Live,
    Offline,
    Reconnecting,
    RelayDegraded,
)
from tests.core.ingest.test_listener_hardening import Pki, pki  # noqa: F401 - a fixture
from tests.core.subscribe.subscribing import (
    Owner,
    make_client,
    mirror_cursor,
    mirror_rows,
    running,
    serve_https_relay,
    serve_relay,
    settings_for,
    until,
)
from tests.relaystub import OTHER_TOKEN, TOKEN, BlackHoleProxy, TestRelay

relay_fixture = pytest.fixture(name="relay")(serve_relay)
https_relay_fixture = pytest.fixture(name="https_relay")(serve_https_relay)


@pytest.fixture
async def proxy(relay: TestRelay) -> AsyncIterator[BlackHoleProxy]:
    p = BlackHoleProxy(relay.port)
    await p.start()
    yield p
    await p.close()


def database(owner: Owner) -> Path:
    paths = owner.of("database")
    assert paths, "the client never chose a mirror"
    return Path(paths[-1])


def relay_rows(relay: TestRelay) -> list[tuple[int, str]]:
    return [(e.id, e.body) for e in relay.all_entries()]


def assert_one_backfill_then_live(owner: Owner, since: int, ids: list[int]) -> None:
    """After log index ``since``: ``ids`` reported once each, in order, all as backfill, all
    before the final LIVE, with only CATCHING_UP states among them."""
    log = owner.log[since:]
    live_at = max(i for i, (k, v) in enumerate(log) if k == "state" and isinstance(v, Live))
    reported = [(i, v) for i, (k, v) in enumerate(log) if k == "events"]
    assert [n for _, (got, _) in reported for n in got] == ids
    assert all(backfill for _, (_, backfill) in reported)
    first, last = reported[0][0], reported[-1][0]
    assert last < live_at
    between = [v for k, v in log[first:live_at] if k == "state"]
    assert all(isinstance(s, CatchingUp) for s in between), between


# ---- the basics -----------------------------------------------------------------------------


async def test_first_subscribe_loads_everything_then_streams_live(
    relay: TestRelay, tmp_path: Path
) -> None:
    relay.add(50)
    owner = Owner()
    data = tmp_path / "data"
    async with running(make_client(settings_for(relay.url), data, owner)):
        await until(owner.live, "live")
        assert owner.event_ids() == list(range(1, 51))
        assert all(backfill for _, backfill in owner.of("events"))
        relay.add(5)
        await until(lambda: len(owner.event_ids()) == 55, "live events")
        assert owner.event_ids()[50:] == [51, 52, 53, 54, 55]
        live_at = owner.log.index(("state", Live()))
        assert {v[1] for k, v in owner.log[:live_at] if k == "events"} == {True}
        assert {v[1] for k, v in owner.log[live_at:] if k == "events"} == {False}
        assert owner.of("notice") == []  # a first load missed nothing
    db = database(owner)
    relay_id = relay.store.log.relay_id()
    assert db == data / f"relay-{relay_id[:8]}.db"
    assert mirror_rows(db) == relay_rows(relay)  # the relay's ids, bodies byte for byte
    assert mirror_cursor(db, relay_id) == 55
    assert read_subscription(data) is not None
    assert json.loads((data / "subscription.json").read_text()) == {
        "url": relay.url,
        "relay_id": relay_id,
        "database": db.name,
    }


async def test_a_backfill_of_thousands_is_stored_in_a_few_large_batches(
    relay: TestRelay, tmp_path: Path
) -> None:
    for _ in range(6):
        relay.add(500)
    owner = Owner()
    async with running(make_client(settings_for(relay.url), tmp_path / "data", owner)):
        await until(owner.live, "live")
    batches = [len(ids) for ids, _ in owner.of("events")]
    assert sum(batches) == 3000
    assert max(batches) <= 500
    assert len(batches) <= 60  # whatever was buffered, together: not one commit per event


async def test_restart_resumes_from_the_mirrors_cursor(relay: TestRelay, tmp_path: Path) -> None:
    relay.add(30)
    data = tmp_path / "data"
    first = Owner()
    client = make_client(settings_for(relay.url), data, first)
    await client.start()
    await until(first.live, "live")
    await client.stop()
    relay.add(20)
    second = Owner()
    async with running(make_client(settings_for(relay.url), data, second)) as client:
        await until(second.live, "live again")
        assert second.event_ids() == list(range(31, 51))
        # It asked for exactly what it missed, by header and by query.
        asked = relay.requests[-1]
        assert asked["Last-Event-ID"] == "30"
        assert asked["?after"] == "30"
    assert [i for i, _ in mirror_rows(database(second))] == list(range(1, 51))


# ---- sleep ----------------------------------------------------------------------------------


async def test_sleep_behind_a_dead_connection_backfills_all_500_once_then_live(
    relay: TestRelay, proxy: BlackHoleProxy, tmp_path: Path
) -> None:
    relay.add(20)
    owner = Owner()
    async with running(
        make_client(
            settings_for(proxy.url, **{"subscribe.read_timeout": 2.0}), tmp_path / "data", owner
        )
    ) as client:
        await until(owner.live, "live")
        since, connects = len(owner.log), client.connects
        proxy.hold()  # the laptop sleeps: the connection is dead, and nobody says so
        ids = [i for _ in range(5) for i in relay.add(100)]
        await until(lambda: isinstance(owner.state, Reconnecting), "the read deadline")
        proxy.release()  # awake, on a network again
        await until(lambda: owner.live() and len(owner.event_ids()) == 520, "the backfill")
        assert_one_backfill_then_live(owner, since, ids)
        assert client.connects == connects + 1  # one stream brought them all
    assert mirror_rows(database(owner)) == relay_rows(relay)


async def test_a_wake_is_caught_by_the_wall_clock_before_any_deadline(
    relay: TestRelay, proxy: BlackHoleProxy, tmp_path: Path
) -> None:
    offset = [0.0]
    relay.add(10)
    owner = Owner()
    async with running(
        make_client(
            settings_for(proxy.url, **{"subscribe.read_timeout": 600.0}),
            tmp_path / "data",
            owner,
            wall=lambda: time.time() + offset[0],
            wake_tick_s=0.05,
        )
    ) as client:
        await until(owner.live, "live")
        since, connects = len(owner.log), client.connects
        proxy.hold()
        ids = relay.add(500)
        proxy.release()  # the old connection stays a black hole, as after a real sleep
        offset[0] += 3600  # an hour asleep: only the wall clock moved
        await until(lambda: owner.live() and len(owner.event_ids()) == 510, "resume on wake")
        assert_one_backfill_then_live(owner, since, ids)
        assert client.connects == connects + 1
    assert mirror_rows(database(owner)) == relay_rows(relay)


# ---- the hand-over from backfill to live ---------------------------------------------------


@pytest.mark.slow
async def test_subscribing_during_2000_events_at_200_per_second_misses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    relay = TestRelay(tmp_path / "relay" / "events.db", page_size=50)
    await relay.start()
    owner = Owner()
    client = make_client(settings_for(relay.url), tmp_path / "data", owner)

    async def produce() -> None:
        for _ in range(200):
            relay.add(10)
            await asyncio.sleep(0.05)

    producer = asyncio.create_task(produce())
    try:
        await until(lambda: relay.store.log.bounds()[1] >= 300, "a backlog")
        await client.start()  # empty mirror: after=0, while events keep coming
        await producer
        await until(lambda: len(owner.event_ids()) >= 2000 and owner.live(), "all 2000")
        await asyncio.sleep(0.2)  # anything extra would show now
        reported = owner.event_ids()
        assert reported == list(range(1, 2001))  # each once, ascending
        rows = mirror_rows(database(owner))
        assert [i for i, _ in rows] == [e.id for e in relay.all_entries()]
        assert rows == relay_rows(relay)
    finally:
        producer.cancel()
        await client.stop()
        await relay.stop()
        relay.close()


# ---- relay restarts -------------------------------------------------------------------------


@pytest.mark.slow
async def test_relay_restart_100_clients_resume_without_loss_spread_by_jitter(
    relay: TestRelay, tmp_path: Path
) -> None:
    relay.add(20)
    owners = [Owner() for _ in range(100)]
    clients = [
        make_client(
            settings_for(relay.url),
            tmp_path / f"c{i}",
            owner,
            rng=random.Random(i).random,
        )
        for i, owner in enumerate(owners)
    ]
    for c in clients:
        await c.start()
    try:
        await until(lambda: all(o.live() for o in owners), "100 live", timeout=120)
        port, mark = relay.port, len(relay.connects)
        await relay.stop()  # bye shutdown to every stream
        relay.add(30)  # kept while it restarts
        await relay.start(port)
        relay.add(10)
        await until(
            lambda: all(o.live() and len(o.event_ids()) == 60 for o in owners),
            "100 clients caught up",
            timeout=180,
        )
        again = relay.connects[mark:]
        assert len(again) >= 100
        assert max(again) - min(again) > 1.0  # not a thundering herd
    finally:
        for c in clients:
            await c.stop()
    expected = relay_rows(relay)
    for owner in owners:
        assert owner.event_ids() == list(range(1, 61))
        assert mirror_rows(database(owner)) == expected


async def test_bye_slow_resumes_by_id_without_loss(relay: TestRelay, tmp_path: Path) -> None:
    relay.queue_size = 5  # a stream more than 5 events behind is cut
    owner = Owner()
    async with running(make_client(settings_for(relay.url), tmp_path / "data", owner)) as client:
        await until(owner.live, "live")
        relay.add(40)  # one commit of 40: more than the queue holds
        await until(lambda: len(owner.event_ids()) == 40 and owner.live(), "resumed")
        assert client.connects == 2
        assert owner.event_ids() == list(range(1, 41))


async def test_a_ping_past_what_the_stream_brought_makes_it_reconnect(
    relay: TestRelay, tmp_path: Path
) -> None:
    relay.add(5)
    owner = Owner()
    async with running(make_client(settings_for(relay.url), tmp_path / "data", owner)) as client:
        await until(owner.live, "live")
        relay.skip_ids = {10}  # event 10 goes missing on the way, once
        relay.add(5)
        await until(lambda: owner.event_ids()[-1:] == [10], "the lost event fetched again")
        assert client.connects == 2
        assert owner.event_ids() == list(range(1, 11))


# ---- gaps and resets ------------------------------------------------------------------------


async def test_retention_gap_delivers_what_is_left_and_says_once_how_many_expired(
    relay: TestRelay, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    relay.add(10)
    owner = Owner()
    client = make_client(settings_for(relay.url), data, owner)
    await client.start()
    await until(owner.live, "live")
    await client.stop()
    relay.add(300)  # missed while away ...
    relay.retain(100)  # ... and only the newest 100 kept
    owner = Owner()
    async with running(make_client(settings_for(relay.url), data, owner)) as client:
        await until(owner.live, "live after the gap")
        assert owner.event_ids() == list(range(211, 311))
        assert owner.of("notice") == [gap_notice(200)]
        assert "200 events expired" in owner.of("notice")[0]
        client.reconnect_now()
        await until(lambda: client.connects == 2 and owner.live(), "reconnected")
        assert len(owner.of("notice")) == 1
    assert [i for i, _ in mirror_rows(database(owner))] == [*range(1, 11), *range(211, 311)]


@pytest.mark.parametrize("new_events", [5, 30], ids=["behind-the-cursor-409", "past-the-cursor"])
async def test_a_reset_relay_gets_a_new_mirror_and_one_notice_and_the_old_is_untouched(
    relay: TestRelay, tmp_path: Path, new_events: int
) -> None:
    data = tmp_path / "data"
    relay.add(10)
    owner = Owner()
    async with running(make_client(settings_for(relay.url), data, owner)):
        await until(owner.live, "live")
        old_db, old_id = database(owner), relay.store.log.relay_id()
        old_rows = mirror_rows(old_db)
        relay.reset(tmp_path / "relay" / "reinstalled.db")  # cuts the stream too
        relay.add(new_events)
        await until(lambda: len(owner.of("database")) == 2 and owner.live(), "the new mirror")
        await until(lambda: len(owner.event_ids()) == 10 + new_events, "the new events")
        new_db, new_id = database(owner), relay.store.log.relay_id()
        assert new_id != old_id
        assert new_db != old_db
        assert owner.of("notice") == [RESET_NOTICE]
        assert owner.event_ids()[10:] == list(range(1, new_events + 1))
    assert mirror_rows(old_db) == old_rows  # never a replay into the old mirror
    assert mirror_cursor(old_db, old_id) == 10
    assert mirror_rows(new_db) == relay_rows(relay)
    sub = read_subscription(data)
    assert sub is not None
    assert (sub.relay_id, sub.database) == (new_id, new_db.name)


async def test_a_relay_behind_the_cursor_with_the_same_id_is_waited_for_not_replaced(
    relay: TestRelay, tmp_path: Path
) -> None:
    relay.add(5)
    backup = tmp_path / "relay" / "backup.db"
    src = sqlite3.connect(relay.db)
    dst = sqlite3.connect(backup)
    src.backup(dst)  # the relay's database as it was at event 5
    src.close()
    dst.close()
    relay.add(5)
    data = tmp_path / "data"
    owner = Owner()
    async with running(make_client(settings_for(relay.url), data, owner)) as client:
        await until(lambda: owner.live() and len(owner.event_ids()) == 10, "live")
        relay.reset(backup)  # restored from the backup: same relay id, last id 5
        await until(
            lambda: isinstance(owner.state, Reconnecting) and "catch up" in owner.state.problem,
            "waiting for the relay",
        )
        assert owner.of("notice") == []
        assert len(owner.of("database")) == 1  # the same mirror
        assert client.cursor == 10


# ---- refusals, TLS, the relay's own trouble -------------------------------------------------


async def test_refused_token_is_auth_failed_with_slow_retries_and_never_logged(
    relay: TestRelay, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    relay.tokens = {OTHER_TOKEN}
    owner = Owner()
    async with running(make_client(settings_for(relay.url), tmp_path / "data", owner)) as client:
        await until(lambda: isinstance(owner.state, AuthFailed), "auth failed")
        await until(lambda: client.next_try is not None, "a scheduled retry")
        assert client.next_try is not None
        wait = (client.next_try - datetime.now(UTC)).total_seconds()
        assert wait > 120  # not the 1 s of an ordinary failure
        assert isinstance(owner.state, AuthFailed)
        assert "refused the read token" in owner.state.detail
        # Now accepted; then revoked while streaming.
        relay.tokens = {TOKEN}
        client.reconnect_now()
        await until(owner.live, "live with a good token")
        relay.revoke(TOKEN)
        await until(lambda: isinstance(owner.state, AuthFailed), "revoked")
        assert isinstance(owner.state, AuthFailed)
        assert "revoked" in owner.state.detail
    texts = [caplog.text, *(str(v) for _, v in owner.log)]
    assert all(TOKEN not in t for t in texts)
    for request in relay.requests:  # only ever in the header
        assert request["Authorization"] == f"Bearer {TOKEN}"
        assert all(TOKEN not in v for k, v in request.items() if k != "Authorization")


async def test_busy_relay_is_retried_no_sooner_than_retry_after(
    relay: TestRelay, tmp_path: Path
) -> None:
    relay.refuse_status, relay.retry_after = 503, "40"
    owner = Owner()
    async with running(make_client(settings_for(relay.url), tmp_path / "data", owner)) as client:
        await until(lambda: client.next_try is not None, "a scheduled retry")
        assert client.next_try is not None
        assert (client.next_try - datetime.now(UTC)).total_seconds() > 39
        assert isinstance(owner.state, Reconnecting)
        assert "busy" in owner.state.problem


async def test_unreachable_for_two_minutes_turns_reconnecting_into_offline(
    tmp_path: Path,
) -> None:
    owner = Owner()
    # Nothing listens on this port; two "minutes" are 0.3 s here.
    async with running(
        make_client(
            settings_for("http://127.0.0.1:9"), tmp_path / "data", owner, offline_after_s=0.3
        )
    ):
        await until(lambda: isinstance(owner.state, Offline), "offline")
        states = owner.of("state")
        assert isinstance(states[0], Reconnecting)
        offline = owner.state
        assert isinstance(offline, Offline)
        assert offline.since == states[0].since
        assert "connection refused" in offline.problem


async def test_relay_that_cannot_store_is_degraded_until_it_can(
    relay: TestRelay, tmp_path: Path
) -> None:
    owner = Owner()
    async with running(make_client(settings_for(relay.url), tmp_path / "data", owner)):
        await until(owner.live, "live")
        relay.set_degraded("cannot store events: the disk is full")
        await until(lambda: isinstance(owner.state, RelayDegraded), "degraded")
        assert owner.state == RelayDegraded("cannot store events: the disk is full")
        relay.set_degraded(None)
        await until(owner.live, "live again")


async def test_https_relay_is_verified_against_the_ca_file(
    https_relay: TestRelay,
    pki: Pki,  # noqa: F811
    tmp_path: Path,
) -> None:
    relay = https_relay
    relay.add(3)
    untrusted = Owner()
    async with running(make_client(settings_for(relay.url), tmp_path / "a", untrusted)):
        await until(lambda: isinstance(untrusted.state, Reconnecting), "refused")
        await until(lambda: bool(untrusted.state.problem), "a reason")  # type: ignore[union-attr]
        assert "certificate" in untrusted.state.problem  # type: ignore[union-attr]
        assert relay.requests == []  # the token never left this computer
    trusted = Owner()
    settings = settings_for(relay.url, **{"subscribe.ca_file": str(pki.ca)})
    async with running(make_client(settings, tmp_path / "b", trusted)):
        await until(trusted.live, "live over https")
        assert trusted.event_ids() == [1, 2, 3]


def test_plain_http_to_another_computer_is_refused_unless_allowed() -> None:
    with pytest.raises(RelayConfigError, match="plain HTTP to another computer"):
        RelayTarget(url="http://relay.example.org", token=TOKEN).check()
    RelayTarget(url="http://relay.example.org", token=TOKEN, allow_http=True).check()
    RelayTarget(url="http://127.0.0.1:8747", token=TOKEN).check()
    RelayTarget(url="http://[::1]:8747", token=TOKEN).check()
    with pytest.raises(RelayConfigError) as exc:
        RelayTarget(url="https://relay.example.org", token="htr_short").check()
    assert "htr_short" not in str(exc.value)
    assert TOKEN not in repr(RelayTarget(url="https://r.example.org", token=TOKEN))


# ---- local edits stay local ----------------------------------------------------------------


async def test_events_deleted_here_do_not_come_back_after_a_reconnect(
    relay: TestRelay, tmp_path: Path
) -> None:
    relay.add(20)
    owner = Owner()
    async with running(make_client(settings_for(relay.url), tmp_path / "data", owner)) as client:
        await until(owner.live, "live")
        with Store.open(database(owner), check=False) as mirror:
            assert mirror.delete(range(15, 21)) == 6  # the newest ones, MAX(id) moves
        client.reconnect_now()
        await until(lambda: client.connects == 2 and owner.live(), "reconnected")
        relay.add(3)
        await until(lambda: len(owner.event_ids()) == 23, "new events")
        assert owner.event_ids()[20:] == [21, 22, 23]
    assert [i for i, _ in mirror_rows(database(owner))] == [*range(1, 15), 21, 22, 23]
