"""The writer's health and ``/healthz`` under storage faults, in-process and quick.

The faults are real where that needs no privileges: another connection holding the write lock.
Disk full is simulated here with ``PRAGMA max_page_count`` (SQLite answers SQLITE_FULL, the same
code a full disk gives) so that it is covered on machines where ``mount`` is refused;
``tests/e2e/test_faults.py`` fills a real tmpfs against `holmtray serve` where it is allowed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.history.database import StoreUnavailable
from holmtray.core.history.writer import GroupCommitWriter
from holmtray.core.ingest.listener import ListenerConfig, create_app
from holmtray.core.ingest.receiver import Receiver
from holmtray.core.ingest.rejected import RejectedLog
from tests.core.history.test_writer import locker, make_event, rows

TOKEN = "T0ken-for-fault-tests-0123456789abcdefgh"
LOCKED = "cannot store events: the database is locked by another program (timed out waiting)"


async def wait_for_health(writer: GroupCommitWriter, want: str | None, timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while writer.health != want:
        assert asyncio.get_running_loop().time() < deadline, f"health stayed {writer.health!r}"
        await asyncio.sleep(0.01)


async def test_health_names_the_cause_once_and_clears_by_itself_when_the_lock_goes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "data" / "events.db"
    changes: list[str | None] = []
    w = GroupCommitWriter(
        store_path=db, busy_timeout_s=0.2, probe_interval_s=0.05, on_health=changes.append
    )
    await w.start()
    assert w.health is None
    lock = locker(db)
    with caplog.at_level(logging.INFO, logger="holmtray.history.health"):
        for i in range(3):  # three failing requests, and probes failing in between
            with pytest.raises(StoreUnavailable, match="locked"):
                await w.submit(*make_event(i))
        assert w.health == LOCKED
        await asyncio.sleep(0.3)  # a few probes run and fail: still one change, one line
        assert changes == [LOCKED]
        lock.execute("ROLLBACK")
        await wait_for_health(w, None)  # no request needed: the probe saw the lock go
    assert changes == [LOCKED, None]
    assert [r.levelname for r in caplog.records if "cannot store events" in r.message] == [
        "WARNING"
    ]
    assert [r.levelname for r in caplog.records if "storing events again" in r.message] == ["INFO"]
    assert not any(str(tmp_path) in h for h in changes if h)  # no path in what the tray shows
    result = await w.submit(*make_event(9))
    assert rows(db) == [(result.id, make_event(9)[0])]
    await w.close()


async def test_a_successful_commit_clears_the_health_before_any_probe(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    w = GroupCommitWriter(store_path=db, busy_timeout_s=0.2, probe_interval_s=3600)
    await w.start()
    lock = locker(db)
    with pytest.raises(StoreUnavailable):
        await w.submit(*make_event(1))
    lock.execute("ROLLBACK")
    assert w.health == LOCKED
    await w.submit(*make_event(2))
    assert w.health is None
    await w.close()


@pytest.fixture
async def locked_app(tmp_path: Path) -> AsyncIterator[tuple[str, GroupCommitWriter, Path]]:
    db = tmp_path / "events.db"
    writer = GroupCommitWriter(store_path=db, busy_timeout_s=0.2, probe_interval_s=0.05)
    await writer.start()
    app = create_app(
        config=ListenerConfig(token=TOKEN),
        ingest=writer.submit,
        rejected=RejectedLog(tmp_path / "rejected.jsonl"),
        health=lambda: writer.health,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", writer, db
    await runner.cleanup()
    await writer.close()


async def test_healthz_is_503_with_the_cause_while_the_store_cannot_commit(
    locked_app: tuple[str, GroupCommitWriter, Path],
) -> None:
    base, writer, db = locked_app
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/healthz") as r:
            assert (r.status, await r.json()) == (200, {"status": "ok"})
        lock = locker(db)
        try:
            async with s.post(f"{base}/hooks/{TOKEN}", json={"subject": "x"}) as r:
                assert r.status == 503
                assert "locked" in (await r.json())["error"]
            async with s.get(f"{base}/healthz") as r:
                assert r.status == 503
                assert r.headers["Retry-After"] == "30"
                assert await r.json() == {"status": "error", "error": LOCKED}
        finally:
            lock.execute("ROLLBACK")
        await wait_for_health(writer, None)
        async with s.get(f"{base}/healthz") as r:
            assert (r.status, await r.json()) == (200, {"status": "ok"})
        async with s.post(f"{base}/hooks/{TOKEN}", json={"subject": "x"}) as r:
            assert r.status == 200


async def test_disk_full_as_sqlite_reports_it_gets_503_and_a_post_after_it_clears_gets_200(
    tmp_path: Path,
) -> None:
    paths = Paths.under(tmp_path / "home")
    receiver = Receiver(
        settings=Settings({"listener.token": TOKEN, "listener.port": 0}), paths=paths
    )
    await receiver.start()
    writer = receiver.writer
    # The simulation, where a real full disk cannot be made: SQLite refuses to grow the file
    # past max_page_count with SQLITE_FULL. It is set on the writer's own connection, on the
    # writer's thread (the only ways in are private: this is the test's one shortcut).

    def limit(pages: int | None) -> None:
        conn: sqlite3.Connection = writer._store._conn  # type: ignore[union-attr]
        if pages is None:
            (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages}")

    url = f"{receiver.endpoint.local_url()}/hooks/{TOKEN}"
    big = {"subject": "big", "pad": "x" * 100_000}  # needs new pages: the file must grow
    try:
        async with aiohttp.ClientSession() as s:
            async with s.post(url, json={"subject": "before"}) as r:
                assert r.status == 200
                before = (await r.json())["id"]
            await writer._run(limit, None)
            async with s.post(url, data=json.dumps(big)) as r:
                assert r.status == 503
                assert "disk is full" in (await r.json())["error"]
            async with s.get(f"{receiver.endpoint.local_url()}/healthz") as r:
                assert r.status == 503
                assert await r.json() == {
                    "status": "error",
                    "error": "cannot store events: the disk is full",
                }
            await writer._run(limit, 1_073_741_823)
            async with s.post(url, data=json.dumps(big)) as r:
                assert r.status == 200
                after = (await r.json())["id"]
        assert receiver.health is None
    finally:
        await receiver.stop()
    con = sqlite3.connect(paths.database)
    try:
        stored = dict(con.execute("SELECT id, body FROM events").fetchall())
    finally:
        con.close()
    assert set(stored) == {before, after}
    assert stored[after] == json.dumps(big)
