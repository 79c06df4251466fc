"""The tray app gives free heap memory back after a burst (issue 17): its one-second tick feeds
the count of events it received to a :class:`~holmtray.core.memtrim.HeapTrimmer`.

A real ``TrayApp`` (offscreen, real listener and writer, webhooks over loopback); the trimmer
gets a fake clock and a recording trim so the test does not wait ten seconds of quiet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.memtrim import HeapTrimmer, _load_malloc_trim
from holmtray.ui.app import TrayApp
from tests.load import burst_ticket
from tests.ui.test_app_settings import until

TOKEN = "T0ken-for-app-memtrim-0123456789abcdefghij"
Run = Callable[[Coroutine[Any, Any, None]], None]


def test_the_tick_trims_once_a_burst_has_been_quiet(tmp_path: Path, run: Run) -> None:
    settings = Settings({"listener.token": TOKEN, "listener.port": 0, "ui.welcome_shown": True})
    app = TrayApp(
        settings=settings, paths=Paths.under(tmp_path / "home"), quit_event=asyncio.Event()
    )
    now = [1000.0]
    trims: list[int] = []

    def trim(pad: int) -> int:
        trims.append(pad)
        return 1

    async def burst() -> None:
        await app.start()
        ep = app.receiver.endpoint
        assert ep is not None
        async with aiohttp.ClientSession() as s:
            for n in range(3):
                async with s.post(f"{ep.local_url()}/hooks/{TOKEN}", json=burst_ticket(n)) as r:
                    assert r.status == 200
        await until(lambda: app.received == 3)

    try:
        app._tick()
        assert isinstance(app.heap_trimmer, HeapTrimmer)  # the real one, made on the first tick
        assert app.heap_trimmer.available == (_load_malloc_trim() is not None)
        app.heap_trimmer = HeapTrimmer(clock=lambda: now[0], trim=trim)
        run(burst())
        now[0] += 61
        app._tick()  # the burst is seen: not quiet yet
        assert trims == []
        now[0] += 10
        app._tick()  # ten seconds without a new event: the burst is over
        assert trims == [0]
        now[0] += 30
        app._tick()
        assert trims == [0], "one trim per burst"
    finally:
        app.shutdown()
        if app.window is not None:
            app.window.hide()
