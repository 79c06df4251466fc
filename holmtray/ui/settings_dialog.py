"""The Settings dialog, built from :data:`holmtray.core.config.schema.SCHEMA`.

Every schema key gets an editor chosen by its type (check box, spin box, combo box, line
edit, one-per-line list), with the key's description as tooltip and as a grey caption, so a
new setting appears here without touching this file (unknown sections land on "General").
The dialog only edits values: OK/Apply validate them through :meth:`Settings.with_values` and
hand the result to the ``apply`` callback, which starts putting them into effect (restart the
listener, save the file, change start at login) and returns at once; it reports the outcome
later, on the GUI thread, through the ``done`` callback it was given. Meanwhile the dialog says
"Applying…" with its buttons disabled and keeps handling events. An error is shown inline and
keeps the dialog open, so nothing the user typed is lost; success after OK closes it. The
webhook token is never shown; it can only be regenerated.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
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
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from holmtray.core.config.paths import Paths
from holmtray.core.config.schema import SCHEMA, Setting, SettingsError, setting
from holmtray.core.config.settings import Settings, new_token
from holmtray.ui.icons import app_icon
from holmtray.ui.settings_editors import (
    TAB_ORDER,
    Field,
    WheelGuard,
    editor_for,
    hbox,
    label_for,
    tab_for,
)

# Internal bookkeeping, not a preference.
HIDDEN_KEYS = frozenset({"ui.welcome_shown"})
TOKEN_KEY = "listener.token"  # noqa: S105 - the name of a setting, not a secret

_KEY_IN_MESSAGE = re.compile(r"setting '([^']+)'")
ERROR_STYLE = "color: #b91c1c;"
CAPTION_STYLE = "color: palette(placeholder-text);"
APPLYING = "Applying…"

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
        self._tab_pages: dict[str, QScrollArea] = {}
        self._grids: dict[str, QGridLayout] = {}
        self._rows: dict[str, int] = {}
        self.show_buttons: list[QToolButton] = []
        self._wheel_guard = WheelGuard(self)
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
        field = editor_for(s)
        label = "" if s.type is bool else label_for(s.key)  # a check box has its own text
        row: QWidget | None = None
        line = field.editor
        if isinstance(line, QLineEdit):
            if s.secret:
                line.setEchoMode(QLineEdit.EchoMode.Password)
                row = self._with_show_toggle(line)
            elif s.key == "storage.data_dir":
                line.setPlaceholderText(f"default: {self._paths.data_dir}")
                row = self._with_browse(line)
        field.editor.setObjectName(s.key)
        field.editor.setToolTip(s.description)
        if isinstance(field.editor, (QComboBox, QAbstractSpinBox)):
            field.editor.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            field.editor.installEventFilter(self._wheel_guard)
        self._fields[s.key] = field
        if row is None:
            # Line edits and lists take the whole width; small editors keep their own size.
            grows = isinstance(field.editor, (QLineEdit, QPlainTextEdit))
            row = field.editor if grows else hbox(field.editor)
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
        return hbox(line, show, grow=0)

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
        return hbox(line, browse, grow=0)

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
        self._fields[TOKEN_KEY] = Field(
            s, self.regenerate_button, lambda: self._token, lambda v: None
        )
        self._add_row(
            tab_for(TOKEN_KEY),
            label_for(TOKEN_KEY),
            hbox(self.regenerate_button, self.token_status, grow=1),
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
            hbox(self.open_log_button),
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
            self._commit(close=True)
        elif role == QDialogButtonBox.StandardButton.Apply:
            self._commit(close=False)
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

    def _commit(self, *, close: bool) -> None:
        """Validate, then start applying; ``close``: close once the new settings are in effect."""
        values = self.values()
        for key, value in values.items():
            try:
                self._fields[key].setting.validate(value)
            except SettingsError as exc:
                self._refuse(key, str(exc))
                return
        try:
            new = self._settings.with_values(values)
        except SettingsError as exc:
            found = _KEY_IN_MESSAGE.search(str(exc))
            self._refuse(found.group(1) if found else None, str(exc))
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
