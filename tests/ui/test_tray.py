"""The tray icon's menu, tooltip and pictures (offscreen)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QIcon, QImage
from pytestqt.qtbot import QtBot

from holmtray.core.events import Severity
from holmtray.ui import tray as tray_module
from holmtray.ui.icons import (
    SEVERITY_COLORS,
    TRAY_SIZES,
    TrayState,
    badge_rect,
    icon_look,
    render,
    tray_icon,
)
from holmtray.ui.tray import Tray, TrayView

MENU = [
    "Show events",
    "Copy webhook URL",
    "Send test event",
    "Pause notifications",
    "Settings…",
    "About holmtray",
    "Quit",
]


def test_menu_offers_every_action_in_order(qtbot: QtBot) -> None:
    tray = Tray()
    labels = [a.text() for a in tray.menu.actions() if a.text() and a.isEnabled()]
    assert labels == MENU
    pause = [a.text() for a in tray.pause_menu.actions() if a.text()]
    assert pause == ["For 1 hour", "Until tomorrow 08:00", "Until resumed", "Resume"]


def test_menu_actions_emit_their_signals(qtbot: QtBot) -> None:
    tray = Tray()
    for label, signal in [
        ("Show events", tray.show_events),
        ("Copy webhook URL", tray.copy_url),
        ("Send test event", tray.send_test),
        ("Settings…", tray.open_settings),
        ("About holmtray", tray.about),
        ("Quit", tray.quit),
    ]:
        with qtbot.waitSignal(signal, timeout=1000):
            tray.action(label).trigger()
    with qtbot.waitSignal(tray.pause, timeout=1000) as sig:
        tray.action("For 1 hour").trigger()
    assert sig.args == ["hour"]
    with qtbot.waitSignal(tray.pause, timeout=1000) as sig:
        tray.action("Until tomorrow 08:00").trigger()
    assert sig.args == ["tomorrow"]


def test_resume_is_offered_only_while_paused_and_the_menu_says_until_when(qtbot: QtBot) -> None:
    tray = Tray()
    assert not tray.action("Resume").isEnabled()
    tray.show_state(
        TrayView(address="http://127.0.0.1:8747/hooks/<token>", paused="Paused until 12:46")
    )
    assert tray.action("Resume").isEnabled()
    assert tray.pause_menu.title() == "Paused until 12:46"
    assert "Paused until 12:46" in tray.icon.toolTip().splitlines()
    tray.show_state(TrayView(address="http://127.0.0.1:8747/hooks/<token>"))
    assert tray.pause_menu.title() == "Pause notifications"
    assert not tray.action("Resume").isEnabled()


def test_tooltip_names_address_unread_count_and_last_event(qtbot: QtBot) -> None:
    tray = Tray()
    tray.show_state(
        TrayView(
            address="http://127.0.0.1:8747/hooks/<token>",
            unread=3,
            highest=Severity.CRITICAL,
            last_event="Daily scan finished (14:02)",
        )
    )
    tip = tray.icon.toolTip()
    assert "Listening on http://127.0.0.1:8747/hooks/<token>" in tip
    assert "3 unread (highest: Critical)" in tip
    assert "Last: Daily scan finished (14:02)" in tip


def test_listener_error_is_in_the_tooltip_and_the_menu(qtbot: QtBot) -> None:
    tray = Tray()
    why = "port 8747 on 127.0.0.1 is already in use (another holmtray or another program)"
    tray.show_state(TrayView(error=why))
    assert f"Not receiving: {why}" in tray.icon.toolTip()
    assert tray.menu.actions()[0].text() == f"Not receiving: {why}"


def test_markup_in_the_last_event_cannot_turn_the_tooltip_into_rich_text(qtbot: QtBot) -> None:
    tray = Tray()
    tray.show_state(TrayView(last_event="<b>pwned</b> <img src=x> & \u202eevil"))
    tip = tray.icon.toolTip()
    assert "<b>" not in tip
    assert "<img" not in tip
    assert "\u202e" not in tip
    assert "‹b›pwned‹/b›" in tip


def _pixel(img: QImage, x: float, y: float) -> QColor:
    return img.pixelColor(int(x), int(y))


def test_icon_renders_at_every_tray_size_with_a_badge_coloured_by_severity(qtbot: QtBot) -> None:
    for size in TRAY_SIZES:
        plain = render(TrayState(), size).toImage()
        assert plain.width() == size
        # The shield is drawn: the centre is opaque.
        assert _pixel(plain, size / 2, size / 2).alpha() == 255
        for severity in (Severity.CRITICAL, Severity.LOW):
            img = render(TrayState(unread=3, highest=severity), size).toImage()
            # The badge sits in the bottom-right corner; sample inside it, off its digit.
            badge = badge_rect(size, "3")
            assert badge.right() == size
            assert badge.bottom() == size
            colour = _pixel(img, badge.left() + max(2, badge.height() * 0.15), badge.center().y())
            want = QColor(SEVERITY_COLORS[severity])
            assert abs(colour.red() - want.red()) < 40, (size, severity)
            assert abs(colour.blue() - want.blue()) < 40, (size, severity)


def test_each_state_looks_different(qtbot: QtBot) -> None:
    states = [
        TrayState(),
        TrayState(unread=2, highest=Severity.HIGH),
        TrayState(paused=True),
        TrayState(error="port in use"),
    ]
    images = [render(s, 32).toImage() for s in states]
    for i, a in enumerate(images):
        for b in images[i + 1 :]:
            assert a != b


def test_icon_look_draws_what_the_state_draws(qtbot: QtBot) -> None:
    for state in [
        TrayState(unread=100, highest=Severity.HIGH),
        TrayState(unread=101, highest=Severity.CRITICAL),
        TrayState(unread=250_000, highest=Severity.LOW, paused=True),
        TrayState(unread=150, offline=True),
        TrayState(unread=150, error="port in use"),
    ]:
        look = icon_look(state)
        assert look.unread == 100
        for size in TRAY_SIZES:
            assert render(look, size).toImage() == render(state, size).toImage()
    for state in [TrayState(), TrayState(unread=99, highest=Severity.HIGH)]:
        assert icon_look(state) == state


def test_more_events_on_top_of_99_plus_do_not_redraw_the_icon(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[TrayState] = []

    def counting(state: TrayState) -> QIcon:
        drawn.append(state)
        return tray_icon(state)

    monkeypatch.setattr(tray_module, "tray_icon", counting)
    tray = Tray()
    drawn.clear()  # the empty state it starts with
    for unread in (98, 99, 100, 101, 150, 151, 5000):
        tray.show_state(TrayView(unread=unread, highest=Severity.HIGH))
    assert [s.unread for s in drawn] == [98, 99, 100]
    tray.show_state(TrayView(unread=5000, highest=Severity.CRITICAL))
    assert drawn[-1].unread == 100
    assert drawn[-1].highest is Severity.CRITICAL
    assert "5000 unread" in tray.icon.toolTip()  # the tooltip still says the count
