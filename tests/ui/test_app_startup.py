"""Start-up (issue 16.3): what is made after the tray icon still loses nothing.

The receiver thread, the history view, the notification policy and the notifier are made only
once the icon is shown, so the first events can reach the app while it is still starting. A
real ``TrayApp`` (offscreen, real listener and writer): a webhook posted at the last step of
start-up (the notifier being chosen; the listener is up, the first drain has not run) is
stored, notified and shown. And the receiver thread, now made while qasync runs the GUI loop,
still gets a plain asyncio loop of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import qasync
from PySide6.QtWidgets import QApplication

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.ui.app import TrayApp
from holmtray.ui.notifier import Notifier
from holmtray.ui.receiver_thread import ReceiverThread
from tests.core.alerts.kit import FakeClock
from tests.load import burst_ticket
from tests.ui.test_app_notifications import Recorder
from tests.ui.test_app_settings import until

TOKEN = "T0ken-for-app-startup-0123456789abcdefgh"
Run = Callable[[Coroutine[Any, Any, None]], None]


def test_an_event_stored_while_the_app_is_starting_is_notified_and_shown(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings({"listener.token": TOKEN, "listener.port": 0, "ui.welcome_shown": True})
    app = TrayApp(
        settings=settings, paths=Paths.under(tmp_path / "home"), quit_event=asyncio.Event()
    )
    recorder = Recorder(FakeClock())
    answers: list[int] = []
    ready_when_posted: list[bool] = []

    async def choose(**_: object) -> Notifier:
        """Notifier.choose, the last thing start() awaits: post a webhook now."""
        ready_when_posted.append(app._ready)
        ep = app.receiver.endpoint
        assert ep is not None
        async with (
            aiohttp.ClientSession() as s,
            s.post(f"{ep.local_url()}/hooks/{TOKEN}", json=burst_ticket(0)) as r,
        ):
            answers.append(r.status)  # 200: committed
        return Notifier([recorder])

    monkeypatch.setattr(Notifier, "choose", choose)

    async def start_and_settle() -> None:
        await app.start()
        await until(lambda: bool(recorder.shown))
        await until(lambda: app.window is not None and app.window.model.rowCount() > 0)

    try:
        run(start_and_settle())
        assert ready_when_posted == [False]  # it did arrive before the app was ready
        assert answers == [200]
        assert app.received == 1
        store = app.store
        assert store is not None
        stored = store.last_event()
        assert stored is not None
        assert "Finding 0" in stored.event.title
        assert "host-0" in stored.event.title
        assert [notice.event_id for _, notice, _ in recorder.shown] == [stored.id]
        assert app.window is not None
        assert app.window.model.event_at(0).id == stored.id
        assert app.tray.view.unread == 1
    finally:
        app.shutdown()
        if app.window is not None:
            app.window.hide()


def test_the_receiver_thread_made_under_qasync_runs_a_loop_of_its_own(
    tmp_path: Path, qapp: QApplication
) -> None:
    """qasync.run makes every new loop a Qt one while it runs (Python 3.11); the receiver's
    must stay a plain asyncio loop on its own thread, or its listener never starts."""
    settings = Settings({"listener.token": TOKEN, "listener.port": 0})
    made: list[ReceiverThread] = []

    async def make() -> None:
        made.append(ReceiverThread(settings=settings, paths=Paths.under(tmp_path / "home")))

    qapp.setQuitOnLastWindowClosed(False)
    qasync.run(make())
    receiver = made[0]
    try:
        endpoint = receiver.start().result(30)
        assert endpoint is not None
        assert endpoint.port > 0
    finally:
        receiver.stop()
