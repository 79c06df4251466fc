"""What the listener decides from the request line and headers, before it reads a body byte.

Each check raises :class:`Reject` with the status, the reason and any headers of the answer;
the listener (:mod:`holmtray.core.ingest.listener`) calls them in its documented order and
turns a :class:`Reject` into the JSON error. Every header is untrusted input: a value that is
not ASCII, not UTF-8 or not what its name promises is a 4xx here, never an exception.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
from enum import Enum

from aiohttp import web

from holmtray.core.ingest.endpoint import HOOK_PREFIX
from holmtray.core.ingest.ratelimit import TokenBuckets, retry_after
from holmtray.core.netfilter import NetSet, Source, forwarded_client

HEALTH_PATH = "/healthz"
HEALTH_METHODS = ("GET", "HEAD")

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/")
_IDENTITY = "identity"
_CONTINUE = "100-continue"


class Reject(Exception):
    """Answer with an error status and reason instead of going on.

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


class Target(Enum):
    """What a request is for, from its path and method."""

    HEALTH = "health"
    HOOK = "hook"


def same(a: str, b: str) -> bool:
    """Constant-time equality of two strings (any code points, lone surrogates included)."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def request_source(request: web.BaseRequest, trusted_proxies: NetSet) -> Source:
    """The client of ``request``: the socket's peer, or behind a trusted proxy its client."""
    peer = getattr(request.protocol, "source", None)  # parsed once per connection
    if not isinstance(peer, Source):
        peer = Source.of_peer(request.protocol.peername)
    if trusted_proxies and peer.ip in trusted_proxies:
        return forwarded_client(
            peer, request.headers.getall("X-Forwarded-For", []), trusted_proxies
        )
    return peer


def check_version(version: tuple[int, int]) -> None:
    """400 for anything but HTTP/1.0 and HTTP/1.1 (aiohttp's parser lets 0.9 and 2.0 through)."""
    if version not in ((1, 0), (1, 1)):
        raise Reject(400, "unsupported HTTP version; send HTTP/1.1")


def check_source(
    *,
    source: Source,
    path: str,
    allow_from: NetSet,
    rate_exempt: NetSet,
    rate_per_minute: int,
    rate_burst: int,
    buckets: TokenBuckets,
    in_flight: int,
    max_concurrent: int,
) -> bool:
    """The source checks; True when the request counts against ``max_concurrent``.

    403 outside ``allow_from`` (every path); then, except for the health check, 429 over the
    source's rate and 503 when ``max_concurrent`` requests are in progress.
    """
    if allow_from and source.ip not in allow_from:
        raise Reject(403, "source address not allowed", quiet=True)
    if path == HEALTH_PATH:
        return False
    if rate_per_minute and source.ip not in rate_exempt:
        wait = buckets.take(source.key, rate_per_s=rate_per_minute / 60.0, burst=rate_burst)
        if wait:
            raise Reject(
                429,
                f"too many requests: the limit is {rate_per_minute} per minute "
                f"after a burst of {rate_burst}",
                {"Retry-After": retry_after(wait)},
                quiet=True,
            )
    if in_flight >= max_concurrent:
        raise Reject(
            503,
            "too many requests in progress; try again shortly",
            {"Retry-After": "1"},
            quiet=True,
        )
    return True


def route(method: str, path: str, token: str) -> Target:
    """Which target ``method path`` is: 404 for an unknown path or a wrong token, else 405.

    A wrong token and an unknown path get the same answer. The method is checked before the
    token, as a router would, so a 405 says nothing about the token either.
    """
    if path == HEALTH_PATH:
        if method not in HEALTH_METHODS:
            raise Reject(405, f"method {method} not allowed", {"Allow": ",".join(HEALTH_METHODS)})
        return Target.HEALTH
    segment = path.removeprefix(HOOK_PREFIX)
    if segment == path or not segment or "/" in segment:
        raise Reject(404, "not found")
    if method != "POST":
        raise Reject(405, f"method {method} not allowed", {"Allow": "POST"})
    if not same(segment, token):
        raise Reject(404, "not found")
    return Target.HOOK


_CHALLENGE = {"WWW-Authenticate": 'Basic realm="holmtray", charset="UTF-8"'}


def check_basic(header: str, username: str, password: str) -> None:
    """401 unless ``header`` (the ``Authorization`` value) carries the configured credentials."""
    if not (username or password):
        return
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise Reject(401, "authentication required", _CHALLENGE)
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except ValueError:  # binascii.Error, or a value that is not ASCII at all
        raise Reject(401, "malformed Basic credentials", _CHALLENGE) from None
    # python-requests (Holm's sender) encodes URL credentials as Latin-1; browsers and curl
    # use UTF-8. Accept either spelling of the configured user name and password.
    candidates = [raw.decode("latin-1")]
    with contextlib.suppress(UnicodeDecodeError):
        candidates.append(raw.decode("utf-8"))
    ok = False
    for decoded in candidates:
        user, sep, secret = decoded.partition(":")
        # Evaluate both comparisons so the time taken does not tell which one failed.
        ok_user = same(user, username)
        ok_password = same(secret, password)
        ok |= bool(sep) and ok_user and ok_password
    if not ok:
        raise Reject(401, "wrong user name or password", _CHALLENGE)


def _tokens(values: list[str]) -> list[str]:
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def check_body_headers(request: web.BaseRequest, *, cap: int) -> bool:
    """What the headers say about the body: 415, 413 or 417; True when 100-continue is asked.

    415 for a compressed body (``Content-Encoding`` other than identity: holmtray does not
    inflate) or a form or multipart body; 413 when the declared length is over ``cap``; 417
    for an expectation other than ``100-continue``.
    """
    headers = request.headers
    if any(e != _IDENTITY for e in _tokens(headers.getall("Content-Encoding", []))):
        raise Reject(
            415, "compressed bodies are not accepted; send the JSON without Content-Encoding"
        )
    for ctype in headers.getall("Content-Type", []):
        if ctype.strip().lower().startswith(_FORM_TYPES):
            raise Reject(415, "form and multipart bodies are not accepted; send JSON")
    declared = request.content_length
    if declared is not None and declared > cap:
        raise Reject(413, f"body of {declared} bytes is over the limit of {cap} bytes")
    return check_expect(headers.getall("Expect", []))


def check_expect(values: list[str]) -> bool:
    """417 for an expectation other than ``100-continue``; True when 100-continue is asked."""
    expectations = _tokens(values)
    if any(e != _CONTINUE for e in expectations):
        raise Reject(417, "unsupported expectation; only 100-continue is understood")
    return bool(expectations)
