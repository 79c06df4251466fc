"""One HTTP conversation with a relay: open ``/v1/stream`` or ask ``/v1/status``, safely.

This module owns the client side of the wire and nothing about what the messages mean:

- :class:`RelayTarget` — the relay's base URL and how to reach it. Plain ``http://`` to another
  computer is refused unless allowed (the token and events would cross the network in the
  clear); ``https://`` is verified against the system's CAs plus ``subscribe.ca_file``.
- The read token goes only in ``Authorization: Bearer``, never in a URL; redirects are not
  followed (a header would go wherever the relay points); the token is never part of an
  error's text, and relay-supplied text is masked for it before it is shown.
- :func:`open_stream` asks for the events after a cursor with both ``Last-Event-ID`` and
  ``?after=`` (a proxy that drops one header must not silently turn a resume into "new events
  only"), and hands back a :class:`Stream` whose reads have a deadline (reset by any byte:
  the relay pings every ~20 s) and return every message already buffered, so a backfill of
  thousands arrives in a few large batches.
- Every failure is a :class:`RelayError` subclass whose message names the problem in plain
  words (refused token, connection refused, TLS, timeout, busy, ahead of the relay).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from holmtray.core.config.checks import relay_url_is_local
from holmtray.core.config.schema import SettingsError, setting
from holmtray.core.relay.sse import FrameError, FrameParser
from holmtray.core.subscribe import relaymsg
from holmtray.core.subscribe.relaymsg import Message, ProtocolError

log = logging.getLogger("holmtray.subscribe.relayconn")

READ_BUFSIZE = 1024 * 1024
"""Bytes aiohttp buffers per response before it stops reading the socket."""
_MASK = "<redacted>"


class RelayError(Exception):
    """Talking to the relay failed; ``str()`` says why, without the token."""


class RelayConfigError(RelayError):
    """The address, CA file or token cannot be used as configured (retrying will not help)."""


class RelayRefused(RelayError):
    """401/403: the relay refused the read token (or this computer)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class RelayTLSError(RelayError):
    """The TLS handshake or the relay's certificate failed."""


class RelayUnreachable(RelayError):
    """No connection: refused, no route, unknown host, no answer in time."""


class RelayBusy(RelayError):
    """The relay asked to come back later (503/429), perhaps with ``Retry-After``."""

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RelayAhead(RelayError):
    """409: this client's cursor is beyond the relay's last id."""

    def __init__(self, message: str, *, relay_id: str | None, last_id: int | None) -> None:
        super().__init__(message)
        self.relay_id = relay_id
        self.last_id = last_id


class StreamLost(RelayError):
    """The stream ended or went silent past the read deadline."""


@dataclass(frozen=True, slots=True)
class RelayTarget:
    """Where the relay is and how to talk to it."""

    url: str
    token: str
    ca_file: str = ""
    allow_http: bool = False
    read_timeout: float = 60.0

    def __repr__(self) -> str:  # never show the token
        return f"RelayTarget(url={self.url!r}, token=<redacted>, ca_file={self.ca_file!r})"

    @property
    def host(self) -> str:
        """The relay's host (and port when given), for messages and the tray."""
        return urlsplit(self.url).netloc or self.url

    def endpoint(self, path: str) -> str:
        return self.url.rstrip("/") + path

    def check(self) -> None:
        """:class:`RelayConfigError` if the address or token cannot be used as set."""
        if not self.url:
            raise RelayConfigError("no relay address is set (subscribe.urls)")
        try:
            setting("subscribe.urls").validate([self.url])
        except SettingsError as exc:
            raise RelayConfigError(str(exc)) from None
        if self.url.startswith("http://") and not (self.allow_http or relay_url_is_local(self.url)):
            raise RelayConfigError(
                f"{self.url} is plain HTTP to another computer: the read token and the events "
                "would cross the network unencrypted; use https:// (or allow it with "
                "subscribe.allow_http)"
            )
        if not self.token:
            raise RelayConfigError("no read token is set (subscribe.token)")
        try:
            setting("subscribe.token").validate(self.token)
        except SettingsError as exc:
            raise RelayConfigError(str(exc)) from None

    def mask(self, text: str) -> str:
        """``text`` with the token masked (for anything the relay or a library wrote)."""
        return text.replace(self.token, _MASK) if self.token else text


