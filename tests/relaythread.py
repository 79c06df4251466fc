"""A relay on loopback running on a thread of its own, for tests whose own thread is busy with
something else (a Qt event loop, a tray app subprocess to watch).

``RelayThread(tmp_path, **settings)`` starts :func:`tests.relaytools.running_relay` on a private
asyncio loop, optionally behind a :class:`tests.relaystub.BlackHoleProxy` (``proxy=True``:
``url`` is then the proxy's, and :meth:`hold` / :meth:`release` cut and restore it), and offers
blocking helpers: :meth:`post` (unique bodies, the acknowledged ids) and the relay's stored
entries. Use it as a context manager; leaving stops the relay and the loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiohttp

from holmtray.core.history.relaylog import LogEntry
from holmtray.core.history.store import Store
from tests.relaystub import BlackHoleProxy
from tests.relaytools import RelayServer, post_events, running_relay

T = TypeVar("T")


class RelayThread:
    """See the module docstring."""

    def __init__(self, tmp_path: Path, *, proxy: bool = False, **settings: Any) -> None:
        self._tmp = tmp_path
        self._settings = settings
        self._with_proxy = proxy
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Future[None] | None = None
        self.server: RelayServer | None = None
        self.proxy: BlackHoleProxy | None = None

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _serve(self, ready: asyncio.Future[None]) -> None:
        self._stop = asyncio.Event()
        try:
            async with running_relay(self._tmp, **self._settings) as server:
                self.server = server
                if self._with_proxy:
                    port = int(server.base.rsplit(":", 1)[1])
                    self.proxy = BlackHoleProxy(port)
                    await self.proxy.start()
                ready.set_result(None)
                await self._stop.wait()
                if self.proxy is not None:
                    await self.proxy.close()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    def __enter__(self) -> RelayThread:
        self._thread.start()

        async def start() -> None:
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._task = asyncio.ensure_future(self._serve(ready))
            await ready

        self._run(start())
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        async def stop() -> None:
            assert self._stop is not None
            assert self._task is not None
            self._stop.set()
            await self._task

        try:
            self._run(stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)

    @property
    def relay(self) -> RelayServer:
        assert self.server is not None
        return self.server

    @property
    def url(self) -> str:
        """Where subscribers connect: the proxy when there is one, else the relay."""
        return self.proxy.url if self.proxy is not None else self.relay.base

    @property
    def token(self) -> str:
        return self.relay.token

    def post(self, numbers: range, **kwargs: Any) -> list[int]:
        """Post one unique body per number to the relay's webhook; the ids, ascending."""

        async def go() -> list[int]:
            async with aiohttp.ClientSession() as session:
                acked = await post_events(session, self.relay.hook, numbers, **kwargs)
            return sorted(i for i, _ in acked)

        return self._run(go())

    def post_bodies(self, bodies: list[str]) -> list[int]:
        """Post these bodies, one after the other; their ids."""

        async def go() -> list[int]:
            ids = []
            async with aiohttp.ClientSession() as session:
                for body in bodies:
                    async with session.post(self.relay.hook, data=body) as r:
                        text = await r.text()
                        assert r.status == 200, f"{r.status} {text}"
                        ids.append(int(json.loads(text)["id"]))
            return ids

        return self._run(go())

    def hold(self) -> None:
        """The proxy becomes a black hole: open streams stall, new connections hang."""
        assert self.proxy is not None
        self._loop.call_soon_threadsafe(self.proxy.hold)

    def release(self) -> None:
        assert self.proxy is not None
        self._loop.call_soon_threadsafe(self.proxy.release)

    def entries(self) -> list[LogEntry]:
        """Every event the relay keeps, ascending."""
        with Store.open(self.relay.db, check=False, readonly=True) as store:
            return store.log.entries_after(0, 10**9)


def mirror_entries(path: Path) -> list[LogEntry]:
    """Every event a mirror database holds, ascending (ids are the relay's)."""
    with Store.open(path, check=False, readonly=True) as store:
        return store.log.entries_after(0, 10**9)
