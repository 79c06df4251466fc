"""Read-only stores on worker threads, for readers that must neither wait for the writer nor
slow it: the relay's backlog pages, status and token checks.

Each worker thread of a :class:`ReadPool` keeps its own read-only
:class:`~holmtray.core.history.store.Store` (``mode=ro``: SQLite refuses every write; no
structural check, the writer made that), opened on first use. In WAL mode readers and the
writer do not block each other. A store whose file was removed or replaced since it was
opened (the writer then starts a new one) is reopened, so readers follow the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from holmtray.core.history.store import Store

log = logging.getLogger("holmtray.history.readpool")

_T = TypeVar("_T")


class ReadPool:
    """``threads`` worker threads, each with its own read-only store of ``path``."""

    def __init__(
        self,
        *,
        path: Path,
        threads: int = 2,
        name: str = "holmtray-reader",
        busy_timeout_s: float = 5.0,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self._path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix=name
        )
        self._local = threading.local()
        self._lock = threading.Lock()  # guards _stores only, never held around SQLite calls
        self._stores: list[Store] = []

    async def run(self, fn: Callable[[Store], _T]) -> _T:
        """``fn`` called on a worker thread with that thread's read-only store."""
        executor = self._executor
        if executor is None:
            raise RuntimeError("the read pool is closed")
        return await asyncio.get_running_loop().run_in_executor(executor, self._call, fn)

    def _call(self, fn: Callable[[Store], _T]) -> _T:
        store: Store | None = getattr(self._local, "store", None)
        if store is not None and not store.file_is_current():
            self._forget(store)
            store = None
        if store is None:
            store = Store.open(
                self._path, readonly=True, check=False, busy_timeout_s=self._busy_timeout_s
            )
            self._local.store = store
            with self._lock:
                self._stores.append(store)
        return fn(store)

    def _forget(self, store: Store) -> None:
        self._local.store = None
        with self._lock:
            if store in self._stores:
                self._stores.remove(store)
        with contextlib.suppress(sqlite3.Error):
            store.close()

    async def close(self) -> None:
        """Wait for running reads, then close every store and the threads."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        await asyncio.get_running_loop().run_in_executor(None, executor.shutdown, True)
        with self._lock:
            stores, self._stores = self._stores, []
        for store in stores:
            with contextlib.suppress(sqlite3.Error):
                store.close()
