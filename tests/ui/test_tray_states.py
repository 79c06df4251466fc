"""The tray's source states: the status line, the grey offline icon, *Reconnect now*, and Copy /
*Send test event* only while there is a working URL (offscreen)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from holmtray.core.events import Severity
from holmtray.ui.icons import TRAY_SIZES, TrayState, render
from holmtray.ui.tray import Tray, TrayView

OFFLINE_LINE = (
    "No connection to hooks.example.org since 09:12 — events wait there; next try in 40 s"
)


def test_the_status_line_leads_the_menu_and_the_tooltip(qtbot: QtBot) -> None:
    tray = Tray()
    tray.show_state(TrayView(line="Fetching 212 missed events from hooks.example.org…", relay=True))
    assert tray.menu.actions()[0].text() == "Fetching 212 missed events from hooks.example.org…"
    assert tray.icon.toolTip().splitlines()[1] == tray.menu.actions()[0].text()


def test_offline_is_grey_with_its_text_and_reconnect_now(qtbot: QtBot) -> None:
    tray = Tray()
    reconnect = tray.action("Reconnect now")
    assert not reconnect.isVisible()
    assert not reconnect.isEnabled()
    tray.show_state(TrayView(line=OFFLINE_LINE, offline=True, reconnect=True, relay=True))
    assert OFFLINE_LINE in tray.icon.toolTip()
    assert reconnect.isVisible()
    assert reconnect.isEnabled()
    with qtbot.waitSignal(tray.reconnect, timeout=1000):
        reconnect.trigger()
    tray.show_state(TrayView(line="Subscribed to hooks.example.org (live)", relay=True))
    assert not reconnect.isVisible()
    assert not reconnect.isEnabled()


def test_relay_mode_has_no_webhook_url_to_copy_or_test(qtbot: QtBot) -> None:
    tray = Tray()
    tray.show_state(TrayView(line="Subscribed to hooks.example.org (live)", relay=True))
    for label in ("Copy webhook URL", "Send test event"):
        assert not tray.action(label).isVisible()
        assert not tray.action(label).isEnabled()


def test_no_working_url_disables_copy_and_send_test(qtbot: QtBot) -> None:
    tray = Tray()
    tray.show_state(TrayView(error="port 8747 is in use", can_copy=False, can_test=False))
    for label in ("Copy webhook URL", "Send test event"):
        assert tray.action(label).isVisible()  # there, greyed: the user sees why not
        assert not tray.action(label).isEnabled()
    tray.show_state(TrayView(address="http://127.0.0.1:8747/hooks/<token>"))
    assert tray.action("Copy webhook URL").isEnabled()
    assert tray.action("Send test event").isEnabled()


def _saturation(img: QImage) -> float:
    """Mean HSV saturation of the opaque pixels."""
    values = [
        QColor(img.pixel(x, y)).hsvSaturationF()
        for x in range(img.width())
        for y in range(img.height())
        if QColor.fromRgba(img.pixel(x, y)).alpha() > 200
    ]
    return sum(values) / len(values)


def test_the_offline_icon_is_grey_and_unlike_every_other_state(qtbot: QtBot) -> None:
    for size in TRAY_SIZES:
        plain = render(TrayState(), size).toImage()
        offline = render(TrayState(offline=True), size).toImage()
        assert _saturation(offline) < 0.2 < _saturation(plain), size
    others = [
        TrayState(),
        TrayState(unread=2, highest=Severity.HIGH),
        TrayState(paused=True),
        TrayState(error="port in use"),
    ]
    offline = render(TrayState(offline=True), 32).toImage()
    for state in others:
        assert render(state, 32).toImage() != offline, state
    # Unread events stay visible while offline: the badge keeps its colour.
    badge = render(TrayState(offline=True, unread=3, highest=Severity.CRITICAL), 32).toImage()
    assert QColor(badge.pixel(int(32 * 0.72), int(32 * 0.93))).red() > 150
