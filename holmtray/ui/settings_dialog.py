"""The Settings dialog, built from :data:`holmtray.core.config.schema.SCHEMA`.

Every schema key gets an editor chosen by its type (check box, spin box, combo box, line
edit, one-per-line list), with the key's description as tooltip and as a grey caption, so a
new setting appears here without touching this file (unknown sections land on "General").
The dialog only edits values: OK/Apply validate them through :meth:`Settings.with_values` and
hand the result to the ``apply`` callback, which puts them into effect (restart the listener,
save the file, change start at login) and returns an error message if it could not. Errors
are shown inline and keep the dialog open, so nothing the user typed is lost. The webhook
token is never shown; it can only be regenerated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from holmtray.core.config.paths import Paths
from holmtray.core.config.schema import SCHEMA, Setting, SettingsError, setting
from holmtray.core.config.settings import Settings, new_token
from holmtray.ui.icons import app_icon

GENERAL = "General"
TAB_ORDER = ("Listener", "Notifications", "Storage", "Security Center hosts", GENERAL)
_TAB_OF_SECTION = {
    "listener": "Listener",
    "notifications": "Notifications",
    "storage": "Storage",
    "links": "Security Center hosts",
    "ui": GENERAL,
}
# Internal bookkeeping, not a preference.
HIDDEN_KEYS = frozenset({"ui.welcome_shown"})
TOKEN_KEY = "listener.token"  # noqa: S105 - the name of a setting, not a secret

LABELS = {
    "listener.host": "Bind address",
    "listener.port": "Port",
    "listener.token": "Webhook token",
    "listener.username": "User name",
    "listener.password": "Password",
    "listener.max_body_bytes": "Largest body",
    "listener.keepalive_timeout": "Keep-alive timeout",
    "listener.read_timeout": "Read timeout",
    "storage.retention_days": "Keep events for",
    "storage.retention_count": "Keep at most",
    "storage.data_dir": "Data folder",
    "links.hosts": "Trusted hosts",
    "notifications.enabled": "Show desktop notifications",
    "notifications.finished_scan": "Finished scans",
    "notifications.scheduled_scan": "Scheduled scans",
    "notifications.ticket": "Tickets",
    "notifications.ticket_opened": "Opened tickets",
    "notifications.ticket_closed": "Closed tickets",
    "notifications.custom": "Custom payloads",
    "notifications.min_severity": "Minimum severity",
    "notifications.min_severity_finished_scan": "… for finished scans",
    "notifications.min_severity_ticket_opened": "… for opened tickets",
    "notifications.min_severity_ticket_closed": "… for closed tickets",
    "notifications.min_severity_custom": "… for custom payloads",
    "notifications.quiet_enabled": "Quiet hours",
    "notifications.quiet_start": "Quiet from",
    "notifications.quiet_end": "Quiet until",
    "notifications.quiet_days": "Quiet days",
    "notifications.critical_bypass": "Critical events break through quiet hours and snooze",
    "notifications.burst_threshold": "Burst threshold",
    "notifications.max_per_minute": "At most per minute",
    "notifications.missed_scan": "Warn about missed scheduled scans",
    "notifications.missed_scan_default_grace_h": "Missed-scan grace",
    "ui.start_at_login": "Start holmtray when you log in",
}
# Units, read from the end of a key's name so that new settings get them too.
_UNITS = (
    ("_bytes", " bytes"),
    ("_timeout", " s"),
    ("_s", " s"),
    ("_h", " h"),
    ("_days", " days"),
    ("retention_count", " events"),
)
# Shown instead of the minimum, where the minimum means something special.
_SPECIAL_MINIMUM = {
    "listener.port": "any free port (0)",
    "storage.retention_days": "forever (0)",
    "storage.retention_count": "no limit (0)",
}
_INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int
_KEY_IN_MESSAGE = re.compile(r"setting '([^']+)'")
ERROR_STYLE = "color: #b91c1c;"
CAPTION_STYLE = "color: palette(placeholder-text);"


def tab_for(key: str) -> str:
    """The tab a key is shown on."""
    return _TAB_OF_SECTION.get(key.split(".", 1)[0], GENERAL)


def label_for(key: str) -> str:
    """A short label: from :data:`LABELS`, else made from the key's name (unit dropped)."""
    if key in LABELS:
        return LABELS[key]
    name = key.split(".", 1)[-1]
    for ending in ("_s", "_h"):
        if name.endswith(ending) and len(name) > len(ending):
            name = name[: -len(ending)]
    return name.replace("_", " ").capitalize()


