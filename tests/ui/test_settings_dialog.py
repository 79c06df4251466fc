"""The Settings dialog: one editor per schema key, validation that names the key, apply errors
that keep the dialog open, token regeneration behind a confirmation; while its settings are
being applied it says "Applying…", its buttons wait and the event loop keeps running."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QTimeEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from holmtray.core.config.paths import Paths
from holmtray.core.config.schema import SCHEMA, setting
from holmtray.core.config.settings import Settings, new_token
from holmtray.ui.settings_dialog import (
    APPLYING,
    DEFAULT_SIZE,
    HIDDEN_KEYS,
    ApplyDone,
    SettingsDialog,
)
from holmtray.ui.settings_labels import help_for
from holmtray.ui.settings_layout import TAB_ORDER, tab_for
from tests.ui.screenshots import save_screenshot
from tests.ui.settings_tools import Applier, assert_plain
from tests.ui.settings_tools import open_dialog as _dialog
from tests.ui.settings_tools import press as _press


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
def paths(tmp_path: Path) -> Paths:
    return Paths.under(tmp_path / "home")


@pytest.fixture
def start() -> Settings:
    return Settings({"listener.token": new_token(), "listener.password": "pw"})


def _on_modal(action: Callable[[QWidget], None]) -> None:
    """Run ``action`` on the next modal dialog (the caller then blocks in its exec())."""

    def attempt() -> None:
        widget = QApplication.activeModalWidget()
        if widget is None:
            QTimer.singleShot(10, attempt)
            return
        action(widget)

    QTimer.singleShot(0, attempt)


def _click_message_button(text: str) -> Callable[[QWidget], None]:
    def act(widget: QWidget) -> None:
        assert isinstance(widget, QMessageBox)
        for button in widget.buttons():
            if button.text().replace("&", "") == text:
                button.click()
                return
        raise AssertionError(f"no {text!r} button in {[b.text() for b in widget.buttons()]}")

    return act


def test_every_schema_key_but_the_hidden_ones_has_an_editor_of_its_type(
    qtbot: QtBot, start: Settings, paths: Paths
) -> None:
    dialog = _dialog(qtbot, start, paths, Applier())
    expected = {s.key for s in SCHEMA} - HIDDEN_KEYS
    assert set(dialog.values()) == expected
    for s in SCHEMA:
        if s.key in HIDDEN_KEYS:
            assert dialog.findChild(QWidget, s.key) is None
            continue
        editor = dialog.editor(s.key)
        assert editor.objectName() == s.key
        assert editor.toolTip() == help_for(s.key)
        if s.key == "listener.token":
            assert editor is dialog.regenerate_button
        elif s.type is bool:
            assert isinstance(editor, QCheckBox)
        elif s.key == "source.mode":
            radios = editor.findChildren(QRadioButton)
            assert [r.objectName() for r in radios] == ["source.mode=direct", "source.mode=relay"]
        elif s.choices:
            assert isinstance(editor, QComboBox)
            assert [editor.itemData(i) for i in range(editor.count())] == list(s.choices)
        elif s.type is int:
            assert isinstance(editor, QSpinBox)
            assert editor.minimum() == s.minimum
            assert editor.maximum() == s.maximum
        elif s.type is float:
            assert isinstance(editor, QDoubleSpinBox)
        elif s.key == "notifications.quiet_days":
            assert len(editor.findChildren(QCheckBox)) == 7
        elif s.type is list:
            assert isinstance(editor, QPlainTextEdit)
        elif s.key in ("notifications.quiet_start", "notifications.quiet_end"):
            assert isinstance(editor, QTimeEdit)
        else:
            assert isinstance(editor, QLineEdit)
            expected_mode = QLineEdit.EchoMode.Password if s.secret else QLineEdit.EchoMode.Normal
            assert editor.echoMode() == expected_mode
    tabs = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    assert tabs == list(TAB_ORDER)
    assert tab_for("listener.port") == "Listener (advanced)"
    assert tab_for("relay.enabled") == "Listener (advanced)"
    assert tab_for("source.mode") == "General"
    assert tab_for("links.hosts") == "Security Center hosts"
    assert tab_for("brand_new.option") == "General"  # unknown sections still get shown


def test_widgets_start_with_the_current_values(qtbot: QtBot, start: Settings, paths: Paths) -> None:
    dialog = _dialog(qtbot, start, paths, Applier())
    values = dialog.values()
    for key, value in values.items():
        assert start.with_values({key: value})[key] == start[key], key


def test_changes_are_applied_with_ok_and_the_dialog_closes(
    qtbot: QtBot, start: Settings, paths: Paths
) -> None:
    applier = Applier()
    dialog = _dialog(qtbot, start, paths, applier)
    port = dialog.editor("listener.port")
    assert isinstance(port, QSpinBox)
    port.setValue(9001)
    hosts = dialog.editor("links.hosts")
    assert isinstance(hosts, QPlainTextEdit)
    hosts.setPlainText("holmsecurity.com\n  sc.example.org  \n\n")
    scheduled = dialog.editor("notifications.scheduled_scan")
    assert isinstance(scheduled, QCheckBox)
    scheduled.setChecked(True)
    severity = dialog.editor("notifications.min_severity")
    assert isinstance(severity, QComboBox)
    severity.setCurrentText("High")  # the words shown; the value stays "high"
    timeout = dialog.editor("listener.read_timeout")
    assert isinstance(timeout, QDoubleSpinBox)
    timeout.setValue(30.5)

    with qtbot.waitSignal(dialog.finished):
        _press(dialog, QDialogButtonBox.StandardButton.Ok)

    assert dialog.result() == QDialog.DialogCode.Accepted
    assert len(applier.calls) == 1
    applied = applier.calls[0]
    assert applied.integer("listener.port") == 9001
    assert applied.strings("links.hosts") == ["holmsecurity.com", "sc.example.org"]
    assert applied.flag("notifications.scheduled_scan") is True
    assert applied.text("notifications.min_severity") == "high"
    assert applied.number("listener.read_timeout") == 30.5
    # Untouched values, the secrets included, come through unchanged.
    assert applied.text("listener.token") == start.text("listener.token")
    assert applied.text("listener.password") == "pw"
    assert applied.flag("ui.welcome_shown") == start.flag("ui.welcome_shown")
    assert dialog.result_settings() == applied


def test_ok_without_changes_closes_without_applying(
    qtbot: QtBot, start: Settings, paths: Paths
) -> None:
    applier = Applier()
    dialog = _dialog(qtbot, start, paths, applier)
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert applier.calls == []
    assert dialog.result_settings() is None


@pytest.mark.parametrize(
    ("key", "typed", "label"),
    [
        ("listener.host", "not a host!", "Listen on"),
        ("links.hosts", "holmsecurity.com\nbad host!", "Trusted hosts"),
        ("listener.username", "user:name", "User name"),
    ],
)
def test_invalid_input_is_refused_under_its_field_in_plain_words(
    qtbot: QtBot, start: Settings, paths: Paths, key: str, typed: str, label: str
) -> None:
    applier = Applier()
    dialog = _dialog(qtbot, start, paths, applier)
    dialog.tabs.setCurrentIndex(0)  # the error must bring its tab up
    editor = dialog.editor(key)
    if isinstance(editor, QPlainTextEdit):
        editor.setPlainText(typed)
    else:
        assert isinstance(editor, QLineEdit)
        editor.setText(typed)

    _press(dialog, QDialogButtonBox.StandardButton.Ok)

    assert applier.calls == []
    assert dialog.isVisible()
    # The message sits under the field, quotes what was typed and names no setting key.
    message = dialog.field_error(key)
    assert typed.splitlines()[-1] in message
    assert_plain(message)
    assert dialog.tabs.currentWidget().isAncestorOf(editor)
    assert dialog.focusWidget() is editor
    # The line at the bottom says where, by the field's label and its tab.
    assert dialog.error_label.isVisible()
    assert dialog.error_label.textFormat().name == "PlainText"
    assert f"“{label}”" in dialog.error_label.text()
    assert tab_for(key) in dialog.error_label.text()
    assert_plain(dialog.error_label.text())

    # Editing the field takes the message away; fixing it and pressing Apply applies.
    if isinstance(editor, QPlainTextEdit):
        editor.setPlainText("holmsecurity.com")
    else:
        editor.setText(start.text(key) if key != "listener.host" else "0.0.0.0")
    assert dialog.field_error(key) == ""
    _press(dialog, QDialogButtonBox.StandardButton.Apply)
    assert not dialog.error_label.isVisible()
    assert dialog.isVisible()  # Apply keeps the dialog open
    assert len(applier.calls) in (0, 1)  # 0 when the fix restored the original value


def test_apply_failure_is_shown_and_the_dialog_stays_open(
    qtbot: QtBot, start: Settings, paths: Paths
) -> None:
    applier = Applier("port 8747 on 127.0.0.1 is already in use")
    dialog = _dialog(qtbot, start, paths, applier)
    port = dialog.editor("listener.port")
    assert isinstance(port, QSpinBox)
    port.setValue(8747 if start.integer("listener.port") != 8747 else 8748)

    _press(dialog, QDialogButtonBox.StandardButton.Ok)

    assert len(applier.calls) == 1
    assert dialog.isVisible()
    assert dialog.error_label.text() == "port 8747 on 127.0.0.1 is already in use"
    assert dialog.result_settings() is None
    assert dialog.current_settings() == start

    # Once the app manages, OK applies again and closes.
    applier.answer = None
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert len(applier.calls) == 2
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.result_settings() == applier.calls[1]


def test_regenerating_the_token_asks_first_and_yields_a_new_valid_token(
    qtbot: QtBot, start: Settings, paths: Paths
) -> None:
    applier = Applier()
    dialog = _dialog(qtbot, start, paths, applier)
    old = start.text("listener.token")
    warnings: list[str] = []

    def cancel(widget: QWidget) -> None:
        assert isinstance(widget, QMessageBox)
        warnings.append(widget.informativeText())
        assert widget.defaultButton() is widget.button(QMessageBox.StandardButton.Cancel)
        _click_message_button("Cancel")(widget)

    _on_modal(cancel)
    dialog.regenerate_button.click()
    assert dialog.values()["listener.token"] == old
    assert "stops working" in warnings[0]

    _on_modal(_click_message_button("Regenerate"))
    dialog.regenerate_button.click()
    token = dialog.values()["listener.token"]
    assert isinstance(token, str)
    assert token != old
    setting("listener.token").validate(token)
    assert "New token" in dialog.token_status.text()
    assert token not in dialog.token_status.text()

    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert [s.text("listener.token") for s in applier.calls] == [token]


def test_restore_defaults_resets_only_the_current_tab(qtbot: QtBot, paths: Paths) -> None:
    changed = Settings(
        {
            "listener.token": new_token(),
            "listener.port": 9999,
            "storage.retention_days": 7,
            "notifications.ticket": False,
        }
    )
    dialog = _dialog(qtbot, changed, paths, Applier())
    dialog.tabs.setCurrentIndex(TAB_ORDER.index("Notifications"))
    _press(dialog, QDialogButtonBox.StandardButton.RestoreDefaults)
    values = dialog.values()
    assert values["notifications.ticket"] is True
    assert values["listener.port"] == 9999
    assert values["storage.retention_days"] == 7

    dialog.tabs.setCurrentIndex(TAB_ORDER.index("Listener (advanced)"))
    _press(dialog, QDialogButtonBox.StandardButton.RestoreDefaults)
    values = dialog.values()
    assert values["listener.port"] == setting("listener.port").default
    assert values["listener.token"] == changed.text("listener.token")  # never reset to ""


def test_secret_show_toggle_reveals_the_password(
    qtbot: QtBot, start: Settings, paths: Paths
) -> None:
    dialog = _dialog(qtbot, start, paths, Applier())
    password = dialog.editor("listener.password")
    assert isinstance(password, QLineEdit)
    # One "show" button per secret field (the Basic password, the relay read token); the
    # password's sits beside it.
    [show] = [b for b in dialog.show_buttons if b.parentWidget() is password.parentWidget()]
    show.click()
    assert password.echoMode() == QLineEdit.EchoMode.Normal
    show.click()
    assert password.echoMode() == QLineEdit.EchoMode.Password


def test_browse_fills_the_data_folder(
    qtbot: QtBot, start: Settings, paths: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = str(tmp_path / "elsewhere")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: chosen)
    dialog = _dialog(qtbot, start, paths, Applier())
    assert dialog.browse_button is not None
    dialog.browse_button.click()
    assert dialog.values()["storage.data_dir"] == chosen


class _UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def handle(self, url: QUrl) -> None:
        self.urls.append(url)


def test_open_log_folder_opens_the_log_directory(
    qtbot: QtBot, start: Settings, paths: Paths
) -> None:
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "handle")
    try:
        dialog = _dialog(qtbot, start, paths, Applier())
        dialog.open_log_button.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [u.toLocalFile() for u in catcher.urls] == [str(paths.log_dir)]
    assert paths.log_dir.is_dir()


def test_screenshots_of_every_tab_at_the_default_size(
    qtbot: QtBot, start: Settings, paths: Paths, artifacts: Path
) -> None:
    dialog = _dialog(qtbot, start, paths, Applier())
    assert (dialog.width(), dialog.height()) == DEFAULT_SIZE
    for index in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(index)
        slug = re.sub(r"[^a-z]+", "_", dialog.tabs.tabText(index).lower()).strip("_")
        save_screenshot(dialog, artifacts / f"settings_{index + 1}_{slug}.png")
        # The whole page too, as it would show with room enough (the part below the fold).
        page = dialog.tabs.widget(index)
        assert isinstance(page, QScrollArea)
        inner = page.widget()
        if inner.height() < inner.sizeHint().height():
            save_screenshot(inner, artifacts / f"settings_{index + 1}_{slug}_whole_page.png")

    # A refused value, as the user sees it: its tab up, the message under the field.
    host = dialog.editor("listener.host")
    assert isinstance(host, QLineEdit)
    host.setText("not a host!")
    _press(dialog, QDialogButtonBox.StandardButton.Apply)
    save_screenshot(dialog, artifacts / "settings_refused_value.png")


# Applying -----------------------------------------------------------------------------------------


def _set_port(dialog: SettingsDialog, port: int) -> None:
    editor = dialog.editor("listener.port")
    assert isinstance(editor, QSpinBox)
    editor.setValue(port)


def test_the_event_loop_keeps_running_while_a_slow_apply_is_pending_and_ok_closes_on_success(
    qtbot: QtBot, start: Settings, paths: Paths
) -> None:
    applier = HeldApplier()
    dialog = _dialog(qtbot, start, paths, applier)
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
    qtbot: QtBot, start: Settings, paths: Paths
) -> None:
    applier = HeldApplier()
    dialog = _dialog(qtbot, start, paths, applier)
    _set_port(dialog, 9001)
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert dialog.applying

    QTimer.singleShot(20, lambda: applier.finish("port 9001 on 127.0.0.1 is already in use"))
    qtbot.waitUntil(lambda: not dialog.applying)

    assert dialog.isVisible()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.error_label.isVisible()
    assert dialog.error_label.text() == "port 9001 on 127.0.0.1 is already in use"
    assert not dialog.progress_label.isVisible()
    assert dialog.buttons.isEnabled()
    assert dialog.values()["listener.port"] == 9001  # what the user typed is still there
    assert dialog.current_settings() == start
    assert dialog.result_settings() is None

    # A late second report for the same attempt changes nothing.
    applier.finish(None)
    assert dialog.isVisible()
    assert dialog.result_settings() is None

    # Apply tries again; its success keeps the dialog open with the new settings current.
    _set_port(dialog, 9002)
    _press(dialog, QDialogButtonBox.StandardButton.Apply)
    assert dialog.applying
    assert not dialog.error_label.isVisible()  # the old message goes while it tries
    applier.finish(None)
    assert not dialog.applying
    assert dialog.isVisible()
    assert dialog.current_settings().integer("listener.port") == 9002
    assert dialog.result_settings() == dialog.current_settings()
    assert len(applier.calls) == 2

    # Nothing pending any more: Cancel closes.
    _press(dialog, QDialogButtonBox.StandardButton.Cancel)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert not dialog.isVisible()
