"""Ordinary failures are not errors: a client that goes away mid-body is counted and noted
sparingly at INFO, without a traceback; a 408 closes the socket at once."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest

from tests.core.ingest.wire import Rig, request, rig

EVENT = json.dumps({"finished_scan": {"name": "Daily scan", "status": "Completed"}}).encode()


async def _go_away_mid_body(r: Rig, n: int, *, reset: bool) -> None:
    """``n`` clients that send a head and half a body, then vanish (reset, or a plain close)."""
    for _ in range(n):
        conn = await r.connect()
        await conn.send(request(length=len(EVENT)) + EVENT[: len(EVENT) // 2])
        start = r.state.disconnects
        deadline = time.monotonic() + 10
        while r.state.in_flight == 0:  # the handler is reading the body
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        if reset:
            conn.abort()
        else:
            conn.close()
        while r.state.disconnects == start:
            assert time.monotonic() < deadline, "the disconnect was never noticed"
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("reset", [True, False])
async def test_clients_gone_mid_body_are_counted_and_noted_once_per_interval_at_info(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, reset: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    async with rig(tmp_path) as r:
        await _go_away_mid_body(r, 20, reset=reset)
        assert r.state.disconnects == 20
        r.clock.now += 11  # the next interval
        await _go_away_mid_body(r, 3, reset=reset)
        assert r.state.disconnects == 23
        assert (await r.exchange(request(length=len(EVENT)) + EVENT)).status == 200
        assert r.rows() == 1
    problems = [rec for rec in caplog.records if rec.levelno >= logging.WARNING or rec.exc_info]
    assert problems == [], [rec.getMessage() for rec in problems]
    notes = [rec.getMessage() for rec in caplog.records if "went away" in rec.getMessage()]
    assert len(notes) == 2, notes
    assert "1 such since the last note, 1 in all" in notes[0]
    assert "20 such since the last note, 21 in all" in notes[1]
    assert not [rec for rec in caplog.records if "Traceback" in rec.getMessage()]


async def test_a_408_closes_the_connection_at_once(tmp_path: Path) -> None:
    async with rig(tmp_path, **{"listener.read_timeout": 1.0}) as r:
        conn = await r.connect()
        await conn.send(request(length=1000) + b'{"half": ')
        answer = await conn.answer()
        assert answer.status == 408
        assert answer.headers.get("connection") == "close"
        assert await conn.closed(timeout=3.0)  # aiohttp used to linger 10 s more
        conn.close()
        # And the same while the client keeps trickling: bytes after the 408 are not read.
        conn = await r.connect()
        await conn.send(request(length=100_000) + b"{")
        answer = await conn.answer()
        assert answer.status == 408
        await conn.send(b" " * 1000)
        assert await conn.closed(timeout=3.0)
        conn.close()
