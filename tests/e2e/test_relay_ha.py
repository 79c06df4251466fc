"""Two ``holmtray serve --relay`` processes on one PostgreSQL database, as a user runs them.

The second relay is set up by copying the first one's settings file. Webhooks are split across
both; subscribers on either see every id once, ascending, without a gap; a subscriber whose
relay is SIGKILLed moves to the other and misses nothing; PostgreSQL stopped for 10 s under
load turns webhooks into 503s (never a 2xx that was not committed) and both relays recover
without a restart. The server is real (see ``tests/pgcluster.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from holmtray.core.config.file import save
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.subscribe.client import RelayClient
from tests.core.history.test_pg_log import db_name
from tests.core.subscribe.subscribing import Owner, until
from tests.pgcluster import PgCluster
from tests.procs import Proc, run_cli
from tests.relaytools import WEBHOOK_TOKEN, SSEStream, body

pytestmark = pytest.mark.pg

WEBHOOKS = 1000


def relay_homes(tmp_path: Path, uri: str, **values: Any) -> tuple[Path, Path]:
    """Two relay homes: the first one's settings file copied into the second."""
    first, second = tmp_path / "relay1", tmp_path / "relay2"
    save(
        Settings(
            {
                "listener.token": WEBHOOK_TOKEN,
                "listener.port": 0,
                "listener.max_concurrent": 2000,
                "relay.enabled": True,
                "relay.store": uri,
                **values,
            }
        ),
        Paths.under(first).config_file,
    )
    dest = Paths.under(second).config_file
    dest.parent.mkdir(parents=True)
    shutil.copy(Paths.under(first).config_file, dest)
    return first, second


def add_token(home: Path) -> str:
    r = run_cli(home, "relay", "token", "add", "alice")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def relays(*homes: Path) -> Iterator[list[tuple[Proc, str]]]:
    """``holmtray serve --relay`` in each home, started at the same moment; (proc, base URL)."""
    procs = [Proc(home, "serve", "--relay") for home in homes]
    try:
        yield [(p, f"http://127.0.0.1:{p.port()}") for p in procs]
    finally:
        for p in procs:
            if p.popen.poll() is None:
                p.kill()


async def post(session: aiohttp.ClientSession, base: str, n: int) -> tuple[int, int | None]:
    """One webhook: (status, id); status 0 when the relay could not be reached."""
    try:
        async with session.post(f"{base}/hooks/{WEBHOOK_TOKEN}", data=body(n)) as r:
            text = await r.text()
            return r.status, (int(json.loads(text)["id"]) if r.status == 200 else None)
    except (aiohttp.ClientError, OSError):
        return 0, None


def stored_ids(cluster: PgCluster, uri: str) -> dict[int, str]:
    with contextlib.closing(cluster.connect(db_name(uri))) as conn:
        rows = conn.execute("SELECT id, body FROM holmtray_events ORDER BY id").fetchall()
    return {int(i): str(b) for i, b in rows}


def session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=WEBHOOKS))


def test_two_relays_split_1000_webhooks_and_each_stream_sees_every_id_once_in_order(
    tmp_path: Path, pg_uri: str, pg_cluster: PgCluster
) -> None:
    homes = relay_homes(tmp_path, pg_uri)
    token = add_token(homes[1])  # through the second relay's settings: one shared table
    with relays(*homes) as running:
        bases = [base for _, base in running]

        async def scenario() -> None:
            async with session() as s:
                streams = [SSEStream(s, base, token, after=0) for base in bases]
                for stream in streams:
                    await stream.__aenter__()
                    assert stream.status == 200
                    await stream.until(lambda f: f.event == "live")
                answers = await asyncio.gather(*(post(s, bases[n % 2], n) for n in range(WEBHOOKS)))
                assert {status for status, _ in answers} == {200}
                acked = sorted(i for _, i in answers if i is not None)
                assert acked == list(range(1, WEBHOOKS + 1))
                for stream in streams:
                    assert await stream.event_ids_until(WEBHOOKS) == acked
                    await stream.__aexit__()
                # Resume with the same Last-Event-ID on either relay: the same events follow.
                for base in bases:
                    async with SSEStream(s, base, token, last_event_id=990) as again:
                        assert await again.event_ids_until(WEBHOOKS) == acked[990:]

        asyncio.run(scenario())
        for proc, _ in running:
            assert proc.stop() == 0
    assert sorted(stored_ids(pg_cluster, pg_uri)) == list(range(1, WEBHOOKS + 1))


