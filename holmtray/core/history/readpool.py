"""Read-only views of the event log on worker threads, for readers that must neither wait for
the writer nor slow it: the relay's backlog pages, status and token checks.

Each worker thread of a :class:`ReadPool` keeps its own view, opened on first use by the
``open_view`` the backend gives: for SQLite a read-only
:class:`~holmtray.core.history.store.Store` (``mode=ro``: SQLite refuses every write; no
structural check, the writer made that; in WAL mode readers and the writer do not block each
other), for PostgreSQL a connection of its own. A view that is no longer current (the SQLite
file was removed or replaced, and the writer started a new one; a database connection broke)
is reopened on the next call, so readers follow the writer and recover by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, Protocol, TypeVar

from holmtray.core.history.database import StoreUnavailable

log = logging.getLogger("holmtray.history.readpool")

_T = TypeVar("_T")


class View(Protocol):
    def is_current(self) -> bool: ...

    def close(self) -> None: ...


_V = TypeVar("_V", bound=View)


class ReadPool(Generic[_V]):
    """``threads`` worker threads, each with its own view made by ``open_view``."""

    def __init__(
        self,
        *,
        open_view: Callable[[], _V],
        threads: int = 2,
        name: str = "holmtray-reader",
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self._open_view = open_view
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix=name
        )
        self._local = threading.local()
        self._lock = threading.Lock()  # guards _views only, never held around database calls
        self._views: list[_V] = []

    async def run(self, fn: Callable[[_V], _T]) -> _T:
        """``fn`` called on a worker thread with that thread's view."""
        executor = self._executor
        if executor is None:
            raise RuntimeError("the read pool is closed")
        return await asyncio.get_running_loop().run_in_executor(executor, self._call, fn)

    def _call(self, fn: Callable[[_V], _T]) -> _T:
        view: _V | None = getattr(self._local, "view", None)
        if view is not None and not view.is_current():
            self._forget(view)
            view = None
        if view is None:
            view = self._open_view()
            self._local.view = view
            with self._lock:
                self._views.append(view)
        try:
            return fn(view)
        except StoreUnavailable as exc:
            if exc.reopen:
                self._forget(view)
            raise

    def _forget(self, view: _V) -> None:
        self._local.view = None
        with self._lock:
            if view in self._views:
                self._views.remove(view)
        _close(view)

    async def close(self) -> None:
        """Wait for running reads, then close every view and the threads."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        await asyncio.get_running_loop().run_in_executor(None, executor.shutdown, True)
        with self._lock:
            views, self._views = self._views, []
        for view in views:
            _close(view)


def _close(view: View) -> None:
    with contextlib.suppress(Exception):  # a broken view: closing it is all that is left
        view.close()
