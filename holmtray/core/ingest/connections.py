"""The listener's connections: the header deadline, the per-source connection cap, the site.

aiohttp bounds an idle connection (``keepalive_timeout``) and a body (our ``read_timeout``) but
not the request line and headers: a client that trickles a header byte now and then would hold
its connection for the whole keep-alive time, and many such clients would hold every socket
(slow-loris). :class:`GuardedHandler` is aiohttp's per-connection protocol with a header
deadline added:

- A new connection must deliver a complete request head within ``header_timeout`` seconds.
- On a kept-alive connection the deadline starts again with the first byte of the next request;
  a connection that sends nothing is idle and left to ``keepalive_timeout``, as before.
- When the deadline passes with the head still incomplete, the client gets a 408 and the
  connection is closed. Bytes arriving do not extend it.

Whether a head is complete is read from the handler's own bookkeeping: ``_request_count``
(bumped by ``data_received`` for every parsed head) and ``_waiter`` (pending while the handler
waits for the next head); the same state aiohttp's own keep-alive check reads. A head that
arrives pipelined behind a request still in progress gets no header deadline of its own; its
connection stays bounded by ``keepalive_timeout``.

Its connections never inflate a compressed body (aiohttp's ``auto_decompress`` is off: the
listener refuses ``Content-Encoding`` before reading) and never linger: aiohttp would read and
discard an unread body for up to ten seconds after the answer; here the connection is closed
right after it. And aiohttp's router, which answers ``Expect: 100-continue`` before any check
of the application runs, never sees that header on a request target without a path (an
authority-form ``CONNECT``, say) that the listener's catch-all route cannot take.

Requests aiohttp cannot parse (a bad request line, header or chunk) are answered with a short
JSON error instead of aiohttp's plain-text one, which echoes the offending line (and with it
any token in the path), and are logged as rejections, sparingly, instead of as a traceback per
request: the internet sends plenty of those.

It also caps open connections per source (trusted proxies and ``rate_exempt`` sources are not
capped), and :class:`ListenerSite` binds the socket with these handlers, TLS when given a
context, and the TLS handshake bounded by the header deadline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
from http import HTTPStatus
from typing import Any

from aiohttp import StreamReader, hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from multidict import CIMultiDict, CIMultiDictProxy

from holmtray.core.ingest.listener import ListenerState
from holmtray.core.netfilter import Source

log = logging.getLogger("holmtray.ingest.connections")

# Where a parser message starts quoting the request: keep only the words before it.
_QUOTE_START = re.compile(r"""[(:"\\]|\bb'|bytearray""")


def _raw_error(status: int, phrase: str, reason: str) -> bytes:
    body = json.dumps({"error": reason}).encode()
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class SourceConnections:
    """Open connections per source key, for the per-source cap; entries go when they hit 0."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._counts)

    def add(self, key: str, cap: int) -> bool:
        """Count one more connection from ``key``; False (not counted) if it is at ``cap``."""
        n = self._counts.get(key, 0)
        if n >= cap:
            return False
        self._counts[key] = n + 1
        return True

    def remove(self, key: str) -> None:
        n = self._counts.get(key, 0) - 1
        if n > 0:
            self._counts[key] = n
        else:
            self._counts.pop(key, None)


class GuardedHandler(web.RequestHandler):
    """aiohttp's connection handler plus the header deadline and the per-source cap."""

    __slots__ = ("_counted", "_deadline", "_factory", "_heads", "_state", "_tally", "source")

    def __init__(
        self, manager: web.Server, *, state: ListenerState, tally: SourceConnections, **kw: Any
    ) -> None:
        super().__init__(manager, **kw)
        self._state = state
        self._tally = tally
        self._deadline: asyncio.TimerHandle | None = None
        self._heads = 0
        self._counted = False
        self.source = Source(text="?", ip=None, key="?")
        self._factory = self._request_factory
        self._request_factory = self._make_request

    def _make_request(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: web.RequestHandler,
        writer: AbstractStreamWriter,
        task: asyncio.Task[None],
    ) -> web.BaseRequest:
        url = message.url
        if hdrs.EXPECT in message.headers and not (url.relative() if url.absolute else url).path:
            # No route takes a target without a path, so aiohttp's router would answer it
            # (404) after sending 100 Continue itself: drop the expectation it would honour.
            message = message._replace(
                headers=CIMultiDictProxy(
                    CIMultiDict((k, v) for k, v in message.headers.items() if k.lower() != "expect")
                ),
                raw_headers=tuple((k, v) for k, v in message.raw_headers if k.lower() != b"expect"),
            )
        assert self._factory is not None
        return self._factory(message, payload, protocol, writer, task)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.source = Source.of_peer(transport.get_extra_info("peername"))
        super().connection_made(transport)
        config = self._state.live.current
        cap = config.max_connections_per_source
        if (
            cap
            and self.source.ip not in config.trusted_proxies
            and self.source.ip not in config.rate_exempt
        ):
            if not self._tally.add(self.source.key, cap):
                self._refuse(
                    503,
                    "Service Unavailable",
                    f"too many open connections from this source (the limit is {cap})",
                )
                return
            self._counted = True
        self._arm(config.header_timeout)

    def data_received(self, data: bytes) -> None:
        heads = self._request_count
        super().data_received(data)
        if self._request_count != heads:
            self._disarm()  # a whole head arrived (or a malformed one, answered 400)
        elif self._deadline is None and data and self._idle():
            self._arm(self._state.live.current.header_timeout)  # first byte of the next head

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        if self._counted:
            self._counted = False
            self._tally.remove(self.source.key)
        super().connection_lost(exc)

    def _idle(self) -> bool:
        """Waiting for the next request head (no request in progress, none parsed)."""
        waiter = self._waiter
        return waiter is not None and not waiter.done()

    def _arm(self, seconds: float) -> None:
        self._heads = self._request_count
        self._deadline = self._loop.call_later(seconds, self._expired, seconds)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, seconds: float) -> None:
        self._deadline = None
        if self._request_count != self._heads or self.transport is None:
            return
        self._refuse(
            408, "Request Timeout", f"request headers not received within {seconds:g} seconds"
        )

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's answer to an unparsable request (4xx) or a handler crash (5xx), in JSON."""
        if status >= 500:
            # A bug on our side: keep the traceback (the log formatter masks secrets).
            log.error("error handling a request from %s", self.source.text, exc_info=exc)
            reason = HTTPStatus(status).phrase.lower()
        else:
            # The parser's message quotes the offending bytes; keep only its first words.
            text = (message or (str(exc) if exc else "")).strip()
            text = text.removeprefix("400, message=").strip("'\" \n")
            detail = _QUOTE_START.split(text, maxsplit=1)[0].strip()[:80]
            reason = f"malformed HTTP request ({detail})" if detail else "malformed HTTP request"
            reason = self._state.redactor.clean(reason)
            self._state.reject(
                source=self.source, method="", path="", status=status, reason=reason, quiet=True
            )
        if request.writer.output_size > 0:
            raise ConnectionError("the response was already started; cannot send an error")
        response = web.json_response({"error": reason}, status=status)
        response.force_close()
        return response

    def _refuse(self, status: int, phrase: str, reason: str) -> None:
        """Answer before any request was read, close, and note it (sparingly, under a flood)."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(_raw_error(status, phrase, reason))
        self._state.reject(
            source=self.source, method="", path="", status=status, reason=reason, quiet=True
        )
        self.force_close()  # transport.close() sends what was written, then closes


class ListenerSite(web.BaseSite):
    """A TCP site whose connections are :class:`GuardedHandler` (TLS when given a context)."""

    __slots__ = ("_handler_kw", "_handshake_timeout", "_host", "_port", "_state", "_tally")

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        *,
        state: ListenerState,
        ssl_context: ssl.SSLContext | None = None,
        keepalive_timeout: float = 15.0,
        handshake_timeout: float = 10.0,
        backlog: int = 512,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host = host
        self._port = port
        self._state = state
        self._tally = SourceConnections()
        self._handshake_timeout = handshake_timeout
        # access_log=None: an access line would carry the token in the path.
        # auto_decompress=False: never inflate a body; lingering_time=0: never read the rest
        # of a body after answering without it.
        self._handler_kw: dict[str, Any] = {
            "keepalive_timeout": keepalive_timeout,
            "access_log": None,
            "auto_decompress": False,
            "lingering_time": 0,
        }

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None

        def connection() -> GuardedHandler:
            return GuardedHandler(
                server, loop=loop, state=self._state, tally=self._tally, **self._handler_kw
            )

        extra: dict[str, Any] = {}
        if self._ssl_context is not None:
            extra["ssl_handshake_timeout"] = self._handshake_timeout
        self._server = await loop.create_server(
            connection,
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            **extra,
        )
