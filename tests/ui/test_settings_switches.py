"""The Settings dialog's switches and pickers: quiet hours as time pickers and weekday boxes
that round-trip the settings, fields disabled while the switch they depend on is off (the
listener's while subscribing to a relay, the relay's while receiving directly), and the
checks only the dialog can make, each pointing at its field."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFileDialog,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QTimeEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings, new_token
from holmtray.ui.settings_dialog import SettingsDialog
from tests.ui.settings_tools import Applier, assert_plain, open_dialog
from tests.ui.settings_tools import press as _press

READ_TOKEN = "htr_" + "A" * 43


def _dialog(qtbot: QtBot, tmp_path: Path, applier: Applier, **values: object) -> SettingsDialog:
    settings = Settings({"listener.token": new_token(), **values})
    return open_dialog(qtbot, settings, Paths.under(tmp_path / "home"), applier)


def _day_boxes(dialog: SettingsDialog) -> list[QCheckBox]:
    return dialog.editor("notifications.quiet_days").findChildren(QCheckBox)


def _check(dialog: SettingsDialog, key: str, on: bool) -> None:
    box = dialog.https_switch if key == "@https" else dialog.editor(key)
    assert isinstance(box, QCheckBox)
    box.setChecked(on)


def _mode(dialog: SettingsDialog, mode: str) -> None:
    radio = dialog.findChild(QRadioButton, f"source.mode={mode}")
    assert radio is not None
    radio.click()


def _type(dialog: SettingsDialog, key: str, text: str) -> None:
    editor = dialog.editor(key)
    if isinstance(editor, QPlainTextEdit):
        editor.setPlainText(text)
    else:
        assert isinstance(editor, QLineEdit)
        editor.setText(text)


# Quiet hours: time pickers and weekday boxes ------------------------------------------------


def test_quiet_hours_show_as_time_pickers_and_day_boxes(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = _dialog(
        qtbot,
        tmp_path,
        Applier(),
        **{
            "notifications.quiet_enabled": True,
            "notifications.quiet_start": "23:15",
            "notifications.quiet_end": "6:45",
            "notifications.quiet_days": ["mon", "Friday"],
        },
    )
    start = dialog.editor("notifications.quiet_start")
    end = dialog.editor("notifications.quiet_end")
    assert isinstance(start, QTimeEdit)
    assert isinstance(end, QTimeEdit)
    assert start.time() == QTime(23, 15)
    assert end.time() == QTime(6, 45)
    assert [b.text() for b in _day_boxes(dialog)] == [
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
    ]  # fmt: skip
    assert [b.isChecked() for b in _day_boxes(dialog)] == [1, 0, 0, 0, 1, 0, 0]


def test_untouched_quiet_hours_come_back_unchanged(qtbot: QtBot, tmp_path: Path) -> None:
    applier = Applier()
    values = {
        "notifications.quiet_enabled": True,
        "notifications.quiet_start": "23:15",
        "notifications.quiet_end": "06:45",
        "notifications.quiet_days": ["mon", "Friday"],
    }
    dialog = _dialog(qtbot, tmp_path, applier, **values)
    for key, value in values.items():
        assert dialog.values()[key] == value
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert applier.calls == []  # nothing changed, nothing to apply


def test_picked_times_and_days_are_applied_as_the_settings_spell_them(
    qtbot: QtBot, tmp_path: Path
) -> None:
    applier = Applier()
    dialog = _dialog(qtbot, tmp_path, applier, **{"notifications.quiet_days": ["mon", "fri"]})
    _check(dialog, "notifications.quiet_enabled", True)
    start = dialog.editor("notifications.quiet_start")
    assert isinstance(start, QTimeEdit)
    start.setTime(QTime(21, 5))
    end = dialog.editor("notifications.quiet_end")
    assert isinstance(end, QTimeEdit)
    end.setTime(QTime(7, 30))
    days = _day_boxes(dialog)
    days[0].setChecked(False)
    days[6].setChecked(True)

    _press(dialog, QDialogButtonBox.StandardButton.Ok)

    [applied] = applier.calls
    assert applied.flag("notifications.quiet_enabled") is True
    assert applied.text("notifications.quiet_start") == "21:05"
    assert applied.text("notifications.quiet_end") == "07:30"
    assert applied.strings("notifications.quiet_days") == ["friday", "sunday"]


# Dependent fields ---------------------------------------------------------------------------


def _enabled(dialog: SettingsDialog, key: str) -> bool:
    widget: QWidget = dialog.test_button if key == "@test-connection" else dialog.editor(key)
    return widget.isEnabled()


@pytest.mark.parametrize(
    ("switch", "dependents", "independent"),
    [
        (
            "notifications.quiet_enabled",
            ["notifications.quiet_start", "notifications.quiet_end", "notifications.quiet_days"],
            ["notifications.critical_bypass"],
        ),
        (
            "notifications.enabled",
            [
                "notifications.burst_threshold",
                "notifications.burst_window_s",
                "notifications.max_per_minute",
                "notifications.min_severity",
                "notifications.quiet_enabled",
                "notifications.missed_scan",
                "notifications.ticket",
            ],
            ["ui.start_at_login"],
        ),
        (
            "notifications.missed_scan",
            ["notifications.missed_scan_default_grace_h"],
            ["notifications.burst_threshold"],
        ),
        (
            "notifications.ticket",
            [
                "notifications.ticket_opened",
                "notifications.ticket_closed",
                "notifications.min_severity_ticket_opened",
                "notifications.min_severity_ticket_closed",
            ],
            ["notifications.min_severity_custom"],
        ),
        (
            "notifications.finished_scan",
            ["notifications.min_severity_finished_scan"],
            ["notifications.min_severity_custom"],
        ),
        ("@https", ["listener.tls_cert", "listener.tls_key"], ["listener.port"]),
        (
            "relay.enabled",
            [
                "relay.allow_from",
                "relay.max_subscribers",
                "relay.ping_interval",
                "relay.queue_size",
            ],
            ["listener.allow_from"],
        ),
    ],
)
def test_fields_are_disabled_while_their_switch_is_off(
    qtbot: QtBot, tmp_path: Path, switch: str, dependents: list[str], independent: list[str]
) -> None:
    dialog = _dialog(qtbot, tmp_path, Applier())
    for on in (True, False, True):
        _check(dialog, switch, on)
        for key in dependents:
            assert _enabled(dialog, key) is on, (key, on)
        for key in independent:
            assert _enabled(dialog, key), key


SUBSCRIBE = [
    "subscribe.urls",
    "subscribe.token",
    "subscribe.ca_file",
    "subscribe.allow_http",
    "subscribe.read_timeout",
    "@test-connection",
]
DIRECT = [
    "listener.host",
    "listener.port",
    "listener.token",
    "listener.password",
    "listener.rate_burst",
    "listener.allow_from",
    "relay.enabled",
]


def test_the_source_decides_which_of_listener_and_relay_fields_apply(
    qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, tmp_path, Applier(), **{"relay.enabled": True})
    assert dialog.values()["source.mode"] == "direct"
    assert not any(_enabled(dialog, k) for k in SUBSCRIBE)
    assert all(_enabled(dialog, k) for k in DIRECT)
    assert dialog.listener_note.isHidden()
    assert _enabled(dialog, "relay.allow_from")

    _mode(dialog, "relay")
    assert dialog.values()["source.mode"] == "relay"
    assert all(_enabled(dialog, k) for k in SUBSCRIBE)
    assert not any(_enabled(dialog, k) for k in DIRECT)
    assert not _enabled(dialog, "relay.allow_from")  # its own switch is on, but nothing binds
    assert not dialog.https_switch.isEnabled()
    assert not dialog.listener_note.isHidden()
    assert_plain(dialog.listener_note.text())

    _mode(dialog, "direct")
    assert all(_enabled(dialog, k) for k in DIRECT)
    assert not any(_enabled(dialog, k) for k in SUBSCRIBE)


def test_a_dialog_opened_in_relay_mode_starts_with_the_listener_disabled(
    qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = _dialog(
        qtbot,
        tmp_path,
        Applier(),
        **{
            "source.mode": "relay",
            "subscribe.urls": ["https://hooks.example.org"],
            "subscribe.token": READ_TOKEN,
        },
    )
    radio = dialog.findChild(QRadioButton, "source.mode=relay")
    assert radio is not None
    assert radio.isChecked()
    assert not any(_enabled(dialog, k) for k in DIRECT)
    assert all(_enabled(dialog, k) for k in SUBSCRIBE)


# Checks only the dialog makes, each pointing at its field -----------------------------------


def _refused_at(dialog: SettingsDialog, key: str, tab: str) -> str:
    message = dialog.field_error(key)
    assert message, f"nothing shown under {key}"
    assert_plain(message)
    assert dialog.tabs.tabText(dialog.tabs.currentIndex()) == tab
    assert dialog.focusWidget() is dialog.editor(key)
    return message


def test_https_without_its_files_points_at_the_missing_one(qtbot: QtBot, tmp_path: Path) -> None:
    applier = Applier()
    dialog = _dialog(qtbot, tmp_path, applier)
    _check(dialog, "@https", True)
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert "certificate file" in _refused_at(dialog, "listener.tls_cert", "Listener (advanced)")
    _type(dialog, "listener.tls_cert", str(tmp_path / "cert.pem"))
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert "private key file" in _refused_at(dialog, "listener.tls_key", "Listener (advanced)")
    assert dialog.field_error("listener.tls_cert") == ""
    assert applier.calls == []


def test_turning_https_off_applies_plain_http(qtbot: QtBot, tmp_path: Path) -> None:
    applier = Applier()
    cert, key = str(tmp_path / "c.pem"), str(tmp_path / "k.pem")
    dialog = _dialog(
        qtbot, tmp_path, applier, **{"listener.tls_cert": cert, "listener.tls_key": key}
    )
    assert dialog.https_switch.isChecked()
    assert dialog.editor("listener.tls_cert").isEnabled()
    _check(dialog, "@https", False)
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    [applied] = applier.calls
    assert applied.text("listener.tls_cert") == ""
    assert applied.text("listener.tls_key") == ""


def test_subscribing_needs_an_address_and_a_token(qtbot: QtBot, tmp_path: Path) -> None:
    applier = Applier()
    dialog = _dialog(qtbot, tmp_path, applier)
    dialog.tabs.setCurrentIndex(3)
    _mode(dialog, "relay")
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert "address" in _refused_at(dialog, "subscribe.urls", "General")
    _type(dialog, "subscribe.urls", "https://hooks.example.org")
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert "read token" in _refused_at(dialog, "subscribe.token", "General")
    _type(dialog, "subscribe.token", "not-a-token")
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert "htr_" in _refused_at(dialog, "subscribe.token", "General")
    assert "not-a-token" not in dialog.field_error("subscribe.token")  # a secret is not echoed
    _type(dialog, "subscribe.token", READ_TOKEN)
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    [applied] = applier.calls
    assert applied.text("source.mode") == "relay"
    assert applied.strings("subscribe.urls") == ["https://hooks.example.org"]
    assert applied.text("subscribe.token") == READ_TOKEN


def test_plain_http_to_another_computer_is_refused_at_the_address_naming_the_switch(
    qtbot: QtBot, tmp_path: Path
) -> None:
    applier = Applier()
    dialog = _dialog(qtbot, tmp_path, applier)
    _mode(dialog, "relay")
    _type(dialog, "subscribe.urls", "http://relay.example.org")
    _type(dialog, "subscribe.token", READ_TOKEN)
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    message = _refused_at(dialog, "subscribe.urls", "General")
    assert "“Allow an unencrypted (http://) relay on another computer”" in message
    _check(dialog, "subscribe.allow_http", True)
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    [applied] = applier.calls
    assert applied.flag("subscribe.allow_http") is True


def test_a_bad_value_in_a_switched_off_field_does_not_block_and_is_not_applied(
    qtbot: QtBot, tmp_path: Path
) -> None:
    applier = Applier()
    dialog = _dialog(qtbot, tmp_path, applier)
    _type(dialog, "listener.host", "not a host!")
    _mode(dialog, "relay")
    _type(dialog, "subscribe.urls", "https://hooks.example.org")
    _type(dialog, "subscribe.token", READ_TOKEN)
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    [applied] = applier.calls
    assert applied.text("source.mode") == "relay"
    assert applied.text("listener.host") == "127.0.0.1"  # the value it had


def test_general_minimum_is_named_in_each_kinds_same_as_above(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = _dialog(qtbot, tmp_path, Applier(), **{"notifications.min_severity": "high"})
    kind = dialog.editor("notifications.min_severity_custom")
    assert isinstance(kind, QComboBox)
    assert kind.currentText() == "Same as above (High)"
    general = dialog.editor("notifications.min_severity")
    assert isinstance(general, QComboBox)
    general.setCurrentIndex(general.findData("low"))
    assert kind.currentText() == "Same as above (Low)"
    assert dialog.values()["notifications.min_severity_custom"] == "default"


@pytest.mark.parametrize("key", ["listener.tls_cert", "listener.tls_key", "subscribe.ca_file"])
def test_browse_fills_a_certificate_file(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    chosen = str(tmp_path / "certs" / "chosen.pem")
    asked: list[str] = []

    def pick(parent: QWidget, title: str, start: str, filters: str) -> tuple[str, str]:
        asked.append(filters)
        return chosen, filters

    monkeypatch.setattr(QFileDialog, "getOpenFileName", pick)
    dialog = _dialog(qtbot, tmp_path, Applier())
    _check(dialog, "@https", True)
    _mode(dialog, "relay" if key.startswith("subscribe.") else "direct")
    browse = dialog.browse_buttons[key]
    assert browse.isEnabled()
    browse.click()
    assert dialog.values()[key] == chosen
    assert "*.pem" in asked[0]
