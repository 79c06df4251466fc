"""The tray application: lifecycle and wiring, in one fixed order.

``run()`` (:mod:`~holmtray.ui.launch`, also importable from here) builds a :class:`TrayApp` and
awaits :meth:`TrayApp.main` until the user quits. :class:`TrayApp` owns the pieces and
connects them: the receiver thread
(the event source — the embedded listener or a relay subscription, per ``source.mode`` — and
its writer; every write to the history goes through it), the GUI's read-only view of the
active source's history (:class:`HistoryView`: store and event window), the tray icon, the
notifier and the notification policy, and the dialogs. Data flows one way: what the source
produced (committed batches flagged live or backfill, relay states, database switches, in
order) -> event window, tray state, policy -> notifier; the window's changes (read flags,
delete, undo) go back to the receiver thread's writer as named operations. Putting settings
into effect and the Settings, welcome and About dialogs are its base class
:class:`~holmtray.ui.app_settings.SettingsActions`.

Whether events are received is one truth (:mod:`~holmtray.ui.source_status`), shown by the
tray, the event window's status strip and the welcome dialog, and told by a notification
when receiving stops and when it resumes.

The GUI thread never waits: work for the receiver goes to its thread and comes back as an
awaited future; the config and expectation files are written on a worker thread of their
own. The one exception is :meth:`TrayApp.shutdown`, which must wait for both to finish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

from holmtray.core.clock import utc_now
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.text import plural
from holmtray.ui.app_settings import SettingsActions
from holmtray.ui.icons import resource_path
from holmtray.ui.launch import run
from holmtray.ui.tray import Tray, TrayView

# Start-up (issue 16): what the tray icon does not need is imported after it is shown or on
# first use (tests/ui/test_startup_imports.py keeps it so): the parts that receive and show
# events (app_parts.py), the notification policy, and PySide6's Qt namespace (``QtCore.Qt``,
# read where used: its first access makes all of its enums, ~20 ms).
if TYPE_CHECKING:
    from holmtray.core.alerts.notices import Notice, Urgency
    from holmtray.core.alerts.policy import NotificationPolicy, Show, ShowSummary
    from holmtray.core.events import StoredEvent
    from holmtray.core.history.store import Store
    from holmtray.core.subscribe.source import RelayState
    from holmtray.ui.app_parts import Parts
    from holmtray.ui.events.status_strip import StatusStrip
    from holmtray.ui.events.window import EventWindow
    from holmtray.ui.history_view import HistoryView
    from holmtray.ui.links import LinkOpener
    from holmtray.ui.notifier import Notifier
    from holmtray.ui.receiver_thread import ReceiverThread
    from holmtray.ui.receiving import ReceivingMonitor
    from holmtray.ui.setup_flow import SetupFlow

log = logging.getLogger("holmtray.ui.app")

DRAIN_INTERVAL_MS = 250  # at most four hand-overs a second from the receiver thread
TICK_INTERVAL_MS = 1000


class TrayApp(SettingsActions, QObject):
    """Owns and wires every part of the running tray app."""

    def __init__(
        self,
        *,
        settings: Settings,
        paths: Paths,
        quit_event: asyncio.Event,
        redact: Callable[[Iterable[str]], None] | None = None,
        after_icon: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self._after_icon = after_icon  # run on the loop's next turn once the icon is shown
        self.settings = settings
        self.paths = paths
        self._quit = quit_event
        self._redact = redact  # the log formatter's secrets, kept in step with the settings
        self.tray = Tray(self)
        self._links: LinkOpener | None = None  # made on the first link opened
        self._files_pool: concurrent.futures.ThreadPoolExecutor | None = None  # see _files
        self._policy: NotificationPolicy | None = None  # see the policy property
        self._parts: Parts | None = None  # see _made
        self.notifier: Notifier | None = None
        self.settings_dialog = None  # the open Settings dialog (see open_settings)
        self._relay_state: RelayState | None = None  # as drained, in order with the events
        self._first_load = False  # the mirror in use is new: its backfill is a first load
        self._last_drain = 0.0
        self._unshown: list[list[StoredEvent]] = []  # drained, not yet in the event window
        self._show_pending = False
        self._drain_timer = QTimer(self, singleShot=True)
        self._drain_timer.timeout.connect(self._drain)
        self._tick_timer = QTimer(self, interval=TICK_INTERVAL_MS)
        self._tick_timer.timeout.connect(self._tick)
        self._stopped = False
        self._ready = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.received = 0  # events handed to the GUI since start (tests and About read it)

    def _made(self) -> Parts:
        """The parts that receive and show events (:mod:`~holmtray.ui.app_parts`): made by
        :meth:`start` once the icon is shown, or by whatever asks for one first (tests use them
        straight after construction)."""
        if self._parts is None:
            from holmtray.ui.app_parts import make_parts  # noqa: PLC0415 (after the icon)

            self._parts = make_parts(
                settings=lambda: self.settings,
                paths=self.paths,
                apply=self.apply_settings,
                spawn=self._spawn,
                open_settings=self.open_settings,
                open_link=self._open_link,
                window_made=self._window_made,
                retry=lambda: self.apply_settings(self.settings, self._retried),
                parent=self,
            )
        return self._parts

    @property
    def _files(self) -> concurrent.futures.ThreadPoolExecutor:
        """One worker: config and expectation file writes land in the order they were made
        (made on first use: its module is not needed before the icon)."""
        if self._files_pool is None:
            self._files_pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="holmtray-files"
            )
        return self._files_pool

    @property
    def receiver(self) -> ReceiverThread:
        """The event source's thread and its writer (every write to the history)."""
        return self._made().receiver

    @property
    def setup(self) -> SetupFlow:
        return self._made().setup

    @property
    def history(self) -> HistoryView:
        """The GUI's read-only view of the active source's history: store and event window."""
        return self._made().history

    @property
    def receiving(self) -> ReceivingMonitor:
        """Whether events are received: one truth for the tray, the strip and the welcome."""
        return self._made().receiving

    @property
    def store(self) -> Store | None:
        """The GUI's read-only store on the active source's database."""
        return self.history.store

    @property
    def window(self) -> EventWindow | None:
        return self.history.window

    @property
    def policy(self) -> NotificationPolicy:
        """Decides what is notified. Made by :meth:`start` once the icon is shown (nothing
        reaches it before: events wait in the receiver's buffer until the first drain), or by
        whatever asks for it first."""
        if self._policy is None:
            # After the icon (issue 16.3): the policy's modules and its expectations file.
            from holmtray.core.alerts.expectations import ExpectationStore  # noqa: PLC0415
            from holmtray.core.alerts.policy import NotificationPolicy  # noqa: PLC0415

            self._policy = NotificationPolicy(
                settings=self.settings,
                clock=utc_now,
                expectations=ExpectationStore(
                    path=self.paths.data_dir / "expectations.json", writer=self._files
                ),
            )
        return self._policy

    @policy.setter
    def policy(self, policy: NotificationPolicy) -> None:
        self._policy = policy

    @property
    def links(self) -> LinkOpener:
        """Opens event links (made, and its dialogs imported, on first use)."""
        if self._links is None:
            from holmtray.ui.links import LinkOpener  # noqa: PLC0415 (on first use)

            self._links = LinkOpener(hosts=lambda: self.settings.strings("links.hosts"))
        return self._links

    # -- start and stop -----------------------------------------------------------------
    def show_icon(self) -> None:
        """The first thing :meth:`start` does: wire the tray and show its icon."""
        self._connect_tray()
        # The icon first: opening the store runs its integrity check, seconds on a big history.
        self.tray.icon.show()
        log.debug("tray icon shown")

    async def start(self) -> None:
        self.show_icon()
        # Straight back to the event loop, which draws the icon; then the rest is made and the
        # receiver's thread imports and starts the source (events that arrive meanwhile wait
        # in its buffer until the first drain below).
        await asyncio.sleep(0)
        log.debug("event loop turned after the icon")  # bench/idle.py times it
        if self._after_icon is not None:
            self._after_icon()
        self.connect_receiver()
        from holmtray.core.history.database import StoreError  # noqa: PLC0415 (after the icon)

        try:
            await asyncio.wrap_future(self.receiver.start())
        except StoreError:
            pass
        except Exception as exc:
            from holmtray.core.ingest.receiver import ListenerError  # noqa: PLC0415 (see above)

            if not isinstance(exc, ListenerError):
                raise
        # Made after the icon, with the loop running: the GUI-thread bridge of the dialogs'
        # workers and the notification policy (before the first drain hands it events).
        from holmtray.ui import gui_thread  # noqa: PLC0415 (after the icon)

        gui_thread.install()
        _ = self.policy
        from holmtray.ui.notifier import Notifier  # noqa: PLC0415 (after the icon)

        # The writer has just opened (and checked) the same file: no second quick_check. The
        # GUI only reads: its writes are the writer's named operations (ReceiverThread.write).
        self.history.use(self.receiver.database)
        self.notifier = await Notifier.choose(
            tray=self.tray.icon,
            icon=resource_path("holmtray.svg"),
            on_clicked=self._notice_clicked,
            on_open=lambda n: self._open_link(n.link, None),
        )
        self.receiving.notify_with(self._notify)
        self.receiving.watch_network()
        self._tick_timer.start()
        self._refresh_tray()
        if self.receiver.recovered_from:
            from PySide6.QtWidgets import QMessageBox  # noqa: PLC0415 (after the icon)

            QMessageBox.warning(
                None,
                "holmtray: database recovered",
                f"The event database was damaged. It was moved aside to\n"
                f"{self.receiver.recovered_from}\nand a new, empty database was started.",
            )
        if not self.settings.flag("ui.welcome_shown"):
            self.show_welcome()
        log.info("tray app started (notifications: %s)", self.notifier.backend_name)
        self._ready = True
        self._drain()  # events committed while the window and notifier were being made
        print("holmtray: tray app ready", file=sys.stderr, flush=True)

    def connect_receiver(self) -> None:
        """Follow the receiver thread's signals (before it starts; tests call it directly)."""
        self.receiver.events_ready.connect(self._events_ready)
        self.receiver.failed.connect(lambda _why: self._refresh_tray())
        self.receiver.listening.connect(lambda _ep: self._refresh_tray())
        self.receiver.store_health.connect(lambda _problem: self._refresh_tray())
        self.receiver.relay_notice.connect(self._relay_notice)

    def _connect_tray(self) -> None:
        t = self.tray
        t.toggle_window.connect(self.toggle_window)
        t.show_events.connect(self.show_window)
        t.copy_url.connect(lambda: self.setup.copy_url(self._say))
        t.send_test.connect(lambda: self._spawn(self.send_test()))
        t.reconnect.connect(self._reconnect_now)
        t.pause.connect(self.pause)
        t.open_settings.connect(self.open_settings)
        t.about.connect(self.show_about)
        t.quit.connect(self.request_quit)

    def _reconnect_now(self) -> None:
        self.receiving.reconnect_now()  # the monitor is made after the icon: looked up here

    def _window_made(self, window: EventWindow) -> None:
        """A new event window (at start, or the source's database changed)."""
        window.read_state_changed.connect(self._refresh_tray)
        self.receiving.attach(window)

    def _open_link(self, url: str | None, parent: QWidget | None) -> None:
        self.links.open(url, parent)

    def request_quit(self) -> None:
        """Quit (menu, SIGINT/SIGTERM, logout); said once, however many of them arrive."""
        if not self._quit.is_set():
            log.info("quit requested")
        self._quit.set()

    async def main(self) -> None:
        await self.start()
        await self._quit.wait()

    def shutdown(self) -> None:
        """Stop in order: source (answers in-flight, commits), stores. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._tick_timer.stop()
        parts = self._parts  # None: stopped before anything but the icon was made
        # Shutdown is the one place the GUI thread waits: for the receiver to answer in-flight
        # requests and commit (ReceiverThread.stop), and below for the last file writes.
        if parts is not None:
            parts.receiver.stop()
            self._drain()  # the last committed events reach the window's store readers too
            self._show_drained()  # and what an earlier drain left for the loop's next turn
        self.tray.icon.hide()
        if self.notifier is not None:
            self.notifier.disconnect()
        if parts is not None:
            parts.history.close()
        if self._files_pool is not None:
            self._files_pool.shutdown(wait=True)
        log.info("tray app stopped")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what the source produced ---------------------------------------------------------
    def _events_ready(self) -> None:
        if not self._ready:
            return  # start() drains the buffer once everything that shows events exists
        wait = DRAIN_INTERVAL_MS - (time.monotonic() - self._last_drain) * 1000
        if not self._drain_timer.isActive():
            self._drain_timer.start(max(0, int(wait)))

    def _drain(self) -> None:
        """Take what the source produced, in order: events (live or backfill), relay state
        changes, database switches.

        The policy decides at once and its notifications are sent first; the event window and
        the tray catch up on the loop's next turn (:meth:`_show_drained`, in order), so an
        alert never waits for the list's and the icon's repaint (issue 16)."""
        from holmtray.ui.deliveries import (  # noqa: PLC0415 (loaded with the receiver)
            DatabaseSwitch,
            Delivery,
            RelayStateChange,
        )

        self._last_drain = time.monotonic()
        entries = self.receiver.take()
        if not entries:
            return
        for entry in entries:
            if isinstance(entry, Delivery):
                if entry.events:
                    self._deliver(entry.events, backfill=entry.backfill)
            elif isinstance(entry, DatabaseSwitch):
                self._show_drained()  # the window being replaced gets its events first
                self.history.use(entry.path)
                self._first_load = entry.fresh
                if not entry.relay:
                    self._relay_state = None
                    self.policy.set_source_live(True)
            elif isinstance(entry, RelayStateChange):
                self._relay_changed(entry.state)
        self._show_pending = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or self._stopped:
            self._show_drained()
        else:
            loop.call_soon(self._show_drained)

    def _deliver(self, batch: list[StoredEvent], *, backfill: bool) -> None:
        self.received += len(batch)
        self._unshown.append(batch)
        self._show_pending = True
        if not self._stopped:
            self._act(self.policy.on_events(batch, catching_up=backfill))

    def _show_drained(self) -> None:
        """The drained events into the event window, oldest first; the tray brought up to
        date."""
        if not self._show_pending:
            return
        self._show_pending = False
        batches, self._unshown = self._unshown, []
        if self.window is not None:
            for batch in batches:
                self.window.add_events(batch)
        self._refresh_tray(last=batches[-1][-1] if batches else None)

    def _relay_changed(self, state: RelayState) -> None:
        from holmtray.core.subscribe.source import Live  # noqa: PLC0415 (loaded by the receiver)

        was, self._relay_state = self._relay_state, state
        live = isinstance(state, Live)
        if live and not isinstance(was, Live) and not self._stopped:
            # Everything fetched before the relay said "live" is in: one summary of it.
            self._act(self.policy.caught_up(first_load=self._first_load))
            self._first_load = False
        self.policy.set_source_live(live)

    def _relay_notice(self, text: str) -> None:
        from holmtray.core.alerts.notices import Urgency  # noqa: PLC0415 (after the icon)

        log.warning("relay: %s", text)
        self._say(text, "", Urgency.NORMAL)

    def _tick(self) -> None:
        self._act(self.policy.tick())
        self._refresh_tray()

    def _act(self, actions: list[Show | ShowSummary]) -> None:
        if self.notifier is None or not self.settings.flag("notifications.enabled"):
            return
        from holmtray.core.alerts.policy import ShowSummary  # noqa: PLC0415 (loaded: see policy)

        for action in actions:
            # A summary carries its (bounded) event ids on the notice itself: they live as long
            # as the notifier keeps that notification for a click, and no longer.
            update = isinstance(action, ShowSummary) and action.update
            self._spawn(self.notifier.show(action.notice, update=update))

    def _notice_clicked(self, notice: Notice) -> None:
        if self.window is None:
            return
        ids = notice.event_ids
        if notice.event_id is None and ids:
            log.info("notification clicked: showing the %d events of a summary", len(ids))
            self.window.show_ids(ids, _summary_label(len(ids), ids.total))
        elif notice.event_id is not None:
            log.info("notification clicked: showing event %d", notice.event_id)
            self.window.show_event(notice.event_id)
        else:
            self.show_window()

    # -- whether events are received ------------------------------------------------------
    def _notify(self, notice: Notice) -> None:
        if self.notifier is not None and not self._stopped:
            self._spawn(self.notifier.show(notice))

    def webhook_url(self) -> str | None:
        """The URL to paste into Security Center, while the listener listens."""
        return self.setup.webhook_url()

    def _mode(self) -> str:
        return self.receiving.mode()

    @property
    def strip(self) -> StatusStrip | None:
        """The strip on top of the event window that says whether events are received."""
        return self.receiving.strip

    def _retried(self, problem: str | None) -> None:
        if problem is not None and self.window is not None:
            self.window.statusBar().showMessage(f"Still not receiving: {problem}", 10_000)
        self._refresh_tray()

    def _refresh_tray(self, last: StoredEvent | None = None) -> None:
        from holmtray.core.history.database import StoreError  # noqa: PLC0415 (as Look)
        from holmtray.ui.source_status import Look  # noqa: PLC0415 (loaded with the parts)

        unread, highest = (0, None)
        if self.store is not None:
            try:
                unread, highest = self.store.unread_summary()
                if last is None:
                    last = self.store.last_event()
            except StoreError as exc:
                log.warning("cannot read the unread count: %s", exc)
        status = self.receiving.refresh()
        ep = self.receiver.endpoint
        previous = self.tray.view
        self.tray.show_state(
            TrayView(
                address=ep.masked_url() if ep else None,
                error=status.alarm.strip if status.look is Look.ERROR and status.alarm else None,
                line=status.line,
                offline=status.look is Look.OFFLINE,
                reconnect=status.reconnect,
                relay=self.receiving.mode() == "relay",
                can_copy=status.has_url or status.alarm is None,
                can_test=status.can_test or status.alarm is None,
                unread=unread,
                highest=highest,
                paused=self.policy.status(),
                last_event=(
                    f"{last.event.title} ({last.received_at.astimezone():%H:%M})" if last else None
                ),
            )
        )
        view = self.tray.view
        if view != previous:
            # One line per change: the desktop tests follow the tray through these.
            log.debug(
                "tray state: unread=%d highest=%s paused=%s error=%s geometry=%s line=%s "
                "offline=%s",
                view.unread,
                view.highest.word if view.highest is not None else "-",
                view.paused or "-",
                view.error or "-",
                self._tray_geometry(),
                view.line or "-",
                view.offline,
            )

    def _tray_geometry(self) -> str:
        g = self.tray.icon.geometry()
        return f"{g.x()},{g.y()},{g.width()},{g.height()}"

    # -- user actions ---------------------------------------------------------------------
    def show_window(self) -> None:
        if self.window is not None:
            self.window.show()
            self.window.raise_()
            self.window.activateWindow()

    def toggle_window(self) -> None:
        if self.window is not None and self.window.isVisible():
            log.debug("tray icon clicked: hiding the event window")
            self.window.hide()
        else:
            log.debug("tray icon clicked: showing the event window")
            self.show_window()

    def _say(self, summary: str, body: str, urgency: Urgency | None = None) -> None:
        """A notification of the app's own (low urgency unless said)."""
        from holmtray.core.alerts.notices import Notice, Urgency  # noqa: PLC0415 (after the icon)

        if self.notifier is not None:
            notice = Notice(
                event_id=None,
                summary=summary,
                body=body,
                urgency=Urgency.LOW if urgency is None else urgency,
                link=None,
            )
            self._spawn(self.notifier.show(notice))

    async def send_test(self) -> None:
        from holmtray.core.alerts.notices import Urgency  # noqa: PLC0415 (after the icon)

        ok, message = await self.setup.post_test()
        if not ok:
            self._say("Test event failed", message, Urgency.NORMAL)

    def pause(self, what: str) -> None:
        if what == "hour":
            self.policy.snooze_for(60)
        elif what == "tomorrow":
            self.policy.snooze_until_tomorrow()
        elif what == "forever":
            self.policy.snooze(None)
        else:
            self.policy.resume()
            self._act(self.policy.tick())  # the catch-up summary of what the pause held back
        self._refresh_tray()


def _summary_label(kept: int, total: int) -> str:
    """The event window's chip for a summary's events: ``"212 events from the summary"``, or
    ``"the newest 5,000 of 20,000 events from the summary"`` when it kept only the newest ids."""
    if kept >= total:
        return f"{plural(kept, 'event')} from the summary"
    return f"the newest {kept:,} of {total:,} events from the summary"


__all__ = ["TrayApp", "run"]
