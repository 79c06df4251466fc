"""The tray app applies settings without blocking the GUI thread.

A real ``TrayApp`` (offscreen) on a real qasync loop, with its real receiver thread: OK in the
Settings dialog hands the new settings to the receiver, whose loop the test holds up; the GUI
thread keeps running timers and the dialog says "Applying…" until the receiver lets go. Then
the listener listens on the new port, the file is saved, and the dialog closes — or, for a port
that is taken, the dialog shows why and stays open, and nothing changes.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QSpinBox
from pytestqt.qtbot import QtBot

from holmtray.core.config import file as settings_file
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.ui.app import TrayApp
from holmtray.ui.settings_dialog import SettingsDialog

TOKEN = "T0ken-for-app-settings-0123456789abcdefgh"
WAIT_S = 30.0  # only a bound for a broken build; nothing here is timed


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TrayApp]:
    tray_app = TrayApp(
        settings=Settings({"listener.token": TOKEN, "listener.port": 0}),
        paths=Paths.under(tmp_path / "home"),
        quit_event=asyncio.Event(),
    )
    tray_app.connect_receiver()
    try:
        yield tray_app
    finally:
        tray_app.shutdown()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not condition():
            await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hold_receiver(app: TrayApp) -> threading.Event:
    """Block the receiver's loop until the returned event is set."""
    gate = threading.Event()

    async def held() -> None:
        gate.wait(WAIT_S)  # blocks the receiver thread on purpose

    app.receiver.call(held())
    return gate


def open_settings_with_port(app: TrayApp, port: int) -> SettingsDialog:
    app.open_settings()
    dialog = app.settings_dialog
    assert dialog is not None
    editor = dialog.editor("listener.port")
    assert isinstance(editor, QSpinBox)
    editor.setValue(port)
    return dialog


def press_ok(dialog: SettingsDialog) -> None:
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok is not None
    ok.click()


def test_ok_rebinds_on_the_receiver_thread_while_the_gui_keeps_running_then_saves_and_closes(
    qtbot: QtBot, app: TrayApp, run: Callable[[Coroutine[Any, Any, None]], None]
) -> None:
    port = free_port()

    async def scenario() -> None:
        await asyncio.wrap_future(app.receiver.start())
        dialog = open_settings_with_port(app, port)
        outcomes: list[int] = []
        dialog.finished.connect(outcomes.append)
        gate = hold_receiver(app)
        try:
            press_ok(dialog)
            assert dialog.applying
            ticks: list[int] = []
            timer = QTimer(interval=5)
            timer.timeout.connect(lambda: ticks.append(1))
            timer.start()
            await until(lambda: len(ticks) >= 5)
            timer.stop()
            assert dialog.applying  # still waiting for the receiver, which is held
            assert dialog.isVisible()
            assert not app.paths.config_file.exists()
        finally:
            gate.set()
        await until(lambda: app.settings_dialog is None)
        assert outcomes == [QDialog.DialogCode.Accepted.value]
        assert app.settings.integer("listener.port") == port
        assert app.receiver.endpoint is not None
        assert app.receiver.endpoint.port == port
        assert settings_file.load(app.paths.config_file).integer("listener.port") == port

    run(scenario())


def test_a_taken_port_is_reported_in_the_dialog_which_stays_open_and_nothing_changes(
    qtbot: QtBot, app: TrayApp, run: Callable[[Coroutine[Any, Any, None]], None]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])

        async def scenario() -> None:
            endpoint = await asyncio.wrap_future(app.receiver.start())
            dialog = open_settings_with_port(app, port)
            press_ok(dialog)
            await until(lambda: not dialog.applying)
            assert dialog.isVisible()
            assert app.settings_dialog is dialog
            assert f"port {port}" in dialog.error_label.text()
            assert "already in use" in dialog.error_label.text()
            assert dialog.values()["listener.port"] == port
            assert app.settings.integer("listener.port") == 0
            assert app.receiver.endpoint == endpoint  # the listener kept its old port
            assert not app.paths.config_file.exists()

            # A second Settings… brings up the same dialog instead of another one.
            app.open_settings()
            assert app.settings_dialog is dialog
            dialog.reject()
            await until(lambda: app.settings_dialog is None)

        run(scenario())
