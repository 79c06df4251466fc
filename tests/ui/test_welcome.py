"""The welcome dialog: the URL to copy, the test event round trip, the reachability warning."""

from __future__ import annotations

import threading
from pathlib import Path

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtGui import QColor, QGuiApplication, QImage
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from holmtray.ui.welcome import HEADING, REACHABILITY, TestDone, WelcomeDialog

URL = "http://127.0.0.1:8747/hooks/3q2-7wEXAMPLEtokenEXAMPLEtoken-abcdefgh"


class FakeSender:
    """Stands in for the app's test POST: keeps the callback so the test decides the outcome."""

    def __init__(self) -> None:
        self.pending: list[TestDone] = []

    def __call__(self, done: TestDone) -> None:
        self.pending.append(done)


def _dialog(qtbot: QtBot, sender: FakeSender, url: str = URL) -> WelcomeDialog:
    dialog = WelcomeDialog(webhook_url=url, send_test=sender)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def _all_text(dialog: WelcomeDialog) -> str:
    return "\n".join(label.text() for label in dialog.findChildren(QLabel))


def test_url_is_shown_read_only_and_copied(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, FakeSender())
    assert dialog.url_edit.text() == URL
    assert dialog.url_edit.isReadOnly()
    QGuiApplication.clipboard().clear()
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == URL
    assert dialog.copy_button.text() == "Copied"


def test_heading_and_reachability_are_stated(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, FakeSender())
    text = _all_text(dialog)
    assert HEADING in text
    assert REACHABILITY in text
    assert "reverse proxy or VPN" in text
    assert "holmtray serve" in text
    assert "Security Center's webhook settings" in text
    assert dialog.loopback_label is not None  # 127.0.0.1 only reaches this machine
    assert dialog.close_button.text().replace("&", "") == "Close"

    other = _dialog(qtbot, FakeSender(), "https://hooks.example.org/hooks/abc")
    assert other.loopback_label is None


def test_send_test_shows_sending_then_success(qtbot: QtBot) -> None:
    sender = FakeSender()
    dialog = _dialog(qtbot, sender)
    dialog.send_button.click()
    assert dialog.result_label.text() == "Sending…"
    assert not dialog.send_button.isEnabled()
    assert len(sender.pending) == 1

    message = "Test event stored (id 12) — a notification should appear"
    sender.pending[0](True, message)
    qtbot.waitUntil(lambda: dialog.result_label.text() == message)
    assert dialog.send_button.isEnabled()
    assert "15803d" in dialog.result_label.styleSheet()  # green
    assert dialog.result_label.textFormat().name == "PlainText"


def test_send_test_shows_failure_from_another_thread_as_plain_text(qtbot: QtBot) -> None:
    sender = FakeSender()
    dialog = _dialog(qtbot, sender)
    dialog.send_button.click()
    message = "HTTP 404 <b>Not Found</b>: is holmtray listening on that port?"
    # The app may finish the POST on its listener thread: the dialog must cope.
    worker = threading.Thread(target=sender.pending[0], args=(False, message))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: dialog.result_label.text() == message)
    assert "b91c1c" in dialog.result_label.styleSheet()  # red
    assert dialog.send_button.isEnabled()


def test_a_send_test_that_raises_is_reported(qtbot: QtBot) -> None:
    def broken(done: TestDone) -> None:
        raise OSError("listener is not running")

    dialog = WelcomeDialog(webhook_url=URL, send_test=broken)
    qtbot.addWidget(dialog)
    dialog.send_button.click()
    assert "listener is not running" in dialog.result_label.text()
    assert dialog.send_button.isEnabled()


def test_late_answers_from_an_earlier_attempt_are_ignored(qtbot: QtBot) -> None:
    sender = FakeSender()
    dialog = _dialog(qtbot, sender)
    dialog.send_button.click()
    sender.pending[0](False, "timed out")
    qtbot.waitUntil(dialog.send_button.isEnabled)
    dialog.send_button.click()
    sender.pending[0](True, "stale success")  # the first attempt answers again, late
    sender.pending[1](True, "Test event stored (id 13) — a notification should appear")
    qtbot.waitUntil(lambda: "id 13" in dialog.result_label.text())
    assert "stale" not in dialog.result_label.text()


def test_answer_after_the_dialog_is_gone_is_harmless(qtbot: QtBot) -> None:
    sender = FakeSender()
    dialog = WelcomeDialog(webhook_url=URL, send_test=sender)
    dialog.send_button.click()
    dialog.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not shiboken6.isValid(dialog)
    sender.pending[0](True, "stored")  # must not raise


def test_screenshot_of_the_welcome_dialog(qtbot: QtBot, artifacts: Path) -> None:
    sender = FakeSender()
    dialog = _dialog(qtbot, sender)
    dialog.send_button.click()
    sender.pending[0](True, "Test event stored (id 12) — a notification should appear")
    qtbot.waitUntil(lambda: "id 12" in dialog.result_label.text())
    path = artifacts / "welcome_dialog.png"
    assert dialog.grab().save(str(path))
    image = QImage(str(path))
    assert image.width() >= 400
    assert image.height() >= 200
    colours = {
        QColor(image.pixel(x, y)).name()
        for x in range(0, image.width(), 5)
        for y in range(0, image.height(), 5)
    }
    assert len(colours) > 10, "the screenshot is blank"