def test_a_subscriber_whose_relay_is_killed_mid_stream_moves_to_the_other(
    tmp_path: Path, pg_uri: str, pg_cluster: PgCluster
) -> None:
    homes = relay_homes(tmp_path, pg_uri)
    token = add_token(homes[0])
    with relays(*homes) as running:
        bases = [base for _, base in running]
        owner = Owner()
        settings = Settings(
            {
                "subscribe.urls": bases,
                "subscribe.token": token,
                "subscribe.read_timeout": 5.0,
                "source.mode": "relay",
            }
        )

        async def scenario() -> list[tuple[int, int | None]]:
            client = RelayClient(settings=settings, data_dir=tmp_path / "tray", **owner.kwargs())
            await client.start()
            try:
                await until(owner.live, "the subscriber live on the first relay")
                victim = bases.index(client.target.url)
                async with session() as s:
                    posts = [
                        asyncio.ensure_future(post(s, bases[n % 2], n)) for n in range(WEBHOOKS)
                    ]
                    await until(
                        lambda: sum(p.done() for p in posts) >= WEBHOOKS // 4, "webhooks going"
                    )
                    running[victim][0].kill()  # SIGKILL: no bye, no goodbye
                    answers = await asyncio.gather(*posts)
                    # And some after it, which only the survivor can have sent.
                    survivor = bases[1 - victim]
                    answers += await asyncio.gather(
                        *(post(s, survivor, n) for n in range(WEBHOOKS, WEBHOOKS + 50))
                    )
                stored = stored_ids(pg_cluster, pg_uri)
                await until(
                    lambda: owner.event_ids() == sorted(stored), "every stored event", timeout=60
                )
                assert client.target.url == survivor
                return answers
            finally:
                await client.stop()

        answers = asyncio.run(scenario())
    ids = owner.event_ids()
    stored = stored_ids(pg_cluster, pg_uri)
    assert ids == list(range(1, len(stored) + 1))  # every id once, ascending, no gap
    acked = {i for status, i in answers if status == 200}
    assert acked <= set(ids)
    assert len(acked) >= WEBHOOKS // 2 + 50  # the surviving relay's share at least
    assert {status for status, _ in answers} <= {200, 0, 503}


def test_postgresql_stopped_for_10_s_under_load_gives_503s_and_both_relays_recover(
    tmp_path: Path, pg_uri: str, pg_cluster: PgCluster
) -> None:
    homes = relay_homes(tmp_path, pg_uri)
    with relays(*homes) as running:
        bases = [base for _, base in running]
        log: list[tuple[float, float, int, int | None, int]] = []  # sent, answered, status, id, n
        outage: dict[str, float] = {}
        health_during: list[tuple[int, dict[str, Any]]] = []

        async def load(s: aiohttp.ClientSession, worker: int, stop: asyncio.Event) -> None:
            n = worker * 1_000_000
            while not stop.is_set():
                n += 1
                sent = time.monotonic()
                status, event_id = await post(s, bases[n % 2], n)
                log.append((sent, time.monotonic(), status, event_id, n))
                await asyncio.sleep(0.01)

        async def healthz(s: aiohttp.ClientSession, base: str) -> tuple[int, dict[str, Any]]:
            async with s.get(f"{base}/healthz") as r:
                return r.status, await r.json()

        async def scenario() -> None:
            async with session() as s:
                stop = asyncio.Event()
                workers = [asyncio.ensure_future(load(s, w, stop)) for w in range(8)]
                await until(lambda: sum(1 for e in log if e[2] == 200) >= 50, "load going")
                await asyncio.to_thread(pg_cluster.stop, "fast")
                outage["down"] = time.monotonic()
                await asyncio.sleep(5)
                for base in bases:
                    health_during.append(await healthz(s, base))
                await asyncio.sleep(5)
                outage["up"] = time.monotonic()
                await asyncio.to_thread(pg_cluster.start)
                for base in bases:
                    deadline = time.monotonic() + 60
                    while (await healthz(s, base))[0] != 200:
                        assert time.monotonic() < deadline, f"{base} did not recover"
                        await asyncio.sleep(0.2)
                after = len(log)
                await until(
                    lambda: {b for e in log[after:] if e[2] == 200 for b in [e[4] % 2]} == {0, 1},
                    "2xx from both relays again",
                )
                stop.set()
                await asyncio.gather(*workers)

        asyncio.run(scenario())
        for proc, _ in running:
            assert proc.popen.poll() is None  # recovered without a restart
            assert proc.stop() == 0
    assert {status for _, _, status, _, _ in log} <= {200, 503}
    during = [e for e in log if e[0] > outage["down"] and e[1] < outage["up"]]
    assert during
    assert {status for _, _, status, _, _ in during} == {503}
    for status, answer in health_during:
        assert status == 503
        assert "PostgreSQL" in answer["error"]
    stored = stored_ids(pg_cluster, pg_uri)
    acked = [(event_id, n) for _, _, status, event_id, n in log if status == 200]
    assert acked
    for event_id, n in acked:
        assert event_id is not None
        assert stored[event_id] == body(n)  # every 2xx retrievable, with its body


