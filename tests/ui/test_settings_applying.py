"""The Settings dialog while its settings are being applied: it says "Applying…", its buttons
wait, the event loop keeps running, and the outcome decides — success after OK closes the
dialog, an error is shown inline and keeps it open with everything the user typed.

The applier here completes only when the test says so, the way the app's does once the
receiver thread has rebound the listener and the file is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings, new_token
from holmtray.ui.settings_dialog import APPLYING, ApplyDone, SettingsDialog


@dataclass
class HeldApplier:
    """Records each apply and reports its outcome only when :meth:`finish` is called."""

    calls: list[tuple[Settings, ApplyDone]] = field(default_factory=list)

    def __call__(self, settings: Settings, done: ApplyDone) -> None:
        self.calls.append((settings, done))

    def finish(self, problem: str | None) -> None:
        _, done = self.calls[-1]
        done(problem)


@pytest.fixture
def start() -> Settings:
    return Settings({"listener.token": new_token(), "listener.port": 8100})


@pytest.fixture
def applier() -> HeldApplier:
    return HeldApplier()


@pytest.fixture
def dialog(qtbot: QtBot, start: Settings, tmp_path: Path, applier: HeldApplier) -> SettingsDialog:
    dialog = SettingsDialog(start, paths=Paths.under(tmp_path / "home"), apply=applier)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def _press(dialog: SettingsDialog, which: QDialogButtonBox.StandardButton) -> None:
    button = dialog.buttons.button(which)
    assert button is not None
    button.click()


def _set_port(dialog: SettingsDialog, port: int) -> None:
    editor = dialog.editor("listener.port")
    assert isinstance(editor, QSpinBox)
    editor.setValue(port)


def test_the_event_loop_keeps_running_while_a_slow_apply_is_pending_and_ok_closes_on_success(
    qtbot: QtBot, dialog: SettingsDialog, applier: HeldApplier, start: Settings
) -> None:
    _set_port(dialog, 8200)
    _press(dialog, QDialogButtonBox.StandardButton.Ok)

    assert len(applier.calls) == 1
    assert dialog.applying
    assert dialog.isVisible()
    assert dialog.progress_label.isVisible()
    assert dialog.progress_label.text() == APPLYING
    assert not dialog.buttons.isEnabled()

    # Timers keep firing and the dialog keeps taking input while the outcome is pending.
    ticks: list[int] = []
    timer = QTimer(interval=5)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    qtbot.waitUntil(lambda: len(ticks) >= 5)
    timer.stop()
    host = dialog.editor("listener.host")
    assert isinstance(host, QLineEdit)
    host.setFocus()
    qtbot.keyClicks(host, "x")
    assert host.text() == start.text("listener.host") + "x"

    # Cancel, Esc and the close button wait for the outcome.
    dialog.reject()
    assert not dialog.close()
    assert dialog.isVisible()
    assert dialog.applying

    # The outcome arrives later, from the event loop.
    with qtbot.waitSignal(dialog.finished):
        QTimer.singleShot(20, lambda: applier.finish(None))
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert not dialog.applying
    applied = applier.calls[0][0]
    assert applied.integer("listener.port") == 8200
    assert dialog.result_settings() == applied
    assert dialog.current_settings() == applied


def test_a_failed_apply_shows_the_message_and_keeps_the_dialog_open_with_the_edits(
    qtbot: QtBot, dialog: SettingsDialog, applier: HeldApplier, start: Settings
) -> None:
    _set_port(dialog, 8747)
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert dialog.applying

    QTimer.singleShot(20, lambda: applier.finish("port 8747 on 127.0.0.1 is already in use"))
    qtbot.waitUntil(lambda: not dialog.applying)

    assert dialog.isVisible()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.error_label.isVisible()
    assert dialog.error_label.text() == "port 8747 on 127.0.0.1 is already in use"
    assert not dialog.progress_label.isVisible()
    assert dialog.buttons.isEnabled()
    assert dialog.values()["listener.port"] == 8747  # what the user typed is still there
    assert dialog.current_settings() == start
    assert dialog.result_settings() is None

    # A late second report for the same attempt changes nothing.
    applier.finish(None)
    assert dialog.isVisible()
    assert dialog.result_settings() is None

    # Apply tries again; its success keeps the dialog open with the new settings current.
    _set_port(dialog, 8748)
    _press(dialog, QDialogButtonBox.StandardButton.Apply)
    assert dialog.applying
    assert not dialog.error_label.isVisible()  # the old message goes while it tries
    applier.finish(None)
    assert not dialog.applying
    assert dialog.isVisible()
    assert dialog.current_settings().integer("listener.port") == 8748
    assert dialog.result_settings() == dialog.current_settings()
    assert len(applier.calls) == 2

    # Nothing pending any more: Cancel closes.
    _press(dialog, QDialogButtonBox.StandardButton.Cancel)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert not dialog.isVisible()