def unit_for(key: str) -> str:
    """The spin box suffix for a number setting, from the end of its name."""
    name = key.split(".", 1)[-1]
    return next((unit for ending, unit in _UNITS if name.endswith(ending)), "")


class _WheelGuard(QObject):
    """Lets the mouse wheel scroll the page instead of changing a value under the pointer."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Wheel
            and isinstance(watched, QWidget)
            and not watched.hasFocus()
        ):
            event.ignore()  # ignored events travel on to the scroll area
            return True
        return super().eventFilter(watched, event)


@dataclass(slots=True)
class _Field:
    setting: Setting
    editor: QWidget  # what gets focus when the value is refused
    get: Callable[[], object]
    set: Callable[[object], None]


class SettingsDialog(QDialog):
    """Edits every setting; ``apply`` puts a validated :class:`Settings` into effect."""

    def __init__(
        self,
        settings: Settings,
        *,
        paths: Paths,
        apply: Callable[[Settings], str | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._paths = paths
        self._apply = apply
        self._result: Settings | None = None
        self._token = settings.text(TOKEN_KEY)
        self._fields: dict[str, _Field] = {}
        self._tab_pages: dict[str, QScrollArea] = {}
        self._grids: dict[str, QGridLayout] = {}
        self._rows: dict[str, int] = {}
        self.show_buttons: list[QToolButton] = []
        self._wheel_guard = _WheelGuard(self)
        self._line_height = QLineEdit().sizeHint().height()
        self.browse_button: QPushButton | None = None

        self.setWindowTitle("holmtray settings")
        self.setWindowIcon(app_icon())
        self.setMinimumSize(560, 420)
        self.resize(700, 640)

        self.tabs = QTabWidget()
        for title in TAB_ORDER:
            self._page(title)
        for s in SCHEMA:
            if s.key in HIDDEN_KEYS:
                continue
            if s.key == TOKEN_KEY:
                self._add_token_row()
            else:
                self._add_field(s)
        self._add_extras()
        for title, page in list(self._tab_pages.items()):
            if self._rows[title] == 0:  # e.g. a section whose keys all left the schema
                self.tabs.removeTab(self.tabs.indexOf(page))
                del self._tab_pages[title]
                page.deleteLater()

        # Plain text: messages quote what the user typed.
        self.error_label = QLabel()
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        self.buttons.clicked.connect(self._on_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

        for key, field in self._fields.items():
            if key != TOKEN_KEY:
                field.set(settings[key])

    # Public API -------------------------------------------------------------------------------
    def values(self) -> dict[str, object]:
        """The value of every editable key as the widgets show it now (not validated)."""
        return {key: field.get() for key, field in self._fields.items()}

    def result_settings(self) -> Settings | None:
        """The settings last applied successfully, or None if nothing was applied."""
        return self._result

    def editor(self, key: str) -> QWidget:
        """The widget that edits ``key`` (for tests and for focusing it)."""
        return self._fields[key].editor

    def current_settings(self) -> Settings:
        """The settings the app runs with now (updated after each successful Apply)."""
        return self._settings

    # Building ---------------------------------------------------------------------------------
    def _page(self, title: str) -> QGridLayout:
        if title not in self._grids:
            # A grid rather than a QFormLayout: the grid sizes rows by height-for-width, so
            # wrapped captions get exactly the lines they need.
            page = QWidget()
            outer = QVBoxLayout(page)
            grid = QGridLayout()
            grid.setVerticalSpacing(10)
            grid.setColumnStretch(1, 1)
            outer.addLayout(grid)
            outer.addStretch(1)
            # Each tab scrolls on its own: the schema grows, the screen does not.
            scroll = QScrollArea()
            scroll.setWidget(page)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.tabs.addTab(scroll, title)
            self._tab_pages[title] = scroll
            self._grids[title] = grid
            self._rows[title] = 0
        return self._grids[title]

    def _add_field(self, s: Setting) -> None:
        label = label_for(s.key)
        if s.type is bool:
            field, row = _check_box(s, label), None
            label = ""  # the check box carries its own text
        elif s.choices:
            field, row = _combo_box(s), None
        elif s.type in (int, float):
            field, row = _spin_box(s), None
        elif s.type is list:
            field, row = _lines(s), None
        else:
            field = _line_edit(s)
            line = field.editor
            assert isinstance(line, QLineEdit)
            if s.secret:
                line.setEchoMode(QLineEdit.EchoMode.Password)
                row = self._with_show_toggle(line)
            elif s.key == "storage.data_dir":
                line.setPlaceholderText(f"default: {self._paths.data_dir}")
                row = self._with_browse(line)
            else:
                row = None
        field.editor.setObjectName(s.key)
        field.editor.setToolTip(s.description)
        if isinstance(field.editor, (QComboBox, QAbstractSpinBox)):
            field.editor.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            field.editor.installEventFilter(self._wheel_guard)
        self._fields[s.key] = field
        if row is None:
            # Line edits and lists take the whole width; small editors keep their own size.
            grows = isinstance(field.editor, (QLineEdit, QPlainTextEdit))
            row = field.editor if grows else _hbox(field.editor)
        # A caption that only repeats the check box's text is noise (the tooltip still has it).
        repeats = _same_words(label_for(s.key), s.description)
        self._add_row(tab_for(s.key), label, row, "" if repeats else s.description)

    def _add_row(self, tab: str, label: str, widget: QWidget, description: str) -> None:
        cell = QWidget()
        box = QVBoxLayout(cell)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(widget)
        if description:
            caption = QLabel(description)
            caption.setTextFormat(Qt.TextFormat.PlainText)
            caption.setWordWrap(True)
            # Wrapped labels may be given more height than they need; keep the text next to
            # its editor instead of floating in the middle of that space.
            caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            caption.setStyleSheet(CAPTION_STYLE)
            font = caption.font()
            font.setPointSizeF(font.pointSizeF() * 0.9)
            caption.setFont(font)
            box.addWidget(caption)
        grid = self._page(tab)
        row = self._rows[tab]
        if label:
            name = QLabel(label + ":")
            name.setTextFormat(Qt.TextFormat.PlainText)
            name.setBuddy(widget)
            # Line the label up with the editor's text, not with the top of its frame.
            name.setMinimumHeight(min(widget.sizeHint().height(), self._line_height))
            align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop
            grid.addWidget(name, row, 0, align)
        grid.addWidget(cell, row, 1)
        self._rows[tab] = row + 1

    def _with_show_toggle(self, line: QLineEdit) -> QWidget:
        show = QToolButton()
        show.setText("Show")
        show.setCheckable(True)
        show.setObjectName(f"{line.objectName() or 'secret'}.show")
        show.toggled.connect(
            lambda on: line.setEchoMode(
                QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
            )
        )
        self.show_buttons.append(show)
        return _hbox(line, show, grow=0)

    def _with_browse(self, line: QLineEdit) -> QWidget:
        browse = QPushButton("Browse…")
        browse.setAutoDefault(False)

        def pick() -> None:
            start = line.text().strip() or str(self._paths.data_dir)
            chosen = QFileDialog.getExistingDirectory(self, "Data folder", start)
            if chosen:
                line.setText(chosen)

        browse.clicked.connect(pick)
        self.browse_button = browse
        return _hbox(line, browse, grow=0)

    def _add_token_row(self) -> None:
        s = setting(TOKEN_KEY)
        self.regenerate_button = QPushButton("Regenerate token…")
        self.regenerate_button.setAutoDefault(False)
        self.regenerate_button.setObjectName(TOKEN_KEY)
        self.regenerate_button.setToolTip(s.description)
        self.regenerate_button.clicked.connect(self._regenerate_token)
        self.token_status = QLabel("Part of the webhook URL; not shown here.")
        self.token_status.setTextFormat(Qt.TextFormat.PlainText)
        self.token_status.setWordWrap(True)
        self._fields[TOKEN_KEY] = _Field(
            s, self.regenerate_button, lambda: self._token, lambda v: None
        )
        self._add_row(
            tab_for(TOKEN_KEY),
            label_for(TOKEN_KEY),
            _hbox(self.regenerate_button, self.token_status, grow=1),
            "A new token makes a new webhook URL; the old URL stops working.",
        )

    def _add_extras(self) -> None:
        self.open_log_button = QPushButton("Open log folder")
        self.open_log_button.setAutoDefault(False)
        self.open_log_button.setToolTip(str(self._paths.log_dir))
        self.open_log_button.clicked.connect(self._open_log_folder)
        self._add_row(
            "Storage",
            "Logs",
            _hbox(self.open_log_button),
            f"The application log and the log of rejected requests: {self._paths.log_dir}",
        )

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

    def _on_button(self, button: QAbstractButton) -> None:
        role = self.buttons.standardButton(button)
        if role == QDialogButtonBox.StandardButton.Ok:
            if self._commit():
                self.accept()
        elif role == QDialogButtonBox.StandardButton.Apply:
            self._commit()
        elif role == QDialogButtonBox.StandardButton.RestoreDefaults:
            self._restore_current_tab()
        else:
            self.reject()

    def _restore_current_tab(self) -> None:
        page = self.tabs.currentWidget()
        title = next(t for t, p in self._tab_pages.items() if p is page)
        for key, field in self._fields.items():
            # The token's default ("generate one") is not a preference: leave it alone.
            if key != TOKEN_KEY and tab_for(key) == title:
                field.set(field.setting.default)
        self._show_error("")

    def _commit(self) -> bool:
        """Validate and apply; True when the new settings are in effect."""
        values = self.values()
        for key, value in values.items():
            try:
                self._fields[key].setting.validate(value)
            except SettingsError as exc:
                self._refuse(key, str(exc))
                return False
        try:
            new = self._settings.with_values(values)
        except SettingsError as exc:
            found = _KEY_IN_MESSAGE.search(str(exc))
            self._refuse(found.group(1) if found else None, str(exc))
            return False
        if new == self._settings:
            self._show_error("")
            return True
        problem = self._apply(new)
        if problem:
            # The app kept running with the old settings; keep the user's edits for a retry.
            self._show_error(problem)
            return False
        self._settings = new
        self._result = new
        self._show_error("")
        return True

    def _refuse(self, key: str | None, message: str) -> None:
        field = self._fields.get(key) if key else None
        if field is None:
            self._show_error(message)
            return
        page = self._tab_pages[tab_for(field.setting.key)]
        self.tabs.setCurrentWidget(page)
        page.ensureWidgetVisible(field.editor)
        where = f"{self.tabs.tabText(self.tabs.indexOf(page))} → {label_for(field.setting.key)}"
        self._show_error(f"{where}: {message}")
        field.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))


def _same_words(a: str, b: str) -> bool:
    return a.strip(" .").casefold() == b.strip(" .").casefold()


def _hbox(*widgets: QWidget, grow: int | None = None) -> QWidget:
    """Widgets in a row; ``grow`` is the index of the one that takes the spare width (None:
    nobody, the row ends in empty space)."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        layout.addWidget(w, 1 if i == grow else 0)
    if grow is None:
        layout.addStretch(1)
    return row


