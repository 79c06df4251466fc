"""The webhook listener: an aiohttp application that turns POSTs into stored events.

It owns the HTTP contract: which path, which credentials, which limits, and which answer for
what. It does not store anything itself; it is given an ``ingest`` coroutine (the group-commit
writer's ``submit``) and answers 2xx only once that coroutine says the row is committed.

Answers: 200 ``{"id": N}`` (plus ``"duplicate": true``); 400 bad JSON; 401 missing or wrong
Basic credentials; 404 unknown path or wrong token (the same answer for both); 405 wrong
method; 408 body too slow; 413 body over the cap; 415 form or multipart body; 503 the store
cannot commit. Every error is JSON ``{"error": "..."}`` and every rejection is recorded in the
rejected-requests log, without body, token or credentials. ``GET /healthz`` answers 200
``{"status": "ok"}``, or 503 ``{"status": "error", "error": "<cause>"}`` while the store
cannot commit (the ``health`` callable says why, in words that hold no path or secret).

Before any of that, every request passes the source checks, in this order: 403 when its source
is not in ``allow_from`` (every path, /healthz included); then, for every path except /healthz,
429 with ``Retry-After`` when its source is over its rate (token bucket per source, table
bounded) and 503 with ``Retry-After`` when ``max_concurrent`` requests are already in progress
(answered at once, never queued). The source is the socket's peer, or the ``X-Forwarded-For``
client when the peer is a trusted proxy. These flood-type rejections close the connection and
are logged at most once per source and status every ten seconds, so a flood cannot flood the
logs. The connection-level guards (header deadline, connections per source) are in
:mod:`holmtray.core.ingest.connections`.

A :class:`Mount` (the relay's ``/v1/``, :mod:`holmtray.core.ingest.relay`) claims paths of its
own: those requests go to it right after the source is known, before every check here. It
applies its own (allowlist, credentials, caps), and its requests never count against
``max_concurrent``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from holmtray.core.events import Event, Kind, Severity
from holmtray.core.history.database import StoreUnavailable
from holmtray.core.history.store import InsertResult
from holmtray.core.ingest.endpoint import hook_path
from holmtray.core.ingest.ratelimit import OncePer, TokenBuckets, retry_after
from holmtray.core.ingest.rejected import RejectedLog
from holmtray.core.netfilter import NetSet, Source, forwarded_client
from holmtray.core.parsing.parser import PayloadError, decode_body, parse_event

log = logging.getLogger("holmtray.listener")

Ingest = Callable[[str, Event], Awaitable[InsertResult]]

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/")
_CHUNK = 64 * 1024
HEALTH_PATH = "/healthz"
QUIET_INTERVAL_S = 10.0  # a flood-type rejection is logged once per source and status per this


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """What the listener needs from the settings, parsed once per change.

    The defaults here switch the source limits off; the shipped defaults are in the settings
    schema (``receiver.listener_config`` builds this from the settings).
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


class LiveConfig:
    """The listener's current :class:`ListenerConfig`; replaced whole while running."""

    __slots__ = ("current",)

    def __init__(self, config: ListenerConfig) -> None:
        self.current = config

    def update(self, config: ListenerConfig) -> None:
        self.current = config


class ListenerState:
    """What the listener keeps between requests, shared by the app and its connections.

    The live config, the per-source token buckets, the count of requests in progress, and the
    rejected-requests log with its flood throttle. ``clock`` is monotonic seconds.
    """

    __slots__ = ("_quiet", "buckets", "clock", "in_flight", "live", "rejected")

    def __init__(
        self, *, live: LiveConfig, rejected: RejectedLog, clock: Callable[[], float]
    ) -> None:
        self.live = live
        self.rejected = rejected
        self.clock = clock
        self.buckets = TokenBuckets(clock=clock)
        self.in_flight = 0
        self._quiet = OncePer(interval=QUIET_INTERVAL_S, clock=clock)

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
        self.rejected.record(
            remote=source.text, method=method, path=path, status=status, reason=reason, size=size
        )
        log.info("rejected %s from %s: %d %s", method or "connection", source.text, status, reason)


class _Reject(Exception):
    """Raised inside the handler to answer with an error status and reason.

    ``quiet`` marks flood-type rejections: logged sparingly, and the connection is closed.
    """

    def __init__(
        self,
        status: int,
        reason: str,
        headers: dict[str, str] | None = None,
        *,
        quiet: bool = False,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}
        self.quiet = quiet


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


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": reason}, status=status, headers=headers)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _check_basic(request: web.Request, config: ListenerConfig) -> None:
    if not (config.username or config.password):
        return
    challenge = {"WWW-Authenticate": 'Basic realm="holmtray", charset="UTF-8"'}
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise _Reject(401, "authentication required", challenge)
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise _Reject(401, "malformed Basic credentials", challenge) from None
    # python-requests (Holm's sender) encodes URL credentials as Latin-1; browsers and curl
    # use UTF-8. Accept either spelling of the configured user name and password.
    candidates = [raw.decode("latin-1")]
    with contextlib.suppress(UnicodeDecodeError):
        candidates.append(raw.decode("utf-8"))
    ok = False
    for decoded in candidates:
        user, sep, password = decoded.partition(":")
        # Evaluate both comparisons so the time taken does not tell which one failed.
        ok_user = _same(user, config.username)
        ok_password = _same(password, config.password)
        ok |= bool(sep) and ok_user and ok_password
    if not ok:
        raise _Reject(401, "wrong user name or password", challenge)


