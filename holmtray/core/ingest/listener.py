"""The webhook listener: an aiohttp application that turns POSTs into stored events.

It owns the HTTP contract: which path, which credentials, which limits, and which answer for
what. It does not store anything itself; it is given an ``ingest`` coroutine (the group-commit
writer's ``submit``) and answers 2xx only once that coroutine says the row is committed.

Answers: 200 ``{"id": N}`` (plus ``"duplicate": true``); 400 bad JSON, a malformed request or
an HTTP version other than 1.0 and 1.1; 401 missing or wrong Basic credentials; 403 source not
allowed; 404 unknown path or wrong token (the same answer for both); 405 wrong method; 408
body too slow; 413 body over the cap; 415 compressed, form or multipart body; 417 an
expectation other than ``100-continue``; 429 source over its rate; 503 too much in progress
or the store cannot commit (with ``Retry-After``). Every error is JSON
``{"error": "..."}`` and every rejection is recorded in the rejected-requests log, without
body, token or credentials: every path piece and every word of a reason that touches the token
or the password, in any spelling, is masked there and in the answer
(:meth:`ListenerState.redactor`), and what is logged is made printable. ``GET /healthz``
answers 200 ``{"status": "ok"}``, or 503 ``{"status": "error", "error": "<cause>"}`` while the
store cannot commit (the ``health`` callable says why, in words that hold no path or secret).

The order of the checks, decided once (:mod:`~holmtray.core.ingest.admission` holds them).
Everything up to step 5 looks at the request line and headers only; no body byte is read, no
``100 Continue`` is sent and nothing is inflated before it has passed:

0. The connection (:mod:`holmtray.core.ingest.connections`): open connections per source, the
   header deadline, and a JSON 400 for anything aiohttp cannot parse. Then 400 for an HTTP
   version other than 1.0 and 1.1.
1. The source: 403 outside ``allow_from`` (every path, /healthz included); then, except for
   /healthz, 429 with ``Retry-After`` over the source's rate (a token bucket per source; wrong
   tokens count too) and 503 with ``Retry-After`` when ``max_concurrent`` requests are in
   progress (answered at once, never queued). The source is the socket's peer, or the
   ``X-Forwarded-For`` client when the peer is a trusted proxy.
2. The target: 404 for an unknown path, 405 for a wrong method, 404 for a wrong token.
3. The credentials: 401 without the configured Basic user name and password.
4. The body's headers: 415 for a ``Content-Encoding`` other than identity (compressed bodies
   are refused, never inflated: see SECURITY.md), 415 for a form or multipart type, 413 for a
   declared length over the cap, 417 for an expectation other than ``100-continue``.
5. Memory: what a body of the declared length may cost to hold, decode and parse is charged
   to the budget of bodies in flight (:class:`~holmtray.core.ingest.bodies.BodyBudget`, per
   source and in total); 503 with ``Retry-After`` when it cannot take it.
6. Only now ``100 Continue`` (when asked for), and the body is received: 413 past the cap,
   408 when the client takes longer than ``read_timeout`` to send it (time the server spends
   busy elsewhere does not count), 503 when a chunked body outgrows the budget.
7. The charge comes down to what this body's decoding can cost, and it is decoded, off the
   event loop when larger: 400 for anything but a JSON object. Then parsing and storing: 503
   when the store cannot commit.

/healthz takes steps 1 (allowlist only), 2 and the expectation check of 4. Every rejection
closes the connection right after its answer: body bytes still on the wire are not read
(aiohttp's "lingering", which would read and discard them for up to ten seconds, is off), and
nothing pipelined behind a refused request is served. The flood-type rejections of step 1
are logged at most once per source and status every ten seconds. A client that goes away
mid-body is counted and noted at most once per ten seconds, at INFO: it is not an error.

A :class:`Mount` (the relay's ``/v1/``, :mod:`holmtray.core.relay.server`) claims paths of its
own: those requests go to it right after the source is known (step 1 begins), before every
other check here. It applies its own (its allowlist, bearer tokens, its cap on streams), and
its requests never count against ``max_concurrent``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import HttpVersion11, web

from holmtray.core.events import Event
from holmtray.core.history.database import StoreUnavailable
from holmtray.core.history.store import InsertResult
from holmtray.core.ingest.admission import (
    HEALTH_PATH,
    Reject,
    Target,
    check_basic,
    check_body_headers,
    check_expect,
    check_source,
    check_version,
    request_source,
    route,
)
from holmtray.core.ingest.bodies import (
    BodyBudget,
    BodyTooLarge,
    BodyTooSlow,
    Decoder,
    OverBudget,
    decoded_cost,
    default_budget,
    max_cost,
    receive,
)
from holmtray.core.ingest.ratelimit import OncePer, TokenBuckets
from holmtray.core.ingest.rejected import RejectedLog
from holmtray.core.netfilter import NetSet, Source
from holmtray.core.parsing.decode import PayloadError
from holmtray.core.redact import Redactor

log = logging.getLogger("holmtray.ingest.listener")

Ingest = Callable[[str, Event], Awaitable[InsertResult]]

QUIET_INTERVAL_S = 10.0  # a flood-type rejection is logged once per source and status per this


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """What the listener needs from the settings, parsed once per change.

    The defaults here switch the source limits off; the shipped defaults are in the settings
    schema (``receiver.listener_config`` builds this from the settings). ``body_memory`` is
    the budget of bytes held by bodies in flight; 0 means room for two of the costliest bodies
    at the cap and many ordinary ones (``bodies.default_budget``).
    """

    token: str
    username: str = ""
    password: str = ""
    max_body_bytes: int = 1024 * 1024
    read_timeout: float = 10.0
    header_timeout: float = 10.0
    allow_from: NetSet = field(default_factory=NetSet)
    trusted_proxies: NetSet = field(default_factory=NetSet)
    rate_exempt: NetSet = field(default_factory=NetSet)
    rate_per_minute: int = 0
    rate_burst: int = 600
    max_concurrent: int = 10_000
    max_connections_per_source: int = 0
    body_memory: int = 0

    @property
    def body_budget(self) -> int:
        return self.body_memory or default_budget(self.max_body_bytes)


class LiveConfig:
    """The listener's current :class:`ListenerConfig`; replaced whole while running."""

    __slots__ = ("current",)

    def __init__(self, config: ListenerConfig) -> None:
        self.current = config

    def update(self, config: ListenerConfig) -> None:
        self.current = config


