"""The GUI's one route for changing the history: named operations on the writer, answered on
the GUI thread.

The event window never writes to the database itself (it opens it read-only). It asks
:class:`HistoryWrites` for one of the writer's named operations — mark read or unread, mark all
read, delete, restore — which hands it to ``submit`` (in the tray app
:meth:`~holmtray.ui.receiver_thread.ReceiverThread.write`: the operation runs on the writer's
loop, in line with the inserts) and returns at once. The outcome comes back through a queued
signal, so ``done`` runs on the GUI thread, later, even when the future is already finished;
nothing here waits on a future.

A failure is handled the same way for every operation, in :meth:`HistoryWrites._answer`: one
log line and one :attr:`HistoryWrites.failed` message saying what could not be done and why
(the window shows it), then the operation's own ``failed`` callback, which only undoes its
bookkeeping: the rows stay as they were, since they change only after a success.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from holmtray.core.events import StoredEvent
from holmtray.core.history.database import StoreUnavailable
from holmtray.core.history.query import EventQuery
from holmtray.core.history.writer import GroupCommitWriter
from holmtray.ui.gui_thread import deliver_to

log = logging.getLogger("holmtray.ui.history_writes")

Operation = Callable[[GroupCommitWriter], Awaitable[Any]]
Submit = Callable[[Operation], "concurrent.futures.Future[Any]"]
"""Runs an operation on the current writer somewhere else; its future has the outcome."""

DOING = {
    "set_read": "Cannot change the read state",
    "mark_all_read": "Cannot mark events read",
    "delete": "Cannot delete",
    "restore": "Cannot undo the delete",
}
"""What the user is told could not be done, per operation (followed by why)."""


@dataclass(eq=False, slots=True)
class _Pending:
    name: str
    future: concurrent.futures.Future[Any]
    done: Callable[[Any], None]
    failed: Callable[[BaseException], None] | None


class HistoryWrites(QObject):
    """Submits the window's writes to the writer; their outcomes arrive on the GUI thread."""

    failed = Signal(str)
    """A write failed: what could not be done and why, e.g. ``"Cannot delete: ... locked"``."""

    def __init__(self, *, submit: Submit, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._submit = submit
        self._pending: dict[int, _Pending] = {}
        self._next = 0
        # The worker that finishes a future only learns a number and a weakly bound callable
        # (gui_thread.deliver_to): it never holds this object, the window or their callbacks.
        self._deliver = deliver_to(self, lambda w: w._answer)

    @property
    def pending(self) -> int:
        """Operations submitted whose outcome has not been handled yet."""
        return len(self._pending)

    # ---- the named operations -----------------------------------------------------------

    def set_read(
        self,
        ids: Iterable[int],
        read: bool,
        *,
        done: Callable[[int], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Mark ``ids`` read (or unread); ``done(rows changed)``."""
        id_list = list(ids)
        self._run("set_read", lambda w: w.set_read(id_list, read), done, failed)

    def mark_all_read(
        self,
        query: EventQuery,
        *,
        done: Callable[[list[int]], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Mark every event matching ``query`` read; ``done(ids changed)`` (for an undo:
        :meth:`set_read` of exactly those ids back to unread)."""
        self._run("mark_all_read", lambda w: w.mark_all_read_ids(query), done, failed)

    def delete(
        self,
        ids: Iterable[int],
        *,
        done: Callable[[int], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Delete ``ids``; ``done(rows deleted)``."""
        id_list = list(ids)
        self._run("delete", lambda w: w.delete(id_list), done, failed)

    def restore(
        self,
        events: Sequence[StoredEvent],
        *,
        done: Callable[[None], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Put deleted ``events`` back with their ids and read flags; ``done(None)``."""
        batch = list(events)
        self._run("restore", lambda w: w.restore(batch), done, failed)

    # ---- submitting and answering ---------------------------------------------------------

    def _run(
        self,
        name: str,
        operation: Operation,
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None] | None,
    ) -> None:
        try:
            future = self._submit(operation)
        except Exception as exc:  # e.g. the writer's loop is gone: answered like any failure
            future = concurrent.futures.Future()
            future.set_exception(exc)
        key, self._next = self._next, self._next + 1
        self._pending[key] = _Pending(name, future, done, failed)
        deliver = self._deliver
        # Queued to the GUI thread even when the future is finished already: done() never runs
        # inside the call that submitted it.
        future.add_done_callback(lambda _f: deliver(key))

    def _answer(self, key: int) -> None:
        """On the GUI thread: ``done`` with the result, or the one failure path."""
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        future = pending.future
        error: BaseException | None
        if future.cancelled():
            error = StoreUnavailable("the event store is shutting down")
        else:
            error = future.exception()
        if error is None:
            pending.done(future.result())
            return
        doing = DOING[pending.name]
        log.warning("%s: %s", doing, error)
        self.failed.emit(f"{doing}: {error}")
        if pending.failed is not None:
            pending.failed(error)
