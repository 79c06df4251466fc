"""Following the shared log: every relay's events, in id order, into this relay's hub.

Several relays append to one database, and each serves its own subscribers, so each must learn
of the events the others commit. :class:`LogFollower` keeps a cursor (the last id it handed to
the hub) and reads ``id > cursor`` in pages, publishing them in order; because ids become
visible in id order (:mod:`~holmtray.core.history.pg.log`), such a read never skips an event
that commits later, so the hub sees every id once, ascending. This relay's own commits go the
same way (the writer only :meth:`kicks <LogFollower.kick>` it), which keeps them in line with
the others'.

When to read: a ``LISTEN holmtray_events`` connection is the doorbell (every appending
transaction notifies at commit), and a read every ``poll_s`` seconds is the safety net, since
notifications sent while the listening connection is down are lost. Reconnecting the listener
rings the bell once, for what it missed. The periodic read doubles as the health check of the
database: while it fails, :attr:`LogFollower.health` says why (``/healthz`` answers 503 with
it) and the relay recovers by itself once a read succeeds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from functools import partial

import psycopg

from holmtray.core.history.database import StoreError
from holmtray.core.history.eventlog import LogEntry, LogView, ReadRunner
from holmtray.core.history.pg.connect import PgTarget
from holmtray.core.history.pg.log import CHANNEL

log = logging.getLogger("holmtray.history.pg.follow")

POLL_S = 2.0
"""Seconds between safety reads (and database health checks)."""
PAGE = 1000
PAGE_CHARS = 4 * 1024 * 1024
LISTEN_RETRY_S = 1.0


def _page(view: LogView, after: int) -> list[LogEntry]:
    return view.log.entries_after(after, PAGE, max_chars=PAGE_CHARS)


def _last_id(view: LogView) -> int:
    return view.log.bounds()[1]


class LogFollower:
    """Feeds ``publish`` with every event of the shared log in id order (module docstring)."""

    def __init__(
        self,
        *,
        target: PgTarget,
        reads: ReadRunner,
        publish: Callable[[list[LogEntry]], None],
        on_health: Callable[[str | None], None],
        poll_s: float = POLL_S,
        listen_retry_s: float = LISTEN_RETRY_S,
    ) -> None:
        self._target = target
        self._reads = reads
        self._publish = publish
        self._on_health = on_health
        self._poll_s = poll_s
        self._listen_retry_s = listen_retry_s
        self._cursor = 0
        self._bell = asyncio.Event()
        self._health: str | None = None
        self._listening = False
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def health(self) -> str | None:
        return self._health

    @property
    def cursor(self) -> int:
        """The last id handed to the hub."""
        return self._cursor

    @property
    def listening(self) -> bool:
        """Whether the doorbell connection is up (else only the safety reads run)."""
        return self._listening

    def kick(self) -> None:
        self._bell.set()

    async def start(self) -> None:
        """Begin after the events already stored (streams read those from the database)."""
        if self._tasks:
            return
        self._cursor = await self._reads.run(_last_id)
        self._tasks = [
            asyncio.create_task(self._follow(), name="holmtray-pg-follow"),
            asyncio.create_task(self._listen(), name="holmtray-pg-listen"),
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    # ---- reading -------------------------------------------------------------------------

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await self._bell.wait()
            self._bell.clear()  # a ring during the read below rings again
            try:
                await self._catch_up()
            except StoreError as exc:
                self._set_health(f"cannot read the shared event log: {_cause(exc)}", str(exc))
            except Exception as exc:
                log.exception("following the shared event log failed unexpectedly")
                self._set_health("cannot read the shared event log: unexpected error", str(exc))
            else:
                self._set_health(None, "")

    async def _catch_up(self) -> None:
        while True:
            entries: list[LogEntry] = await self._reads.run(partial(_page, after=self._cursor))
            if not entries:
                return
            self._cursor = entries[-1].id
            try:
                self._publish(entries)
            except Exception:
                log.exception("handing events to the subscribers failed")

    def _set_health(self, text: str | None, detail: str) -> None:
        previous, self._health = self._health, text
        if text == previous:
            return
        if text is None:
            log.info("reading the shared event log again")
        else:
            log.warning("%s (%s)", text, self._target.mask(detail))
        try:
            self._on_health(text)
        except Exception:
            log.exception("on_health callback failed")

    # ---- the doorbell --------------------------------------------------------------------

    async def _listen(self) -> None:
        failing = False
        while True:
            try:
                conn = await self._target.connect_async("follow")
                try:
                    with self._target.failures("listen on"):
                        await conn.execute(f"LISTEN {CHANNEL}")
                        self._listening = True
                        self._bell.set()  # whatever was committed while nobody listened
                        if failing:
                            log.info("listening for new events again")
                        failing = False
                        async for _ in conn.notifies():
                            self._bell.set()
                finally:
                    self._listening = False
                    with contextlib.suppress(psycopg.Error):
                        await conn.close()
            except StoreError as exc:
                if not failing:
                    log.warning(
                        "cannot listen for new events (%s); reading every %g s instead",
                        exc,
                        self._poll_s,
                    )
                failing = True
            await asyncio.sleep(self._listen_retry_s)


def _cause(exc: StoreError) -> str:
    return str(getattr(exc, "cause", "") or exc)
