"""Process-wide hooks of the tray app: Unix signals that end it cleanly, and a last-resort
handler for uncaught exceptions (logged, and shown once in a dialog; the app keeps running).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QSocketNotifier
from PySide6.QtWidgets import QApplication

log = logging.getLogger("holmtray.ui.process_hooks")


class Signals:
    """SIGINT/SIGTERM end the app cleanly, even while Qt's C++ loop is waiting."""

    def __init__(self, on_signal: Callable[[], None]) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)
        signal.set_wakeup_fd(self._w.fileno())
        self._notifier = QSocketNotifier(self._r.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._drain)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: on_signal())

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            self._r.recv(64)  # Python runs the handler itself once we are back in bytecode

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        self._notifier.setEnabled(False)
        self._r.close()
        self._w.close()


def install_excepthook() -> None:
    shown = False

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        nonlocal shown
        log.critical("uncaught exception", exc_info=(exc_type, exc, tb))
        if shown or QApplication.instance() is None:
            return
        shown = True
        from PySide6.QtWidgets import QMessageBox  # noqa: PLC0415 (not before the tray icon)

        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "holmtray: unexpected error",
            f"holmtray hit an unexpected error and keeps running.\n\n{exc_type.__name__}: {exc}\n\n"
            "Details are in the log file. Further errors are logged without this dialog.",
        )
        box.setDetailedText("".join(traceback.format_exception(exc_type, exc, tb)))
        box.setTextFormat(box.textFormat().PlainText)
        box.show()

    sys.excepthook = hook
