"""Group commit: many concurrent submits share a few durable transactions, off the event loop.

This module owns the writer thread and everything that runs on it. The listener calls
:meth:`GroupCommitWriter.submit` once per webhook; the call returns only after the event's
transaction has committed (``synchronous=FULL``), so a 2xx always means "on disk". One drain
task takes every request waiting in the queue (up to ``max_batch``), commits them together with
:meth:`Store.insert_many` on a dedicated single thread, and then answers all of them; while a
commit runs, new requests collect for the next one. The same thread runs retention in small
steps between batches, and reopens the database when its file was removed under it.

The other writes come through the same queue as named operations
(:meth:`~GroupCommitWriter.set_read`, :meth:`~GroupCommitWriter.mark_all_read`,
:meth:`~GroupCommitWriter.delete`, :meth:`~GroupCommitWriter.restore`): each runs on its own,
after every insert submitted before it and before every one submitted after it, and fails as a
batch does (the store's :class:`StoreError` raised, the health set). Every completed batch,
operation and retention step is kept in a bounded log (:attr:`GroupCommitWriter.operations`).

The store's health (:attr:`GroupCommitWriter.health`, kept by
:class:`~holmtray.core.history.health.StoreHealth`) is ``None`` while commits succeed, else why
the last write failed; a probe on the writer thread clears it once the fault has gone.

The log is whatever the backend opens (:mod:`~holmtray.core.history.eventlog`): by default
(``store_path``) this host's SQLite :class:`~holmtray.core.history.store.Store`, or a shared
PostgreSQL database (``backend``), through the same queue, batches and health. The named
operations are the tray app's and need the SQLite store. The log is only ever touched from the
writer thread; one that can no longer be written through (its file replaced, its connection
broken) is opened anew for the next batch, so the writer recovers without a restart.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from holmtray.core.clock import utc_now
from holmtray.core.events import Event, StoredEvent
from holmtray.core.history.backends import SqliteBackend
from holmtray.core.history.database import StoreError, StoreUnavailable
from holmtray.core.history.eventlog import EventLog, LogBackend
from holmtray.core.history.health import StoreHealth
from holmtray.core.history.query import EventQuery
from holmtray.core.history.relaylog import Replicated
from holmtray.core.history.store import InsertResult, NewEvent, Store

log = logging.getLogger("holmtray.history.writer")

_RETENTION_STEP = 500
"""Rows retention deletes per job on the writer thread; insert batches run in between."""
OPERATION_LOG_SIZE = 1000
"""How many of the latest operations :attr:`GroupCommitWriter.operations` keeps."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Operation:
    """One completed write through the writer: an insert batch, a named operation, retention.

    ``name`` is ``"insert"``, ``"set_read"``, ``"mark_all_read"``, ``"delete"``, ``"restore"``,
    ``"replicate"``, ``"mirror_cursor"`` (a read: 0 rows) or ``"retention"``. ``rows`` is what
    it reported: rows inserted (duplicates and events already mirrored add none), changed or
    deleted, and for ``"restore"`` the events given (one already present is left as it is); 0
    when it failed. ``error`` is ``None`` for a success, else the failure's message.
    """

    name: str
    rows: int
    error: str | None = None


@dataclass(slots=True)
class _Request:
    item: NewEvent
    future: asyncio.Future[InsertResult]


@dataclass(slots=True)
class _Job:
    """A named operation: ``run`` is called on the writer thread with the current log."""

    name: str
    run: Callable[[EventLog], Any]
    future: asyncio.Future[Any]
    rows: Callable[[Any], int]  # what the operation log records of the result


