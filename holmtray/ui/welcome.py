"""The first-run welcome: the webhook URL to paste into Security Center, a test event, and the
plain truth about reachability.

The dialog does no networking. ``send_test`` is the app's function that posts a test event to
its own listener; the dialog calls it with a ``done(ok, message)`` callback and shows the
message when the app calls back. The callback may come from any thread: it is turned into a
queued signal, so the widgets are only touched on the GUI thread.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from holmtray.ui.gui_thread import deliver_to
from holmtray.ui.icons import app_icon

TestDone = Callable[[bool, str], None]
"""``done(ok, message)``: the test POST finished; ``message`` is shown as plain text."""
SendTest = Callable[[TestDone], None]
"""Starts the test POST and returns at once; calls ``done`` exactly once when it finishes."""

HEADING = "holmtray is listening"
WHERE_TO_PASTE = (
    "Paste this webhook URL into Security Center's webhook settings "
    "(the Webhooks integration), then send a test event to check that it arrives."
)
REACHABILITY = (
    "Holm Security's cloud must be able to reach this URL. This computer usually is not "
    "reachable from the internet, so put holmtray behind a reverse proxy or VPN, or run "
    "“holmtray serve” on an always-on host and give Security Center that host's URL."
)
LOOPBACK_NOTE = (
    "This URL uses a loopback address, which only this computer can reach: change the bind "
    "address in Settings → Listener, or use a reverse proxy."
)
OK_STYLE = "color: #15803d;"
ERROR_STYLE = "color: #b91c1c;"
PENDING_STYLE = "color: palette(placeholder-text);"


def describe_test_answer(status: int, text: str) -> tuple[bool, str]:
    """The listener's answer to a test event, in words: ``(ok, message)``.

    The answer is JSON (``{"id": 12}``, ``{"error": "..."}``); people read a sentence, not the
    JSON. Anything unexpected still says what came back, shortly.
    """
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    answer = data if isinstance(data, dict) else {}
    event_id = answer.get("id")
    error = answer.get("error")
    why = error if isinstance(error, str) and error else (text.strip()[:200] or "no details")
    if 200 <= status < 300:
        at = f" as event #{event_id}" if isinstance(event_id, int) else ""
        if answer.get("duplicate"):
            return True, f"The test event was already stored{at}; it was not stored again."
        return True, f"Test event received and stored{at}. A notification should appear."
    if status == 401:
        return False, "The listener refused the test event: the user name or password is wrong."
    if status == 404:
        return False, "The listener did not recognise the webhook URL (has the token changed?)."
    if status == 503:
        return False, f"The listener could not store the test event: {why}."
    return False, f"The listener answered the test event with HTTP {status}: {why}."


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


def _plain(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


class WelcomeDialog(QDialog):
    """First-run welcome; ``send_test`` is a :data:`SendTest`."""

    def __init__(
        self, *, webhook_url: str, send_test: SendTest, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._url = webhook_url
        self._send_test = send_test
        self._attempt = 0
        self.setWindowTitle("Welcome to holmtray")
        self.setWindowIcon(app_icon())
        # Wide enough to show the whole URL where the screen allows: it is the point of this dialog.
        wanted = self.fontMetrics().horizontalAdvance(webhook_url) + 140
        self.setMinimumWidth(max(560, min(wanted, 820)))

        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(48, 48))
        heading = _plain(HEADING)
        font = QFont(heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        heading.setFont(font)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addWidget(heading, 1)

        self.url_edit = QLineEdit(webhook_url)
        self.url_edit.setReadOnly(True)
        self.url_edit.setCursorPosition(0)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAutoDefault(False)
        self.copy_button.clicked.connect(self._copy)
        url_row = QHBoxLayout()
        url_row.addWidget(self.url_edit, 1)
        url_row.addWidget(self.copy_button)

        self.reachability_label = _plain(REACHABILITY)
        notes = QVBoxLayout()
        notes.addWidget(self.reachability_label)
        if _is_loopback(webhook_url):
            self.loopback_label: QLabel | None = _plain(LOOPBACK_NOTE)
            self.loopback_label.setStyleSheet("font-weight: bold;")
            notes.addWidget(self.loopback_label)
        else:
            self.loopback_label = None
        box = QFrame()
        box.setFrameShape(QFrame.Shape.StyledPanel)
        box.setLayout(notes)

        self.send_button = QPushButton("Send test event")
        self.send_button.setAutoDefault(False)
        self.send_button.clicked.connect(self._send)
        self.result_label = _plain()
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row = QHBoxLayout()
        test_row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignTop)
        test_row.addWidget(self.result_label, 1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        assert close is not None
        self.close_button = close
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addLayout(top)
        layout.addWidget(_plain(WHERE_TO_PASTE))
        layout.addLayout(url_row)
        layout.addWidget(box)
        layout.addLayout(test_row)
        layout.addStretch(1)
        layout.addWidget(buttons)

    def _copy(self) -> None:
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(self._url)
        self.copy_button.setText("Copied")
        QTimer.singleShot(2000, self, lambda: self.copy_button.setText("Copy"))

    def _send(self) -> None:
        self._attempt += 1
        attempt = self._attempt
        self.send_button.setEnabled(False)
        self._set_result("Sending…", PENDING_STYLE)

        # ``done`` may run on any thread, after the dialog was closed: it holds the dialog
        # only weakly and reaches it on the GUI thread (see gui_thread).
        show = deliver_to(self, lambda dialog: dialog._show_result)

        def done(ok: bool, message: str) -> None:
            show(attempt, ok, message)

        try:
            self._send_test(done)
        except Exception as exc:  # the app could not even start the POST
            self._show_result(attempt, False, f"Could not send the test event: {exc}")

    def _show_result(self, attempt: int, ok: bool, message: str) -> None:
        if attempt != self._attempt or self.send_button.isEnabled():
            return  # a late answer to an earlier attempt, or a second answer to this one
        self.send_button.setEnabled(True)
        self._set_result(message, OK_STYLE if ok else ERROR_STYLE)

    def _set_result(self, text: str, style: str) -> None:
        self.result_label.setStyleSheet(style)
        self.result_label.setText(text)
