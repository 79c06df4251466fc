"""The first-run welcome: how events reach this computer, stated truthfully, and both setups.

The headline says what is true now ("holmtray is listening" only while the listener listens;
"holmtray is not receiving events" with the reason when it does not) and follows the app's
status while the dialog is open (:meth:`WelcomeDialog.set_status`). Two setups are offered:

- **Receive directly** — the webhook URL to paste into Security Center, *Copy*, a test event,
  and the plain truth about reachability. Copy and *Send test event* are disabled while there
  is no working URL.
- **Subscribe to a relay** — relay address, read token, *Test connection*, *Subscribe*
  (:class:`~holmtray.ui.welcome_relay.RelayPage`).

The dialog does no networking and changes no setting. ``send_test`` is the app's function
that posts a test event to its own listener; the dialog calls it with a ``done(ok, message)``
callback and shows the message when the app calls back (likewise ``use_direct`` and the relay
page's actions). The callbacks may come from any thread, after the dialog was closed: they hold
it only weakly and reach it on the GUI thread (:func:`~holmtray.ui.gui_thread.deliver_to`).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from holmtray.ui.gui_thread import deliver_to
from holmtray.ui.icons import TrayState, app_icon, render
from holmtray.ui.source_status import NOT_RECEIVING
from holmtray.ui.welcome_relay import (
    ERROR_STYLE,
    OK_STYLE,
    PENDING_STYLE,
    RelayAction,
    RelayPage,
    plain_label,
)

log = logging.getLogger("holmtray.ui.welcome")

__all__ = [
    "ERROR_STYLE",
    "HEADING",
    "OK_STYLE",
    "PENDING_STYLE",
    "REACHABILITY",
    "SendTest",
    "TestDone",
    "WelcomeDialog",
    "WelcomeStatus",
]

TestDone = Callable[[bool, str], None]
"""``done(ok, message)``: the test POST finished; ``message`` is shown as plain text."""
SendTest = Callable[[TestDone], None]
"""Starts the test POST and returns at once; calls ``done`` exactly once when it finishes."""
UseDirect = Callable[[TestDone], None]
"""Switches to receiving directly and returns at once; calls ``done`` once when applied."""

HEADING = "holmtray is listening"
NO_URL = "(no webhook URL: the listener is not running)"
MAX_CONTENT_WIDTH = 860
CHOICE = "How should Security Center's events reach this computer?"
DIRECT_CHOICE = "Receive directly — Security Center posts to this computer"
RELAY_CHOICE = "Subscribe to a relay — for a computer that sleeps or that Holm cannot reach"
WHERE_TO_PASTE = (
    "Paste this webhook URL into Security Center's webhook settings "
    "(the Webhooks integration), then send a test event to check that it arrives."
)
REACHABILITY = (
    "Holm Security's cloud must be able to reach this URL, and it never resends. This computer "
    "usually is not reachable from the internet: publish it through a reverse proxy or VPN, or "
    "subscribe to a relay instead — a holmtray on an always-on host that keeps the events "
    "while this computer sleeps."
)
LOOPBACK_NOTE = (
    "This URL uses a loopback address, which only this computer can reach: change the bind "
    "address in Settings → Listener, or use a reverse proxy."
)
SWITCH_NOTE = (
    "This computer gets its events from a relay now, so its own listener is off. Receive "
    "directly instead to get a webhook URL for Security Center."
)


@dataclass(frozen=True, slots=True)
class WelcomeStatus:
    """What the dialog shows about the running source (the app's current truth)."""

    headline: str
    detail: str = ""  # under the headline: why not, or what is happening
    receiving: bool = True
    mode: str = "direct"
    webhook_url: str | None = None  # a working webhook URL (direct mode), else None
    can_test: bool = False  # a test event would be stored
    look: str = "ok"  # the tray icon's look: "ok", "error", "offline"


def _is_loopback(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _state_icon(look: str) -> QPixmap:
    """The tray icon as it looks now, large: the same picture the user will look for."""
    return render(
        TrayState(error="not receiving" if look == "error" else None, offline=look == "offline"), 48
    )


class WelcomeDialog(QDialog):
    """First-run welcome; see the module docstring."""

    def __init__(
        self,
        *,
        webhook_url: str | None,
        send_test: SendTest,
        status: WelcomeStatus | None = None,
        relay_url: str = "",
        relay_token: str = "",
        test_relay: RelayAction | None = None,
        subscribe: RelayAction | None = None,
        use_direct: UseDirect | None = None,
        open_settings: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if status is None:
            status = WelcomeStatus(
                headline=HEADING if webhook_url else NOT_RECEIVING,
                receiving=webhook_url is not None,
                webhook_url=webhook_url,
                can_test=webhook_url is not None,
            )
        self._status = status
        self._url = status.webhook_url or ""
        self._send_test = send_test
        self._use_direct = use_direct
        self._attempt = 0
        self._pending = False
        self.setWindowTitle("Welcome to holmtray")
        self.setWindowIcon(app_icon())
        # Wide enough to show the whole URL where the screen allows: it is the point of this dialog.
        wanted = self.fontMetrics().horizontalAdvance(self._url or NO_URL) + 140
        self.setMinimumWidth(max(600, min(wanted, 820)))

        self.icon = QLabel()
        self.icon.setFixedSize(48, 48)
        self.heading = plain_label()
        font = QFont(self.heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.heading.setFont(font)
        self.detail_label = plain_label()
        for label in (self.heading, self.detail_label):  # take the width; wrap only beyond it
            label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.settings_button = QPushButton("Settings…")
        self.settings_button.setAutoDefault(False)
        self.settings_button.setVisible(False)
        self._open_settings = open_settings
        if open_settings is not None:
            self.settings_button.clicked.connect(open_settings)
        detail_row = QHBoxLayout()
        detail_row.addWidget(self.detail_label, 1)
        detail_row.addWidget(self.settings_button, 0, Qt.AlignmentFlag.AlignTop)
        heading_box = QVBoxLayout()
        heading_box.setSpacing(4)
        heading_box.addWidget(self.heading)
        heading_box.addLayout(detail_row)
        top = QHBoxLayout()
        top.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(heading_box, 1)

        self.direct_radio = QRadioButton(DIRECT_CHOICE)
        self.relay_radio = QRadioButton(RELAY_CHOICE)
        group = QButtonGroup(self)
        group.addButton(self.direct_radio)
        group.addButton(self.relay_radio)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._direct_page())
        self._result_target: QLabel = self.result_label
        self.relay_page = RelayPage(
            url=relay_url, token=relay_token, test_relay=test_relay, subscribe=subscribe
        )
        self.pages.addWidget(self.relay_page)
        self.direct_radio.toggled.connect(self._choose_page)
        (self.relay_radio if status.mode == "relay" else self.direct_radio).setChecked(True)
        self._choose_page()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        assert close is not None
        self.close_button = close
        buttons.rejected.connect(self.reject)

        choice = QVBoxLayout()
        choice.setSpacing(2)
        choice.addWidget(plain_label(CHOICE))
        choice.addSpacing(4)
        choice.addWidget(self.direct_radio)
        choice.addWidget(self.relay_radio)
        # Lines stay readable when the dialog is made large: the content keeps a reading width.
        content = QWidget()
        content.setMaximumWidth(MAX_CONTENT_WIDTH)
        inner = QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.setSpacing(14)
        inner.addLayout(top)
        inner.addLayout(choice)
        inner.addWidget(self.pages)
        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addWidget(content, 1000)  # up to its maximum width; the rest is margin
        centred.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(centred)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self.set_status(status)

    def _direct_page(self) -> QWidget:
        self.switch_button = QPushButton("Receive directly instead")
        self.switch_button.setAutoDefault(False)
        self.switch_button.setEnabled(self._use_direct is not None)
        self.switch_button.clicked.connect(self._switch_to_direct)
        self.switch_result = plain_label()
        switch_buttons = QHBoxLayout()
        switch_buttons.addWidget(self.switch_button, 0, Qt.AlignmentFlag.AlignTop)
        switch_buttons.addWidget(self.switch_result, 1)
        self.switch_row = QWidget()
        switch = QVBoxLayout(self.switch_row)
        switch.setContentsMargins(0, 0, 0, 0)
        switch.addWidget(plain_label(SWITCH_NOTE))
        switch.addLayout(switch_buttons)

        self.paste_label = plain_label(WHERE_TO_PASTE)
        self.url_edit = QLineEdit(self._url)
        self.url_edit.setReadOnly(True)
        self.url_edit.setPlaceholderText(NO_URL)
        self.url_edit.setCursorPosition(0)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAutoDefault(False)
        self.copy_button.clicked.connect(self._copy)
        self.url_row = QWidget()
        url_row = QHBoxLayout(self.url_row)
        url_row.setContentsMargins(0, 0, 0, 0)
        url_row.addWidget(self.url_edit, 1)
        url_row.addWidget(self.copy_button)

        self.reachability_label = plain_label(REACHABILITY)
        self._loopback = plain_label(LOOPBACK_NOTE)
        self._loopback.setStyleSheet("font-weight: bold;")
        self.loopback_label: QLabel | None = None  # the note, while the URL is loopback only
        notes = QVBoxLayout()
        notes.addWidget(self.reachability_label)
        notes.addWidget(self._loopback)
        self.notes_box = QFrame()
        self.notes_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.notes_box.setLayout(notes)

        self.send_button = QPushButton("Send test event")
        self.send_button.setAutoDefault(False)
        self.send_button.clicked.connect(self._send)
        self.result_label = plain_label()
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_row = QWidget()
        test_row = QHBoxLayout(self.test_row)
        test_row.setContentsMargins(0, 0, 0, 0)
        test_row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignTop)
        test_row.addWidget(self.result_label, 1)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        for part in (self.switch_row, self.paste_label, self.url_row, self.notes_box):
            layout.addWidget(part)
        layout.addWidget(self.test_row)
        return page

    # ---- status ----------------------------------------------------------------------------

    @property
    def status(self) -> WelcomeStatus:
        return self._status

    def set_status(self, status: WelcomeStatus) -> None:
        """Show the app's current truth: headline, detail, the URL (or none), the mode."""
        if self.heading.text() != status.headline:
            log.debug("welcome headline: %s", status.headline)
        self._status = status
        self.heading.setText(status.headline)
        self.icon.setPixmap(_state_icon(status.look))
        self.detail_label.setText(status.detail)
        self.detail_label.setVisible(bool(status.detail))
        self.detail_label.setStyleSheet("" if status.receiving else ERROR_STYLE)
        self.settings_button.setVisible(
            self._open_settings is not None and bool(status.detail) and not status.receiving
        )
        self._url = status.webhook_url or ""
        if self.url_edit.text() != self._url:
            self.url_edit.setText(self._url)
            self.url_edit.setCursorPosition(0)
        relay = status.mode == "relay"
        self.switch_row.setVisible(relay)
        for part in (self.paste_label, self.url_row, self.notes_box, self.test_row):
            part.setVisible(not relay)
        loopback = bool(self._url) and _is_loopback(self._url)
        self._loopback.setVisible(loopback)
        self.loopback_label = self._loopback if loopback else None
        self.copy_button.setEnabled(bool(self._url))
        self.send_button.setEnabled(status.can_test and not self._pending)

    def _choose_page(self) -> None:
        self.pages.setCurrentIndex(0 if self.direct_radio.isChecked() else 1)

    # ---- direct: copy, test, switch ------------------------------------------------------

    def _copy(self) -> None:
        if not self._url:
            return
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(self._url)
        self.copy_button.setText("Copied")
        QTimer.singleShot(2000, self, lambda: self.copy_button.setText("Copy"))

    def _send(self) -> None:
        self._run(self._send_test, "Sending…", "Could not send the test event", self.result_label)

    def _switch_to_direct(self) -> None:
        if self._use_direct is not None:
            self._run(self._use_direct, "Switching…", "Could not switch", self.switch_result)

    def _run(self, action: SendTest, pending: str, failing: str, label: QLabel) -> None:
        self._attempt += 1
        attempt = self._attempt
        self._pending = True
        self._result_target = label
        self.send_button.setEnabled(False)
        self.switch_button.setEnabled(False)
        self._set_result(pending, PENDING_STYLE)

        # ``done`` may run on any thread, after the dialog was closed: it holds the dialog
        # only weakly and reaches it on the GUI thread (see gui_thread).
        show = deliver_to(self, lambda dialog: dialog._show_result)

        def done(ok: bool, message: str) -> None:
            show(attempt, ok, message)

        try:
            action(done)
        except Exception as exc:  # the app could not even start it
            self._show_result(attempt, False, f"{failing}: {exc}")

    def _show_result(self, attempt: int, ok: bool, message: str) -> None:
        if attempt != self._attempt or not self._pending:
            return  # a late answer to an earlier attempt, or a second answer to this one
        self._pending = False
        self.send_button.setEnabled(self._status.can_test)
        self.switch_button.setEnabled(self._use_direct is not None)
        self._set_result(message, OK_STYLE if ok else ERROR_STYLE)

    def _set_result(self, text: str, style: str) -> None:
        self._result_target.setStyleSheet(style)
        self._result_target.setText(text)
