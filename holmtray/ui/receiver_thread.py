"""The receiver's own thread: a plain asyncio loop running the history writer and the listener.

measurements.md: the listener on the qasync GUI loop halves throughput and shares every GUI
stall; on its own loop it keeps ~80% of the ceiling. So the receiver lives here, and the GUI
thread gets committed events in batches: the writer's ``on_commit`` appends to a buffer and
raises one Qt signal only when the buffer goes from empty to non-empty; the GUI drains the
whole buffer at most a few times a second (see ``TrayApp``). Calls from the GUI into the
receiver go through :meth:`ReceiverThread.call`, which returns a concurrent future. The
store's health (``None``, or why events cannot be stored) is forwarded the same way, one
``store_health`` signal per change.

This thread owns the writer's lifetime: it is started before the listener and closed after
it, and it keeps running when the listener cannot (a taken port), so the event window's
writes still work. Every write the GUI makes goes through :meth:`ReceiverThread.write`, a
named operation run on :meth:`ReceiverThread.current_writer` on this loop, in line with the
inserts: the GUI opens the database read-only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.events import StoredEvent
from holmtray.core.history.database import StoreError, StoreUnavailable
from holmtray.core.history.writer import GroupCommitWriter
from holmtray.core.ingest.receiver import Endpoint, ListenerError, Receiver, history_writer

log = logging.getLogger("holmtray.ui.receiver_thread")

T = TypeVar("T")


class ReceiverThread(QObject):
    """Owns the receiver thread; its signals arrive on the GUI thread (queued)."""

    events_ready = Signal()
    listening = Signal(object)  # Endpoint
    failed = Signal(str)  # why the listener is not running
    store_health = Signal(object)  # None, or why events cannot be stored right now

    def __init__(self, *, settings: Settings, paths: Paths) -> None:
        super().__init__()
        self._settings = settings
        self._paths = paths
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="holmtray-receiver", daemon=True)
        self._receiver: Receiver | None = None
        self._writer: GroupCommitWriter | None = None  # read and written on the loop only
        self._lock = threading.Lock()
        self._buffer: list[StoredEvent] = []
        self.endpoint: Endpoint | None = None
        self.error: str | None = None
        self.recovered_from: str | None = None
        self.store_error: str | None = None  # the writer's health, as last signalled

    # -- thread side --------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _on_commit(self, events: list[StoredEvent]) -> None:
        if self._receiver is not None:
            self._receiver.committed(events)  # its relay's streams (when relay.enabled)
        with self._lock:
            was_empty = not self._buffer
            self._buffer.extend(events)
        if was_empty:
            self.events_ready.emit()

    def _on_health(self, problem: str | None) -> None:
        if self._receiver is not None:
            self._receiver.health_changed(problem)
        self.store_error = problem
        self.store_health.emit(problem)

    async def _open_writer(self) -> GroupCommitWriter:
        """The running writer, started first if it is not (raises ``StoreError``)."""
        if self._writer is None:
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

    async def _start(self, settings: Settings) -> Endpoint:
        try:
            writer = await self._open_writer()
            receiver = Receiver(settings=settings, paths=self._paths, writer=writer)
            endpoint = await receiver.start()
        except (ListenerError, StoreError) as exc:
            self.error = str(exc)
            self.endpoint = None
            log.error("listener not running: %s", exc)
            self.failed.emit(self.error)
            raise
        self._receiver = receiver
        self._settings = settings
        self.endpoint, self.error = endpoint, None
        self.listening.emit(endpoint)
        return endpoint

    async def _apply(self, settings: Settings) -> Endpoint:
        if self._receiver is None:  # not running (e.g. the port was taken): try again
            return await self._start(settings)
        await self._receiver.apply_settings(settings)
        self._settings = settings
        self.endpoint, self.error = self._receiver.endpoint, None
        self.listening.emit(self.endpoint)
        return self.endpoint

    async def _stop(self) -> None:
        if self._receiver is not None:
            await self._receiver.stop()
            self._receiver = None
        if self._writer is not None:  # last: it commits what the listener handed it
            await self._writer.close()
            self._writer = None

    def current_writer(self) -> GroupCommitWriter | None:
        """The writer the GUI's writes go to (call on the receiver's loop); ``None`` while none
        runs. The history's writer in direct mode; a relay client's mirror writer later."""
        return self._writer

    async def _write(self, operation: Callable[[GroupCommitWriter], Awaitable[T]]) -> T:
        writer = self.current_writer()
        if writer is None:
            raise StoreUnavailable("the event store is not open")
        return await operation(writer)

    # -- GUI side -----------------------------------------------------------------------
    def call(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the receiver's loop; the result arrives as a concurrent future."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def write(
        self, operation: Callable[[GroupCommitWriter], Awaitable[T]]
    ) -> concurrent.futures.Future[T]:
        """Run ``operation`` (one of the writer's named operations) on the current writer, on
        the receiver's loop. The future holds its result or its error: ``StoreUnavailable``
        while no writer runs (before :meth:`start`, after :meth:`stop`, the store not open)."""
        if not self._thread.is_alive():
            future: concurrent.futures.Future[T] = concurrent.futures.Future()
            future.set_exception(StoreUnavailable("the event store is not running"))
            return future
        return self.call(self._write(operation))

    def start(self) -> concurrent.futures.Future[Endpoint]:
        """Start the thread, the writer, then the listener; ``failed``/``listening`` say how it
        went. The writer keeps running when only the listener failed."""
        self._thread.start()
        return self.call(self._start(self._settings))

    def apply_settings(self, settings: Settings) -> concurrent.futures.Future[Endpoint]:
        """Rebind/reconfigure; the future raises ``ListenerError`` if the new port fails."""
        return self.call(self._apply(settings))

    def take_events(self) -> list[StoredEvent]:
        """Everything committed since the last call, oldest first."""
        with self._lock:
            batch, self._buffer = self._buffer, []
        return batch

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
