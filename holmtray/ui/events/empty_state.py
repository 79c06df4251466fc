"""What the event window shows instead of an empty table: why it is empty and what to do.

This module owns the two empty states. With no events stored at all, it says so, gives the
webhook URL to paste into Security Center with a Copy button, and offers *Send test event*
(the app's function, as the welcome dialog calls it); with no working URL (the listener is not
running) it says that instead and both buttons are off. With events stored but none matching
the filter, it says so and offers to clear the filter. In relay mode there is no URL here:
it says where the events come from instead (:meth:`EmptyState.set_subscribed`). No networking
here: ``send_test`` is the app's, and its answer may come from any thread (it is turned into a
queued signal).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from holmtray.ui.welcome import ERROR_STYLE, OK_STYLE, PENDING_STYLE, REACHABILITY, SendTest

WebhookUrl = Callable[[], "str | None"]
"""The webhook URL to show now, or ``None`` while there is no working one."""

NO_EVENTS = "No events yet"
NO_EVENTS_HELP = (
    "Events appear here as Security Center sends them. Paste this webhook URL into Security "
    "Center's webhook settings, then send a test event to see one arrive."
)
NO_URL = "(no webhook URL: holmtray is not receiving events)"
NO_MATCHES = "No events match the filter"


def relay_help(host: str | None) -> str:
    return (
        f"This computer subscribes to the relay at {host}: events appear here as the relay "
        "receives them, and what it kept while this computer was away or asleep is fetched "
        "first."
    )


NO_MATCHES_HELP = "Change the search or the filters above, or clear them to see every event."
TEXT_WIDTH = 620
"""The column the explanation is set in: lines a reader can follow, in any window size."""


def _label(text: str = "", *, small: bool = False) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    if small:
        font = QFont(label.font())
        font.setPointSizeF(font.pointSizeF() * 0.9)
        label.setFont(font)
        label.setStyleSheet(PENDING_STYLE)  # the palette's quieter text colour
    return label


class EmptyState(QWidget):
    """The empty table's explanation: :meth:`show_no_events` or :meth:`show_no_matches`."""

    _test_finished = Signal(int, bool, str)

    def __init__(
        self,
        *,
        webhook_url: WebhookUrl | None,
        send_test: SendTest | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._webhook_url = webhook_url
        self._send_test = send_test
        self._attempt = 0
        self._relay_host: str | None = None
        self.setObjectName("emptyState")

        self.heading = _label()
        font = QFont(self.heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.heading.setFont(font)
        self.help = _label()
        self.reachability = _label(REACHABILITY, small=True)

        self.url_edit = QLineEdit()
        self.url_edit.setReadOnly(True)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self._copy)
        self.send_button = QPushButton("Send test event")
        self.send_button.clicked.connect(self._send)
        self.result_label = _label()
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.clear_button = QPushButton("Clear filters")

        url_row = QHBoxLayout()
        url_row.setContentsMargins(0, 0, 0, 0)
        url_row.addWidget(self.url_edit, 1)
        url_row.addWidget(self.copy_button)
        self._url_row = QWidget()
        self._url_row.setLayout(url_row)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)

        column = QWidget()
        column.setMaximumWidth(TEXT_WIDTH)
        inner = QVBoxLayout(column)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.setSpacing(10)
        inner.addWidget(self.heading)
        inner.addWidget(self.help)
        inner.addSpacing(4)
        inner.addWidget(self._url_row)
        inner.addLayout(buttons)
        inner.addWidget(self.result_label)
        inner.addSpacing(8)
        inner.addWidget(self.reachability)

        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addWidget(column, 100)  # as wide as it may be, up to TEXT_WIDTH
        centred.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addStretch(1)
        layout.addLayout(centred)
        layout.addStretch(2)

        self._test_finished.connect(self._show_result)
        self.show_no_events()

    # ---- the two states ------------------------------------------------------------------

    def set_subscribed(self, host: str | None) -> None:
        """Relay mode (``host``: the relay's): events come from the relay, and this computer
        has no webhook URL to show; ``None``: receiving directly."""
        self._relay_host = host
        if self.heading.text() == NO_EVENTS:
            self.show_no_events()

    def show_no_events(self) -> None:
        """Nothing stored yet: the URL to paste, Copy and Send test event (in relay mode:
        where the events will come from)."""
        self.heading.setText(NO_EVENTS)
        relay = self._relay_host is not None
        self.help.setText(relay_help(self._relay_host) if relay else NO_EVENTS_HELP)
        self._url_row.setVisible(not relay)
        self.reachability.setVisible(not relay)
        self.send_button.setVisible(not relay)
        self.clear_button.setVisible(False)
        self.refresh_url()

    def show_no_matches(self) -> None:
        """Events are stored, none matches the filter: say so and offer to clear it."""
        self.heading.setText(NO_MATCHES)
        self.help.setText(NO_MATCHES_HELP)
        self._url_row.setVisible(False)
        self.reachability.setVisible(False)
        self.send_button.setVisible(False)
        self.result_label.clear()
        self.clear_button.setVisible(True)

    def refresh_url(self) -> None:
        """Show the URL as it is now; Copy and Send test only while there is one."""
        url = self._webhook_url() if self._webhook_url is not None else None
        self.url_edit.setText(url or NO_URL)
        self.url_edit.setCursorPosition(0)
        self.copy_button.setEnabled(url is not None)
        sending = self._attempt > 0 and self.result_label.text() == "Sending…"
        self.send_button.setEnabled(url is not None and self._send_test is not None and not sending)

    # ---- the buttons ---------------------------------------------------------------------

    def _copy(self) -> None:
        url = self._webhook_url() if self._webhook_url is not None else None
        if url is None:
            return
        QGuiApplication.clipboard().setText(url)
        self.copy_button.setText("Copied")
        QTimer.singleShot(2000, self, lambda: self.copy_button.setText("Copy"))

    def _send(self) -> None:
        if self._send_test is None:
            return
        self._attempt += 1
        attempt = self._attempt
        self.send_button.setEnabled(False)
        self._set_result("Sending…", PENDING_STYLE)

        def done(ok: bool, message: str) -> None:
            # RuntimeError: the window was deleted before the POST finished.
            with contextlib.suppress(RuntimeError):
                self._test_finished.emit(attempt, ok, message)

        try:
            self._send_test(done)
        except Exception as exc:  # the app could not even start the POST
            self._show_result(attempt, False, f"Could not send the test event: {exc}")

    def _show_result(self, attempt: int, ok: bool, message: str) -> None:
        if attempt != self._attempt:
            return  # a late answer to an earlier attempt
        self._set_result(message, OK_STYLE if ok else ERROR_STYLE)
        self.refresh_url()

    def _set_result(self, text: str, style: str) -> None:
        self.result_label.setStyleSheet(style)
        self.result_label.setText(text)
