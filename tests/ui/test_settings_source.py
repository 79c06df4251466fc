"""Settings → Source → *Test connection*, against a real relay on loopback.

The relay runs on the GUI thread's own qasync loop, so an answer reaching the dialog proves
the test did not block that thread. Success names the relay and how many events it keeps; a
token the relay does not know and a port nobody listens on are reported in plain words,
never with the token in them.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
from PySide6.QtWidgets import QApplication, QDoubleSpinBox, QLineEdit, QPlainTextEdit, QRadioButton
from pytestqt.qtbot import QtBot
from shiboken6 import isValid as shiboken_valid

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings, new_token
from holmtray.core.history.store import Store
from holmtray.ui.settings_dialog import TESTING, SettingsDialog
from tests.relaytools import RelayServer, post_events, running_relay
from tests.ui.screenshots import save_screenshot
from tests.ui.settings_tools import assert_plain

WAIT_S = 30.0  # only a bound for a broken build; nothing here is timed
UNKNOWN_TOKEN = "htr_" + "Q" * 43

Run = Callable[[Coroutine[Any, Any, None]], None]


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not condition():
            await asyncio.sleep(0.01)


def _dialog(qtbot: QtBot, tmp_path: Path) -> SettingsDialog:
    dialog = SettingsDialog(
        Settings({"listener.token": new_token()}),
        paths=Paths.under(tmp_path / "tray-home"),
        apply=lambda settings, done: done(None),
    )
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _subscribe(dialog: SettingsDialog, url: str, token: str) -> None:
    radio = dialog.findChild(QRadioButton, "source.mode=relay")
    assert radio is not None
    radio.click()
    urls = dialog.editor("subscribe.urls")
    assert isinstance(urls, QPlainTextEdit)
    urls.setPlainText(url)
    line = dialog.editor("subscribe.token")
    assert isinstance(line, QLineEdit)
    line.setText(token)


async def _test(dialog: SettingsDialog) -> str:
    assert dialog.test_button.isEnabled()
    dialog.test_button.click()
    assert dialog.test_result.text() == TESTING
    assert not dialog.test_button.isEnabled()  # one test at a time
    await until(lambda: not dialog.testing)
    assert dialog.test_button.isEnabled()
    return dialog.test_result.text()


def _relay_id(relay: RelayServer) -> str:
    with Store.open(relay.db, check=False, readonly=True) as store:
        return store.log.relay_id()


def test_a_good_token_connects_and_names_the_relay(
    qtbot: QtBot, tmp_path: Path, run: Run, artifacts: Path
) -> None:
    async def scenario() -> None:
        async with running_relay(tmp_path) as relay:
            async with aiohttp.ClientSession() as session:
                await post_events(session, relay.hook, range(1204), concurrency=16)
            dialog = _dialog(qtbot, tmp_path)
            _subscribe(dialog, relay.base, relay.token)
            words = await _test(dialog)
            host = relay.base.removeprefix("http://")
            assert (
                words == f"Connected to {host}: relay {_relay_id(relay)[:8]}…, 1,204 events kept."
            )
            assert dialog.test_result.styleSheet() == ""  # not shown as an error
            assert relay.token not in words
            dialog.tabs.setCurrentIndex(0)
            save_screenshot(dialog, artifacts / "settings_source_connected.png")
            dialog.tabs.setCurrentIndex(dialog.tabs.count() - 1)
            save_screenshot(dialog, artifacts / "settings_source_listener_not_used.png")

    run(scenario())


def test_a_token_the_relay_does_not_know_is_refused_in_words(
    qtbot: QtBot, tmp_path: Path, run: Run, artifacts: Path
) -> None:
    async def scenario() -> None:
        async with running_relay(tmp_path) as relay:
            dialog = _dialog(qtbot, tmp_path)
            _subscribe(dialog, relay.base, UNKNOWN_TOKEN)
            words = await _test(dialog)
            assert words.startswith("The relay refused the read token.")
            assert UNKNOWN_TOKEN not in words
            assert_plain(words)
            assert "#b91c1c" in dialog.test_result.styleSheet()
            save_screenshot(dialog, artifacts / "settings_source_token_refused.png")

            # A revoked token reads the same.
            relay.revoke("alice")
            line = dialog.editor("subscribe.token")
            assert isinstance(line, QLineEdit)
            line.setText(relay.token)
            assert (await _test(dialog)).startswith("The relay refused the read token.")

    run(scenario())


def test_nobody_listening_is_reported_as_could_not_connect(
    qtbot: QtBot, tmp_path: Path, run: Run
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])  # closed again before the test connects

    async def scenario() -> None:
        dialog = _dialog(qtbot, tmp_path)
        _subscribe(dialog, f"http://127.0.0.1:{port}", UNKNOWN_TOKEN)
        words = await _test(dialog)
        assert words == f"Could not connect: connection refused by 127.0.0.1:{port}."
        assert_plain(words)

    run(scenario())


def test_test_connection_first_asks_for_what_is_missing(
    qtbot: QtBot, tmp_path: Path, run: Run
) -> None:
    async def scenario() -> None:
        dialog = _dialog(qtbot, tmp_path)
        _subscribe(dialog, "", "")
        dialog.test_button.click()
        assert "address" in dialog.field_error("subscribe.urls")
        assert not dialog.testing
        _subscribe(dialog, "https://hooks.example.org", "")
        dialog.test_button.click()
        assert "read token" in dialog.field_error("subscribe.token")
        assert dialog.focusWidget() is dialog.editor("subscribe.token")
        assert not dialog.testing

    run(scenario())


def test_closing_the_dialog_during_a_test_is_harmless(
    qtbot: QtBot, tmp_path: Path, run: Run
) -> None:
    # A "relay" that accepts the connection and never answers: the test waits it out.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = int(silent.getsockname()[1])

        async def scenario() -> None:
            # Not handed to qtbot: this test deletes the dialog itself.
            dialog = SettingsDialog(
                Settings({"listener.token": new_token()}),
                paths=Paths.under(tmp_path / "tray-home"),
                apply=lambda settings, done: done(None),
            )
            dialog.show()
            _subscribe(dialog, f"http://127.0.0.1:{port}", UNKNOWN_TOKEN)
            timeout = dialog.editor("subscribe.read_timeout")
            assert isinstance(timeout, QDoubleSpinBox)
            timeout.setValue(timeout.minimum())
            tester = dialog.tester
            dialog.test_button.click()
            assert dialog.testing
            dialog.reject()
            dialog.deleteLater()
            await until(lambda: not shiboken_valid(dialog))
            assert await asyncio.to_thread(tester.join, WAIT_S)
            QApplication.processEvents()  # the queued report, to nobody, is dropped

        run(scenario())
