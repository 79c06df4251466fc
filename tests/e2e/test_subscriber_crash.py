"""SIGKILL the subscriber at random points of a backfill: nothing lost, nothing twice.

The client runs in its own process (tests/e2e/subscriber_proc.py) against the test relay on
loopback; the test kills it once the mirror has reached a randomly chosen number of rows (so
kills land early, late and in between commits), then checks the mirror's invariants before
the next start: every relay event up to the cursor is stored exactly once with the relay's
bytes, nothing beyond it, and the cursor is the highest id stored.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from holmtray.core.history.places import read_subscription
from tests.relaystub import TOKEN, TestRelay

ROOT = Path(__file__).parents[2]


def _mirror(data: Path) -> tuple[Path, str] | None:
    sub = read_subscription(data)
    return (sub.path(data), sub.relay_id) if sub is not None else None


def _rows_and_cursor(db: Path, relay_id: str) -> tuple[list[tuple[int, str]], int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = [(int(i), str(b)) for i, b in con.execute("SELECT id, body FROM events ORDER BY id")]
        row = con.execute("SELECT last_id FROM replica WHERE relay_id = ?", (relay_id,)).fetchone()
    finally:
        con.close()
    return rows, (int(row[0]) if row else 0)


def _count(data: Path) -> int:
    found = _mirror(data)
    if found is None or not found[0].exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{found[0]}?mode=ro", uri=True)
        try:
            return int(con.execute("SELECT count(*) FROM events").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0  # created but not migrated yet


async def _spawn(relay: TestRelay, data: Path) -> asyncio.subprocess.Process:
    env = dict(os.environ, HOLMTRAY_RELAY_TOKEN=TOKEN, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.subscriber_proc",
        relay.url,
        str(data),
        "100",  # a commit every 100 events: many points to be killed between (or in)
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def _lines_until_live(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdout is not None
    while True:
        line = await proc.stdout.readline()
        if not line or line.strip() == b"state live":
            return


@pytest.mark.slow
async def test_sigkill_at_20_random_points_of_a_backfill_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    rng = random.Random(20261129)
    relay = TestRelay(tmp_path / "relay" / "events.db", page_size=100)
    await relay.start()
    data = tmp_path / "data"
    try:
        for _ in range(6):
            relay.add(500)
        kills_mid_backfill = 0
        for _ in range(20):
            relay.add(rng.randint(100, 800))  # more arrives while it is down
            total = relay.store.log.bounds()[1]
            before = _count(data)
            target = before + rng.randint(1, max(1, total - before - 1))
            proc = await _spawn(relay, data)
            live = asyncio.create_task(_lines_until_live(proc))
            while _count(data) < target and not live.done():
                await asyncio.sleep(0.002)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            live.cancel()
            assert proc.returncode == -signal.SIGKILL
            found = _mirror(data)
            if found is None:
                continue  # killed before it chose a mirror
            rows, cursor = _rows_and_cursor(*found)
            kills_mid_backfill += cursor < total
            expected = [(e.id, e.body) for e in relay.all_entries() if e.id <= cursor]
            assert rows == expected  # each once, the relay's bytes, nothing missing below
            assert cursor == (rows[-1][0] if rows else 0)
        # Most kills land inside a backfill (one whose target fell in the last batch does not).
        assert kills_mid_backfill >= 10  # the kills really landed inside backfills
        proc = await _spawn(relay, data)
        await asyncio.wait_for(_lines_until_live(proc), 120)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        found = _mirror(data)
        assert found is not None
        rows, cursor = _rows_and_cursor(*found)
        assert rows == [(e.id, e.body) for e in relay.all_entries()]
        assert cursor == relay.store.log.bounds()[1]
    finally:
        await relay.stop()
        relay.close()
