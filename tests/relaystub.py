"""A minimal but protocol-faithful relay for the subscriber's tests, and a TCP proxy that can
play dead.

:class:`TestRelay` serves ``/v1/stream``, ``/v1/events`` and ``/v1/status`` over loopback as
RELAY.md specifies (bearer token only, 400 for a token in the query, 401 JSON, 409 before the
stream, 503 + Retry-After over the subscriber cap; hello, event, live, ping, status and bye
frames), backed by a real :class:`Store` (``log.entries_after``, ``log.bounds``,
``log.relay_id``). Its hand-over is the one the spec requires: register the subscriber, say
hello, page the backlog from the database (yielding between pages, so that events added
meanwhile really race it), drain what queued up, skipping ids already sent, then ``live``.
Knobs let a test pause it, cut streams, restart it, reset its history, revoke a token, degrade
its store, or make it misbehave (drop an event from the stream).

:class:`BlackHoleProxy` forwards TCP between a client and the relay; :meth:`hold` turns every
open connection into a black hole (kept open, nothing forwarded either way, as after a laptop
slept or the Wi-Fi changed) and does the same to new ones until :meth:`release`.

Tests use the protocol only: they read the relay's ids, bodies and bounds through the store,
and never the stub's internals, so the same tests can run against the real relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from holmtray.core.history.relaylog import LogEntry
from holmtray.core.history.store import NewEvent, Store
from holmtray.core.parsing.decode import decode_body
from holmtray.core.parsing.parser import parse_event
from holmtray.core.relay import sse
from tests.conftest import SAMPLES

TOKEN = "htr_" + "A" * 43
OTHER_TOKEN = "htr_" + "B" * 43


def body(n: int) -> str:
    """A realistic, unique webhook body; some with CRLF whitespace and non-ASCII text."""
    samples = sorted(SAMPLES.glob("*.json"))
    text = samples[n % len(samples)].read_text(encoding="utf-8").strip()
    extra = f'"seq": {n}, "note": "r\u00e9sum\u00e9 \u2603 {n}",'
    if n % 3 == 0:
        extra = f'\r\n  "seq": {n},\t"note": "caf\u00e9\\n{n}",\r\n'
    return "{" + extra + text[1:]


@dataclass(eq=False)
class _Sub:
    token: str
    queue: asyncio.Queue[LogEntry | tuple[str, dict[str, object]]]
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class TestRelay:
    """The relay stub (see the module docstring)."""

    __test__ = False  # not a test class, whatever its name

    def __init__(
        self,
        db: Path,
        *,
        tokens: Iterable[str] = (TOKEN,),
        ping_interval: float = 0.5,
        page_size: int = 100,
        queue_size: int = 100_000,
        max_subscribers: int = 1000,
        first_seq: int = 0,
    ) -> None:
        self.db = db
        self.tokens = set(tokens)
        self.ping_interval = ping_interval
        self.page_size = page_size
        self.queue_size = queue_size
        self.max_subscribers = max_subscribers
        self.store = Store.open(db)
        self.store.log.relay_id()
        self.port = 0
        self.scheme = "http"
        self.degraded: str | None = None
        self.refuse_status: int | None = None  # answer every /v1/ request with this status
        self.retry_after: str | None = None
        self.skip_ids: set[int] = set()  # never sent on a stream (once: a lost frame)
        self.connects: list[float] = []  # loop time of each accepted stream
        self.requests: list[dict[str, str]] = []  # headers and query of each /v1/ request
        self._subs: set[_Sub] = set()
        self._runner: web.AppRunner | None = None
        self._seq = first_seq  # bodies are made from it: two stubs on one file differ

    # ---- life --------------------------------------------------------------------------

    async def start(
        self, port: int | None = None, *, ssl_context: ssl.SSLContext | None = None
    ) -> int:
        app = web.Application()
        app.router.add_get("/v1/stream", self._stream)
        app.router.add_get("/v1/events", self._events)
        app.router.add_get("/v1/status", self._status)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        self.scheme = "https" if ssl_context is not None else "http"
        site = web.TCPSite(
            self._runner, "127.0.0.1", self.port if port is None else port, ssl_context=ssl_context
        )
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.port

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    async def stop(self, *, bye: str | None = "shutdown") -> None:
        """Stop serving: every stream gets ``bye`` (or is cut when ``bye`` is None)."""
        for sub in list(self._subs):
            if bye is None:
                sub.closed.set()
            else:
                sub.queue.put_nowait(("bye", {"reason": bye}))
        await asyncio.sleep(0.05)
        for sub in list(self._subs):
            sub.closed.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def close(self) -> None:
        self.store.close()

    def say_bye(self, reason: str) -> None:
        """Every stream gets ``bye`` with ``reason``; the relay goes on serving."""
        for sub in list(self._subs):
            sub.queue.put_nowait(("bye", {"reason": reason}))

    def cut(self) -> None:
        """End every stream abruptly, without a bye."""
        for sub in list(self._subs):
            sub.closed.set()

    def reset(self, db: Path) -> None:
        """Start a new history (a new relay id) in ``db``, as a reinstalled relay would."""
        self.store.close()
        self.db = db
        self.store = Store.open(db)
        self.store.log.relay_id()
        self.cut()

    def revoke(self, token: str) -> None:
        self.tokens.discard(token)
        for sub in list(self._subs):
            if sub.token == token:
                sub.queue.put_nowait(("bye", {"reason": "revoked"}))

    def set_degraded(self, cause: str | None) -> None:
        self.degraded = cause
        for sub in list(self._subs):
            sub.queue.put_nowait(("status", {"store": cause}))

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    # ---- events ------------------------------------------------------------------------

    def add(self, n: int) -> list[int]:
        """Store ``n`` new events (one transaction) and fan them out; their ids."""
        items = []
        for _ in range(n):
            self._seq += 1
            text = body(self._seq)
            event = parse_event(decode_body(text.encode()))
            items.append(NewEvent(body=text, event=event, received_at=datetime.now(UTC)))
        results = self.store.insert_many(items)
        ids = [r.id for r in results if not r.duplicate]
        entries = self.store.log.entries_after(ids[0] - 1, len(ids)) if ids else []
        for sub in list(self._subs):
            for entry in entries:
                if sub.queue.qsize() >= self.queue_size:  # not keeping up: cut, it resumes
                    while not sub.queue.empty():
                        sub.queue.get_nowait()
                    sub.queue.put_nowait(("bye", {"reason": "slow"}))
                    break
                sub.queue.put_nowait(entry)
        return ids

    def retain(self, count: int) -> int:
        """Keep only the newest ``count`` events (retention)."""
        return self.store.apply_retention(now=datetime.now(UTC), max_age_days=0, max_count=count)

    def all_entries(self) -> list[LogEntry]:
        return self.store.log.entries_after(0, 10**9)

    # ---- HTTP --------------------------------------------------------------------------

    def _check(self, request: web.Request) -> str:
        self.requests.append(
            {**dict(request.headers), **{f"?{k}": v for k, v in request.query.items()}}
        )
        if {"token", "access_token", "auth"} & set(request.query):
            raise _json(400, {"error": "send the token in the Authorization header only"})
        if self.refuse_status is not None:
            headers = {"Retry-After": self.retry_after} if self.retry_after else None
            raise _json(self.refuse_status, {"error": "refused by the test"}, headers)
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            raise _json(401, {"error": "unknown or revoked read token"})
        return token.strip()

    def _gap(self, after: int, oldest: int | None, last: int) -> dict[str, int] | None:
        if oldest is None:
            return (
                {"after": after, "oldest_id": last + 1, "expired": last - after}
                if last > after
                else None
            )
        if after < oldest - 1:
            return {"after": after, "oldest_id": oldest, "expired": oldest - 1 - after}
        return None

    async def _status(self, request: web.Request) -> web.Response:
        self._check(request)
        oldest, last = self.store.log.bounds()
        return web.json_response(
            {
                "relay_id": self.store.log.relay_id(),
                "oldest_id": oldest,
                "last_id": last,
                "store": self.degraded,
                "subscribers": len(self._subs),
            }
        )

    async def _events(self, request: web.Request) -> web.Response:
        self._check(request)
        try:
            after = int(request.query["after"])
            limit = min(int(request.query.get("limit", "500")), 1000)
        except (KeyError, ValueError):
            raise _json(400, {"error": "after (>= 0) is required"}) from None
        oldest, last = self.store.log.bounds()
        relay_id = self.store.log.relay_id()
        if after > last:
            raise _json(
                409, {"error": "after is beyond the last id", "relay_id": relay_id, "last_id": last}
            )
        page = self.store.log.entries_after(after, limit)
        return web.json_response(
            {
                "relay_id": relay_id,
                "oldest_id": oldest,
                "last_id": last,
                "gap": self._gap(after, oldest, last),
                "events": [_event_data(e) for e in page],
            }
        )

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        token = self._check(request)
        oldest, last = self.store.log.bounds()
        relay_id = self.store.log.relay_id()
        raw = request.headers.get("Last-Event-ID", request.query.get("after"))
        try:
            after = last if raw is None else int(raw)
        except ValueError:
            raise _json(400, {"error": "Last-Event-ID must be a number"}) from None
        if after < 0:
            raise _json(400, {"error": "after must be >= 0"})
        if after > last:
            raise _json(
                409, {"error": "after is beyond the last id", "relay_id": relay_id, "last_id": last}
            )
        if len(self._subs) >= self.max_subscribers:
            raise _json(503, {"error": "too many subscribers"}, {"Retry-After": "5"})
        sub = _Sub(token=token, queue=asyncio.Queue())
        self._subs.add(sub)  # (1) register first: nothing committed from now on is missed
        self.connects.append(asyncio.get_running_loop().time())
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        try:
            await resp.prepare(request)
            await resp.write(sse.encode_retry(3000))
            hello = {
                "relay_id": relay_id,
                "oldest_id": oldest,
                "last_id": last,
                "after": after,
                "keepalive_s": self.ping_interval,
                "gap": self._gap(after, oldest, last),
            }
            await resp.write(sse.encode("hello", hello))  # (2)
            sent = after
            while not sub.closed.is_set():  # (3) the backlog, page by page
                page = self.store.log.entries_after(sent, self.page_size)
                for entry in page:
                    await self._send(resp, entry)
                    sent = entry.id
                if len(page) < self.page_size:
                    break
                await asyncio.sleep(0)  # let new events be added meanwhile
            if self.degraded:
                await resp.write(sse.encode("status", {"store": self.degraded}))
            while not sub.queue.empty():  # (4) what arrived meanwhile, without repeats
                item = sub.queue.get_nowait()
                if isinstance(item, LogEntry):
                    if item.id > sent:
                        await self._send(resp, item)
                        sent = item.id
                else:
                    await resp.write(sse.encode(*item))
                    if item[0] == "bye":
                        return resp
            await resp.write(sse.encode("live", {"caught_up_to": sent}))  # (5)
            await self._forward(resp, sub)
        except ConnectionResetError:  # the subscriber went away
            pass
        finally:
            self._subs.discard(sub)
        return resp

    async def _forward(self, resp: web.StreamResponse, sub: _Sub) -> None:
        closed = asyncio.ensure_future(sub.closed.wait())
        try:
            while not sub.closed.is_set():
                getter = asyncio.ensure_future(sub.queue.get())
                done, _ = await asyncio.wait(
                    {getter, closed},
                    timeout=self.ping_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if closed in done:
                    getter.cancel()
                    return
                if getter not in done:
                    getter.cancel()
                    _, last = self.store.log.bounds()
                    await resp.write(sse.encode("ping", {"last_id": last}))
                    continue
                item = getter.result()
                if isinstance(item, LogEntry):
                    await self._send(resp, item)
                else:
                    await resp.write(sse.encode(*item))
                    if item[0] == "bye":
                        return
        finally:
            closed.cancel()

    async def _send(self, resp: web.StreamResponse, entry: LogEntry) -> None:
        if entry.id in self.skip_ids:
            self.skip_ids.discard(entry.id)  # lost once, as a frame on a broken path would be
            return
        await resp.write(sse.encode("event", _event_data(entry), event_id=entry.id))


def _event_data(entry: LogEntry) -> dict[str, object]:
    when = entry.received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"id": entry.id, "received_at": when, "body": entry.body}


def _json(
    status: int, data: dict[str, object], headers: dict[str, str] | None = None
) -> web.HTTPException:
    exc = web.HTTPException(text=json.dumps(data), content_type="application/json", headers=headers)
    exc.set_status(status)
    return exc


class BlackHoleProxy:
    """TCP forwarding that can turn into a black hole (see the module docstring)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self._holding = False
        self._server: asyncio.Server | None = None
        self._conns: set[_Conn] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    def hold(self) -> None:
        self._holding = True
        for conn in self._conns:
            conn.dead.set()

    def release(self) -> None:
        """New connections forward again; the held ones stay dead (as after sleep)."""
        self._holding = False

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            conn.abort()
        self._conns.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Conn(writer)
        self._conns.add(conn)
        if self._holding:
            conn.dead.set()
            return  # accepted, never answered
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        conn.up = up_writer
        conn.tasks = [
            asyncio.ensure_future(_pump(reader, up_writer, conn)),
            asyncio.ensure_future(_pump(up_reader, writer, conn)),
        ]


@dataclass(eq=False)
class _Conn:
    down: asyncio.StreamWriter
    up: asyncio.StreamWriter | None = None
    dead: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Future[None]] = field(default_factory=list)

    def abort(self) -> None:
        for task in self.tasks:
            task.cancel()
        for w in (self.down, self.up):
            if w is not None:
                with contextlib.suppress(Exception):
                    w.transport.abort()


async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, conn: _Conn) -> None:
    try:
        while not conn.dead.is_set():
            data = await src.read(65536)
            if not data or conn.dead.is_set():
                break
            dst.write(data)
            await dst.drain()
    except (ConnectionError, OSError):
        pass
    if conn.dead.is_set():
        await asyncio.Event().wait()  # a black hole: hold both sockets open, forward nothing
    with contextlib.suppress(Exception):
        dst.close()
