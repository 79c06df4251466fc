"""The receiver's own thread: a plain asyncio loop running the listener and the writer.

measurements.md: the listener on the qasync GUI loop halves throughput and shares every GUI
stall; on its own loop it keeps ~80% of the ceiling. So the receiver lives here, and the GUI
thread gets committed events in batches: the writer's ``on_commit`` appends to a buffer and
raises one Qt signal only when the buffer goes from empty to non-empty; the GUI drains the
whole buffer at most a few times a second (see ``TrayApp``). Calls from the GUI into the
receiver go through :meth:`ReceiverThread.call`, which returns a concurrent future. The
store's health (``None``, or why events cannot be stored) is forwarded the same way, one
``store_health`` signal per change.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.events import StoredEvent
from holmtray.core.history.database import StoreError
from holmtray.core.ingest.receiver import Endpoint, ListenerError, Receiver

log = logging.getLogger("holmtray.receiver")

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
        with self._lock:
            was_empty = not self._buffer
            self._buffer.extend(events)
        if was_empty:
            self.events_ready.emit()

    def _on_health(self, problem: str | None) -> None:
        self.store_error = problem
        self.store_health.emit(problem)

    async def _start(self, settings: Settings) -> Endpoint:
        receiver = Receiver(
            settings=settings,
            paths=self._paths,
            on_commit=self._on_commit,
            on_health=self._on_health,
        )
        try:
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
        if receiver.recovered_from is not None:
            self.recovered_from = str(receiver.recovered_from)
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

    # -- GUI side -----------------------------------------------------------------------
    def call(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the receiver's loop; the result arrives as a concurrent future."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def start(self) -> concurrent.futures.Future[Endpoint]:
        """Start the thread and the receiver; ``failed``/``listening`` say how it went."""
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
        """Answer in-flight requests, commit, close the database, end the thread."""
        if not self._thread.is_alive():
            return
        try:
            self.call(self._stop()).result(timeout)
        except Exception:
            log.exception("the receiver did not stop cleanly")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
