"""One tray app per user (per ``HOLMTRAY_HOME``): a lock file decides, a local socket hands off.

The first instance holds a ``QLockFile`` in the config folder (Qt clears a lock whose process
died, so a crash does not block the next start) and listens on a local socket. A second launch
fails to take the lock, connects to that socket, asks the first instance to show its event
window, and exits 0.

The lock is taken before the tray icon is shown; the socket is opened just after it
(:meth:`SingleInstance.listen`; QtNetwork costs a few milliseconds to load, issue 16.3). A
second launch in between finds the lock taken and retries its hand-off until the socket listens.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QLockFile, QObject, Signal

from holmtray.core.config.paths import Paths

if TYPE_CHECKING:
    from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger("holmtray.ui.single_instance")

SHOW = b"show\n"


def server_name(paths: Paths) -> str:
    """A socket name unique to this user and this config folder."""
    import hashlib  # noqa: PLC0415 (after the icon, see the module docstring)

    uid = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    digest = hashlib.sha256(f"{uid}:{paths.config_dir}".encode()).hexdigest()[:20]
    return f"holmtray-{digest}"


class SingleInstance(QObject):
    """Decides whether this process is the first instance; relays "show" requests to it."""

    show_requested = Signal()

    def __init__(self, paths: Paths, parent: QObject | None = None) -> None:
        super().__init__(parent)
        paths.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._paths = paths
        self._lock = QLockFile(str(paths.config_dir / "instance.lock"))
        self._lock.setStaleLockTime(0)  # stale only when the owner's process is gone
        self._server: QLocalServer | None = None

    def acquire(self) -> bool:
        """True if this is the first instance (then :meth:`listen` for hand-offs)."""
        return bool(self._lock.tryLock(100))

    def listen(self) -> None:
        """Take second launches' "show" requests (the first instance, once it holds the lock)."""
        from PySide6.QtNetwork import QLocalServer  # noqa: PLC0415 (see the module docstring)

        if self._server is not None:
            return
        name = server_name(self._paths)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        QLocalServer.removeServer(name)  # a socket left by a crashed first instance
        if not server.listen(name):
            log.warning("cannot listen for a second instance: %s", server.errorString())
        server.newConnection.connect(self._accept)
        self._server = server

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
        from PySide6.QtNetwork import QLocalSocket  # noqa: PLC0415 (a second launch only)

        name = server_name(self._paths)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # the first one may still be starting up
            sock = QLocalSocket()
            sock.connectToServer(name)
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
