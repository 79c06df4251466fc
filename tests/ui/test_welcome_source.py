"""The welcome dialog tells the truth about receiving and offers both setups: receive directly
(the URL, Copy, a test event) or subscribe to a relay (address, read token, Test connection,
Subscribe). Screenshots: listening, not listening, relay — at the default size and 1280x800."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from holmtray.ui.welcome import (
    HEADING,
    NO_URL,
    NOT_RECEIVING,
    TestDone,
    WelcomeDialog,
    WelcomeStatus,
)

URL = "http://127.0.0.1:8747/hooks/3q2-7wEXAMPLEtokenEXAMPLEtoken-abcdefgh"
IN_USE = "port 8747 on 127.0.0.1 is already in use (another holmtray or another program)"
TOKEN = "htr_" + "A" * 43
LISTENING = WelcomeStatus(headline=HEADING, webhook_url=URL, can_test=True)
NOT_LISTENING = WelcomeStatus(
    headline=NOT_RECEIVING,
    detail=f"The listener is not running: {IN_USE}. Security Center does not resend: events "
    "sent meanwhile are lost.",
    receiving=False,
    look="error",
)
SUBSCRIBED = WelcomeStatus(headline="holmtray is subscribed to hooks.example.org", mode="relay")


class Calls:
    """Stands in for the app's actions: keeps each callback so the test decides the outcome."""

    def __init__(self) -> None:
        self.sent: list[TestDone] = []
        self.tested: list[tuple[str, str, TestDone]] = []
        self.subscribed: list[tuple[str, str, TestDone]] = []
        self.direct: list[TestDone] = []


def make(qtbot: QtBot, status: WelcomeStatus, calls: Calls, **kwargs: str) -> WelcomeDialog:
    dialog = WelcomeDialog(
        webhook_url=status.webhook_url,
        send_test=calls.sent.append,
        status=status,
        test_relay=lambda u, t, d: calls.tested.append((u, t, d)),
        subscribe=lambda u, t, d: calls.subscribed.append((u, t, d)),
        use_direct=calls.direct.append,
        **kwargs,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_not_listening_says_so_and_offers_nothing_to_copy_or_test(qtbot: QtBot) -> None:
    dialog = make(qtbot, NOT_LISTENING, Calls())
    assert dialog.heading.text() == NOT_RECEIVING
    assert "listening" not in dialog.heading.text()
    assert dialog.detail_label.text() == NOT_LISTENING.detail
    assert "b91c1c" in dialog.detail_label.styleSheet()  # red
    assert dialog.url_edit.text() == ""
    assert dialog.url_edit.placeholderText() == NO_URL
    assert not dialog.copy_button.isEnabled()
    assert not dialog.send_button.isEnabled()
    assert dialog.loopback_label is None


def test_without_a_status_a_missing_url_is_not_called_listening(qtbot: QtBot) -> None:
    dialog = WelcomeDialog(webhook_url=None, send_test=lambda done: None)
    qtbot.addWidget(dialog)
    assert dialog.heading.text() == NOT_RECEIVING
    assert not dialog.copy_button.isEnabled()


def test_the_dialog_follows_the_apps_status_while_open(qtbot: QtBot) -> None:
    calls = Calls()
    dialog = make(qtbot, NOT_LISTENING, calls)
    dialog.set_status(LISTENING)  # the user freed the port and pressed Retry
    assert dialog.heading.text() == HEADING
    assert dialog.detail_label.isHidden()
    assert dialog.url_edit.text() == URL
    assert dialog.copy_button.isEnabled()
    assert dialog.send_button.isEnabled()
    assert dialog.loopback_label is not None
    dialog.set_status(NOT_LISTENING)
    assert dialog.heading.text() == NOT_RECEIVING
    assert not dialog.copy_button.isEnabled()
    assert not dialog.send_button.isEnabled()


def test_both_setups_are_offered_and_the_current_one_is_chosen(qtbot: QtBot) -> None:
    direct = make(qtbot, LISTENING, Calls())
    assert direct.direct_radio.isChecked()
    assert direct.pages.currentIndex() == 0
    direct.relay_radio.setChecked(True)
    assert direct.pages.currentWidget() is direct.relay_page

    relay = make(
        qtbot, SUBSCRIBED, Calls(), relay_url="https://hooks.example.org", relay_token=TOKEN
    )
    assert relay.relay_radio.isChecked()
    assert relay.pages.currentWidget() is relay.relay_page
    assert relay.relay_page.url_edit.text() == "https://hooks.example.org"
    assert relay.relay_page.token_edit.echoMode() == QLineEdit.EchoMode.Password
    relay.direct_radio.setChecked(True)
    # No listener runs in relay mode: no URL, but the way to receive directly.
    assert not relay.switch_row.isHidden()
    assert relay.url_row.isHidden()
    assert relay.test_row.isHidden()


def test_test_connection_needs_both_fields_and_shows_the_answer_as_text(qtbot: QtBot) -> None:
    calls = Calls()
    dialog = make(qtbot, LISTENING, calls)
    page = dialog.relay_page
    dialog.relay_radio.setChecked(True)
    assert not page.test_button.isEnabled()
    assert not page.subscribe_button.isEnabled()
    page.url_edit.setText("  https://hooks.example.org ")
    assert not page.test_button.isEnabled()
    page.token_edit.setText(TOKEN)
    assert page.test_button.isEnabled()
    page.test_button.click()
    assert page.result_label.text() == "Connecting…"
    assert not page.test_button.isEnabled()
    url, token, done = calls.tested[0]
    assert (url, token) == ("https://hooks.example.org", TOKEN)
    answer = "the relay refused the read token (HTTP 401: <b>nope</b>)"
    worker = threading.Thread(target=done, args=(False, answer))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: page.result_label.text() == answer)
    assert page.result_label.textFormat().name == "PlainText"
    assert "b91c1c" in page.result_label.styleSheet()
    assert page.test_button.isEnabled()
    done(True, "late second answer")  # ignored
    assert page.result_label.text() == answer

    page.subscribe_button.click()
    assert len(calls.subscribed) == 1
    calls.subscribed[0][2](True, "Subscribed to https://hooks.example.org.")
    qtbot.waitUntil(lambda: page.result_label.text().startswith("Subscribed"))
    assert "15803d" in page.result_label.styleSheet()


