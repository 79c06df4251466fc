"""The subscriber: a local mirror of a relay's events, kept complete across sleep and restarts.

:class:`RelayClient` runs on an asyncio loop (``holmtray`` tray's receiver thread). It reads
the relay's ``/v1/stream`` from the mirror's cursor and stores what arrives with the relay's
ids, so that after sleep, a lost network or a crash it fetches exactly what it missed, once
each, in order; then it reports the events like the direct receiver does.

What keeps it exact:

- **The resume point is the mirror's cursor** (``replica.last_id``), written in the same
  transaction as the rows it covers (:meth:`Mirror.store`), never ``MAX(id)``: a crash between
  two batches loses nothing and repeats nothing, and events deleted here do not come back.
  The cursor advances only when a batch has committed, so a live event can never move it past
  a backfill that is still arriving.
- **Ids must ascend.** An id at or below the cursor is skipped; one below an id already seen
  on this stream (and not yet covered by the cursor) ends the stream, which resumes by id.
- **One mirror per relay history**, ``relay-<id8>.db``, recorded in ``subscription.json``. A
  relay whose id changed (its history was reset) gets a new mirror and one notice, never a
  replay into the old one; a 409 (cursor beyond the relay's last id) asks ``/v1/status``
  which of the two it is.
- **Reconnects** come from a read deadline (``subscribe.read_timeout``, reset by any byte), a
  detected wake (:class:`~holmtray.core.subscribe.backoff.WakeDetector`), :meth:`reconnect_now`,
  ``bye`` (per reason), and a relay whose ``ping`` reports an id past what it delivered, two
  pings in a row. Waits follow :class:`~holmtray.core.subscribe.backoff.Backoff`.
- **Several relays** (``subscribe.urls``, relays sharing one PostgreSQL database: the same
  relay id and the same ids behind each address): when the relay in use stops answering (no
  connection, a cut or silent stream, 503, ``bye shutdown``) the client moves to the next
  address within :data:`FAILOVER_SPREAD_S` and resumes there from the same cursor, once per
  address; only when every address failed since the last healthy stream does it back off.

Batches: every message already buffered is taken at once and stored in transactions of up to
``batch_size`` events through one :class:`GroupCommitWriter` on the mirror, so a backfill of
thousands is a few commits. The owner hears of it through callbacks, all called on the loop:
``on_events(events, backfill)`` (``backfill``: before the relay's ``live``), ``on_state``
(:mod:`~holmtray.core.subscribe.source`), ``on_notice(text)`` (an expiry gap or a reset) and
``on_database(path)`` (the mirror file in use changed). The token never reaches a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

from holmtray.core.clock import utc_now
from holmtray.core.config.settings import Settings
from holmtray.core.events import StoredEvent
from holmtray.core.history.database import StoreError
from holmtray.core.history.places import (
    Subscription,
    mirror_name,
    read_subscription,
    write_subscription,
)
from holmtray.core.history.writer import GroupCommitWriter
from holmtray.core.subscribe import relayconn, relaymsg
from holmtray.core.subscribe.backoff import WAKE_TICK_S, Backoff, WakeDetector
from holmtray.core.subscribe.order import StreamOrder, expect_hello
from holmtray.core.subscribe.relayconn import (
    RelayAhead,
    RelayBusy,
    RelayConfigError,
    RelayError,
    RelayRefused,
    RelayTarget,
    Stream,
)
from holmtray.core.subscribe.relaymsg import Bye, CaughtUp, Hello, Message, RelayedEvent
from holmtray.core.subscribe.source import CatchingUp, Live, RelayDegraded, RelayState
from holmtray.core.subscribe.state import StateTracker

log = logging.getLogger("holmtray.subscribe.client")

BATCH_SIZE = 500
FAILOVER_SPREAD_S = 1.0
"""Moving to the next relay waits a random time below this: every subscriber of a relay that
died learns of it at the same moment, and they should not all arrive in the same instant."""
OFFLINE_AFTER_S = 120.0
RESET_NOTICE = "The relay's history was reset; starting a new event list"
_QUICK_RESTARTS = 3
"""Immediate reconnects in a row (to resume from another mirror's cursor) before backing off."""


def gap_notice(expired: int) -> str:
    return f"{expired} events expired on the relay before this computer could fetch them"


def targets_from(settings: Settings) -> list[RelayTarget]:
    """One target per address in ``subscribe.urls``, in order (one without address if none)."""
    return [
        RelayTarget(
            url=url,
            token=settings.text("subscribe.token"),
            ca_file=settings.text("subscribe.ca_file"),
            allow_http=settings.flag("subscribe.allow_http"),
            read_timeout=settings.number("subscribe.read_timeout"),
        )
        for url in settings.strings("subscribe.urls") or [""]
    ]


def target_from(settings: Settings) -> RelayTarget:
    """The first relay of ``subscribe.urls``."""
    return targets_from(settings)[0]


class _Restart(Exception):
    """Reconnect at once: the mirror in use changed, and with it the resume point."""


class RelayClient:
    """Subscribes to one relay and keeps its mirror; see the module docstring."""

    def __init__(
        self,
        *,
        settings: Settings,
        data_dir: Path,
        on_events: Callable[[list[StoredEvent], bool], None] | None = None,
        on_state: Callable[[RelayState], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
        on_database: Callable[[Path], None] | None = None,
        on_health: Callable[[str | None], None] | None = None,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], datetime] = utc_now,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        wake_tick_s: float = WAKE_TICK_S,
        offline_after_s: float = OFFLINE_AFTER_S,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self._settings = settings
        self._targets = targets_from(settings)
        self._index = 0  # the relay in use
        self._failovers_left = len(self._targets) - 1
        self._rng = rng
        self._data_dir = Path(data_dir)
        self._on_events = on_events
        self._on_notice = on_notice
        self._on_database = on_database
        self._on_health = on_health
        self._clock = clock
        self._backoff = Backoff(rng=rng, monotonic=monotonic)
        self._wake = WakeDetector(wall=wall, monotonic=monotonic)
        self._wake_tick_s = wake_tick_s
        self._batch_size = max(1, batch_size)

        # One session per relay address (each with its own TLS settings), made on first use.
        self._sessions: dict[int, aiohttp.ClientSession] = {}
        self._writer: GroupCommitWriter | None = None
        self._relay_id: str | None = None
        self._recorded_url: str | None = None  # the URL the mirror in use was filled from
        self._cursor = 0
        self._stream: Stream | None = None
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._wake_task: asyncio.Task[None] | None = None
        self._states = StateTracker(on_state=on_state, clock=clock, offline_after_s=offline_after_s)
        self._degraded: str | None = None  # the relay's last word on its store
        self._gaps_told: set[tuple[str, int]] = set()
        self._quick_restarts = 0
        self.connects = 0
        """Streams opened (a hello received) since start; for tests and diagnostics."""
        self.next_try: datetime | None = None
        """When the next attempt is due while waiting between attempts (else ``None``)."""

    # ---- properties ----------------------------------------------------------------------

    @property
    def state(self) -> RelayState | None:
        return self._states.state

    @property
    def cursor(self) -> int:
        """The relay id of the last event stored in the mirror in use (0 before any)."""
        return self._cursor

    @property
    def relay_id(self) -> str | None:
        return self._relay_id

    @property
    def database(self) -> Path | None:
        """The mirror file in use, once a relay has been chosen."""
        return self._writer.store_path if self._writer is not None else None

    @property
    def writer(self) -> GroupCommitWriter | None:
        """The mirror's writer while a mirror is open (read on the client's loop): the tray's
        own changes to the mirror (read flags, deletions) go through it."""
        return self._writer

    @property
    def target(self) -> RelayTarget:
        """The relay in use (of ``subscribe.urls``)."""
        return self._targets[self._index]

    @property
    def _target(self) -> RelayTarget:
        return self._targets[self._index]

    def _fail_over(self) -> float | None:
        """Move to the next relay; the wait before trying it when it should be tried at once
        (not every relay failed since the last healthy stream), else ``None`` (back off)."""
        if len(self._targets) < 2:
            return None
        previous = self._target
        self._index = (self._index + 1) % len(self._targets)
        log.info("moving from the relay at %s to the one at %s", previous.host, self._target.host)
        if self._failovers_left <= 0:
            return None
        self._failovers_left -= 1
        return self._rng() * FAILOVER_SPREAD_S

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the recorded mirror (if any) and start connecting; returns at once after."""
        if self._task is not None:
            raise RuntimeError("RelayClient.start() may be called once")
        self._mark_lost("")
        sub = read_subscription(self._data_dir)
        if sub is not None:
            try:
                await self._open_mirror(sub.relay_id, url=sub.url)
            except StoreError as exc:
                log.warning("cannot open the mirror %s: %s", sub.database, exc)
        self._task = asyncio.create_task(self._run(), name="holmtray-relay-client")
        self._wake_task = asyncio.create_task(
            self._wake.watch(self._woke, tick_s=self._wake_tick_s), name="holmtray-relay-wake"
        )

    async def stop(self) -> None:
        """Stop streaming and close the mirror (everything received so far is stored)."""
        for task in (self._wake_task, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._wake_task = None
        self._states.cancel()
        await self._close_session()
        await self._close_writer()

    def reconnect_now(self) -> None:
        """Drop the stream (or the wait) and connect again now; call on the client's loop
        (from another thread: ``loop.call_soon_threadsafe(client.reconnect_now)``)."""
        self._backoff.reset()
        self._kick.set()

    async def apply_settings(self, settings: Settings) -> None:
        """Take new ``subscribe.*`` settings; reconnects when the address or token changed."""
        targets = targets_from(settings)
        self._settings = settings
        if targets != self._targets:
            self._targets, self._index = targets, 0
            self._failovers_left = len(targets) - 1
            self._states.forget_refusal()
            await self._close_session()
            self.reconnect_now()

    def _woke(self, _slept: float) -> None:
        self._backoff.reset()
        self._kick.set()

    # ---- the loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._kick.clear()
            self.next_try = None
            delay = await self._attempt()
            if self._kick.is_set() or delay <= 0:
                continue
            self.next_try = self._clock() + timedelta(seconds=delay)
            self._states.waiting(self.next_try)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), delay)

    async def _attempt(self) -> float:
        """One connection, from connect to its end; the wait before the next one."""
        conn = asyncio.create_task(self._connection())
        kick = asyncio.create_task(self._kick.wait())
        kicked = False
        try:
            await asyncio.wait({conn, kick}, return_when=asyncio.FIRST_COMPLETED)
            kicked = self._kick.is_set()
            if not conn.done():
                stream = self._stream
                if stream is not None:
                    stream.close()  # ends the read at once; a batch being stored completes
                else:
                    conn.cancel()
                await asyncio.wait({conn})
        finally:
            kick.cancel()
            if not conn.done():  # we are being stopped
                conn.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await conn
        exc = None if conn.cancelled() else conn.exception()
        if kicked and not isinstance(exc, _Restart):
            self._mark_lost("reconnecting now")
            return 0.0
        if conn.cancelled():
            return 0.0
        if exc is None:
            return self._after_bye(conn.result())
        return await self._after_failure(exc)

    def _after_bye(self, reason: str) -> float:
        if reason == "revoked":
            self._refused("the relay revoked the read token")
            return self._backoff.refused()
        self._mark_lost(f"the relay closed the stream ({reason or 'no reason given'})")
        if reason == "shutdown":
            at_once = self._fail_over()
            return at_once if at_once is not None else self._backoff.shutdown()
        return self._backoff.failure()

    async def _after_failure(self, exc: BaseException) -> float:
        if isinstance(exc, _Restart):
            self._quick_restarts += 1
            if self._quick_restarts <= _QUICK_RESTARTS:
                return 0.0
            self._mark_lost("the relay keeps changing")
            return self._backoff.failure()
        if isinstance(exc, RelayRefused):
            self._refused(str(exc))
            return self._backoff.refused()
        if isinstance(exc, RelayAhead):
            return await self._after_conflict()
        if isinstance(exc, RelayError):
            return self._after_relay_error(exc)
        if isinstance(exc, StoreError):
            cause = getattr(exc, "cause", None) or str(exc)
            self._mark_lost(f"cannot store events on this computer: {cause}")
            return self._backoff.failure()
        log.error("relay client failed unexpectedly", exc_info=exc)
        self._mark_lost(f"internal error ({type(exc).__name__})")
        return self._backoff.failure()

    def _after_relay_error(self, exc: RelayError) -> float:
        """This relay failed: another one (if any is left to try) at once, else a backoff."""
        at_once = self._fail_over()
        self._mark_lost(str(exc))
        if isinstance(exc, RelayConfigError):
            log.warning("cannot subscribe: %s", exc)
            # Slow: a setting has to change first (unless another relay is left to try).
            return at_once if at_once is not None else self._backoff.refused()
        log.info("relay stream: %s", exc)
        if at_once is not None:
            return at_once
        retry_after = exc.retry_after if isinstance(exc, RelayBusy) else None
        return self._backoff.failure(retry_after=retry_after)

    async def _after_conflict(self) -> float:
        """409: a reset relay (new id: new mirror) or one behind this computer (wait)."""
        try:
            status = await relayconn.fetch_status(self._session_for(), self._target)
        except RelayError as status_exc:
            self._mark_lost(str(status_exc))
            return self._backoff.failure()
        except StoreError as store_exc:
            self._mark_lost(str(store_exc))
            return self._backoff.failure()
        if status.relay_id != self._relay_id:
            try:
                await self._open_mirror(status.relay_id, url=self._target.url)
            except StoreError as store_exc:
                self._mark_lost(f"cannot open a new mirror: {store_exc}")
                return self._backoff.failure()
            return 0.0
        # The same history, but behind us: a relay restored from a backup, or (with several
        # relays behind one address) one that lags. Resuming elsewhere would skip events;
        # wait for it instead.
        problem = (
            f"the relay's last event is {status.last_id} but this computer has events up to "
            f"{self._cursor}; waiting for the relay to catch up"
        )
        log.warning("%s", problem)
        self._mark_lost(problem)
        return self._backoff.failure()

    # ---- one connection ------------------------------------------------------------------

    def _session_for(self) -> aiohttp.ClientSession:
        session = self._sessions.get(self._index)
        if session is None:
            self._target.check()
            session = self._sessions[self._index] = relayconn.new_session(self._target)
        return session

    async def _connection(self) -> str:
        """Connect, check the hello, then store what arrives; the ``bye`` reason at the end."""
        session = self._session_for()
        after = self._cursor if self._relay_id is not None else 0
        async with relayconn.open_stream(session, self._target, after=after) as stream:
            self._stream = stream
            try:
                messages = await stream.messages()
                hello = expect_hello(messages, after=None)
                if hello.relay_id != self._relay_id:
                    await self._open_mirror(hello.relay_id, url=self._target.url)
                    if self._cursor != after:
                        raise _Restart
                elif self._recorded_url != self._target.url:
                    self._record(self._target.url)  # the same relay at a new address
                expect_hello(messages, after=after)
                self._healthy()
                self._tell_gap(hello)
                return await self._consume(stream, StreamOrder(hello), messages[1:])
            finally:
                self._stream = None

    async def _consume(self, stream: Stream, order: StreamOrder, messages: list[Message]) -> str:
        self._states.set(self._steady(order))
        while True:
            batch: list[RelayedEvent] = []
            for received in messages:
                if not isinstance(received, RelayedEvent):
                    await self._store(batch, order)  # what came before it, as it came
                    batch = []
                message = order.admit(received, kept=self._cursor)
                if isinstance(message, RelayedEvent):
                    batch.append(message)
                    if len(batch) >= self._batch_size:
                        await self._store(batch, order)
                        batch = []
                elif isinstance(message, CaughtUp):
                    self._quick_restarts = 0
                    self._states.set(self._steady(order))
                elif isinstance(message, relaymsg.StoreStatus):
                    if message.cause != self._degraded:
                        self._degraded = message.cause
                        if message.cause:
                            log.warning("the relay cannot store events: %s", message.cause)
                        else:
                            log.info("the relay can store events again")
                    self._states.set(self._steady(order))
                elif isinstance(message, Bye):
                    log.info("the relay ended the stream: %s", message.reason or "no reason")
                    return message.reason
            await self._store(batch, order)
            messages = await stream.messages()

    async def _store(self, batch: list[RelayedEvent], order: StreamOrder) -> None:
        if not batch:
            return
        writer, relay_id = self._writer, self._relay_id
        assert writer is not None
        assert relay_id is not None
        items = await asyncio.to_thread(lambda: [relaymsg.replicated(e) for e in batch])
        stored = await writer.submit_replicated(relay_id, items)
        self._cursor = max(self._cursor, batch[-1].id)
        if not order.live:
            self._states.set(self._steady(order))
        if stored and self._on_events is not None:
            try:
                self._on_events(stored, not order.live)
            except Exception:
                log.exception("on_events callback failed (the events are stored)")

    # ---- mirrors -------------------------------------------------------------------------

    async def _open_mirror(self, relay_id: str, *, url: str) -> None:
        """Make ``relay_id``'s mirror the one in use (a notice when it replaces another)."""
        path = self._data_dir / mirror_name(relay_id)
        previous, previous_url = self._relay_id, self._recorded_url
        await self._close_writer()
        self._relay_id = None
        writer = GroupCommitWriter(
            store_path=path,
            retention=lambda: (
                self._settings.integer("storage.retention_days"),
                self._settings.integer("storage.retention_count"),
            ),
            clock=self._clock,
            on_health=self._on_health,
        )
        await writer.start()
        try:
            cursor = await writer.mirror_cursor(relay_id)
        except BaseException:
            await writer.close()
            raise
        self._writer, self._relay_id, self._cursor = writer, relay_id, cursor
        self._record(url)
        log.info("mirroring relay %s into %s (from event %d)", relay_id, path.name, cursor)
        if self._on_database is not None:
            try:
                self._on_database(path)
            except Exception:
                log.exception("on_database callback failed")
        if previous is not None and previous != relay_id:
            if previous_url == url:
                log.warning("relay %s now has the id %s: its history was reset", url, relay_id)
                self._notice(RESET_NOTICE)
            else:
                self._notice(f"Subscribed to the relay at {self._target.host}; a new event list")

    def _record(self, url: str) -> None:
        """Name the mirror in use in ``subscription.json`` (for ``holmtray events``)."""
        assert self._relay_id is not None
        self._recorded_url = url
        sub = Subscription(url, self._relay_id, mirror_name(self._relay_id))
        try:
            write_subscription(self._data_dir, sub)
        except OSError as exc:
            log.warning("cannot record the subscription in %s: %s", self._data_dir, exc.strerror)

    async def _close_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.close()

    async def _close_session(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()

    def _tell_gap(self, hello: Hello) -> None:
        gap = hello.gap
        if gap is None or gap.expired <= 0 or self._cursor == 0 or self._relay_id is None:
            return  # a first load has nothing it "missed"
        key = (self._relay_id, gap.after)
        if key in self._gaps_told:
            return
        self._gaps_told.add(key)
        log.warning("%d events expired on the relay before they could be fetched", gap.expired)
        self._notice(gap_notice(gap.expired))

    def _notice(self, text: str) -> None:
        if self._on_notice is not None:
            try:
                self._on_notice(text)
            except Exception:
                log.exception("on_notice callback failed")

    # ---- states --------------------------------------------------------------------------

    def _steady(self, order: StreamOrder) -> RelayState:
        """The state of a connected stream: degraded, live, or catching up (about how many)."""
        if self._degraded:
            return RelayDegraded(self._degraded)
        if order.live:
            return Live()
        hello = order.hello
        if hello.oldest_id is None:
            return CatchingUp(0)
        return CatchingUp(max(0, hello.last_id - max(self._cursor, hello.oldest_id - 1)))

    def _healthy(self) -> None:
        self.connects += 1
        self._failovers_left = len(self._targets) - 1
        self._backoff.connected()
        self._states.healthy()

    def _mark_lost(self, problem: str) -> None:
        self._degraded = None
        self._states.lost(problem)

    def _refused(self, detail: str) -> None:
        log.warning("%s", detail)
        self._degraded = None
        self._states.refused(detail)
