"""Network changes reconnect a relay subscription at once, where Qt can report them."""

from __future__ import annotations

from PySide6.QtNetwork import QNetworkInformation
from pytestqt.qtbot import QtBot

from holmtray.ui.network_watch import NetworkWatch

R = QNetworkInformation.Reachability
T = QNetworkInformation.TransportMedium


def test_coming_back_online_or_changing_transport_asks_for_a_reconnect(qtbot: QtBot) -> None:
    calls: list[str] = []
    watch = NetworkWatch(changed=lambda: calls.append("reconnect"))
    # Whatever backend this machine has (or none), the reactions are the same.
    watch.on_reachability(R.Disconnected)
    assert calls == []  # nothing to reconnect to while offline
    watch.on_reachability(R.Online)
    assert calls == ["reconnect"]
    watch.on_reachability(R.Online)
    assert calls == ["reconnect"]  # no change, no reconnect
    watch.on_transport(T.Ethernet)  # Wi-Fi to cable: the old stream is likely dead
    assert calls == ["reconnect", "reconnect"]
    watch.on_reachability(R.Disconnected)
    watch.on_transport(T.WiFi)
    assert calls == ["reconnect", "reconnect"]


def test_a_machine_without_a_backend_is_not_an_error(qtbot: QtBot) -> None:
    watch = NetworkWatch(changed=lambda: None)
    assert watch.backend is None or isinstance(watch.backend, str)
