"""The tray app under load, offscreen: 10,000 events from 32 clients as fast as they go.

All must be answered 200 and stored, the GUI thread must keep answering (a second launch is
handed off to it while the load runs), and the app must quit cleanly afterwards.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.desktop import Browser, TrayProc
from tests.procs import holmtray_env

TOTAL = 10_000
CLIENTS = 32


async def _load(url: str) -> list[int]:
    statuses: list[int] = []
    queue = iter(range(TOTAL))

    async def client(session: aiohttp.ClientSession) -> None:
        for i in queue:
            body = json.dumps(
                {
                    "ticket": {
                        "number": i,
                        "status": "Open",
                        "severity": "high",
                        "asset": {"name": f"host-{i % 50}"},
                        "vulnerability": {"name": f"Finding {i}"},
                    }
                }
            )
            async with session.post(url, data=body) as r:
                statuses.append(r.status)
                await r.read()

    conn = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=conn) as session:
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))
    return statuses


@pytest.mark.slow
def test_ten_thousand_events_from_32_clients_all_stored_and_the_app_stays_responsive(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    # Offscreen and without a session bus: the Qt fallback notifier is used.
    app = TrayProc(home, Browser.make(tmp_path / "b"), offscreen=True)
    try:

        async def run() -> tuple[list[int], subprocess.CompletedProcess[str]]:
            load = asyncio.create_task(_load(app.hook))
            await asyncio.sleep(0)  # let the load start before the hand-off
            second = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "holmtray"],
                env=holmtray_env(home, QT_QPA_PLATFORM="offscreen"),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            return await load, second

        statuses, second = asyncio.run(run())
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stderr  # the busy GUI thread answered
        assert statuses.count(200) == TOTAL, {s: statuses.count(s) for s in set(statuses)}
        assert app.popen.poll() is None, "the app died under load"
    finally:
        rc = app.stop(timeout=60)
    assert rc == 0, app.output()[-3000:]
    con = sqlite3.connect(app.paths.database)
    try:
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == TOTAL
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    assert "another launch asked to show the event window" in app.output()
