"""Group commit: many concurrent submits share a few durable transactions, off the event loop.

This module owns the writer thread and everything that runs on it. The listener calls
:meth:`GroupCommitWriter.submit` once per webhook; the call returns only after the event's
transaction has committed (``synchronous=FULL``), so a 2xx always means "on disk". One drain
task takes every request waiting in the queue (up to ``max_batch``), commits them together with
:meth:`Store.insert_many` on a dedicated single thread, and then answers all of them; while a
commit runs, new requests collect for the next one. The same thread runs retention in small
steps between batches, and reopens the database when its file was removed under it.

It also owns the store's health (:attr:`GroupCommitWriter.health`): ``None`` while commits
succeed, else why the last one failed (disk full, read-only, locked, folder gone). A failure is
logged once as a WARNING, its recovery once as an INFO, and ``on_health`` hears each change.
While unhealthy, a tiny probe write every ``probe_interval_s`` finds out that the fault has
cleared without waiting for the next webhook (Holm may send none for hours).

The :class:`~holmtray.core.history.store.Store` is only ever touched from the writer thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from holmtray.core.clock import utc_now
from holmtray.core.events import Event, StoredEvent
from holmtray.core.history.database import StoreError, StoreUnavailable
from holmtray.core.history.store import InsertResult, NewEvent, Store

log = logging.getLogger("holmtray.history.writer")

_RETENTION_STEP = 500
"""Rows retention deletes per job on the writer thread; insert batches run in between."""

_T = TypeVar("_T")


@dataclass(slots=True)
class _Request:
    item: NewEvent
    future: asyncio.Future[InsertResult]


class GroupCommitWriter:
    """Stores submitted events in shared transactions on one worker thread."""

    def __init__(
        self,
        *,
        store_path: Path,
        on_commit: Callable[[list[StoredEvent]], None] | None = None,
        retention: Callable[[], tuple[int, int]] | None = None,
        retention_interval_s: float = 3600.0,
        busy_timeout_s: float = 5.0,
        max_batch: int = 512,
        clock: Callable[[], datetime] = utc_now,
        on_health: Callable[[str | None], None] | None = None,
        probe_interval_s: float = 2.0,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if probe_interval_s <= 0:
            raise ValueError(f"probe_interval_s must be positive, got {probe_interval_s}")
        self._store_path = Path(store_path)
        self._on_commit = on_commit
        self._retention = retention
        self._retention_interval_s = retention_interval_s
        self._busy_timeout_s = busy_timeout_s
        self._max_batch = max_batch
        self._clock = clock
        self._on_health = on_health
        self._probe_interval_s = probe_interval_s
        self._health: str | None = None  # read and written on the event loop only
        self._probe_task: asyncio.Task[None] | None = None

        self._executor: ThreadPoolExecutor | None = None
        self._store: Store | None = None  # read and written on the writer thread only
        self._recovered_from: Path | None = None
        self._queue: asyncio.Queue[_Request | None] | None = None  # None asks the drain to stop
        self._drain_task: asyncio.Task[None] | None = None
        self._retention_task: asyncio.Task[None] | None = None
        self._accepting = False
        self._closing = False
        self._closed = asyncio.Event()
        self._commits = 0

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store on the writer thread; raises :class:`StoreError` if that fails."""
        if self._executor is not None or self._closing:
            raise RuntimeError("GroupCommitWriter.start() may be called once")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="holmtray-writer")
        try:
            await self._run(self._current_store)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        self._queue = asyncio.Queue()
        self._accepting = True
        self._drain_task = asyncio.create_task(self._drain(), name="holmtray-writer-drain")
        if self._retention is not None:
            self._retention_task = asyncio.create_task(
                self._retention_loop(), name="holmtray-writer-retention"
            )

    async def close(self) -> None:
        """Stop accepting, commit everything already submitted, close the store and thread."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self._accepting = False
        try:
            for task in (self._retention_task, self._probe_task):
                if task is not None:
                    task.cancel()
                    await asyncio.wait([task])  # a cancel of close() still works
            if self._queue is not None and self._drain_task is not None:
                self._queue.put_nowait(None)  # after every request already queued
                await self._drain_task
            if self._executor is not None:
                try:
                    await self._run(self._close_store)
                finally:
                    self._executor.shutdown(wait=True)  # idle by now: returns at once
        finally:
            self._closed.set()

    # ---- properties ----------------------------------------------------------------------

    @property
    def recovered_from(self) -> Path | None:
        """Where a damaged database was moved when the writer opened it, if that happened."""
        return self._recovered_from

    @property
    def commits(self) -> int:
        """How many batches have been committed (for tests and benchmarks)."""
        return self._commits

    @property
    def store_path(self) -> Path:
        return self._store_path

    @property
    def health(self) -> str | None:
        """``None`` while events can be stored, else why not, e.g. ``"cannot store events:
        the disk is full"``. Set by a failed commit, cleared by the next successful commit or
        probe. Holds no path, token or body: it is shown in the tray and by ``/healthz``."""
        return self._health

    # ---- submitting ----------------------------------------------------------------------

    async def submit(self, body: str, event: Event) -> InsertResult:
        """Store one event; returns once the transaction holding it has committed.

        Raises :class:`StoreUnavailable` if that commit failed, or when the writer is shutting
        down. If the caller is cancelled while waiting (its client went away), the event is
        still stored: it stays in its batch.
        """
        if not self._accepting or self._queue is None:
            raise StoreUnavailable(
                "the event store is shutting down" if self._closing else "the writer is not started"
            )
        received_at = self._clock()
        if received_at.tzinfo is None or received_at.utcoffset() is None:
            raise ValueError(f"clock() must return an aware datetime, got {received_at!r}")
        future: asyncio.Future[InsertResult] = asyncio.get_running_loop().create_future()
        # No await between here and the put, so a request is either queued or never made.
        self._queue.put_nowait(_Request(NewEvent(body, event, received_at), future))
        return await future

    async def run_retention_now(self) -> int:
        """Apply the retention limits now, in steps between insert batches; rows deleted."""
        if self._executor is None or self._closing:
            raise StoreUnavailable("the event store is not running")
        if self._retention is None:
            return 0
        max_age_days, max_count = self._retention()
        if not max_age_days and not max_count:
            return 0
        now = self._clock()
        total = 0
        while not self._closing:
            n = await self._run(self._retention_step, now, max_age_days, max_count)
            total += n
            if n < _RETENTION_STEP:
                break
        if total:
            log.info(
                "retention removed %d events (max age %d days, max count %d; 0 = no limit)",
                total,
                max_age_days,
                max_count,
            )
        return total

    # ---- the drain (event-loop side) -----------------------------------------------------

    async def _drain(self) -> None:
        assert self._queue is not None
        queue = self._queue
        stopping = False
        batch: list[_Request] = []
        try:
            while not stopping:
                first = await queue.get()
                batch = []
                if first is None:
                    stopping = True
                else:
                    batch.append(first)
                while not stopping and len(batch) < self._max_batch:
                    try:
                        nxt = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        break
                    if nxt is None:
                        stopping = True
                    else:
                        batch.append(nxt)
                if batch:
                    await self._commit(batch)
                    batch = []
        finally:
            # Only reached early if this task itself is cancelled (loop shutting down): nobody
            # must wait forever for an answer that will not come.
            leftovers = list(batch)
            while not queue.empty():
                request = queue.get_nowait()
                if request is not None:
                    leftovers.append(request)
            for request in leftovers:
                _fail(request.future, StoreUnavailable("the event store is shutting down"))

    async def _commit(self, batch: list[_Request]) -> None:
        try:
            results = await self._run(self._insert_batch, [r.item for r in batch])
        except StoreError as exc:
            # Once per request would flood the log during an outage; the health change is
            # logged once (WARNING) and recovery once (INFO).
            log.debug("could not store a batch of %d events: %s", len(batch), exc)
            self._unhealthy(exc)
            for request in batch:
                # Each waiter raises its own copy: one exception object raised in many tasks
                # would collect all of their tracebacks.
                failure = copy.copy(exc)
                failure.__cause__ = exc
                _fail(request.future, failure)
            return
        except Exception as exc:
            log.exception("storing a batch of %d events failed unexpectedly", len(batch))
            self._unhealthy(exc)
            for request in batch:
                _fail(request.future, exc)
            return
        self._commits += 1
        self._set_health(None, "")
        for request, result in zip(batch, results, strict=True):
            if not request.future.done():  # done = the submitter was cancelled
                request.future.set_result(result)
        stored = [r.stored for r in results if r.stored is not None]
        if stored and self._on_commit is not None:
            try:
                self._on_commit(stored)
            except Exception:
                log.exception("on_commit callback failed (the events are stored)")

    async def _retention_loop(self) -> None:
        while True:
            try:
                await self.run_retention_now()
            except StoreError as exc:
                log.warning("retention could not run: %s", exc)
            except Exception:
                log.exception("retention failed unexpectedly")
            await asyncio.sleep(self._retention_interval_s)

    # ---- health (event-loop side) --------------------------------------------------------

    def _unhealthy(self, exc: Exception) -> None:
        if isinstance(exc, StoreUnavailable):
            text = f"cannot store events: {exc.cause}"
        elif isinstance(exc, StoreError):
            text = "cannot store events: the database cannot be used (see the log)"
        else:
            text = "cannot store events: unexpected error (see the log)"
        self._set_health(text, str(exc))

    def _set_health(self, text: str | None, detail: str) -> None:
        previous, self._health = self._health, text
        if text == previous:
            return
        if text is None:
            log.info("storing events again in %s", self._store_path)
        elif previous is None:
            log.warning("%s; answering 503 until that is fixed (%s)", text, detail)
        else:
            log.warning("%s (%s)", text, detail)
        if text is not None and (self._probe_task is None or self._probe_task.done()):
            self._probe_task = asyncio.create_task(
                self._probe_until_healthy(), name="holmtray-writer-probe"
            )
        if self._on_health is not None:
            try:
                self._on_health(text)
            except Exception:
                log.exception("on_health callback failed")

    async def _probe_until_healthy(self) -> None:
        while self._health is not None and not self._closing:
            await asyncio.sleep(self._probe_interval_s)
            if self._health is None or self._closing:
                break
            try:
                await self._run(self._probe)
            except StoreError as exc:
                self._unhealthy(exc)
            except Exception as exc:
                log.exception("probing the database failed unexpectedly")
                self._unhealthy(exc)
            else:
                self._set_health(None, "")

    async def _run(self, fn: Callable[..., _T], *args: object) -> _T:
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # ---- the writer thread ---------------------------------------------------------------

    def _current_store(self) -> Store:
        store = self._store
        if store is not None and not store.file_is_current():
            # Writing on would go into an unlinked file and be lost: start a new one instead.
            log.warning("database %s was removed or replaced; opening it anew", self._store_path)
            with contextlib.suppress(sqlite3.Error):
                store.close()
            self._store = store = None
        if store is None:
            store = Store.open(self._store_path, busy_timeout_s=self._busy_timeout_s)
            self._store = store
            if store.recovered_from is not None:
                self._recovered_from = store.recovered_from
        return store

    def _insert_batch(self, items: list[NewEvent]) -> list[InsertResult]:
        store = self._current_store()
        try:
            return store.insert_many(items)
        except StoreUnavailable as exc:
            self._drop_if_stuck(store, exc)
            raise

    def _probe(self) -> None:
        store = self._current_store()
        try:
            store.check_writable()
        except StoreUnavailable as exc:
            self._drop_if_stuck(store, exc)
            raise

    def _drop_if_stuck(self, store: Store, exc: StoreUnavailable) -> None:
        # A connection SQLite opened read-only stays read-only after the file becomes
        # writable again: only a new one recovers without a restart.
        if exc.reopen and self._store is store:
            self._store = None
            with contextlib.suppress(sqlite3.Error):
                store.close()

    def _retention_step(self, now: datetime, max_age_days: int, max_count: int) -> int:
        return self._current_store().apply_retention(
            now=now, max_age_days=max_age_days, max_count=max_count, max_rows=_RETENTION_STEP
        )

    def _close_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()


def _fail(future: asyncio.Future[InsertResult], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
