"""The welcome dialog's "Subscribe to a relay" page: relay address, read token, *Test
connection* and *Subscribe*.

The page does no networking and changes no setting itself: ``test_relay(url, token, done)``
and ``subscribe(url, token, done)`` are the app's, and call ``done(ok, message)`` once, from
any thread, even after the dialog was closed (the page is held only weakly and reached on the
GUI thread). The token field echoes as a password field and the token is never shown in a result.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from holmtray.ui.gui_thread import deliver_to

Done = Callable[[bool, str], None]
"""``done(ok, message)``: the action finished; ``message`` is shown as plain text."""
RelayAction = Callable[[str, str, Done], None]
"""Starts an action on (relay URL, read token) and returns at once; calls ``done`` once."""

RELAY_INTRO = (
    "An always-on host that Security Center can reach runs “holmtray serve --relay” and "
    "stores every webhook. This computer subscribes to it and fetches what it missed while it "
    "slept, was off or had no network — nothing is lost."
)
WHERE_TOKENS_COME_FROM = (
    "On the relay host, “holmtray relay token add YOUR-NAME” prints a read token."
)
OK_STYLE = "color: #15803d;"
ERROR_STYLE = "color: #b91c1c;"
PENDING_STYLE = "color: palette(placeholder-text);"


def plain_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


class RelayPage(QWidget):
    """See the module docstring."""

    def __init__(
        self,
        *,
        url: str,
        token: str,
        test_relay: RelayAction | None,
        subscribe: RelayAction | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._test_relay = test_relay
        self._subscribe = subscribe
        self._attempt = 0
        self._busy = False

        self.url_edit = QLineEdit(url)
        self.url_edit.setPlaceholderText("https://hooks.example.org")
        self.token_edit = QLineEdit(token)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("htr_…")
        self.token_edit.setCursorPosition(0)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Relay address:", self.url_edit)
        form.addRow("Read token:", self.token_edit)
        hint = plain_label(WHERE_TOKENS_COME_FROM)
        hint.setStyleSheet(PENDING_STYLE)
        form.addRow("", hint)

        self.test_button = QPushButton("Test connection")
        self.test_button.setAutoDefault(False)
        self.test_button.clicked.connect(lambda: self._start(self._test_relay, "Connecting…"))
        self.subscribe_button = QPushButton("Subscribe")
        self.subscribe_button.setAutoDefault(False)
        self.subscribe_button.clicked.connect(lambda: self._start(self._subscribe, "Applying…"))
        self.result_label = plain_label()
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignTop)
        buttons.addWidget(self.subscribe_button, 0, Qt.AlignmentFlag.AlignTop)
        buttons.addWidget(self.result_label, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(plain_label(RELAY_INTRO))
        layout.addLayout(form)
        layout.addLayout(buttons)

        self.url_edit.textChanged.connect(self._update_buttons)
        self.token_edit.textChanged.connect(self._update_buttons)
        self._update_buttons()

    def _filled(self) -> bool:
        return bool(self.url_edit.text().strip() and self.token_edit.text().strip())

    def _update_buttons(self) -> None:
        ready = self._filled() and not self._busy
        self.test_button.setEnabled(ready and self._test_relay is not None)
        self.subscribe_button.setEnabled(ready and self._subscribe is not None)

    def _start(self, action: RelayAction | None, pending: str) -> None:
        if action is None or not self._filled() or self._busy:
            return
        self._attempt += 1
        attempt = self._attempt
        self._busy = True
        self._update_buttons()
        self._set_result(pending, PENDING_STYLE)

        show = deliver_to(self, lambda page: page._show)  # weakly, on the GUI thread

        def done(ok: bool, message: str) -> None:
            show(attempt, ok, message)

        try:
            action(self.url_edit.text().strip(), self.token_edit.text().strip(), done)
        except Exception as exc:
            self._show(attempt, False, f"Could not start: {exc}")

    def _show(self, attempt: int, ok: bool, message: str) -> None:
        if attempt != self._attempt or not self._busy:
            return
        self._busy = False
        self._update_buttons()
        self._set_result(message, OK_STYLE if ok else ERROR_STYLE)

    def _set_result(self, text: str, style: str) -> None:
        self.result_label.setStyleSheet(style)
        self.result_label.setText(text)
