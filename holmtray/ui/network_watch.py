"""Network changes, as Qt sees them, turned into "reconnect now" for a relay subscription.

:class:`NetworkWatch` loads Qt's default ``QNetworkInformation`` backend (NetworkManager,
glib, …) when there is one — there may be none (offscreen, Xvfb, a minimal system), and
then it does nothing: the subscriber's read deadline and wake detector still notice a dead
stream, only later. When the machine becomes reachable again, or moves to another
transport (Wi-Fi to Ethernet, a VPN coming up), it calls ``changed()``: the old stream is
probably dead, so the app reconnects at once instead of waiting for the read deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QNetworkInformation

log = logging.getLogger("holmtray.ui.network_watch")

_REACHABLE = (
    QNetworkInformation.Reachability.Online,
    QNetworkInformation.Reachability.Site,
    QNetworkInformation.Reachability.Local,
)


class NetworkWatch(QObject):
    """Calls ``changed()`` on the GUI thread when the network comes back or changes."""

    def __init__(self, *, changed: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._changed = changed
        self.backend: str | None = None
        self._reachability: QNetworkInformation.Reachability | None = None
        try:
            loaded = QNetworkInformation.loadDefaultBackend()
        except Exception:  # a broken backend plugin must not stop the app
            log.exception("cannot load a network information backend")
            loaded = False
        info = QNetworkInformation.instance() if loaded else None
        if info is None:
            log.info("no network information backend: network changes are not watched")
            return
        self.backend = info.backendName()
        self._reachability = info.reachability()
        info.reachabilityChanged.connect(self.on_reachability)
        info.transportMediumChanged.connect(self.on_transport)
        log.debug("watching network changes through %s", self.backend)

    def on_reachability(self, reachability: QNetworkInformation.Reachability) -> None:
        was, self._reachability = self._reachability, reachability
        log.info("network reachability: %s", reachability.name)
        if reachability in _REACHABLE and was != reachability:
            self._changed()

    def on_transport(self, medium: QNetworkInformation.TransportMedium) -> None:
        log.info("network transport: %s", medium.name)
        if self._reachability in _REACHABLE:
            self._changed()
