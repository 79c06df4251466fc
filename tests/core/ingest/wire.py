"""Raw HTTP/1.1 over loopback sockets against a real receiver, for the listener's tests.

The tests that pin what the listener does *before* it reads a body need to see exactly what
goes over the wire and when: whether an answer (or a ``100 Continue``) arrives before the body
is sent, and whether the connection is closed after it. aiohttp's client hides both, so these
helpers write bytes and read bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.ingest.listener import STATE_KEY, ListenerState
from holmtray.core.ingest.receiver import Receiver
from holmtray.core.ingest.rejected import RejectedLog, Rejection

TOKEN = "Wire-token-0123456789abcdefghijklmnopqrst"
HOOK = f"/hooks/{TOKEN}"
WAIT = 5.0  # a generous bound on answers that should come at once (lingering would be 10 s)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Answer:
    """One response: its status, headers (lower-case names), body, and the 1xx before it."""

    status: int
    headers: dict[str, str]
    body: bytes
    interim: list[int] = field(default_factory=list)

    def json(self) -> object:
        return json.loads(self.body)

    @property
    def is_json_error(self) -> bool:
        if not self.headers.get("content-type", "").startswith("application/json"):
            return False
        data = self.json()
        return isinstance(data, dict) and isinstance(data.get("error"), str)


def request(
    method: str = "POST",
    path: str = HOOK,
    headers: list[tuple[str, str]] | None = None,
    *,
    raw_headers: list[bytes] | None = None,
    length: int | None = None,
    close: bool = True,
) -> bytes:
    """A request head; ``length`` adds ``Content-Length``; ``raw_headers`` go as given."""
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    if close:
        lines.append(b"Connection: close")
    lines += [f"{k}: {v}".encode() for k, v in headers or []]
    lines += raw_headers or []
    if length is not None:
        lines.append(f"Content-Length: {length}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


class _Client(asyncio.Protocol):
    """Keeps every byte received, even when a reset follows them (a stream reader drops them)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.lost = asyncio.get_running_loop().create_future()
        self.changed = asyncio.Event()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.changed.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)
        self.changed.set()


class Conn:
    """One client connection; reads answers as they come, and tells when it is closed."""

    def __init__(self, client: _Client) -> None:
        self._client = client
        self._cursor = 0

    async def send(self, data: bytes) -> None:
        transport = self._client.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    async def _until(self, size: int | None, timeout: float) -> bytes:
        """The next ``size`` bytes, or (``None``) up to the end of the next response head."""
        async with asyncio.timeout(timeout):
            while True:
                data = self._client.data
                if size is None:
                    end = data.find(b"\r\n\r\n", self._cursor)
                    stop = end + 4 if end >= 0 else -1
                else:
                    stop = self._cursor + size if len(data) - self._cursor >= size else -1
                if stop >= 0:
                    chunk = bytes(data[self._cursor : stop])
                    self._cursor = stop
                    return chunk
                if self._client.lost.done():
                    raise ConnectionError(f"closed after {bytes(data[self._cursor :])[:200]!r}")
                self._client.changed.clear()
                await self._client.changed.wait()

    async def interim_or_answer(self, timeout: float = WAIT) -> Answer:
        """The next response head: a ``1xx`` (its status, no body) or a whole answer."""
        head = await self._until(None, timeout)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if status < 200:
            return Answer(status, headers, b"")
        body = await self._until(int(headers.get("content-length", "0")), timeout)
        return Answer(status, headers, body)

    async def answer(self, timeout: float = WAIT) -> Answer:
        """The next final answer, with any ``1xx`` sent before it in ``interim``."""
        interim: list[int] = []
        while True:
            a = await self.interim_or_answer(timeout)
            if a.status >= 200:
                a.interim = interim
                return a
            interim.append(a.status)

    async def closed(self, timeout: float = WAIT) -> bool:
        """Whether the server closes the connection within ``timeout``."""
        try:
            await asyncio.wait_for(asyncio.shield(self._client.lost), timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        if self._client.transport is not None:
            self._client.transport.close()

    def abort(self) -> None:
        """Go away with a reset, as a client killed mid-request does."""
        if self._client.transport is not None:
            self._client.transport.abort()


@dataclass
class Rig:
    """A running :class:`Receiver` on 127.0.0.1 with a fake monotonic clock."""

    receiver: Receiver
    paths: Paths
    clock: FakeClock

    @property
    def port(self) -> int:
        return self.receiver.endpoint.port

    @property
    def state(self) -> ListenerState:
        runner = self.receiver._runner  # the live app's counters, read-only here
        assert runner is not None
        return runner.app[STATE_KEY]

    async def connect(self, source: str = "127.0.0.1") -> Conn:
        _, client = await asyncio.get_running_loop().create_connection(
            _Client, "127.0.0.1", self.port, local_addr=(source, 0)
        )
        return Conn(client)

    async def exchange(self, data: bytes, *, source: str = "127.0.0.1") -> Answer:
        """Send ``data`` on a new connection; its answer (the connection is then closed)."""
        conn = await self.connect(source)
        try:
            await conn.send(data)
            return await conn.answer()
        finally:
            conn.close()

    def rows(self) -> int:
        con = sqlite3.connect(self.paths.database)
        try:
            return int(con.execute("SELECT count(*) FROM events").fetchone()[0])
        finally:
            con.close()

    def rejections(self) -> list[Rejection]:
        return RejectedLog(self.paths.rejected_log).newest(None)


@contextlib.asynccontextmanager
async def rig(tmp_path: Path, **overrides: object) -> AsyncIterator[Rig]:
    values: dict[str, object] = {"listener.token": TOKEN, "listener.port": 0}
    values.update(overrides)
    paths = Paths.under(tmp_path / "home")
    clock = FakeClock()
    receiver = Receiver(settings=Settings(values), paths=paths, monotonic=clock)
    await receiver.start()
    try:
        yield Rig(receiver, paths, clock)
    finally:
        await receiver.stop()


def reconfigure(r: Rig, **changes: object) -> None:
    """Change the running listener's config (fields the settings do not carry, say)."""
    live = r.state.live
    live.update(dataclasses.replace(live.current, **changes))  # type: ignore[arg-type]
