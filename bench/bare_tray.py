"""Baseline for start-up and idle: a bare PySide6 app that shows a QSystemTrayIcon.

Started the same way as the tray app in idle.py (offscreen, no session bus); prints
``bare: tray ready`` on stderr once the icon is shown, then idles until SIGTERM/SIGINT.

Run: QT_QPA_PLATFORM=offscreen python bench/bare_tray.py
"""

from __future__ import annotations

import signal
import sys

from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    pixmap = QPixmap(64, 64)
    pixmap.fill(QColor("#2563eb"))
    tray = QSystemTrayIcon(QIcon(pixmap))
    menu = QMenu()
    menu.addAction("Quit", app.quit)
    tray.setContextMenu(menu)
    tray.setToolTip("bare tray")
    tray.show()
    # Qt's loop does not return to Python on its own; a default handler ends the process.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    print("bare: tray ready", file=sys.stderr, flush=True)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
