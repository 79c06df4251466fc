"""The tray app's event window on an empty history: the webhook URL to paste, and a test event
sent from the window itself that arrives in it.

A real ``TrayApp`` (offscreen) on a qasync loop, its real receiver thread and listener.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.ui.app import TrayApp
from holmtray.ui.events.window import EventWindow
from tests.ui.test_app_settings import until

TOKEN = "T0ken-for-app-window-0123456789abcdefgh"
Run = Callable[[Coroutine[Any, Any, None]], None]


def test_an_empty_window_gives_the_apps_url_and_its_test_event_arrives_in_it(
    tmp_path: Path, run: Run, monkeypatch: Any
) -> None:
    monkeypatch.setattr(EventWindow, "MARK_READ_DELAY_MS", 3_600_000)
    settings = {"listener.token": TOKEN, "listener.port": 0, "ui.welcome_shown": True}
    app = TrayApp(
        settings=Settings(settings),
        paths=Paths.under(tmp_path / "home"),
        quit_event=asyncio.Event(),
    )

    async def scenario() -> None:
        await app.start()
        app.show_window()
        w = app.window
        assert w is not None
        e = w.empty_state
        assert w.list_stack.currentWidget() is e
        url = app.webhook_url()
        assert url is not None
        assert TOKEN in url
        assert e.url_edit.text() == url
        assert e.copy_button.isEnabled()
        e.send_button.click()
        await until(lambda: w.model.rowCount() == 1)
        assert w.list_stack.currentWidget() is w.table
        await until(lambda: e.result_label.text().startswith("Test event stored"))

    try:
        run(scenario())
    finally:
        app.shutdown()