class ListenerState:
    """What the listener keeps between requests, shared by the app and its connections.

    The live config, the per-source token buckets, the count of requests in progress, the
    budget of bodies in flight and the decoder, the rejected-requests log with its flood
    throttle, and the count of clients that went away mid-body. ``clock`` is monotonic seconds.
    """

    __slots__ = (
        "_gone_note",
        "_gone_unnoted",
        "_quiet",
        "_redactor",
        "buckets",
        "budget",
        "clock",
        "decoder",
        "disconnects",
        "in_flight",
        "live",
        "rejected",
    )

    def __init__(
        self, *, live: LiveConfig, rejected: RejectedLog, clock: Callable[[], float]
    ) -> None:
        self.live = live
        self.rejected = rejected
        self.clock = clock
        self.buckets = TokenBuckets(clock=clock)
        self.budget = BodyBudget()
        self.decoder = Decoder()
        self.in_flight = 0
        self.disconnects = 0
        self._gone_unnoted = 0
        self._quiet = OncePer(interval=QUIET_INTERVAL_S, clock=clock)
        self._gone_note = OncePer(interval=QUIET_INTERVAL_S, clock=clock, max_keys=1)
        self._redactor = Redactor(())

    @property
    def redactor(self) -> Redactor:
        """What masks the live config's token and password (rebuilt when they change)."""
        config = self.live.current
        if self._redactor.secrets != Redactor.secrets_of((config.token, config.password)):
            self._redactor = Redactor((config.token, config.password))
        return self._redactor

    def reject(
        self,
        *,
        source: Source,
        method: str,
        path: str,
        status: int,
        reason: str,
        size: int | None = None,
        quiet: bool = False,
    ) -> None:
        """Record one rejection; a ``quiet`` one only once per source and status per interval."""
        if quiet and not self._quiet((source.key, status)):
            return
        redactor = self.redactor
        entry = self.rejected.record(
            remote=source.text,
            method=method,
            path=path,
            status=status,
            reason=reason,
            size=size,
            redactor=redactor,
        )
        log.info(
            "rejected %s from %s: %d %s",
            entry.method or "connection",
            entry.remote,
            status,
            entry.reason,
        )

    def client_gone(self, source: Source) -> None:
        """Count a client that went away mid-body; say so at most once per interval."""
        self.disconnects += 1
        self._gone_unnoted += 1
        if self._gone_note(None):
            log.info(
                "a client (%s) went away before sending its whole body; %d such since the "
                "last note, %d in all",
                source.text,
                self._gone_unnoted,
                self.disconnects,
            )
            self._gone_unnoted = 0


