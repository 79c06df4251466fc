"""Launching the tray app: logging, one instance, the QApplication and the qasync loop.

:func:`run` sets up logging (with the settings' secrets masked), makes sure only one instance
runs (a second one asks the first to show its window and ends), creates the QApplication,
builds the :class:`~holmtray.ui.app.TrayApp` and awaits :meth:`TrayApp.main
<holmtray.ui.app.TrayApp.main>` until the user quits (menu, SIGINT/SIGTERM, or session logout),
then shuts it down in order.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import qasync
from PySide6.QtWidgets import QApplication

from holmtray.core import logsetup
from holmtray.core.config.autostart import APP_ID
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.ui.icons import app_icon
from holmtray.ui.platform_integration import set_app_user_model_id
from holmtray.ui.process_hooks import Signals, install_excepthook
from holmtray.ui.single_instance import SingleInstance

log = logging.getLogger("holmtray.ui.launch")


def app_secrets(*settings: Settings) -> list[str]:
    """What the log must never show: the webhook token, the Basic password, the read token."""
    keys = ("listener.token", "listener.password", "subscribe.token")
    return [s.text(key) for s in settings for key in keys]


def run(*, settings: Settings, paths: Paths, verbose: bool = False) -> int:
    """Run the tray app until the user quits; the process exit code."""
    formatter = logsetup.configure(
        secrets=app_secrets(settings),
        level=logging.DEBUG if verbose else logging.INFO,
        log_file=paths.log_file,
    )
    set_app_user_model_id()  # Windows: before any window, so toasts carry the app's name
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("holmtray")
    # No display name: Qt would append it to every window title ("holmtray — events —
    # holmtray"); each title names the app itself.
    app.setDesktopFileName(APP_ID)  # matches the installed launcher (packaging/linux)
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(app_icon())
    instance = SingleInstance(paths)
    if not instance.acquire():
        if instance.hand_off():
            print("holmtray: already running; asked it to show its window", file=sys.stderr)
            return 0
        print("holmtray: another instance holds the lock but does not answer", file=sys.stderr)
        return 1
    install_excepthook()
    quit_event = asyncio.Event()
    from holmtray.ui.app import TrayApp  # noqa: PLC0415 (app imports this module)

    tray_app = TrayApp(
        settings=settings,
        paths=paths,
        quit_event=quit_event,
        redact=formatter.set_secrets,
        after_icon=instance.listen,  # a second launch retries its hand-off until then
    )
    instance.show_requested.connect(tray_app.show_window)
    signals = Signals(tray_app.request_quit)
    app.aboutToQuit.connect(tray_app.request_quit)  # session logout quits the QApplication
    try:
        qasync.run(tray_app.main())
    except RuntimeError as exc:
        # Logout stops Qt's loop under qasync before main() returns; we still shut down below.
        log.info("event loop ended early: %s", exc)
    finally:
        tray_app.shutdown()
        signals.close()
        instance.release()
    return 0


__all__ = ["app_secrets", "run"]