async def _read_body(request: web.Request, config: ListenerConfig) -> bytes:
    cap = config.max_body_bytes
    declared = request.content_length
    if declared is not None and declared > cap:
        raise _Reject(413, f"body of {declared} bytes is over the limit of {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(config.read_timeout):
            while True:
                chunk = await request.content.readany()
                if not chunk:
                    break
                size += len(chunk)
                if size > cap:
                    raise _Reject(413, f"body is over the limit of {cap} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise _Reject(408, f"body not received within {config.read_timeout:g} seconds") from None
    return b"".join(chunks)


def _fallback_event(payload: dict[str, Any]) -> Event:
    return Event(
        kind=Kind.CUSTOM, title="Unreadable event", severity=Severity.INFO, payload=payload
    )


async def _hook(request: web.Request) -> web.Response:
    config = request.app[CONFIG_KEY].current
    if not _same(request.match_info.get("token", ""), config.token):
        raise _Reject(404, "not found")
    _check_basic(request, config)
    ctype = request.headers.get("Content-Type", "").lower()
    if any(ctype.startswith(t) for t in _FORM_TYPES):
        raise _Reject(415, "form and multipart bodies are not accepted; send JSON")
    body = await _read_body(request, config)
    try:
        payload = decode_body(body)
    except PayloadError as exc:
        raise _Reject(400, str(exc)) from None
    try:
        event = parse_event(payload)
    except Exception:
        # A parser bug must not lose the event: store it with a plain title and say so.
        log.exception(
            "parser failed on a %d-byte body; storing it as an unreadable event", len(body)
        )
        event = _fallback_event(payload)
    text = body.decode("utf-8")
    try:
        result = await request.app[INGEST_KEY](text, event)
    except StoreUnavailable as exc:
        # The cause only: the exception's full text names the database file.
        raise _Reject(503, f"cannot store the event: {exc.cause}", {"Retry-After": "30"}) from None
    answer: dict[str, Any] = {"id": result.id}
    if result.duplicate:
        answer["duplicate"] = True
    return web.json_response(answer)


async def _healthz(request: web.Request) -> web.Response:
    problem = request.app[HEALTH_KEY]()
    if problem is not None:
        return web.json_response(
            {"status": "error", "error": problem}, status=503, headers={"Retry-After": "30"}
        )
    return web.json_response({"status": "ok"})


def _always_healthy() -> str | None:
    return None


def request_source(request: web.Request, config: ListenerConfig) -> Source:
    """The client of ``request``: the socket's peer, or behind a trusted proxy its client."""
    peer = getattr(request.protocol, "source", None)  # parsed once per connection
    if not isinstance(peer, Source):
        peer = Source.of_peer(request.protocol.peername)
    if config.trusted_proxies and peer.ip in config.trusted_proxies:
        return forwarded_client(
            peer, request.headers.getall("X-Forwarded-For", []), config.trusted_proxies
        )
    return peer


def _admit(
    request: web.Request, source: Source, config: ListenerConfig, state: ListenerState
) -> bool:
    """Raise the source checks' rejection, if any; True when the request counts as in flight."""
    if config.allow_from and source.ip not in config.allow_from:
        raise _Reject(403, "source address not allowed", quiet=True)
    if request.path == HEALTH_PATH:
        return False
    if config.rate_per_minute and source.ip not in config.rate_exempt:
        wait = state.buckets.take(
            source.key, rate_per_s=config.rate_per_minute / 60.0, burst=config.rate_burst
        )
        if wait:
            raise _Reject(
                429,
                f"too many requests: the limit is {config.rate_per_minute} per minute "
                f"after a burst of {config.rate_burst}",
                {"Retry-After": retry_after(wait)},
                quiet=True,
            )
    if state.in_flight >= config.max_concurrent:
        raise _Reject(
            503,
            "too many requests in progress; try again shortly",
            {"Retry-After": "1"},
            quiet=True,
        )
    return True


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    config = state.live.current
    source = request_source(request, config)
    mount = request.app[MOUNT_KEY]
    if mount is not None and mount.claims(request.path):
        # Its own checks instead of these; never counted against max_concurrent.
        return await mount.handle(request, source, state)
    counted = False
    quiet = False
    try:
        counted = _admit(request, source, config, state)
        if counted:
            state.in_flight += 1
        return await handler(request)
    except _Reject as exc:
        status, reason, headers, quiet = exc.status, exc.reason, exc.headers, exc.quiet
    except web.HTTPException as exc:
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
    response = _error(status, reason, headers)
    if quiet or status in (408, 413):
        response.force_close()  # the rest of the body is still on the wire; or a flood
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


def create_app(
    *,
    config: ListenerConfig | LiveConfig,
    ingest: Ingest,
    rejected: RejectedLog,
    health: Callable[[], str | None] = _always_healthy,
    clock: Callable[[], float] = time.monotonic,
    mount: Mount | None = None,
) -> web.Application:
    """The listener application; run it with ``AppRunner(app, access_log=None)``.

    The access log stays off: its lines would carry the token in the path. ``clock`` is the
    monotonic clock of the rate limits (tests pass their own). ``health`` returns
    ``None`` while the store can commit, else why not (``/healthz`` answers 503 with it).
    ``mount`` serves the paths it claims (see :class:`Mount`).
    """
    live = config if isinstance(config, LiveConfig) else LiveConfig(config)
    # The body is read by _read_body with the configured cap, not by aiohttp's helpers.
    app = web.Application(middlewares=[_errors])
    app[CONFIG_KEY] = live
    app[INGEST_KEY] = ingest
    app[REJECTED_KEY] = rejected
    app[STATE_KEY] = ListenerState(live=live, rejected=rejected, clock=clock)
    app[HEALTH_KEY] = health
    app[MOUNT_KEY] = mount
    app.router.add_post(hook_path("{token}"), _hook)
    app.router.add_get(HEALTH_PATH, _healthz)
    return app
