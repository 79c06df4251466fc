"""Test helpers for the relay: an SSE reader over aiohttp, a relay on loopback, posting.

``SSEStream`` reads ``/v1/stream`` with aiohttp's client and
:class:`~holmtray.core.relay.sse.FrameParser`, keeping every frame with the monotonic time it
arrived. ``running_relay`` starts an in-process :class:`Receiver` with ``relay.enabled`` on
port 0 and one read token. ``post_events`` posts unique bodies and returns the acknowledged ids.
Shared by the relay's tests and, later, the subscriber's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.history.places import database_path
from holmtray.core.history.store import Store
from holmtray.core.ingest.receiver import Receiver
from holmtray.core.relay.sse import Frame, FrameParser

WEBHOOK_TOKEN = "relay-test-webhook-token-0123456789abcdefgh"


@dataclass
class Received:
    frame: Frame
    at: float  # time.monotonic() when it was parsed


class SSEStream:
    """One ``GET /v1/stream`` read frame by frame. Use as an async context manager."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base: str,
        token: str | None,
        *,
        after: int | None = None,
        last_event_id: int | str | None = None,
        headers: dict[str, str] | None = None,
        path: str = "/v1/stream",
    ) -> None:
        self._session = session
        self._url = base + path + (f"?after={after}" if after is not None else "")
        self._headers = dict(headers or {})
        if token is not None:
            self._headers["Authorization"] = f"Bearer {token}"
        if last_event_id is not None:
            self._headers["Last-Event-ID"] = str(last_event_id)
        self._response: aiohttp.ClientResponse | None = None
        self._parser = FrameParser()
        self._pending: list[Received] = []
        self.received: list[Received] = []
        self.ended = False

    @property
    def response(self) -> aiohttp.ClientResponse:
        assert self._response is not None
        return self._response

    @property
    def status(self) -> int:
        return self.response.status

    async def __aenter__(self) -> SSEStream:
        self._response = await self._session.get(
            self._url, headers=self._headers, timeout=aiohttp.ClientTimeout(total=None)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._response is not None:
            self._response.close()

    async def json(self) -> Any:
        return await self.response.json()

    async def next(self, timeout: float = 30) -> Frame:
        """The next frame; ``EOFError`` once the stream has ended."""
        async with asyncio.timeout(timeout):
            while not self._pending:
                if self.ended:
                    raise EOFError("the stream ended")
                try:
                    chunk = await self.response.content.readany()
                except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
                    chunk = b""
                if not chunk:
                    self.ended = True
                    continue
                now = time.monotonic()
                for frame in self._parser.feed(chunk):
                    self._pending.append(Received(frame, now))
        got = self._pending.pop(0)
        self.received.append(got)
        return got.frame

    async def until(self, done: Callable[[Frame], bool], timeout: float = 30) -> list[Frame]:
        """Frames up to and including the first that ``done`` accepts."""
        frames = []
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.next(timeout)
                frames.append(frame)
                if done(frame):
                    return frames

    async def event_ids_until(self, last_id: int, timeout: float = 60) -> list[int]:
        """The ids of ``event`` frames up to ``last_id`` (other frames skipped)."""
        ids: list[int] = []
        async with asyncio.timeout(timeout):
            while not ids or ids[-1] < last_id:
                frame = await self.next(timeout)
                if frame.event == "event":
                    ids.append(int(frame.json()["id"]))
        return ids

    async def event_ids(self, count: int, timeout: float = 60) -> list[int]:
        """The ids of the next ``count`` ``event`` frames (other frames skipped)."""
        ids: list[int] = []
        async with asyncio.timeout(timeout):
            while len(ids) < count:
                frame = await self.next(timeout)
                if frame.event == "event":
                    ids.append(int(frame.json()["id"]))
        return ids

    async def rest(self, timeout: float = 30) -> list[Frame]:
        """Every frame until the stream ends."""
        frames = []
        with contextlib.suppress(EOFError):
            while True:
                frames.append(await self.next(timeout))
        return frames


def event_ids(frames: list[Frame]) -> list[int]:
    return [int(f.json()["id"]) for f in frames if f.event == "event"]


def body(n: int, *, pad: int = 0) -> str:
    """A unique webhook body (``pad`` extra characters of filler)."""
    return json.dumps({"subject": f"relay test event {n}", "severity": "low", "pad": "x" * pad})


async def post_events(
    session: aiohttp.ClientSession,
    hook: str,
    numbers: range,
    *,
    rate: float | None = None,
    concurrency: int = 8,
    pad: int = 0,
) -> list[tuple[int, float]]:
    """Post one body per number (``rate`` per second at most); (id, time of the 200) each.

    Fails on any answer but 200.
    """
    acked: list[tuple[int, float]] = []
    todo = iter(numbers)
    start = time.monotonic()
    sent = 0

    async def worker() -> None:
        nonlocal sent
        for n in todo:
            if rate is not None:
                due = start + sent / rate
                sent += 1
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            async with session.post(hook, data=body(n, pad=pad)) as r:
                text = await r.text()
                assert r.status == 200, f"POST {n}: {r.status} {text}"
                acked.append((int(json.loads(text)["id"]), time.monotonic()))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return acked


def never_reading_stream(base: str, token: str) -> socket.socket:
    """A stream whose client never reads: a raw socket with a small receive buffer."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(
        f"GET /v1/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    return sock


def read_all(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return data


@dataclass
class RelayServer:
    """An in-process relay on loopback."""

    receiver: Receiver
    base: str
    hook: str
    db: Path
    token: str  # a read token named "alice"
    paths: Paths
    tokens: dict[str, str] = field(default_factory=dict)

    def add_token(self, name: str) -> str:
        with Store.open(self.db, check=False) as store:
            token = store.tokens.add(name)
        self.tokens[name] = token
        return token

    def revoke(self, name: str) -> bool:
        with Store.open(self.db, check=False) as store:
            return store.tokens.revoke(name)

    def relay_ids(self) -> list[int]:
        with Store.open(self.db, check=False, readonly=True) as store:
            return [e.id for e in store.log.entries_after(0, 10**9)]


def relay_settings(**values: Any) -> Settings:
    base: dict[str, Any] = {
        "listener.token": WEBHOOK_TOKEN,
        "listener.port": 0,
        "relay.enabled": True,
    }
    base.update(values)
    return Settings(base)


@contextlib.asynccontextmanager
async def running_relay(tmp_path: Path, **values: Any) -> AsyncIterator[RelayServer]:
    """A :class:`Receiver` relaying on 127.0.0.1 (settings ``values`` on top of the basics)."""
    paths = Paths.under(tmp_path / "home")
    settings = relay_settings(**values)
    receiver = Receiver(settings=settings, paths=paths)
    endpoint = await receiver.start()
    base = endpoint.local_url()
    server = RelayServer(
        receiver=receiver,
        base=base,
        hook=f"{base}/hooks/{WEBHOOK_TOKEN}",
        db=database_path(settings, paths),
        token="",
        paths=paths,
    )
    server.token = server.add_token("alice")
    try:
        yield server
    finally:
        await receiver.stop()
