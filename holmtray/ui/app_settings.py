"""Putting settings into effect, and the dialogs around them (part of the tray app).

:class:`SettingsActions` is a base class of :class:`~holmtray.ui.app.TrayApp`: its methods are
the app's own. It owns applying new settings (rebind the listener or switch the source through
the receiver thread, save the config file on the files worker, change start at login), the
Settings dialog (one at a time, modal), the welcome dialog and remembering it was shown, and
the About box. The app's parts it uses are declared below for the type checker; ``TrayApp``
provides them.

Start-up (issue 16): nothing heavy is imported here at module level (this module is loaded
with :mod:`~holmtray.ui.app`, before the tray icon); the dialogs and the source's errors are
imported on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore

from holmtray import __version__
from holmtray.core.config import file as settings_file
from holmtray.core.config.paths import Paths
from holmtray.core.config.schema import SettingsError
from holmtray.core.config.settings import Settings
from holmtray.ui.icons import app_icon
from holmtray.ui.launch import app_secrets

if TYPE_CHECKING:
    import concurrent.futures

    from holmtray.core.alerts.policy import NotificationPolicy
    from holmtray.core.events import StoredEvent
    from holmtray.ui.history_view import HistoryView
    from holmtray.ui.notifier import Notifier
    from holmtray.ui.receiver_thread import ReceiverThread
    from holmtray.ui.receiving import ReceivingMonitor
    from holmtray.ui.settings_dialog import ApplyDone, SettingsDialog
    from holmtray.ui.setup_flow import SetupFlow
    from holmtray.ui.welcome import WelcomeDialog

log = logging.getLogger("holmtray.ui.app_settings")

APPLY_TIMEOUT_S = 15.0  # a listener that takes longer to rebind is stuck


class SettingsActions:
    """Puts settings into effect and shows the Settings, welcome and About dialogs."""

    # Provided by TrayApp (holmtray.ui.app).
    settings: Settings
    paths: Paths
    notifier: Notifier | None
    settings_dialog: SettingsDialog | None
    _redact: Callable[[Iterable[str]], None] | None

    if TYPE_CHECKING:

        @property
        def receiver(self) -> ReceiverThread: ...
        @property
        def setup(self) -> SetupFlow: ...
        @property
        def history(self) -> HistoryView: ...
        @property
        def receiving(self) -> ReceivingMonitor: ...
        @property
        def policy(self) -> NotificationPolicy: ...
        @property
        def _files(self) -> concurrent.futures.ThreadPoolExecutor: ...
        def _spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...
        def _refresh_tray(self, last: StoredEvent | None = None) -> None: ...

    def apply_settings(self, new: Settings, done: ApplyDone) -> None:
        """Start putting ``new`` into effect; ``done(problem)`` follows on the GUI thread.

        Returns at once (the Settings dialog's ``apply``): the work runs as a task on this loop.
        """

        async def run() -> None:
            try:
                problem = await self.put_into_effect(new)
            except Exception as exc:
                log.exception("applying settings failed")
                problem = f"could not apply the settings: {exc}"
            done(problem)

        self._spawn(run())

    async def put_into_effect(self, new: Settings) -> str | None:
        """Rebind the listener or switch the source, save the file, change start at login; an
        error message if the settings could not take effect (then the source keeps the old
        ones)."""
        from holmtray.core.history.database import StoreError  # noqa: PLC0415 (see start)
        from holmtray.core.ingest.receiver import ListenerError  # noqa: PLC0415 (see start)

        if self._redact is not None:
            self._redact(app_secrets(self.settings, new))  # before anything can log the new
        rebound = asyncio.wrap_future(self.receiver.apply_settings(new))
        try:
            # wait(), not wait_for(): a listener that is slow to rebind is left to finish.
            finished, _ = await asyncio.wait({rebound}, timeout=APPLY_TIMEOUT_S)
            if not finished:
                rebound.add_done_callback(_log_late_rebind)
                return f"the listener did not take the new settings within {APPLY_TIMEOUT_S:g} s"
            rebound.result()
        except ListenerError as exc:
            return str(exc)
        except StoreError as exc:
            return f"cannot open the event database: {exc}"
        finally:
            self._refresh_tray()
        old = self.settings
        self.settings = new
        try:
            await self._save(new)
        except OSError as exc:
            return (
                f"settings are in effect but could not be saved to {self.paths.config_file}: {exc}"
            )
        self.policy.update_settings(new)
        if old.flag("ui.start_at_login") != new.flag("ui.start_at_login"):
            try:
                await self._off_thread(_set_start_at_login, new.flag("ui.start_at_login"))
            except OSError as exc:
                return f"could not change start at login: {exc}"
        self._refresh_tray()
        return None

    async def _off_thread(self, work: Callable[..., None], *args: Any) -> None:
        """Run blocking file work on the files worker, in order with the other writes."""
        await asyncio.wrap_future(self._files.submit(work, *args))

    async def _save(self, settings: Settings) -> None:
        await self._off_thread(settings_file.save, settings, self.paths.config_file)

    def open_settings(self) -> None:
        """Show the Settings dialog (modal, without a nested event loop); raise it if open."""
        if self.settings_dialog is not None:
            self.settings_dialog.raise_()
            self.settings_dialog.activateWindow()
            return
        from holmtray.ui.settings_dialog import SettingsDialog  # noqa: PLC0415 (on first use)

        dialog = SettingsDialog(self.settings, paths=self.paths, apply=self.apply_settings)
        dialog.setWindowIcon(app_icon())
        dialog.setWindowModality(QtCore.Qt.WindowModality.ApplicationModal)
        dialog.finished.connect(self._settings_closed)
        self.settings_dialog = dialog
        dialog.show()

    def _settings_closed(self) -> None:
        if self.settings_dialog is not None:
            self.settings_dialog.deleteLater()
            self.settings_dialog = None

    def show_welcome(self) -> WelcomeDialog:
        dialog = self.setup.show(self.receiving.status, self.receiving.mode())
        with contextlib.suppress(SettingsError):
            self.settings = self.settings.with_values({"ui.welcome_shown": True})
            self._spawn(self._remember_welcome(self.settings))
        return dialog

    async def _remember_welcome(self, settings: Settings) -> None:
        try:
            await self._save(settings)
        except OSError as exc:
            log.warning("cannot save %s: %s", self.paths.config_file, exc.strerror or exc)

    def show_about(self) -> None:
        import html  # noqa: PLC0415 (on first use)

        from PySide6.QtWidgets import QMessageBox  # noqa: PLC0415 (on first use)

        ep = self.receiver.endpoint
        backend = self.notifier.backend_name if self.notifier else "none"
        database = self.history.path
        lines = [
            f"<b>holmtray {html.escape(__version__)}</b>",
            "Desktop alerts and a searchable history for Holm Security webhooks.",
            f"Receiving: {html.escape(self.receiving.status.line)}",
            f"Listening on: {html.escape(ep.masked_url()) if ep else 'not listening'}",
            f"Notifications: {html.escape(backend)}",
            f"Database: {html.escape(str(database) if database else 'none yet')}",
            f"Logs: {html.escape(str(self.paths.log_dir))}",
        ]
        QMessageBox.about(None, "About holmtray", "<br>".join(lines))


def _set_start_at_login(on: bool) -> None:
    from holmtray.core.config.autostart import Autostart, default_command  # noqa: PLC0415

    auto = Autostart(command=default_command())
    auto.enable() if on else auto.disable()


def _log_late_rebind(rebound: asyncio.Future[Any]) -> None:
    if rebound.cancelled():
        return
    if (exc := rebound.exception()) is not None:
        log.error("the listener took too long and then refused the new settings: %s", exc)
    else:
        log.warning("the listener took the new settings after the %g s wait", APPLY_TIMEOUT_S)


__all__ = ["APPLY_TIMEOUT_S", "SettingsActions"]