class _ClientGone(Exception):
    """The client went away before its body was complete; there is nobody to answer."""


class Mount(Protocol):
    """Paths served by another part of holmtray with checks of its own (the relay's /v1/)."""

    def claims(self, path: str) -> bool: ...

    async def handle(
        self, request: web.Request, source: Source, state: ListenerState
    ) -> web.StreamResponse: ...


CONFIG_KEY = web.AppKey("config", LiveConfig)
INGEST_KEY: web.AppKey[Ingest] = web.AppKey("ingest")
REJECTED_KEY = web.AppKey("rejected", RejectedLog)
STATE_KEY = web.AppKey("state", ListenerState)
HEALTH_KEY: web.AppKey[Callable[[], str | None]] = web.AppKey("health")
MOUNT_KEY: web.AppKey[Mount | None] = web.AppKey("mount")
SOURCE_KEY = web.RequestKey("source", Source)


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": reason}, status=status, headers=headers)


def _over_budget() -> Reject:
    return Reject(
        503,
        "too many request bodies in progress; try again shortly",
        {"Retry-After": "1"},
        quiet=True,
    )


async def _receive_and_store(
    request: web.Request, config: ListenerConfig, state: ListenerState, source: Source
) -> web.Response:
    """Steps 5 to 7: the memory charge, 100-continue, the body, decoding and storing."""
    expects_continue = check_body_headers(request, cap=config.max_body_bytes)
    reservation = state.budget.reserve(
        source.key, max_cost(request.content_length or 0), total=config.body_budget
    )
    if reservation is None:
        raise _over_budget()
    try:
        try:
            if expects_continue and request.version >= HttpVersion11:
                await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                request.writer.output_size = 0  # the answer proper has not started
            body = await receive(
                request.content,
                cap=config.max_body_bytes,
                timeout=config.read_timeout,
                reservation=reservation,
            )
        except BodyTooLarge:
            raise Reject(413, f"body is over the limit of {config.max_body_bytes} bytes") from None
        except BodyTooSlow:
            raise Reject(408, f"body not received within {config.read_timeout:g} seconds") from None
        except OverBudget:
            raise _over_budget() from None
        except (ConnectionError, web.RequestPayloadError):
            raise _ClientGone from None
        reservation.resize(decoded_cost(body))  # never more than it holds already
        try:
            decoded = await state.decoder.decode(body)
        except PayloadError as exc:
            raise Reject(400, str(exc)) from None
        try:
            result = await request.app[INGEST_KEY](decoded.text, decoded.event)
        except StoreUnavailable as exc:
            # The cause only: the exception's full text names the database file.
            raise Reject(
                503, f"cannot store the event: {exc.cause}", {"Retry-After": "30"}
            ) from None
    finally:
        reservation.release()
    return _stored_answer(result)


def _stored_answer(result: InsertResult) -> web.Response:
    """``web.json_response({"id": N})`` (plus ``"duplicate": true``), the same bytes, without
    the general encoder: it is every stored event's answer."""
    text = _DUPLICATE_ANSWER if result.duplicate else _STORED_ANSWER
    return web.Response(
        body=text % int(result.id), content_type="application/json", charset="utf-8"
    )


_STORED_ANSWER = b'{"id": %d}'
_DUPLICATE_ANSWER = b'{"id": %d, "duplicate": true}'


def _healthz(request: web.Request) -> web.Response:
    check_expect(request.headers.getall("Expect", []))
    problem = request.app[HEALTH_KEY]()
    if problem is not None:
        return web.json_response(
            {"status": "error", "error": problem}, status=503, headers={"Retry-After": "30"}
        )
    return web.json_response({"status": "ok"})


async def _dispatch(request: web.Request) -> web.Response:
    """The one route: every method and path comes here after the source checks (step 1)."""
    state = request.app[STATE_KEY]
    config = state.live.current
    if route(request.method, request.path, config.token) is Target.HEALTH:
        return _healthz(request)
    check_basic(request.headers.get("Authorization", ""), config.username, config.password)
    return await _receive_and_store(request, config, state, request[SOURCE_KEY])


