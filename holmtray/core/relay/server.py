"""The relay: ``/v1/`` on the listener, serving the stored events to subscribing apps.

Mounted on the listener application (see ``listener.Mount``) while ``relay.enabled``; the
listener hands every ``/v1/`` request here before its own checks, so these requests never
count against ``listener.max_concurrent`` and ``listener.allow_from`` does not apply to them.
The checks here, in order: 403 outside ``relay.allow_from``; 400 for a token in the query
string; 401 for the webhook token in the path; 401 without a valid read token in
``Authorization: Bearer`` (:mod:`~holmtray.core.relay.auth`); 404 / 405 for an unknown
path or a method other than GET. Rejections are recorded in the rejected-requests log with
the path reduced to a known route (or ``/v1/***``), never a token or a query string.

``GET /v1/status`` → ``{"relay_id", "oldest_id", "last_id", "store", "subscribers"}``.

``GET /v1/events?after=N[&limit=L]`` (L 1..1000, default 500) → ``{"relay_id", "oldest_id",
"last_id", "gap", "more", "events": [{"id", "received_at", "body"}…]}``, ascending. A page
also ends early once its bodies reach :data:`PAGE_CHARS` (``more`` is then true): page on from
the last id until ``more`` is false. ``after`` beyond the last id → 409.

``GET /v1/stream`` (resume with ``Last-Event-ID: N`` or ``?after=N``, the header winning;
neither: new events only) → Server-Sent Events (:mod:`~holmtray.core.relay.sse`):
``retry``, ``hello`` (relay id, bounds, the ``after`` in force, ``keepalive_s``, ``gap``), a
``status`` at once if the store cannot commit, the backlog as ``event`` frames with ``id:``
in ascending order, ``live`` once caught up, then live events, ``ping`` every
``relay.ping_interval`` seconds, ``status`` when the store's health changes, and ``bye`` with
the reason (``shutdown``, ``revoked``, ``slow``) when the relay ends the stream. ``ping``'s
``last_id`` and ``live``'s ``caught_up_to`` are the id of the last event sent on the stream
(the ``after`` in force before the first). 503 with ``Retry-After`` beyond
``relay.max_subscribers`` streams.

The handover from backlog to live neither skips nor repeats: the stream is registered in the
:class:`~holmtray.core.history.hub.Hub` first (everything committed from then on is queued
for it), then the bounds are read and the backlog paged from a read-only store on a worker
thread (500 events a page), then the queue drained skipping ids already sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aiohttp import web

from holmtray.core.config.settings import Settings
from holmtray.core.events import StoredEvent
from holmtray.core.history.database import StoreError
from holmtray.core.history.eventlog import Follower, LogBackend, LogView, ReadRunner
from holmtray.core.history.hub import SHUTDOWN, Hub, HubClosed, HubFull, Subscriber
from holmtray.core.ingest.listener import ListenerState
from holmtray.core.netfilter import NetSet, Source
from holmtray.core.relay.auth import (
    Reader,
    TokenTable,
    bearer_token,
    path_has_webhook_token,
    query_carries_token,
    same,
)
from holmtray.core.relay.pages import (
    PAGE,
    Reject,
    Snapshot,
    bye_frame,
    check_after,
    frames_after,
    gap,
    json_bytes,
    page_json,
    snapshot,
    status_frame,
    stored_frame,
)
from holmtray.core.relay.sse import encode, encode_retry

log = logging.getLogger("holmtray.relay.server")

PREFIX = "/v1"
STREAM, EVENTS, STATUS = "/v1/stream", "/v1/events", "/v1/status"
ROUTES = (STREAM, EVENTS, STATUS)
MAX_LIMIT = 1000
RETRY_MS = 3000
END_GRACE_S = 1.0
"""An ended stream still stuck writing to a client that does not read is cut after this."""
STOP_WAIT_S = 1.0
"""How long a shutdown waits for ended streams to say ``bye`` before cutting them."""
SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
_ID_RE = re.compile(r"^[0-9]{1,18}$")


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """The relay's settings, parsed once per change."""

    enabled: bool = False
    allow_from: NetSet = field(default_factory=NetSet)
    max_subscribers: int = 200
    ping_interval: float = 20.0
    queue_size: int = 10_000
    webhook_token: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> RelayConfig:
        return cls(
            enabled=settings.flag("relay.enabled"),
            allow_from=NetSet(settings.strings("relay.allow_from")),
            max_subscribers=settings.integer("relay.max_subscribers"),
            ping_interval=settings.number("relay.ping_interval"),
            queue_size=settings.integer("relay.queue_size"),
            webhook_token=settings.text("listener.token"),
        )


