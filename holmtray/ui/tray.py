"""The tray icon: its picture, tooltip and menu. It renders state and emits the user's choices.

It holds no application logic: ``TrayApp`` tells it what to show (:meth:`Tray.show_state`)
and listens to its signals.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from holmtray.core.eventtypes import Severity
from holmtray.ui.icons import TrayState, icon_look, tray_icon

log = logging.getLogger("holmtray.ui.tray")


def tooltip_safe(text: str) -> str:
    """Payload text for a tooltip. Qt renders tooltips that look like HTML as rich text, so
    angle brackets become look-alike quotes; the event window shows the exact text."""
    from holmtray.core.alerts.notices import visible  # noqa: PLC0415 (not before the icon)

    return visible(text, 80).replace("<", "‹").replace(">", "›").replace("&", "＆")


@dataclass(frozen=True, slots=True)
class TrayView:
    """Everything the tray shows."""

    address: str | None = None  # masked listening URL, None when not listening
    error: str | None = None  # why events are not received (a red mark on the icon)
    line: str | None = None  # the status line; by default made from address and error
    offline: bool = False  # no connection to the relay: a grey icon
    reconnect: bool = False  # offer "Reconnect now"
    relay: bool = False  # relay mode: no webhook URL here to copy or test
    can_copy: bool = True  # a webhook URL to copy (not while the listener is down)
    can_test: bool = True  # a test event would be stored
    unread: int = 0
    highest: Severity | None = None
    paused: str | None = None  # e.g. "Paused until 12:46"; None when notifying
    last_event: str | None = None  # title and time of the newest event


class Tray(QObject):
    """The system-tray icon and its menu."""

    toggle_window = Signal()
    show_events = Signal()
    copy_url = Signal()
    send_test = Signal()
    reconnect = Signal()
    pause = Signal(str)  # "hour", "tomorrow", "forever", "resume"
    open_settings = Signal()
    about = Signal()
    quit = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.icon = QSystemTrayIcon(tray_icon(TrayState()), self)
        self.menu = QMenu()
        self._status = self._add("Starting…", enabled=False)
        self._reconnect = self._add("Reconnect now", self.reconnect.emit)
        self.menu.addSeparator()
        self._add("Show events", self.show_events.emit, bold=True)
        self._copy = self._add("Copy webhook URL", self.copy_url.emit)
        self._test = self._add("Send test event", self.send_test.emit)
        pause_menu = self.menu.addMenu("Pause notifications")
        self.pause_menu = pause_menu
        for label, what in (
            ("For 1 hour", "hour"),
            ("Until tomorrow 08:00", "tomorrow"),
            ("Until resumed", "forever"),
        ):
            action = pause_menu.addAction(label)
            action.triggered.connect(lambda _=False, w=what: self.pause.emit(w))
        pause_menu.addSeparator()
        self._resume = pause_menu.addAction("Resume")
        self._resume.triggered.connect(lambda: self.pause.emit("resume"))
        self._resume.setEnabled(False)
        self.menu.addSeparator()
        self._add("Settings…", self.open_settings.emit)
        self._add("About holmtray", self.about.emit)
        self.menu.addSeparator()
        quit_action = self._add("Quit", self.quit.emit)
        # The platform's Quit keys (Ctrl+Q on Linux). This overload, unlike setShortcut(
        # QKeySequence(...)), does not make PySide6 build its Qt namespace before the icon.
        quit_action.setShortcuts(QKeySequence.StandardKey.Quit)
        self.icon.setContextMenu(self.menu)
        self.menu.aboutToShow.connect(self._menu_shown)
        self.icon.activated.connect(self._activated)
        self.view = TrayView()
        self._shown = False
        self._icon_state: TrayState | None = None
        self.show_state(self.view)

    def _add(
        self, text: str, slot: object = None, *, enabled: bool = True, bold: bool = False
    ) -> QAction:
        action = self.menu.addAction(text)
        action.setEnabled(enabled)
        if bold:
            font = action.font()
            font.setBold(True)
            action.setFont(font)
        if slot is not None:
            action.triggered.connect(slot)
        return action

    def action(self, text: str) -> QAction:
        """The menu action labelled ``text`` (for tests and keyboard handling)."""
        for a in [*self.menu.actions(), *self.pause_menu.actions()]:
            if a.text() == text:
                return a
        raise KeyError(text)

    def _menu_shown(self) -> None:
        # The desktop tests read what the menu offers from this line.
        shown = [a.text() for a in self.menu.actions() if a.isVisible() and a.text()]
        log.debug("tray menu shown: %s", " | ".join(shown))

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.toggle_window.emit()
        elif reason == QSystemTrayIcon.ActivationReason.DoubleClick:
            # The second click of a double click arrives as DoubleClick, not Trigger: the
            # user clearly wants the window, so show it rather than toggle it away again.
            self.show_events.emit()

    def show_state(self, view: TrayView) -> None:
        if view == self.view and self._shown:
            return  # re-rendering six pixmaps for nothing costs GUI time under load
        self._shown = True
        self.view = view
        state = icon_look(
            TrayState(
                unread=view.unread,
                highest=view.highest,
                paused=bool(view.paused),
                error=view.error,
                offline=view.offline,
            )
        )
        # A status line that counts down, or one more event on top of "99+", leaves it be.
        if state != self._icon_state:
            self._icon_state = state
            self.icon.setIcon(tray_icon(state))
        self.icon.setToolTip(self.tooltip())
        self._status.setText(self.status_line())
        _offer(self._reconnect, view.reconnect)
        _offer(self._copy, view.can_copy, visible=not view.relay)
        _offer(self._test, view.can_test, visible=not view.relay)
        self._resume.setEnabled(bool(view.paused))
        # While paused, the submenu (with Resume in it) is titled by the state itself.
        self.pause_menu.setTitle(view.paused or "Pause notifications")

    def status_line(self) -> str:
        """The first line of the menu and of the tooltip: whether events arrive."""
        v = self.view
        if v.line:
            return v.line
        if v.error:
            return f"Not receiving: {v.error}"
        if v.address:
            return f"Listening on {v.address}"
        return "Starting…"

    def tooltip(self) -> str:
        v = self.view
        lines = ["holmtray", self.status_line()]
        if v.unread:
            worst = f" (highest: {v.highest.label})" if v.highest is not None else ""
            lines.append(f"{v.unread} unread{worst}")
        else:
            lines.append("No unread events")
        if v.paused:
            lines.append(v.paused)  # "Paused until 12:46", "Quiet until 07:00", ...
        if v.last_event:
            lines.append(f"Last: {tooltip_safe(v.last_event)}")
        return "\n".join(lines)


def _offer(action: QAction, enabled: bool, *, visible: bool | None = None) -> None:
    """Show ``action`` enabled, or not at all (a hidden action is also disabled, so that
    nothing can trigger it)."""
    shown = enabled if visible is None else visible
    action.setVisible(shown)
    action.setEnabled(enabled and shown)