def tls_context(ca_file: str) -> ssl.SSLContext:
    """A verifying client context: the system's CAs, plus ``ca_file`` when given."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file:
        path = Path(ca_file).expanduser()
        try:
            context.load_verify_locations(cafile=str(path))
        except FileNotFoundError:
            raise RelayConfigError(
                f"CA file {path} does not exist (setting 'subscribe.ca_file')"
            ) from None
        except (ssl.SSLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
            raise RelayConfigError(
                f"CA file {path} holds no usable PEM certificate ({reason}) "
                "(setting 'subscribe.ca_file')"
            ) from None
    return context


def new_session(target: RelayTarget) -> aiohttp.ClientSession:
    """A session for one relay (TLS context and buffer size set; no cookies, no env proxy)."""
    ssl_arg: ssl.SSLContext | bool = (
        tls_context(target.ca_file) if target.url.startswith("https://") else False
    )
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=ssl_arg, limit=4),
        cookie_jar=aiohttp.DummyCookieJar(),
        read_bufsize=READ_BUFSIZE,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=target.read_timeout),
    )


def _headers(target: RelayTarget) -> dict[str, str]:
    return {"Authorization": f"Bearer {target.token}", "Cache-Control": "no-cache"}


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 24 * 3600))
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, min((when - datetime.now(UTC)).total_seconds(), 24 * 3600.0))
    return None


async def _said(target: RelayTarget, resp: aiohttp.ClientResponse) -> str:
    """The relay's own words for a refusal (its JSON ``error``), masked and bounded."""
    try:
        text = (await resp.content.read(4096)).decode("utf-8", "replace")
        data = json.loads(text)
        said = data.get("error") if isinstance(data, dict) else None
    except (TimeoutError, ValueError, aiohttp.ClientError):
        said = None
    if not isinstance(said, str) or not said.strip():
        return ""
    clean = "".join(ch if ch.isprintable() else " " for ch in target.mask(said))[:200]
    return f": {target.mask(clean)}"


async def _fail_for_status(target: RelayTarget, resp: aiohttp.ClientResponse) -> RelayError:
    status = resp.status
    if status == 401:
        return RelayRefused(
            f"the relay refused the read token (HTTP 401{await _said(target, resp)})", status=401
        )
    if status == 403:
        return RelayRefused(
            f"the relay refused this computer or token (HTTP 403{await _said(target, resp)})",
            status=403,
        )
    if status in (429, 503):
        return RelayBusy(
            f"the relay is busy (HTTP {status}{await _said(target, resp)})",
            retry_after=_retry_after(resp.headers.get("Retry-After")),
        )
    if status == 409:
        text = (await resp.content.read(4096)).decode("utf-8", "replace")
        relay_id, last_id = relaymsg.conflict(text)
        shown = f" (its last is {last_id})" if last_id is not None else ""
        return RelayAhead(
            f"the relay has no events after the one asked for{shown} (HTTP 409)",
            relay_id=relay_id,
            last_id=last_id,
        )
    if 300 <= status < 400:
        where = target.mask(resp.headers.get("Location", ""))[:200]
        return RelayConfigError(
            f"the relay address redirects (HTTP {status}) to {where or 'elsewhere'}; "
            "set that address in subscribe.urls"
        )
    if status == 404:
        return RelayConfigError(
            f"no holmtray relay at {target.url} (HTTP 404): is relay.enabled set on that host, "
            "and is this its base address?"
        )
    return RelayUnreachable(f"the relay answered HTTP {status}{await _said(target, resp)}")


