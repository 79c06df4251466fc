"""A real history writer on its own thread's asyncio loop, for GUI tests that write through it.

The tray app's arrangement (``ReceiverThread``) without the listener, and with the writer's
busy timeout in the test's hands: :meth:`WriterThread.write` has ``ReceiverThread.write``'s
signature, so an event window can be given either.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from holmtray.core.history.writer import GroupCommitWriter

T = TypeVar("T")
WAIT_S = 30.0  # only a bound for a broken build


class WriterThread:
    """Starts a :class:`GroupCommitWriter` for ``db`` on a thread of its own; close it after."""

    def __init__(self, db: Path, *, busy_timeout_s: float = 5.0) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="test-writer-loop", daemon=True
        )
        self.writer = GroupCommitWriter(store_path=db, busy_timeout_s=busy_timeout_s)
        self._thread.start()
        self.write(lambda w: w.start()).result(WAIT_S)

    def write(
        self, operation: Callable[[GroupCommitWriter], Awaitable[T]]
    ) -> concurrent.futures.Future[T]:
        """Run ``operation`` on the writer, on the writer's loop (as ``ReceiverThread``)."""

        async def run() -> T:
            return await operation(self.writer)

        coro = run()
        try:
            return asyncio.run_coroutine_threadsafe(coro, self._loop)
        except RuntimeError:  # the loop is closed
            coro.close()
            raise

    def named_operations(self) -> list[str]:
        """The writer's operation log without insert batches, oldest first."""
        return [op.name for op in self.writer.operations if op.name != "insert"]

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self.write(lambda w: w.close()).result(WAIT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(WAIT_S)
        self._loop.close()