class GroupCommitWriter:
    """Stores submitted events in shared transactions on one worker thread."""

    def __init__(
        self,
        *,
        store_path: Path | None = None,
        backend: LogBackend | None = None,
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
        if backend is None:
            if store_path is None:
                raise ValueError("give the writer a store_path or a backend")
            backend = SqliteBackend(path=Path(store_path), busy_timeout_s=busy_timeout_s)
        self._backend = backend
        self._on_commit = on_commit
        self._retention = retention
        self._retention_interval_s = retention_interval_s
        self._max_batch = max_batch
        self._clock = clock
        # Read and written on the event loop only.
        self._health = StoreHealth(
            where=backend.where,
            probe=lambda: self._run(self._on_store, _check_writable),
            probe_interval_s=probe_interval_s,
            on_health=on_health,
        )
        self._operations: collections.deque[Operation] = collections.deque(
            maxlen=OPERATION_LOG_SIZE
        )

        self._executor: ThreadPoolExecutor | None = None
        self._store: EventLog | None = None  # read and written on the writer thread only
        self._recovered_from: Path | None = None
        # None asks the drain to stop.
        self._queue: asyncio.Queue[_Request | _Job | None] | None = None
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
            if self._retention_task is not None:
                self._retention_task.cancel()
                await asyncio.wait([self._retention_task])  # a cancel of close() still works
            await self._health.stop()
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
    def store_path(self) -> Path | None:
        """The SQLite file written, or ``None`` for a database server."""
        return self._backend.path

    @property
    def backend(self) -> LogBackend:
        return self._backend

    @property
    def health(self) -> str | None:
        """``None`` while events can be stored, else why not, e.g. ``"cannot store events:
        the disk is full"``. Set by a failed commit or operation, cleared by the next
        successful commit or probe. Holds no path, token or body: it is shown in the tray and
        by ``/healthz``."""
        return self._health.text

    @property
    def operations(self) -> list[Operation]:
        """The latest :data:`OPERATION_LOG_SIZE` completed writes, oldest first."""
        return list(self._operations)

    # ---- submitting ----------------------------------------------------------------------

    async def submit(self, body: str, event: Event) -> InsertResult:
        """Store one event; returns once the transaction holding it has committed.

        Raises :class:`StoreUnavailable` if that commit failed, or when the writer is shutting
        down. If the caller is cancelled while waiting (its client went away), the event is
        still stored: it stays in its batch.
        """
        queue = self._open_queue()
        received_at = self._clock()
        if received_at.tzinfo is None or received_at.utcoffset() is None:
            raise ValueError(f"clock() must return an aware datetime, got {received_at!r}")
        future: asyncio.Future[InsertResult] = asyncio.get_running_loop().create_future()
        # No await between here and the put, so a request is either queued or never made.
        queue.put_nowait(_Request(NewEvent(body, event, received_at), future))
        return await future

    # ---- named operations: Store's writes, in line with the inserts ----------------------

    async def set_read(self, ids: Iterable[int], read: bool = True) -> int:
        """:meth:`Store.set_read` in turn with the inserts; rows changed."""
        id_list = list(ids)
        return await self._call("set_read", lambda store: store.set_read(id_list, read))

    async def mark_all_read(self, query: EventQuery | None = None) -> int:
        """:meth:`Store.mark_all_read` in turn with the inserts; rows changed."""
        return await self._call("mark_all_read", lambda store: store.mark_all_read(query))

    async def mark_all_read_ids(self, query: EventQuery | None = None) -> list[int]:
        """:meth:`Store.mark_all_read_ids` in turn with the inserts: the ids changed (logged
        as ``"mark_all_read"``), so that ``set_read(ids, False)`` can undo it."""
        return await self._call(
            "mark_all_read", lambda store: store.mark_all_read_ids(query), rows=len
        )

    async def delete(self, ids: Iterable[int]) -> int:
        """:meth:`Store.delete` in turn with the inserts; rows deleted (undo: :meth:`restore`)."""
        id_list = list(ids)
        return await self._call("delete", lambda store: store.delete(id_list))

    async def restore(self, events: Sequence[StoredEvent]) -> None:
        """:meth:`Store.restore` in turn with the inserts: deleted events back with their ids."""
        batch = list(events)

        def run(store: Store) -> int:
            store.restore(batch)
            return len(batch)

        await self._call("restore", run)

    async def submit_replicated(
        self, relay_id: str, items: Sequence[Replicated]
    ) -> list[StoredEvent]:
        """Store events fetched from a relay with their ids and move the mirror's cursor, in
        one transaction (:meth:`Mirror.store`), in turn with everything else; the events
        stored. ``on_commit`` is not called: the subscriber reports them with their context."""
        batch = list(items)
        return await self._call(
            "replicate", lambda store: store.mirror.store(relay_id, batch), rows=len
        )

    async def mirror_cursor(self, relay_id: str) -> int:
        """The mirror's cursor for ``relay_id`` (:meth:`Mirror.cursor`), read in turn after
        everything submitted before: the resume point of a subscriber, never ``MAX(id)``."""
        return await self._call(
            "mirror_cursor", lambda store: store.mirror.cursor(relay_id), rows=lambda _: 0
        )

    async def _call(
        self, name: str, run: Callable[[Store], _T], *, rows: Callable[[_T], int] | None = None
    ) -> _T:
        """Queue ``run`` behind every request already submitted and await its result.

        As with :meth:`submit`, a caller cancelled while waiting does not stop the operation.
        ``rows`` turns the result into the count the operation log keeps (default: it is one).
        """
        queue = self._open_queue()
        future: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        queue.put_nowait(_Job(name, _needs_sqlite(run), future, rows or _as_count))
        return await future

    def _open_queue(self) -> asyncio.Queue[_Request | _Job | None]:
        if not self._accepting or self._queue is None:
            raise StoreUnavailable(
                "the event store is shutting down" if self._closing else "the writer is not started"
            )
        return self._queue

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
            try:
                n = await self._run(self._retention_step, now, max_age_days, max_count)
            except Exception as exc:
                self._operations.append(Operation("retention", 0, str(exc)))
                raise
            self._operations.append(Operation("retention", n))
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
        job: _Job | None = None  # taken from the queue and not answered yet
        try:
            while not stopping:
                item = job or await queue.get()
                if item is None:
                    break
                if isinstance(item, _Job):
                    job = item
                    await self._perform(item)
                    job = None
                    continue
                batch = [item]
                while len(batch) < self._max_batch:
                    try:
                        nxt = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        break
                    if isinstance(nxt, _Request):
                        batch.append(nxt)
                        continue
                    # An operation runs after this batch, on its own; None: stop after it.
                    stopping, job = nxt is None, nxt
                    break
                await self._commit(batch)
                batch = []
        finally:
            # Only reached early if this task itself is cancelled (loop shutting down): nobody
            # must wait forever for an answer that will not come.
            leftovers: list[_Request | _Job] = [*batch, *([job] if job else [])]
            while not queue.empty():
                request = queue.get_nowait()
                if request is not None:
                    leftovers.append(request)
            for request in leftovers:
                _fail(request.future, StoreUnavailable("the event store is shutting down"))

    async def _commit(self, batch: list[_Request]) -> None:
        try:
            results = await self._run(self._on_store, _inserter([r.item for r in batch]))
        except StoreError as exc:
            # Once per request would flood the log during an outage; the health change is
            # logged once (WARNING) and recovery once (INFO).
            log.debug("could not store a batch of %d events: %s", len(batch), exc)
            self._failed("insert", exc)
            for request in batch:
                # Each waiter raises its own copy: one exception object raised in many tasks
                # would collect all of their tracebacks.
                failure = copy.copy(exc)
                failure.__cause__ = exc
                _fail(request.future, failure)
            return
        except Exception as exc:
            log.exception("storing a batch of %d events failed unexpectedly", len(batch))
            self._failed("insert", exc)
            for request in batch:
                _fail(request.future, exc)
            return
        self._commits += 1
        self._operations.append(Operation("insert", sum(not r.duplicate for r in results)))
        self._health.succeeded()
        for request, result in zip(batch, results, strict=True):
            if not request.future.done():  # done = the submitter was cancelled
                request.future.set_result(result)
        stored = [r.stored for r in results if r.stored is not None]
        if stored and self._on_commit is not None:
            try:
                self._on_commit(stored)
            except Exception:
                log.exception("on_commit callback failed (the events are stored)")

    async def _perform(self, job: _Job) -> None:
        """Run one named operation. A success leaves the health alone (a call that changes
        nothing writes nothing, so proves nothing); the probe or the next commit clears it."""
        try:
            result = await self._run(self._on_store, job.run)
        except StoreError as exc:
            log.debug("could not %s: %s", job.name, exc)  # as for a batch: health logs it
            self._failed(job.name, exc)
            _fail(job.future, exc)
            return
        except Exception as exc:
            log.exception("%s failed unexpectedly", job.name)
            self._failed(job.name, exc)
            _fail(job.future, exc)
            return
        self._operations.append(Operation(job.name, job.rows(result)))
        if not job.future.done():
            job.future.set_result(result)

    def _failed(self, name: str, exc: Exception) -> None:
        """A write failed: on record, and the health hears of it."""
        self._operations.append(Operation(name, 0, str(exc)))
        self._health.failed(exc)

    async def _retention_loop(self) -> None:
        while True:
            try:
                await self.run_retention_now()
            except StoreError as exc:
                log.warning("retention could not run: %s", exc)
            except Exception:
                log.exception("retention failed unexpectedly")
            await asyncio.sleep(self._retention_interval_s)

    async def _run(self, fn: Callable[..., _T], *args: object) -> _T:
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # ---- the writer thread ---------------------------------------------------------------

    def _current_store(self) -> EventLog:
        store = self._store
        if store is not None and not store.is_current():
            # An SQLite file removed or replaced: writing on would go into an unlinked file
            # and be lost. A broken database connection: it will not work again. Open anew.
            if isinstance(store, Store):
                log.warning("database %s was removed or replaced; opening it anew", self.where)
            else:
                log.warning("the connection to %s broke; opening a new one", self.where)
            _close_quietly(store)
            self._store = store = None
        if store is None:
            store = self._backend.open()
            self._store = store
            if isinstance(store, Store) and store.recovered_from is not None:
                self._recovered_from = store.recovered_from
        return store

    @property
    def where(self) -> str:
        """Where the events go, for log lines: a path, or a URI without its password."""
        return self._backend.where

    def _on_store(self, fn: Callable[[EventLog], _T]) -> _T:
        """``fn`` on the current log; a connection that needs replacing is dropped for the next
        (SQLite keeps a connection it opened read-only read-only after the file becomes writable
        again; a broken database connection stays broken)."""
        store = self._current_store()
        try:
            return fn(store)
        except StoreUnavailable as exc:
            if exc.reopen and self._store is store:
                self._store = None
                _close_quietly(store)
            raise

    def _retention_step(self, now: datetime, max_age_days: int, max_count: int) -> int:
        return self._current_store().apply_retention(
            now=now, max_age_days=max_age_days, max_count=max_count, max_rows=_RETENTION_STEP
        )

    def _close_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()


def _inserter(items: list[NewEvent]) -> Callable[[EventLog], list[InsertResult]]:
    return lambda store: store.insert_many(items)


def _check_writable(store: EventLog) -> None:
    store.check_writable()


def _needs_sqlite(run: Callable[[Store], _T]) -> Callable[[EventLog], _T]:
    """``run`` for the tray app's operations, which only the SQLite store has."""

    def on_sqlite(store: EventLog) -> _T:
        if not isinstance(store, Store):
            raise StoreError("this operation needs the SQLite event store")
        return run(store)

    return on_sqlite


def _close_quietly(store: EventLog) -> None:
    try:
        store.close()
    except Exception as exc:  # a broken connection: closing it is all that is left
        log.debug("closing the old event log failed: %s", exc)


def _as_count(result: object) -> int:
    return result if isinstance(result, int) else 0


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