def describe(target: RelayTarget, exc: BaseException) -> RelayError:
    """A transport exception as a :class:`RelayError` naming the problem."""
    if isinstance(exc, RelayError):
        return exc
    host = target.host
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        why = getattr(exc.certificate_error, "verify_message", None) or exc.certificate_error
        return RelayTLSError(f"the TLS certificate of {host} was not accepted: {why}")
    if isinstance(exc, (aiohttp.ClientSSLError, ssl.SSLError)):
        return RelayTLSError(f"the TLS handshake with {host} failed: {target.mask(str(exc))}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return RelayUnreachable(f"connection refused by {host}")
        if isinstance(os_error, socket.gaierror):
            return RelayUnreachable(f"cannot find the relay's host {exc.host}")
        return RelayUnreachable(
            f"cannot connect to {host}: {os_error.strerror or os_error or type(os_error).__name__}"
        )
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return RelayUnreachable(f"no answer from {host} within {target.read_timeout:g} s")
    if isinstance(exc, (FrameError, ProtocolError)):
        return StreamLost(f"the relay at {host} sent an unusable stream: {exc}")
    if isinstance(exc, aiohttp.ClientError | OSError):
        text = target.mask(str(exc)) or type(exc).__name__
        return StreamLost(f"the connection to {host} broke: {text}")
    return RelayError(f"talking to {host} failed: {type(exc).__name__}")


class Stream:
    """An open ``/v1/stream`` response, read message by message."""

    def __init__(self, *, target: RelayTarget, resp: aiohttp.ClientResponse) -> None:
        self._target = target
        self._resp = resp
        self._parser = FrameParser()
        self.bytes_read = 0

    async def messages(self) -> list[Message]:
        """The messages in the next bytes to arrive plus all already buffered, in order.

        Raises :class:`StreamLost` when no byte came within the read deadline, the relay
        closed the stream or sent something unusable.
        """
        content = self._resp.content
        while True:
            try:
                async with asyncio.timeout(self._target.read_timeout):
                    chunk = await content.readany()
            except TimeoutError:
                raise StreamLost(
                    f"nothing from {self._target.host} for {self._target.read_timeout:g} s"
                ) from None
            except (aiohttp.ClientError, OSError) as exc:
                raise describe(self._target, exc) from None
            if not chunk:
                raise StreamLost(f"{self._target.host} closed the stream")
            self.bytes_read += len(chunk)
            try:
                frames = self._parser.feed(chunk)
                found = [m for m in (relaymsg.decode(f) for f in frames) if m is not None]
            except (FrameError, ProtocolError) as exc:
                raise describe(self._target, exc) from None
            if found:
                return found

    def close(self) -> None:
        self._resp.close()


@contextlib.asynccontextmanager
async def open_stream(
    session: aiohttp.ClientSession, target: RelayTarget, *, after: int | None
) -> AsyncIterator[Stream]:
    """``GET /v1/stream`` for the events after ``after`` (``None``: new events only)."""
    headers = _headers(target)
    headers["Accept"] = "text/event-stream"
    params: dict[str, str] = {}
    if after is not None:
        headers["Last-Event-ID"] = str(after)
        params["after"] = str(after)
    try:
        async with asyncio.timeout(target.read_timeout):
            resp = await session.get(
                target.endpoint("/v1/stream"),
                headers=headers,
                params=params,
                allow_redirects=False,
            )
    except Exception as exc:  # every transport failure, named
        raise describe(target, exc) from None
    try:
        if resp.status != 200:
            raise await _fail_for_status(target, resp)
        ctype = resp.headers.get("Content-Type", "")
        if not ctype.lower().startswith("text/event-stream"):
            raise RelayConfigError(
                f"{target.url} answered, but not with an event stream ({ctype[:60] or 'no type'}): "
                "is it a holmtray relay?"
            )
        yield Stream(target=target, resp=resp)
    finally:
        resp.close()


async def fetch_status(session: aiohttp.ClientSession, target: RelayTarget) -> relaymsg.RelayStatus:
    """``GET /v1/status``."""
    try:
        async with asyncio.timeout(target.read_timeout):
            async with session.get(
                target.endpoint("/v1/status"), headers=_headers(target), allow_redirects=False
            ) as resp:
                if resp.status != 200:
                    raise await _fail_for_status(target, resp)
                text = (await resp.content.read(65536)).decode("utf-8", "replace")
    except RelayError:
        raise
    except Exception as exc:
        raise describe(target, exc) from None
    try:
        return relaymsg.status(text)
    except ProtocolError as exc:
        raise StreamLost(f"the relay at {target.host} sent an unusable status: {exc}") from None
