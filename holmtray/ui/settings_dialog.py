"""The Settings dialog: every setting in plain words, laid out for people, not config keys.

Tabs, in order: General (where events come from — receive directly or subscribe to a relay,
with *Test connection* — and startup), Notifications, Security Center hosts, Storage, and
Listener (advanced) (with the relay this computer can be for others). The words live in
:mod:`holmtray.ui.settings_labels`, the placement and which switch each field depends on in
:mod:`holmtray.ui.settings_layout`; a field whose switch is off is disabled, and the
listener's fields are when this computer subscribes to a relay (it binds no port then).

The dialog only edits values: OK/Apply validate them through :meth:`Settings.with_values` and
hand the result to the ``apply`` callback, which starts putting them into effect and returns
at once; it reports the outcome later, on the GUI thread, through the ``done`` callback it was
given. Meanwhile the dialog says "Applying…" with its buttons disabled and keeps handling
events. A refused value is shown under its field in plain words (the field's tab comes up,
the field is highlighted and focused); an apply error is shown at the bottom; either way the
dialog stays open, so nothing typed is lost. The webhook token is never shown; it can only be
regenerated.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from holmtray.core.config.paths import Paths
from holmtray.core.config.schema import SCHEMA, SettingsError, setting
from holmtray.core.config.settings import Settings, new_token
from holmtray.core.subscribe.relayconn import RelayTarget
from holmtray.ui.icons import app_icon
from holmtray.ui.relay_probe import ConnectionTester
from holmtray.ui.settings_editors import Field, WheelGuard, caption, editor_for, expanding, hbox
from holmtray.ui.settings_labels import SAME_AS_ABOVE, help_for, keys_in, label_for, plain_words
from holmtray.ui.settings_layout import (
    HIDDEN_KEYS,
    HTTPS,
    LISTENER,
    LOGS,
    TEST_CONNECTION,
    conditions,
    tab_for,
)
from holmtray.ui.settings_pages import ERROR_STYLE, build_pages, error_line

__all__ = ["APPLYING", "DEFAULT_SIZE", "HIDDEN_KEYS", "Apply", "ApplyDone", "SettingsDialog"]

log = logging.getLogger("holmtray.ui.settings_dialog")

TOKEN_KEY = "listener.token"  # noqa: S105 - the name of a setting, not a secret
TLS_KEYS = ("listener.tls_cert", "listener.tls_key")
KIND_MINIMUMS = tuple(s.key for s in SCHEMA if s.key.startswith("notifications.min_severity_"))
APPLYING = "Applying…"
DEFAULT_SIZE = (760, 680)  # fits a 1280×800 screen with its title bar and panel
TESTING = "Testing…"
_HIGHLIGHT = "border: 1px solid #b91c1c; border-radius: 2px;"

ApplyDone = Callable[[str | None], None]
"""Reports how applying went: ``None`` once the settings are in effect, else why not."""
Apply = Callable[[Settings, ApplyDone], None]
"""Starts putting settings into effect and returns; calls ``done`` once, on the GUI thread."""


class SettingsDialog(QDialog):
    """Edits every setting; ``apply`` puts a validated :class:`Settings` into effect."""

    def __init__(
        self,
        settings: Settings,
        *,
        paths: Paths,
        apply: Apply,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._paths = paths
        self._apply = apply
        self._result: Settings | None = None
        self._pending: Settings | None = None  # being applied now
        self._close_when_applied = False
        self._token = settings.text(TOKEN_KEY)
        self._fields: dict[str, Field] = {}
        self._wheel_guard = WheelGuard(self)
        self._refused: set[str] = set()
        self.show_buttons: list[QToolButton] = []
        self.browse_buttons: dict[str, QPushButton] = {}

        self.setWindowTitle("holmtray settings")
        self.setWindowIcon(app_icon())
        self.setMinimumSize(600, 440)
        self.resize(*DEFAULT_SIZE)

        widgets: dict[str, QWidget] = {}
        for s in SCHEMA:
            if s.key in HIDDEN_KEYS:
                continue
            field = self._token_field() if s.key == TOKEN_KEY else self._editor(s.key)
            self._fields[s.key] = field
            widgets[s.key] = field.widget
        widgets.update(self._extra_rows())
        self.listener_note = QLabel(
            "This computer subscribes to a relay (General → Source), so it runs no webhook "
            "listener of its own: nothing on this tab applies until you choose Receive "
            "directly again."
        )
        self.listener_note.setWordWrap(True)
        self.listener_note.setTextFormat(Qt.TextFormat.PlainText)
        self.listener_note.setFrameShape(QLabel.Shape.StyledPanel)
        self.listener_note.setMargin(8)

        self.tabs = QTabWidget()
        self._pages = build_pages(self.tabs, widgets, banners={LISTENER: self.listener_note})
        self._switches = {k for key in self._pages.placed for k, _ in conditions(key)}

        self.error_label = error_line()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        self.buttons.clicked.connect(self._on_button)
        restore = self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        assert restore is not None
        restore.setToolTip("Put the settings on this tab back as they were when installed")
        self.progress_label = QLabel(APPLYING)
        self.progress_label.setTextFormat(Qt.TextFormat.PlainText)
        self.progress_label.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error_label)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress_label)
        bottom.addWidget(self.buttons, 1)
        layout.addLayout(bottom)

        for key, field in self._fields.items():
            if key != TOKEN_KEY:
                field.set(settings[key])
            field.watch(functools.partial(self._edited, key))
        self._fields["notifications.min_severity"].watch(self._name_the_general_minimum)
        self._name_the_general_minimum()
        self.https_switch.setChecked(any(settings.text(k) for k in TLS_KEYS))
        self.https_switch.toggled.connect(lambda _on: self._edited(HTTPS))
        self._update_enabled()

    # Public API -------------------------------------------------------------------------------
    def values(self) -> dict[str, object]:
        """The value of every editable key as the widgets show it now (not validated)."""
        values = {key: field.get() for key, field in self._fields.items()}
        if not self.https_switch.isChecked():
            values.update(dict.fromkeys(TLS_KEYS, ""))  # HTTPS off: plain HTTP
        return values

    def result_settings(self) -> Settings | None:
        """The settings last applied successfully, or None if nothing was applied."""
        return self._result

    def editor(self, key: str) -> QWidget:
        """The widget that edits ``key`` (for tests and for focusing it)."""
        return self._fields[key].editor

    def field_error(self, key: str) -> str:
        """The message shown under ``key``'s field ("" when none)."""
        error = self._pages.placed[key].error
        return error.text() if error is not None and error.isVisible() else ""

    def current_settings(self) -> Settings:
        """The settings the app runs with now (updated after each successful Apply)."""
        return self._settings

    @property
    def applying(self) -> bool:
        """Whether settings handed to ``apply`` have not reported back yet."""
        return self._pending is not None

    def reject(self) -> None:
        # Cancel, Esc and the window's close button wait for the outcome, which the user
        # must see: an error means the app still runs with the old settings.
        if not self.applying:
            super().reject()

    # Building ---------------------------------------------------------------------------------
    def _editor(self, key: str) -> Field:
        folder = self._paths.data_dir if key == "storage.data_dir" else None
        field = editor_for(setting(key), default_folder=folder)
        field.editor.setObjectName(key)
        field.editor.setToolTip(help_for(key))
        for button in field.widget.findChildren(QToolButton):
            button.setObjectName(f"{key}.show")
            self.show_buttons.append(button)
        for browse in field.widget.findChildren(QPushButton, "browse"):
            self.browse_buttons[key] = browse
        if isinstance(field.editor, (QComboBox, QAbstractSpinBox)):
            field.editor.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            field.editor.installEventFilter(self._wheel_guard)
        return field

    @property
    def browse_button(self) -> QPushButton:
        """The data folder's *Browse…*."""
        return self.browse_buttons["storage.data_dir"]

    def _token_field(self) -> Field:
        self.regenerate_button = QPushButton("Regenerate token…")
        self.regenerate_button.setAutoDefault(False)
        self.regenerate_button.setObjectName(TOKEN_KEY)
        self.regenerate_button.setToolTip(help_for(TOKEN_KEY))
        self.regenerate_button.clicked.connect(self._regenerate_token)
        self.token_status = QLabel("Hidden here; Copy webhook URL in the tray menu copies it.")
        self.token_status.setTextFormat(Qt.TextFormat.PlainText)
        self.token_status.setWordWrap(True)
        row = expanding(hbox(self.regenerate_button, self.token_status, grow=1))
        return Field(
            setting(TOKEN_KEY),
            self.regenerate_button,
            row,
            lambda: self._token,
            lambda v: None,
            lambda callback: None,
        )

    def _extra_rows(self) -> dict[str, QWidget]:
        self.https_switch = QCheckBox("Serve HTTPS (the webhook URL starts with https://)")
        self.https_switch.setObjectName(HTTPS)
        self.https_switch.setToolTip(
            "Needs a certificate and its private key. Off: plain HTTP, for this computer "
            "only or behind a proxy that handles HTTPS."
        )

        self.test_button = QPushButton("Test connection")
        self.test_button.setAutoDefault(False)
        self.test_button.setObjectName(TEST_CONNECTION)
        self.test_button.setToolTip("Ask the relay whether it accepts your read token")
        self.test_button.clicked.connect(self._test_connection)
        self.test_result = QLabel()
        self.test_result.setTextFormat(Qt.TextFormat.PlainText)
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tester = ConnectionTester(self)
        self._testing = False
        self.tester.finished.connect(self._tested)

        self.open_log_button = QPushButton("Open log folder")
        self.open_log_button.setAutoDefault(False)
        self.open_log_button.setToolTip(str(self._paths.log_dir))
        self.open_log_button.clicked.connect(self._open_log_folder)
        logs = QWidget()
        box = QVBoxLayout(logs)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(hbox(self.open_log_button))
        where = caption(
            f"The application's log and the log of refused webhooks: {self._paths.log_dir}"
        )
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(where)
        return {
            HTTPS: self.https_switch,
            TEST_CONNECTION: expanding(hbox(self.test_button, self.test_result, grow=1)),
            LOGS: expanding(logs),
        }

    def _name_the_general_minimum(self) -> None:
        """ "Same as above" in each kind's minimum says what "above" is now."""
        general = self._fields["notifications.min_severity"].editor
        assert isinstance(general, QComboBox)
        for key in KIND_MINIMUMS:
            combo = self._fields[key].editor
            assert isinstance(combo, QComboBox)
            index = combo.findData("default")
            if index >= 0:
                combo.setItemText(index, f"{SAME_AS_ABOVE} ({general.currentText()})")

    # Switches ---------------------------------------------------------------------------------
    def _value_of(self, key: str) -> object:
        if key == HTTPS:
            return self.https_switch.isChecked()
        return self._fields[key].get()

    def is_active(self, key: str) -> bool:
        """Whether ``key`` applies, as the switches it depends on stand now."""
        return all(self._value_of(k) in allowed for k, allowed in conditions(key))

    def _update_enabled(self) -> None:
        for key, placed in self._pages.placed.items():
            on = self.is_active(key)
            if key == TEST_CONNECTION:
                self.test_button.setEnabled(on and not self._testing)
                on = True  # keep the result readable
            for part in placed.parts:
                part.setEnabled(on)
        self.listener_note.setVisible(not self.is_active("listener.port"))

    def _edited(self, key: str) -> None:
        if key in self._refused:
            self._clear_refusal(key)
            if not self._refused:
                self._show_error("")
        if key in self._switches:
            self._update_enabled()

    # Actions ----------------------------------------------------------------------------------
    def _regenerate_token(self) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Regenerate token?")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText("Make a new webhook token?")
        box.setInformativeText(
            "The current webhook URL stops working as soon as you press OK or Apply. "
            "Security Center does not retry, so events it sends to the old URL are lost "
            "until you paste the new URL into its webhook settings."
        )
        regenerate = box.addButton("Regenerate", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        try:
            box.exec()
            confirmed = box.clickedButton() is regenerate
        finally:
            box.deleteLater()
        if confirmed:
            self._token = new_token()
            self.token_status.setText(
                "New token: takes effect when you press OK or Apply. "
                "Then copy the new webhook URL into Security Center."
            )

    def _open_log_folder(self) -> None:
        folder = self._paths.log_dir
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            self._show_error(f"Cannot create the log folder {folder}: {exc.strerror or exc}")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self._show_error(f"No file manager could open {folder}")

    def _test_connection(self) -> None:
        """Check the relay address and read token as typed, off the GUI thread."""
        keys = ("subscribe.urls", "subscribe.token", "subscribe.ca_file", "subscribe.read_timeout")
        values = self.values()
        for key in keys:
            try:
                setting(key).validate(values[key])
            except SettingsError as exc:
                self._refuse(key, str(exc))
                return
        urls = setting("subscribe.urls").validate(values["subscribe.urls"])
        assert isinstance(urls, list)
        if not urls:
            self._refuse("subscribe.urls", "Enter the relay's address first.")
            return
        token = str(values["subscribe.token"])
        if not token:
            self._refuse("subscribe.token", "Enter your read token first.")
            return
        targets = [
            RelayTarget(
                url=url,
                token=token,
                ca_file=str(values["subscribe.ca_file"]).strip(),
                allow_http=bool(values["subscribe.allow_http"]),
                read_timeout=float(values["subscribe.read_timeout"]),  # type: ignore[arg-type]
            )
            for url in urls
        ]
        self.test_result.setStyleSheet("")
        self.test_result.setText(TESTING)
        self._testing = True
        self.tester.start(targets)
        self._update_enabled()

    def _tested(self, ok: bool, words: str) -> None:
        self._testing = False
        self.test_result.setText(words)
        self.test_result.setStyleSheet("" if ok else ERROR_STYLE)
        self._update_enabled()

    @property
    def testing(self) -> bool:
        """Whether a *Test connection* is under way (its outcome not shown yet)."""
        return self._testing

    def _on_button(self, button: QAbstractButton) -> None:
        role = self.buttons.standardButton(button)
        if role == QDialogButtonBox.StandardButton.Ok:
            self._commit(close=True)
        elif role == QDialogButtonBox.StandardButton.Apply:
            self._commit(close=False)
        elif role == QDialogButtonBox.StandardButton.RestoreDefaults:
            self._restore_current_tab()
        else:
            self.reject()

    def _restore_current_tab(self) -> None:
        page = self.tabs.currentWidget()
        title = next(t for t, p in self._pages.scroll.items() if p is page)
        for key, field in self._fields.items():
            # The token's default ("generate one") is not a preference: leave it alone.
            if key != TOKEN_KEY and tab_for(key) == title:
                field.set(field.setting.default)
        if tab_for(HTTPS) == title:
            self.https_switch.setChecked(False)
        self._clear_refusals()
        self._update_enabled()

    # Validating and applying ------------------------------------------------------------------
    def _validated(self) -> Settings | None:
        """The settings the widgets describe, or None after pointing at what is wrong."""
        values = self.values()
        for key, value in values.items():
            try:
                self._fields[key].setting.validate(value)
            except SettingsError as exc:
                if not self.is_active(key):
                    values[key] = self._settings[key]  # a switched-off field keeps its value
                    continue
                self._refuse(key, str(exc))
                return None
        problem = self._missing(values)
        if problem is not None:
            self._refuse(*problem)
            return None
        for _ in range(len(values)):
            try:
                return self._settings.with_values(values)
            except SettingsError as exc:
                named = [k for k in keys_in(str(exc)) if k in self._fields]
                inactive = [k for k in named if not self.is_active(k)]
                if inactive:
                    values.update({k: self._settings[k] for k in inactive})
                    continue
                self._refuse(named[0] if named else None, str(exc))
                return None
        return None

    def _missing(self, values: dict[str, object]) -> tuple[str, str] | None:
        """A field that must be filled in, as the switches stand (key, message), or None."""
        if self.https_switch.isChecked() and self.is_active(HTTPS):
            for key in TLS_KEYS:
                if not str(values[key]).strip():
                    return key, f"Choose the {label_for(key).lower()}, or turn HTTPS off."
        if values["source.mode"] == "relay":
            if not values["subscribe.urls"]:
                return "subscribe.urls", "Enter the relay's address, or choose Receive directly."
            if not values["subscribe.token"]:
                return "subscribe.token", "Enter your read token for the relay."
        return None

    def _commit(self, *, close: bool) -> None:
        """Validate, then start applying; ``close``: close once the new settings are in effect."""
        self._clear_refusals()
        new = self._validated()
        if new is None:
            return
        self._show_error("")
        if new == self._settings:
            if close:
                self.accept()
            return
        self._pending = new
        self._close_when_applied = close
        self._show_busy(True)
        # The outcome may come back before apply returns (or long after): _applied handles both.
        self._apply(new, lambda problem: self._applied(new, problem))

    def _applied(self, new: Settings, problem: str | None) -> None:
        if self._pending is not new:
            return  # a second report for the same attempt
        self._pending = None
        self._show_busy(False)
        if problem:
            # The app kept running with the old settings; keep the user's edits for a retry.
            named = [k for k in keys_in(problem) if k in self._fields]
            if named:
                self._refuse(named[0], problem)
            else:
                self._show_error(problem)
            return
        self._settings = new
        self._result = new
        if self._close_when_applied:
            self.accept()

    def _show_busy(self, busy: bool) -> None:
        self.buttons.setEnabled(not busy)
        self.progress_label.setVisible(busy)

    def _refuse(self, key: str | None, message: str) -> None:
        """Show ``message`` under ``key``'s field, bring it into view and highlight it."""
        words = plain_words(message)
        words = words[:1].upper() + words[1:]
        placed = self._pages.placed.get(key) if key else None
        if key is None or placed is None or placed.error is None:
            self._show_error(words)
            return
        field = self._fields[key]
        page = self._pages.scroll[placed.tab]
        self.tabs.setCurrentWidget(page)
        placed.error.setText(words)
        placed.error.show()
        if placed.label is not None:
            placed.label.setStyleSheet(ERROR_STYLE)
        if isinstance(field.editor, (QLineEdit, QPlainTextEdit)):
            field.editor.setStyleSheet(_HIGHLIGHT)
        self._refused.add(key)
        page.ensureWidgetVisible(placed.error)
        page.ensureWidgetVisible(field.editor)
        self._show_error(f"Please correct “{label_for(key)}” on the {placed.tab} tab.")
        field.editor.setFocus(Qt.FocusReason.OtherFocusReason)
        log.debug("refused a value for %s", key)

    def _clear_refusal(self, key: str) -> None:
        placed = self._pages.placed[key]
        if placed.error is not None:
            placed.error.hide()
            placed.error.clear()
        if placed.label is not None:
            placed.label.setStyleSheet("")
        self._fields[key].editor.setStyleSheet("")
        self._refused.discard(key)

    def _clear_refusals(self) -> None:
        for key in list(self._refused):
            self._clear_refusal(key)
        self._show_error("")

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