def _json(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=body, content_type="application/json", charset="utf-8", headers=headers
    )


def _event_id(text: str, what: str) -> int:
    if not _ID_RE.match(text):
        raise Reject(400, f"{what} must be an event id (a whole number of 0 or more)")
    return int(text)


def shown_path(path: str) -> str:
    """The path as the rejected log may show it: a known route, else ``/v1/***``."""
    return path if path in ROUTES else "/v1/***"


# ---- the relay -----------------------------------------------------------------------------


class Relay:
    """The ``/v1/`` endpoints, the hub feeding their streams, and the token table.

    Feed it from the writer: :meth:`publish` from ``on_commit``, :meth:`health_changed` from
    ``on_health``. Mount it on the listener (it is a ``listener.Mount``). Lifecycle:
    :meth:`start` after the writer has opened the database; :meth:`shutdown_streams` before the
    listener's runner is cleaned up (so a stop never waits for streams); :meth:`close` last.
    """

    def __init__(
        self,
        *,
        config: RelayConfig,
        backend: LogBackend,
        health: Callable[[], str | None],
        tokens_poll_s: float = 0.25,
    ) -> None:
        self._config = config
        self._health = health
        self._hub = Hub(render=stored_frame)
        self._reads = backend.readers(threads=2, name="holmtray-relay-read")
        # The token poll has its own thread, so busy backlog reads never delay a revocation.
        self._token_reads = backend.readers(threads=1, name="holmtray-relay-tokens")
        # A log other relays append to as well: the follower feeds the hub with every event in
        # id order (this relay's own included), on its own thread for the same reason.
        self._feed_reads: ReadRunner | None = None
        self._follower: Follower | None = None
        if backend.shared:
            self._feed_reads = backend.readers(threads=1, name="holmtray-relay-follow")
            self._follower = backend.follower(
                reads=self._feed_reads, publish=self._hub.publish, on_health=self.health_changed
            )
        self._tokens = TokenTable(
            pool=self._token_reads,
            on_change=self._tokens_changed,
            poll_s=tokens_poll_s,
        )
        self._streams: dict[Subscriber, asyncio.Transport | None] = {}
        self._stream_ended = asyncio.Event()  # set whenever a stream handler finishes
        self._started = False

    @property
    def hub(self) -> Hub:
        return self._hub

    @property
    def config(self) -> RelayConfig:
        return self._config

    # ---- feeding -------------------------------------------------------------------------

    def publish(self, events: list[StoredEvent]) -> None:
        """The writer's ``on_commit``: queue committed events for every stream (with a shared
        log: have the follower read them now, in line with the other relays' events)."""
        if self._follower is not None:
            self._follower.kick()
        else:
            self._hub.publish(events)

    @property
    def feed_health(self) -> str | None:
        """``None`` unless the shared log cannot be followed (then why not)."""
        return self._follower.health if self._follower is not None else None

    def health_changed(self, _health: str | None = None) -> None:
        """The writer's (or the follower's) ``on_health``: every stream gets a ``status``
        frame with the health as ``/healthz`` reports it."""
        self._hub.announce(status_frame(self._health()))

    def _tokens_changed(self, hashes: dict[str, str]) -> None:
        ended = self._hub.close_revoked(hashes.keys())
        if ended:
            log.info("read tokens changed: ended %d stream(s) of revoked tokens", ended)

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._started = True
        if self._follower is not None:
            await self._follower.start()
        if self._config.enabled:
            await self._tokens.start()

    async def apply(self, config: RelayConfig) -> None:
        """New settings: limits apply to new streams; turning the relay off ends its streams."""
        was = self._config.enabled
        self._config = config
        if not self._started:
            return
        if config.enabled and not was:
            await self._tokens.start()
        elif was and not config.enabled:
            await self.end_streams()
            await self._tokens.stop()

    async def end_streams(self, *, group: object = None, reason: str = SHUTDOWN) -> None:
        """End the streams (of listener application ``group``, or all) and wait for them."""
        self._hub.close_where(lambda sub: group is None or sub.group is group, reason)
        await self._wait_for_streams(lambda sub: group is None or sub.group is group)

    async def shutdown_streams(self) -> None:
        """Say ``bye`` to every stream, take no new ones, wait briefly; cut what lingers."""
        self._hub.close_all(SHUTDOWN)
        await self._wait_for_streams(lambda sub: True)

    async def _wait_for_streams(self, which: Callable[[Subscriber], bool]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_WAIT_S
        while any(which(sub) for sub in self._streams) and loop.time() < deadline:
            self._stream_ended.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await self._stream_ended.wait()
        for sub, transport in list(self._streams.items()):
            if which(sub):
                _cut(transport)  # a client that does not read: its bye cannot be sent

    async def close(self) -> None:
        await self._tokens.stop()
        if self._follower is not None:
            await self._follower.stop()
        for reads in (self._reads, self._token_reads, self._feed_reads):
            if reads is not None:
                await reads.close()

    # ---- the mount -----------------------------------------------------------------------

    def claims(self, path: str) -> bool:
        """Whether the listener should hand this path here: ``/v1`` and below, when enabled."""
        return self._config.enabled and (path == PREFIX or path.startswith(PREFIX + "/"))

    async def handle(
        self, request: web.Request, source: Source, state: ListenerState
    ) -> web.StreamResponse:
        """Answer one ``/v1/`` request: the checks, then the endpoint."""
        config = self._config
        try:
            if config.allow_from and source.ip not in config.allow_from:
                raise Reject(403, "source address not allowed", quiet=True)
            if query_carries_token(request.query, config.webhook_token):
                raise Reject(
                    400,
                    "tokens are accepted only in the Authorization header (never in the URL)",
                )
            if path_has_webhook_token(request.path, config.webhook_token):
                raise Reject(401, "read token not accepted", _challenge(), quiet=True)
            reader = await self._authenticate(request)
            if request.path not in ROUTES:
                raise Reject(404, "not found")
            if request.method != "GET":
                raise Reject(405, f"method {request.method} not allowed", {"Allow": "GET"})
            if request.path == STATUS:
                return await self._status()
            if request.path == EVENTS:
                return await self._events(request)
            return await self._stream(request, reader)
        except Reject as exc:
            return self._refuse(request, source, state, exc)

    async def _authenticate(self, request: web.Request) -> Reader:
        token = bearer_token(request.headers.get("Authorization", ""))
        if token is None:
            raise Reject(
                401, "a read token is required (Authorization: Bearer htr_…)", _challenge()
            )
        webhook = self._config.webhook_token
        reader = None
        if not (webhook and same(token, webhook)):
            try:
                reader = await self._tokens.authenticate(token)
            except StoreError as exc:
                raise Reject(
                    503, f"cannot read the read tokens: {_cause(exc)}", {"Retry-After": "30"}
                ) from None
        if reader is None:
            raise Reject(401, "read token not accepted", _challenge(), quiet=True)
        return reader

    def _refuse(
        self, request: web.Request, source: Source, state: ListenerState, exc: Reject
    ) -> web.Response:
        body = json_bytes({"error": exc.reason, **exc.extra})
        response = _json(exc.status, body, exc.headers)
        if exc.quiet or not request.content.is_eof():
            response.force_close()
        state.reject(
            source=source,
            method=request.method,
            path=shown_path(request.path),
            status=exc.status,
            reason=exc.reason,
            size=request.content_length,
            quiet=exc.quiet,
        )
        return response

    async def _read(self, fn: Callable[[LogView], Any]) -> Any:
        try:
            return await self._reads.run(fn)
        except StoreError as exc:
            raise Reject(
                503, f"cannot read the events: {_cause(exc)}", {"Retry-After": "30"}
            ) from None

    # ---- endpoints -----------------------------------------------------------------------

    async def _status(self) -> web.Response:
        snap: Snapshot = await self._read(snapshot)
        return _json(
            200,
            json_bytes(
                {
                    "relay_id": snap.relay_id,
                    "oldest_id": snap.oldest,
                    "last_id": snap.last,
                    "store": self._health(),
                    "subscribers": len(self._hub),
                }
            ),
        )

    async def _events(self, request: web.Request) -> web.Response:
        if "after" not in request.query:
            raise Reject(400, "after is required (after=0: from the oldest event retained)")
        after = _event_id(request.query["after"], "after")
        limit = PAGE
        if "limit" in request.query:
            text = request.query["limit"]
            if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
                raise Reject(400, f"limit must be a whole number from 1 to {MAX_LIMIT}")
            limit = int(text)
        body: bytes = await self._read(partial(page_json, after=after, limit=limit))
        return _json(200, body)

    async def _stream(self, request: web.Request, reader: Reader) -> web.StreamResponse:
        asked: int | None = None
        header = request.headers.get("Last-Event-ID", "").strip()
        if header:
            asked = _event_id(header, "Last-Event-ID")
        elif "after" in request.query:
            asked = _event_id(request.query["after"], "after")
        config = self._config
        try:
            # Registered first: everything committed from now on is queued for this stream.
            sub = self._hub.register(
                token_name=reader.name,
                token_hash=reader.hash,
                queue_size=config.queue_size,
                max_subscribers=config.max_subscribers,
                group=request.app,
            )
        except HubFull:
            raise Reject(
                503,
                f"the relay serves {config.max_subscribers} streams at most; try again later",
                {"Retry-After": "30"},
                quiet=True,
            ) from None
        except HubClosed:
            raise Reject(503, "the relay is shutting down", {"Retry-After": "5"}) from None
        self._streams[sub] = request.transport
        timer: list[asyncio.TimerHandle] = []
        sub.on_end = lambda _reason: timer.append(
            asyncio.get_running_loop().call_later(END_GRACE_S, _cut, request.transport)
        )
        try:
            snap: Snapshot = await self._read(snapshot)
            after = snap.last if asked is None else asked
            check_after(snap, after)
            response = web.StreamResponse(headers=SSE_HEADERS)
            response.force_close()  # one stream per connection; nothing after it
            await response.prepare(request)
            _drop_when_unacknowledged(request.transport, config.ping_interval)
            try:
                reason = await self._pump(response, sub, snap, after)
                await response.write(bye_frame(reason))
                await response.write_eof()
            except ConnectionError:
                pass  # the client went away (or was cut): it resumes by id
            return response
        finally:
            for handle in timer:
                handle.cancel()
            self._hub.unregister(sub)
            del self._streams[sub]
            self._stream_ended.set()

    async def _pump(
        self, response: web.StreamResponse, sub: Subscriber, snap: Snapshot, after: int
    ) -> str:
        """hello, backlog, drain, live, then live events and pings until the stream ends."""
        hello = {
            "relay_id": snap.relay_id,
            "oldest_id": snap.oldest,
            "last_id": snap.last,
            "after": after,
            "keepalive_s": self._config.ping_interval,
            "gap": gap(after, snap.oldest, snap.last),
        }
        head = encode_retry(RETRY_MS) + encode("hello", hello)
        health = self._health()
        if health is not None:
            head += status_frame(health)
        await response.write(head)
        sent = after  # the last event id written on this stream
        # Backlog: page until a short page, or until the queue covers what follows.
        while sub.ended is None:
            first = sub.first_id()
            if first is not None and first <= sent + 1:
                break
            frames, more = await self._read(partial(frames_after, after=sent))
            if frames:
                await response.write(b"".join(frame for _, frame in frames))
                sent = frames[-1][0]
                sub.drop_through(sent)  # so a long backlog does not fill the queue with them
            if not more:
                break
        # The backlog read everything up to `sent`; what follows is in the queue (or will be).
        sent = await self._forward(response, sub, sent)
        if sub.ended is None:
            await response.write(encode("live", {"caught_up_to": sent}))
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + self._config.ping_interval
        while sub.ended is None:
            if len(sub):
                sent = await self._forward(response, sub, sent)
                continue
            try:
                async with asyncio.timeout_at(next_ping):
                    await sub.wake.wait()
            except TimeoutError:
                await response.write(encode("ping", {"last_id": sent}))
                next_ping = loop.time() + self._config.ping_interval
        assert sub.ended is not None
        return sub.ended

    @staticmethod
    async def _forward(response: web.StreamResponse, sub: Subscriber, sent: int) -> int:
        """Write what is queued, skipping events already sent; the last event id sent."""
        chunks: list[bytes] = []
        for item in sub.take():
            if item.id is not None:
                if item.id <= sent:
                    continue
                sent = item.id
            chunks.append(item.frame)
        if chunks and sub.ended is None:
            await response.write(b"".join(chunks))
        return sent


def _drop_when_unacknowledged(transport: asyncio.Transport | None, ping_interval: float) -> None:
    """Let the kernel drop a stream whose client stopped acknowledging (a laptop that went to
    sleep mid-stream, a half-open connection) after a few missed pings, rather than after TCP's
    retransmissions give up (about 15 minutes), so it does not hold a subscriber slot."""
    option = getattr(socket, "TCP_USER_TIMEOUT", None)  # Linux
    sock = transport.get_extra_info("socket") if transport is not None else None
    if option is None or sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, option, int(max(60.0, 3 * ping_interval) * 1000))


def _cut(transport: asyncio.Transport | None) -> None:
    if transport is not None:
        transport.abort()  # whatever is still buffered for it is dropped


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="holmtray relay"'}


def _cause(exc: StoreError) -> str:
    return str(getattr(exc, "cause", "") or "the database cannot be read")