def test_the_database_password_is_never_shown(tmp_path: Path, pg_cluster: PgCluster) -> None:
    secret = "Sekrit-pw-4711"
    uri = pg_cluster.create_database("secrets_" + str(time.monotonic_ns() % 10**9))
    uri = pg_cluster.uri(db_name(uri), password=secret)
    home, _ = relay_homes(tmp_path, uri)
    outputs = []
    for args in (("config", "get", "relay.store"), ("relay", "token", "list")):
        r = run_cli(home, *args)
        assert r.returncode == 0, r.stderr
        outputs.append(r.stdout + r.stderr)
    assert "********" in outputs[0]
    r = run_cli(home, "config", "set", "relay.store", f"mysql://u:{secret}@h/db")
    assert r.returncode == 2
    outputs.append(r.stdout + r.stderr)
    with relays(home) as running:
        proc, _ = running[0]
        r = run_cli(home, "url")
        assert r.returncode == 0, r.stderr
        outputs.append(r.stdout + r.stderr)
        assert proc.stop() == 0
        outputs.append(proc.output())
    outputs.append((Paths.under(home).log_dir / "serve.log").read_text())
    # Unreachable: the error names the database, not its password.
    bad = f"postgresql://holm:{secret}@/nodb?host={tmp_path}/no-such-dir"
    r = run_cli(home, "config", "set", "relay.store", bad)
    assert r.returncode == 0, r.stderr
    outputs.append(r.stdout + r.stderr)
    failed = Proc(home, "serve", "--relay")
    assert failed.popen.wait(60) == 1
    failed.kill()
    outputs.append(failed.output())
    assert "cannot connect to the PostgreSQL database postgresql://holm:********@" in outputs[-1]
    for text in outputs:
        assert secret not in text


def test_a_token_revoked_through_one_relay_ends_its_streams_on_the_other(
    tmp_path: Path, pg_uri: str
) -> None:
    homes = relay_homes(tmp_path, pg_uri)
    bob = add_token(homes[0])
    with relays(*homes) as running:
        bases = [base for _, base in running]

        async def scenario() -> None:
            async with aiohttp.ClientSession() as s, SSEStream(s, bases[1], bob) as stream:
                await stream.until(lambda f: f.event == "live")
                r = await asyncio.to_thread(run_cli, homes[0], "relay", "token", "revoke", "alice")
                assert r.returncode == 0, r.stderr
                frames = await stream.rest()
                assert frames[-1].event == "bye"
                assert frames[-1].json() == {"reason": "revoked"}
                for base in bases:
                    async with SSEStream(s, base, bob) as again:
                        assert again.status == 401

        asyncio.run(scenario())
