"""The tray app's running answer to "are events being received?".

:class:`ReceivingMonitor` gathers the facts about the running event source from the receiver
thread and the settings (listener endpoint or error, store health, the relay subscription's
state, relay settings that cannot work), turns them into a
:class:`~holmtray.ui.source_status.SourceStatus` on every refresh (the app refreshes at least
once a second, so "next try in 40 s" counts down), shows it in the status strip it puts on top
of the event window (:meth:`ReceivingMonitor.attach`; its buttons reconnect, retry or open the
settings), emits :attr:`ReceivingMonitor.changed` when it differs, and hands the stop/resume
notifications of a
:class:`~holmtray.ui.source_status.ReceivingWatch` to ``notify`` once notifications can be
shown. It also turns network changes (:class:`~holmtray.ui.network_watch.NetworkWatch`) into
an immediate reconnect in relay mode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from holmtray.core.alerts.notices import Notice
from holmtray.core.clock import utc_now
from holmtray.core.config.settings import Settings
from holmtray.ui.receiver_thread import ReceiverThread, source_mode
from holmtray.ui.source_status import (
    ReceivingWatch,
    SourceFacts,
    SourceStatus,
    StripAction,
    source_status,
)

if TYPE_CHECKING:
    from holmtray.ui.events.status_strip import StatusStrip
    from holmtray.ui.events.window import EventWindow
    from holmtray.ui.network_watch import NetworkWatch

log = logging.getLogger("holmtray.ui.receiving")


class ReceivingMonitor(QObject):
    """See the module docstring."""

    changed = Signal(object)  # SourceStatus

    def __init__(
        self,
        *,
        receiver: ReceiverThread,
        settings: Callable[[], Settings],
        retry: Callable[[], None],
        open_settings: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._receiver = receiver
        self._settings = settings
        self._retry = retry
        self._open_settings = open_settings
        self._window: EventWindow | None = None
        self.strip: StatusStrip | None = None
        self._watch = ReceivingWatch()
        self._notify: Callable[[Notice], None] | None = None
        self.network: NetworkWatch | None = None
        self.status: SourceStatus = source_status(self.facts(), utc_now())

    def mode(self) -> str:
        """The running source's mode (the settings' while none runs)."""
        return self._receiver.mode or source_mode(self._settings())

    def facts(self) -> SourceFacts:
        mode = self.mode()
        ep = self._receiver.endpoint
        host, problem = "", None
        if mode == "relay":
            # The relay client's modules (and its HTTP client) only in relay mode.
            from holmtray.core.subscribe.client import targets_from  # noqa: PLC0415
            from holmtray.core.subscribe.relayconn import RelayConfigError  # noqa: PLC0415

            targets = targets_from(self._settings())
            host = self._receiver.relay_host() or targets[0].host
            problems = []
            for target in targets:
                try:
                    target.check()
                except RelayConfigError as exc:
                    problems.append(str(exc))
            if len(problems) == len(targets):  # none of the addresses can work as set
                problem = problems[0]
        return SourceFacts(
            mode=mode,
            address=ep.masked_url() if ep else None,
            listener_error=self._receiver.error,
            store_error=self._receiver.store_error,
            relay_state=self._receiver.state,
            relay_host=host,
            relay_problem=problem,
        )

    def notify_with(self, notify: Callable[[Notice], None] | None) -> None:
        """From now on, tell stops and resumes through ``notify`` (``None``: stop telling)."""
        self._notify = notify

    def watch_network(self) -> None:
        if self.network is None:
            from holmtray.ui.network_watch import NetworkWatch  # noqa: PLC0415 (after the icon)

            self.network = NetworkWatch(changed=self._network_changed, parent=self)

    def refresh(self) -> SourceStatus:
        """The status now; ``changed`` when it differs, a notification when it matters."""
        status = source_status(self.facts(), utc_now())
        if status != self.status:
            self.status = status
            self._show(status)
            self.changed.emit(status)
        if self._notify is not None:
            notice = self._watch.update(status)
            if notice is not None:
                log.warning("%s: %s", notice.summary, notice.body)
                self._notify(notice)
        return status

    def attach(self, window: EventWindow) -> None:
        """Put the status strip on top of ``window`` (a new one when the database changed)."""
        from holmtray.ui.events.status_strip import StatusStrip  # noqa: PLC0415 (with a window)

        strip = StatusStrip()
        strip.action.connect(self._strip_action)
        window.status_area.addWidget(strip)
        self._window, self.strip = window, strip
        self._show(self.status)

    def _show(self, status: SourceStatus) -> None:
        if self._window is not None:
            relay = self.mode() == "relay"
            self._window.empty_state.set_subscribed(self.facts().relay_host if relay else None)
        if self.strip is None:
            return
        alarm = status.alarm
        if alarm is None:
            self.strip.show_status(None)
            return
        tone = {"degraded": "warning", "offline": "offline"}.get(alarm.kind, "error")
        self.strip.show_status(alarm.strip, alarm.actions, tone=tone)

    def _strip_action(self, action: str) -> None:
        log.info("status strip: %s", action)
        if action == StripAction.RECONNECT:
            self.reconnect_now()
        elif action == StripAction.RETRY:
            self._retry()
        else:
            self._open_settings()

    def reconnect_now(self) -> None:
        """Relay mode: connect again now instead of at the next try."""
        log.info("reconnecting to the relay now")
        self._receiver.reconnect_now()

    def _network_changed(self) -> None:
        if self.mode() == "relay":
            log.info("the network changed: reconnecting to the relay")
            self._receiver.reconnect_now()
