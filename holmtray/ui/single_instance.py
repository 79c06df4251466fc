"""One tray app per user (per ``HOLMTRAY_HOME``): a lock file decides, a local socket hands off.

The first instance holds a ``QLockFile`` in the config folder (Qt clears a lock whose process
died, so a crash does not block the next start) and listens on a local socket. A second launch
fails to take the lock, connects to that socket, asks the first instance to show its event
window, and exits 0.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from holmtray.core.config.paths import Paths

log = logging.getLogger("holmtray.app")

SHOW = b"show\n"


def server_name(paths: Paths) -> str:
    """A socket name unique to this user and this config folder."""
    uid = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    digest = hashlib.sha256(f"{uid}:{paths.config_dir}".encode()).hexdigest()[:20]
    return f"holmtray-{digest}"


class SingleInstance(QObject):
    """Decides whether this process is the first instance; relays "show" requests to it."""

    show_requested = Signal()

    def __init__(self, paths: Paths, parent: QObject | None = None) -> None:
        super().__init__(parent)
        paths.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._name = server_name(paths)
        self._lock = QLockFile(str(paths.config_dir / "instance.lock"))
        self._lock.setStaleLockTime(0)  # stale only when the owner's process is gone
        self._server: QLocalServer | None = None

    def acquire(self) -> bool:
        """True if this is the first instance (it then listens for hand-offs)."""
        if not self._lock.tryLock(100):
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        QLocalServer.removeServer(self._name)  # a socket left by a crashed first instance
        if not server.listen(self._name):
            log.warning("cannot listen for a second instance: %s", server.errorString())
        server.newConnection.connect(self._accept)
        self._server = server
        return True

    def _accept(self) -> None:
        assert self._server is not None
        while (conn := self._server.nextPendingConnection()) is not None:
            conn.readyRead.connect(lambda c=conn: self._read(c))
            conn.disconnected.connect(conn.deleteLater)

    def _read(self, conn: QLocalSocket) -> None:
        data = bytes(conn.readAll().data())
        if SHOW.strip() in data:
            log.info("another launch asked to show the event window")
            self.show_requested.emit()
        conn.disconnectFromServer()

    def hand_off(self, timeout_s: float = 10.0) -> bool:
        """Ask the first instance to show its window; False if it could not be reached."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # the first one may still be starting up
            sock = QLocalSocket()
            sock.connectToServer(self._name)
            if sock.waitForConnected(500):
                sock.write(SHOW)
                sock.flush()
                sock.waitForBytesWritten(1000)
                sock.disconnectFromServer()
                return True
            time.sleep(0.1)
        return False

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._lock.unlock()
