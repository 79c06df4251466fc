"""The webhook listener: an aiohttp application that turns POSTs into stored events.

It owns the HTTP contract: which path, which credentials, which limits, and which answer for
what. It does not store anything itself; it is given an ``ingest`` coroutine (the group-commit
writer's ``submit``) and answers 2xx only once that coroutine says the row is committed.

Answers: 200 ``{"id": N}`` (plus ``"duplicate": true``); 400 bad JSON; 401 missing or wrong
Basic credentials; 404 unknown path or wrong token (the same answer for both); 405 wrong
method; 408 body too slow; 413 body over the cap; 415 form or multipart body; 503 the store
cannot commit. Every error is JSON ``{"error": "..."}`` and every rejection is recorded in the
rejected-requests log, without body, token or credentials.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from holmtray.core.events import Event, Kind, Severity
from holmtray.core.parser import PayloadError, decode_body, parse_event
from holmtray.core.rejected import RejectedLog
from holmtray.core.store import InsertResult, StoreUnavailable

log = logging.getLogger("holmtray.listener")

Ingest = Callable[[str, Event], Awaitable[InsertResult]]

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/")
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """What the listener needs from the settings."""

    token: str
    username: str = ""
    password: str = ""
    max_body_bytes: int = 1024 * 1024
    read_timeout: float = 10.0


class LiveConfig:
    """The listener's current :class:`ListenerConfig`; replaced whole while running."""

    __slots__ = ("current",)

    def __init__(self, config: ListenerConfig) -> None:
        self.current = config

    def update(self, config: ListenerConfig) -> None:
        self.current = config


class _Reject(Exception):
    """Raised inside the handler to answer with an error status and reason."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


CONFIG_KEY = web.AppKey("config", LiveConfig)
INGEST_KEY: web.AppKey[Ingest] = web.AppKey("ingest")
REJECTED_KEY = web.AppKey("rejected", RejectedLog)


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
        raise _Reject(503, f"cannot store the event: {exc}", {"Retry-After": "30"}) from None
    answer: dict[str, Any] = {"id": result.id}
    if result.duplicate:
        answer["duplicate"] = True
    return web.json_response(answer)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    rejected = request.app[REJECTED_KEY]
    try:
        return await handler(request)
    except _Reject as exc:
        status, reason, headers = exc.status, exc.reason, exc.headers
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        status = exc.status
        reason = {404: "not found", 405: f"method {request.method} not allowed"}.get(
            status, exc.reason
        )
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
    response = _error(status, reason, headers)
    if status in (408, 413):
        response.force_close()  # the rest of the body is still on the wire
    rejected.record(
        remote=request.remote,
        method=request.method,
        path=request.path,
        status=status,
        reason=reason,
        size=request.content_length,
    )
    log.info("rejected %s from %s: %d %s", request.method, request.remote, status, reason)
    return response


def create_app(
    *, config: ListenerConfig | LiveConfig, ingest: Ingest, rejected: RejectedLog
) -> web.Application:
    """The listener application; run it with ``AppRunner(app, access_log=None)``.

    The access log stays off: its lines would carry the token in the path.
    """
    live = config if isinstance(config, LiveConfig) else LiveConfig(config)
    # The body is read by _read_body with the configured cap, not by aiohttp's helpers.
    app = web.Application(middlewares=[_errors])
    app[CONFIG_KEY] = live
    app[INGEST_KEY] = ingest
    app[REJECTED_KEY] = rejected
    app.router.add_post("/hooks/{token}", _hook)
    app.router.add_get("/healthz", _healthz)
    return app