async def _expect_later(request: web.Request) -> None:
    """aiohttp's ``Expect`` hook, which runs before any check: nothing yet.

    ``100 Continue`` is sent by the handler once the checks up to step 5 have passed, and an
    unknown expectation is answered 417 there.
    """


class _EveryTarget(web.PlainResource):
    """A resource that every request target matches, so every request reaches the checks.

    aiohttp's router would answer unknown paths itself, with ``100 Continue`` first when asked.
    """

    def _match(self, path: str) -> dict[str, str] | None:
        return {}

    def raw_match(self, path: str) -> bool:
        return True


@web.middleware
async def _guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Step 1, and every rejection turned into its JSON answer and rejected-log entry."""
    state = request.app[STATE_KEY]
    config = state.live.current
    source = request_source(request, config.trusted_proxies)
    request[SOURCE_KEY] = source
    mount = request.app[MOUNT_KEY]
    if mount is not None and mount.claims(request.path):
        # Its own checks instead of these; never counted against max_concurrent.
        return await mount.handle(request, source, state)
    counted = False
    quiet = False
    try:
        check_version(request.version)
        counted = check_source(
            source=source,
            path=request.path,
            allow_from=config.allow_from,
            rate_exempt=config.rate_exempt,
            rate_per_minute=config.rate_per_minute,
            rate_burst=config.rate_burst,
            buckets=state.buckets,
            in_flight=state.in_flight,
            max_concurrent=config.max_concurrent,
        )
        if counted:
            state.in_flight += 1
        return await handler(request)
    except Reject as exc:
        status, reason, headers, quiet = exc.status, exc.reason, exc.headers, exc.quiet
    except _ClientGone:
        state.client_gone(source)
        response = _error(400, "the body ended early: the client went away")
        response.force_close()
        return response
    except web.HTTPException as exc:
        # Only for a request target no path matches (an authority-form CONNECT, say).
        if exc.status < 400:
            raise
        status = exc.status
        reason = {404: "not found", 405: f"method {request.method} not allowed"}.get(
            status, exc.reason
        )
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
    finally:
        if counted:
            state.in_flight -= 1
    response = _error(status, state.redactor.text(reason), headers)
    # Closed after the answer: body bytes still on the wire are never read, a tunnel or a
    # pipelined request behind a refused one is never served, a flood gets no keep-alive.
    response.force_close()
    state.reject(
        source=source,
        method=request.method,
        path=request.path,
        status=status,
        reason=reason,
        size=request.content_length,
        quiet=quiet,
    )
    return response


def _always_healthy() -> str | None:
    return None


async def _close_state(app: web.Application) -> None:
    app[STATE_KEY].decoder.close()


def create_app(
    *,
    config: ListenerConfig | LiveConfig,
    ingest: Ingest,
    rejected: RejectedLog,
    health: Callable[[], str | None] = _always_healthy,
    clock: Callable[[], float] = time.monotonic,
    mount: Mount | None = None,
) -> web.Application:
    """The listener application.

    Serve it through :class:`~holmtray.core.ingest.connections.ListenerSite`: its connections
    never inflate a compressed body and never linger to read an unread one, and they add the
    header deadline and the per-source connection cap. (Any aiohttp site can run it, without
    those.) ``clock`` is the monotonic clock of the rate limits (tests pass their own).
    ``health`` returns ``None`` while the store can commit, else why not (``/healthz``
    answers 503 with it). The access log must stay off: its lines would carry the token.
    ``mount`` serves the paths it claims (see :class:`Mount`).
    """
    live = config if isinstance(config, LiveConfig) else LiveConfig(config)
    app = web.Application(middlewares=[_guard])
    app[CONFIG_KEY] = live
    app[INGEST_KEY] = ingest
    app[REJECTED_KEY] = rejected
    app[STATE_KEY] = ListenerState(live=live, rejected=rejected, clock=clock)
    app[HEALTH_KEY] = health
    app[MOUNT_KEY] = mount
    app.on_cleanup.append(_close_state)
    every = _EveryTarget("/")
    app.router.register_resource(every)
    every.add_route("*", _dispatch, expect_handler=_expect_later)
    return app


__all__ = [
    "CONFIG_KEY",
    "HEALTH_PATH",
    "STATE_KEY",
    "ListenerConfig",
    "ListenerState",
    "LiveConfig",
    "create_app",
]