def test_receive_directly_instead_asks_the_app_and_reports_back(qtbot: QtBot) -> None:
    calls = Calls()
    dialog = make(qtbot, SUBSCRIBED, calls)
    dialog.direct_radio.setChecked(True)
    dialog.switch_button.click()
    assert dialog.switch_result.text() == "Switching…"
    assert not dialog.switch_button.isEnabled()
    calls.direct[0](False, "port 8747 on 127.0.0.1 is already in use")
    qtbot.waitUntil(lambda: "already in use" in dialog.switch_result.text())
    assert dialog.switch_button.isEnabled()


def _save(dialog: WelcomeDialog, path: Path) -> None:
    assert dialog.grab().save(str(path))
    image = QImage(str(path))
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 5) for y in range(0, image.height(), 5)
    }
    assert len(colours) > 10, f"{path.name} looks blank"


@pytest.mark.parametrize("size", [None, (1280, 800)], ids=["default", "1280x800"])
def test_screenshots_of_the_welcome_dialog(
    qtbot: QtBot, artifacts: Path, size: tuple[int, int] | None
) -> None:
    suffix = "default" if size is None else "1280x800"
    cases = {
        "listening": (LISTENING, {}, False),
        "not_listening": (NOT_LISTENING, {}, False),
        "relay": (
            SUBSCRIBED,
            {"relay_url": "https://hooks.example.org", "relay_token": TOKEN},
            True,
        ),
    }
    for name, (status, extra, relay) in cases.items():
        calls = Calls()
        dialog = make(qtbot, status, calls, **extra)
        if size is not None:
            dialog.resize(*size)
        if relay:
            dialog.relay_page.test_button.click()
            calls.tested[0][2](
                True,
                "Connected to hooks.example.org: relay 3f2a1b2c…, 812 events kept.",
            )
            qtbot.waitUntil(lambda d=dialog: d.relay_page.test_button.isEnabled())
        elif status.can_test:
            dialog.send_button.click()
            calls.sent[0](True, "Test event stored as #12. A notification should appear.")
            qtbot.waitUntil(lambda d=dialog: d.send_button.isEnabled())
        qtbot.wait(30)
        _save(dialog, artifacts / f"welcome_{name}_{suffix}.png")
        dialog.close()