def _check_box(s: Setting, label: str) -> _Field:
    box = QCheckBox(label)
    return _Field(s, box, box.isChecked, lambda v: box.setChecked(bool(v)))


def _combo_box(s: Setting) -> _Field:
    combo = QComboBox()
    combo.addItems(list(s.choices or ()))
    return _Field(
        s, combo, combo.currentText, lambda v: combo.setCurrentIndex(combo.findText(str(v)))
    )


def _spin_box(s: Setting) -> _Field:
    spin: QSpinBox | QDoubleSpinBox
    if s.type is int:
        spin = QSpinBox()
        spin.setRange(
            int(s.minimum) if s.minimum is not None else -_INT_LIMIT,
            min(int(s.maximum), _INT_LIMIT) if s.maximum is not None else _INT_LIMIT,
        )
        spin.setGroupSeparatorShown(spin.maximum() >= 100_000)
    else:
        spin = QDoubleSpinBox()
        fine = s.minimum is not None and round(s.minimum, 1) != s.minimum
        spin.setDecimals(2 if fine else 1)
        spin.setRange(
            s.minimum if s.minimum is not None else -1e9,
            s.maximum if s.maximum is not None else 1e9,
        )
    spin.setSuffix(unit_for(s.key))
    if s.key in _SPECIAL_MINIMUM:
        spin.setSpecialValueText(_SPECIAL_MINIMUM[s.key])
    spin.setMinimumWidth(150)

    def set_value(v: object) -> None:
        assert isinstance(v, (int, float)), v
        if isinstance(spin, QSpinBox):
            spin.setValue(int(v))
        else:
            spin.setValue(float(v))

    return _Field(s, spin, spin.value, set_value)


def _lines(s: Setting) -> _Field:
    text = QPlainTextEdit()
    text.setTabChangesFocus(True)
    text.setPlaceholderText("one per line")
    text.setFixedHeight(text.fontMetrics().lineSpacing() * 5 + 12)

    def set_lines(v: object) -> None:
        assert isinstance(v, list)
        text.setPlainText("\n".join(str(x) for x in v))

    return _Field(s, text, lambda: text.toPlainText().splitlines(), set_lines)


def _line_edit(s: Setting) -> _Field:
    line = QLineEdit()
    return _Field(s, line, line.text, lambda v: line.setText(str(v)))
