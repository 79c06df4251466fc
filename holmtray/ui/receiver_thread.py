"""The receiver's own thread: a plain asyncio loop running the event source and its writer.

measurements.md: the listener on the qasync GUI loop halves throughput and shares every GUI
stall; on its own loop it keeps ~80% of the ceiling. So the event source lives here, and the
GUI thread gets what it produced in batches: every committed batch (and every change of the
relay's state or of the database in use) goes into one ordered
:class:`~holmtray.ui.deliveries.DeliveryBuffer`, which raises one Qt signal only when it goes
from empty to non-empty; the GUI drains the whole buffer at most a few times a second (see
``TrayApp``). Calls from the GUI into the receiver go through :meth:`ReceiverThread.call`,
which returns a concurrent future. The store's health (``None``, or why events cannot be
stored) is forwarded the same way, one ``store_health`` signal per change.

One event source runs at a time, chosen by ``source.mode``:

- ``direct`` — the history writer plus the embedded listener (:class:`Receiver`). The writer
  is started before the listener and closed after it, and it keeps running when the listener
  cannot (a taken port), so the event window's writes still work.
- ``relay`` — a :class:`~holmtray.core.subscribe.client.RelayClient`; no port is bound. Its
  mirror's writer is the one the GUI's writes go to. Its states, notices and mirror changes
  reach the GUI through the buffer (in order with the events) and as signals.

Switching the mode (Settings) stops one source and starts the other; if the new one cannot
start, the old one is started again and the error goes back to the caller. Every write the
GUI makes goes through :meth:`ReceiverThread.write`, a named operation run on
:meth:`ReceiverThread.current_writer` on this loop, in line with the inserts: the GUI opens the
database read-only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.events import StoredEvent
from holmtray.core.history.database import StoreError, StoreUnavailable
from holmtray.core.subscribe.source import RelayState
from holmtray.ui.deliveries import (
    DatabaseSwitch,
    Delivery,
    DeliveryBuffer,
    Entry,
    RelayStateChange,
)

if TYPE_CHECKING:
    from holmtray.core.history.writer import GroupCommitWriter
    from holmtray.core.ingest.endpoint import Endpoint
    from holmtray.core.ingest.receiver import Receiver
    from holmtray.core.subscribe.client import RelayClient

log = logging.getLogger("holmtray.ui.receiver_thread")

T = TypeVar("T")


def source_mode(settings: Settings) -> str:
    """``"relay"`` or ``"direct"``: which event source the settings ask for."""
    return "relay" if settings.text("source.mode") == "relay" else "direct"


class ReceiverThread(QObject):
    """Owns the receiver thread; its signals arrive on the GUI thread (queued)."""

    events_ready = Signal()  # the buffer went from empty to non-empty: call take()
    listening = Signal(object)  # Endpoint (direct mode)
    failed = Signal(str)  # why the listener is not running (direct mode)
    store_health = Signal(object)  # None, or why events cannot be stored right now
    relay_state = Signal(object)  # RelayState (relay mode; also in the buffer, in order)
    relay_notice = Signal(str)  # a one-time notice from the relay client (a gap, a reset)
    database_changed = Signal(object)  # Path | None: the database the source stores into

    OFFLINE_AFTER_S: float | None = None
    """How long a relay subscription is *Reconnecting* before it is *Offline*; ``None``: the
    relay client's own default (tests shorten it)."""

    def __init__(self, *, settings: Settings, paths: Paths) -> None:
        super().__init__()
        self._settings = settings
        self._paths = paths
        # A plain loop even when made under qasync (whose policy would make a Qt one: the tray
        # app makes this thread after its icon, on the running GUI loop).
        self._loop = asyncio.DefaultEventLoopPolicy().new_event_loop()
        self._thread = threading.Thread(target=self._run, name="holmtray-receiver", daemon=True)
        self._receiver: Receiver | None = None
        self._writer: GroupCommitWriter | None = None  # direct mode; on the loop only
        self._client: RelayClient | None = None  # relay mode; on the loop only
        self._buffer = DeliveryBuffer()
        self.mode: str | None = None  # the running source: "direct", "relay", None
        self.endpoint: Endpoint | None = None
        self.error: str | None = None
        self.recovered_from: str | None = None
        self.store_error: str | None = None  # the writer's health, as last signalled
        self.state: RelayState | None = None  # the relay subscription's, as last reported
        self.database: Path | None = None  # the database the running source stores into

    # -- thread side --------------------------------------------------------------------
    def _run(self) -> None:
        # The source's modules (the HTTP server and client, the relay client) are imported
        # here, on this thread, when a source first starts: not before the tray icon is shown.
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _put(self, entry: Entry) -> None:
        if self._buffer.put(entry):
            self.events_ready.emit()

    def _on_commit(self, events: list[StoredEvent]) -> None:
        if self._receiver is not None:
            self._receiver.committed(events)  # its relay's streams (when relay.enabled)
        self._put(Delivery(events, backfill=False))

    def _on_relay_events(self, events: list[StoredEvent], backfill: bool) -> None:
        self._put(Delivery(events, backfill=backfill))

    def _on_relay_state(self, state: RelayState) -> None:
        self.state = state
        self._put(RelayStateChange(state))
        self.relay_state.emit(state)

    def _on_notice(self, text: str) -> None:
        self.relay_notice.emit(text)

    def _on_database(self, path: Path) -> None:
        client = self._client
        self._switched(path, relay=True, fresh=client is not None and client.cursor == 0)

    def _switched(self, path: Path | None, *, relay: bool, fresh: bool = False) -> None:
        self.database = path
        self._put(DatabaseSwitch(path, relay=relay, fresh=fresh))
        self.database_changed.emit(path)

    def _on_health(self, problem: str | None) -> None:
        if self._receiver is not None:
            self._receiver.health_changed(problem)
        self._set_store_error(problem)

    def _set_store_error(self, problem: str | None) -> None:
        self.store_error = problem
        self.store_health.emit(problem)

    async def _open_writer(self) -> GroupCommitWriter:
        """The running history writer, started first if it is not (raises ``StoreError``)."""
        if self._writer is None:
            from holmtray.core.ingest.receiver import history_writer  # noqa: PLC0415 (see _run)

            writer = history_writer(
                settings=lambda: self._settings,
                paths=self._paths,
                on_commit=self._on_commit,
                on_health=self._on_health,
            )
            await writer.start()
            self._writer = writer
            if writer.recovered_from is not None:
                self.recovered_from = str(writer.recovered_from)
        return self._writer

    async def _start(self, settings: Settings) -> Endpoint | None:
        """Start the source ``settings`` ask for; the endpoint in direct mode."""
        if source_mode(settings) == "relay":
            await self._start_relay(settings)
            return None
        from holmtray.core.ingest.receiver import ListenerError  # noqa: PLC0415 (see _run)

        try:
            endpoint = await self._start_direct(settings)
        except (ListenerError, StoreError) as exc:
            self.error = str(exc)
            self.endpoint = None
            log.error("listener not running: %s", exc)
            self.failed.emit(self.error)
            raise
        self.endpoint, self.error = endpoint, None
        self.listening.emit(endpoint)
        return endpoint

    async def _start_direct(self, settings: Settings) -> Endpoint:
        self.mode = "direct"
        self._settings = settings
        writer = await self._open_writer()
        if self.database != writer.store_path:
            self._switched(writer.store_path, relay=False)
        from holmtray.core.ingest.receiver import Receiver  # noqa: PLC0415 (see _run)

        receiver = Receiver(settings=settings, paths=self._paths, writer=writer)
        endpoint = await receiver.start()
        self._receiver = receiver
        return endpoint

    async def _start_relay(self, settings: Settings) -> None:
        self.mode = "relay"
        self._settings = settings
        self.endpoint, self.error = None, None
        from holmtray.core.history.places import data_folder  # noqa: PLC0415 (see _run)
        from holmtray.core.subscribe import client as subscriber  # noqa: PLC0415 (see _run)

        offline_after_s = self.OFFLINE_AFTER_S
        client = subscriber.RelayClient(
            settings=settings,
            data_dir=data_folder(settings, self._paths),
            on_events=self._on_relay_events,
            on_state=self._on_relay_state,
            on_notice=self._on_notice,
            on_database=self._on_database,
            on_health=self._on_health,
            offline_after_s=(
                subscriber.OFFLINE_AFTER_S if offline_after_s is None else offline_after_s
            ),
        )
        self._client = client
        self.database = None
        await client.start()  # opens the recorded mirror, if any (on_database)
        if self.database is None:
            self._switched(None, relay=True)
        log.info("subscribing to the relay at %s", client.target.host or "(no address set)")

    async def _stop_source(self) -> None:
        """Stop whichever source runs: listener (answers in-flight), then its writer."""
        if self._receiver is not None:
            await self._receiver.stop()
            self._receiver = None
        if self._writer is not None:  # last: it commits what the listener handed it
            await self._writer.close()
            self._writer = None
        if self._client is not None:
            await self._client.stop()
            self._client = None
        self.mode = None
        self.endpoint = None
        self.state = None
        if self.store_error is not None:
            self._set_store_error(None)  # that store is not ours any more

    async def _apply(self, settings: Settings) -> Endpoint | None:
        mode = source_mode(settings)
        if mode != self.mode:
            return await self._switch(settings)
        if mode == "relay":
            assert self._client is not None
            await self._client.apply_settings(settings)
            self._settings = settings
            return None
        if self._receiver is None:  # not running (e.g. the port was taken): try again
            return await self._start(settings)
        await self._receiver.apply_settings(settings)
        self._settings = settings
        self.endpoint, self.error = self._receiver.endpoint, None
        self.listening.emit(self.endpoint)
        return self.endpoint

    async def _switch(self, settings: Settings) -> Endpoint | None:
        """Another source: stop this one, start that; on failure, this one again."""
        from holmtray.core.ingest.receiver import ListenerError  # noqa: PLC0415 (see _run)

        old = self._settings
        log.info("switching the event source to %s", source_mode(settings))
        await self._stop_source()
        try:
            return await self._start_quietly(settings)
        except (ListenerError, StoreError) as exc:
            log.error("cannot switch the event source: %s", exc)
            await self._stop_source()
            # If that fails too it is told (the failed signal); the caller hears the first.
            with contextlib.suppress(ListenerError, StoreError):
                await self._start(old)
            raise

    async def _start_quietly(self, settings: Settings) -> Endpoint | None:
        """:meth:`_start` without announcing a failure (the caller may still roll back)."""
        if source_mode(settings) == "relay":
            await self._start_relay(settings)
            return None
        endpoint = await self._start_direct(settings)
        self.endpoint, self.error = endpoint, None
        self.listening.emit(endpoint)
        return endpoint

    async def _stop(self) -> None:
        await self._stop_source()

    def current_writer(self) -> GroupCommitWriter | None:
        """The writer the GUI's writes go to (call on the receiver's loop); ``None`` while none
        runs: the history's writer in direct mode, the relay mirror's in relay mode."""
        if self._client is not None:
            return self._client.writer
        return self._writer

    async def _write(
        self, operation: Callable[[GroupCommitWriter], Awaitable[T]], database: Path | None
    ) -> T:
        writer = self.current_writer()
        if writer is None:
            raise StoreUnavailable("the event store is not open")
        if database is not None and writer.store_path != database:
            raise StoreUnavailable("the event list has changed since (another source or relay)")
        return await operation(writer)

    def _reconnect(self) -> None:
        if self._client is not None:
            self._client.reconnect_now()

    # -- GUI side -----------------------------------------------------------------------
    def call(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the receiver's loop; the result arrives as a concurrent future."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def write(
        self,
        operation: Callable[[GroupCommitWriter], Awaitable[T]],
        *,
        database: Path | None = None,
    ) -> concurrent.futures.Future[T]:
        """Run ``operation`` (one of the writer's named operations) on the current writer, on
        the receiver's loop. The future holds its result or its error: ``StoreUnavailable``
        while no writer runs (before :meth:`start`, after :meth:`stop`, the store not open),
        or when ``database`` is given and the current writer writes another one (the window
        that asked shows a database that is no longer the source's)."""
        if not self._thread.is_alive():
            future: concurrent.futures.Future[T] = concurrent.futures.Future()
            future.set_exception(StoreUnavailable("the event store is not running"))
            return future
        return self.call(self._write(operation, database))

    def start(self) -> concurrent.futures.Future[Endpoint | None]:
        """Start the thread and the source ``source.mode`` names. Direct: the writer, then the
        listener (``failed``/``listening`` say how it went; the writer keeps running when only
        the listener failed). Relay: the subscription (its states follow)."""
        self._thread.start()
        return self.call(self._start(self._settings))

    def apply_settings(self, settings: Settings) -> concurrent.futures.Future[Endpoint | None]:
        """Reconfigure, rebind, or switch the source; the future raises ``ListenerError`` if a
        new port fails (the previous source keeps running then)."""
        return self.call(self._apply(settings))

    def reconnect_now(self) -> None:
        """Relay mode: drop the wait (or the stream) and connect again now."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._reconnect)

    def relay_host(self) -> str:
        """Relay mode: the relay in use (of ``subscribe.urls``, which fail over), else ``""``."""
        client = self._client
        return client.target.host if client is not None else ""

    def take(self) -> list[Entry]:
        """Everything the source produced since the last call, in order."""
        return self._buffer.take()

    def stop(self, timeout: float = 30.0) -> None:
        """Answer in-flight requests, commit (the GUI's queued writes too), close the database,
        end the thread."""
        if not self._thread.is_alive():
            return
        try:
            self.call(self._stop()).result(timeout)
        except Exception:
            log.exception("the receiver did not stop cleanly")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
