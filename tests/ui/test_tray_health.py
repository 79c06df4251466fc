"""The tray shows a storage fault and clears it on recovery, through the real signal path.

A real ``TrayApp`` (offscreen) with its real receiver thread: the writer's health change goes
out as ``ReceiverThread.store_health``, queued to the GUI thread, and ``TrayApp`` renders it in
the tray's tooltip and menu. The fault is real and needs no privileges: the data folder is
removed and a file put where it was, so the database cannot be made again until it goes.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from pytestqt.qtbot import QtBot

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.ui.app import TrayApp

TOKEN = "T0ken-for-tray-health-0123456789abcdefgh"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(url: str) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps({"subject": "x"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with _OPENER.open(request, timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_tray_shows_not_receiving_while_events_cannot_be_stored_and_clears_after(
    qtbot: QtBot, tmp_path: Path
) -> None:
    paths = Paths.under(tmp_path / "home")
    app = TrayApp(
        settings=Settings({"listener.token": TOKEN, "listener.port": 0}),
        paths=paths,
        quit_event=asyncio.Event(),
    )
    app.connect_receiver()
    try:
        endpoint = app.receiver.start().result(30)
        qtbot.waitUntil(lambda: app.tray.view.address is not None, timeout=5000)
        url = f"{endpoint.local_url()}/hooks/{TOKEN}"
        assert post(url) == 200
        assert app.tray.view.error is None

        shutil.rmtree(paths.data_dir)
        paths.data_dir.write_text("in the way")
        assert post(url) == 503
        qtbot.waitUntil(lambda: app.tray.view.error is not None, timeout=5000)
        tip = app.tray.icon.toolTip()
        assert "Not receiving: cannot store events: the database folder cannot be created" in tip
        assert str(tmp_path) not in tip
        assert app.tray.menu.actions()[0].text().startswith("Not receiving: cannot store events")

        paths.data_dir.unlink()  # the fault clears; the writer's probe notices within seconds
        qtbot.waitUntil(lambda: app.tray.view.error is None, timeout=15000)
        assert "Not receiving" not in app.tray.icon.toolTip()
        assert f"Listening on {endpoint.masked_url()}" in app.tray.icon.toolTip()
        assert post(url) == 200
    finally:
        app.shutdown()
