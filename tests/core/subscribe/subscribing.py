"""Helpers for the subscriber's tests: relay fixtures, a recording owner, settings, and reading
a mirror. Test modules make fixtures of ``serve_relay`` and ``serve_https_relay``."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from holmtray.core.config.settings import Settings
from holmtray.core.events import StoredEvent
from holmtray.core.subscribe.client import RelayClient
from holmtray.core.subscribe.source import Live, RelayState
from tests.core.ingest.test_listener_hardening import Pki
from tests.relaystub import TOKEN, TestRelay


def settings_for(url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "subscribe.urls": [url],
        "subscribe.token": TOKEN,
        "subscribe.read_timeout": 5.0,
        "source.mode": "relay",
    }
    values.update(extra)
    return Settings(values)


@dataclass
class Owner:
    """Records everything a RelayClient reports, in order."""

    log: list[tuple[str, Any]] = field(default_factory=list)

    def on_events(self, events: list[StoredEvent], backfill: bool) -> None:
        self.log.append(("events", ([e.id for e in events], backfill)))

    def on_state(self, state: RelayState) -> None:
        self.log.append(("state", state))

    def on_notice(self, text: str) -> None:
        self.log.append(("notice", text))

    def on_database(self, path: Path) -> None:
        self.log.append(("database", path))

    def kwargs(self) -> dict[str, Any]:
        return {
            "on_events": self.on_events,
            "on_state": self.on_state,
            "on_notice": self.on_notice,
            "on_database": self.on_database,
        }

    def of(self, kind: str) -> list[Any]:
        return [v for k, v in self.log if k == kind]

    def event_ids(self) -> list[int]:
        return [i for ids, _ in self.of("events") for i in ids]

    @property
    def state(self) -> RelayState | None:
        states = self.of("state")
        return states[-1] if states else None

    def live(self) -> bool:
        return isinstance(self.state, Live)


async def until(cond: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Wait (polling) for ``cond``; a generous limit so a slow machine is not a failure."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def mirror_rows(path: Path) -> list[tuple[int, str]]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [(int(i), str(b)) for i, b in con.execute("SELECT id, body FROM events ORDER BY id")]
    finally:
        con.close()


def mirror_cursor(path: Path, relay_id: str) -> int:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT last_id FROM replica WHERE relay_id = ?", (relay_id,)).fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


def make_client(settings: Settings, data_dir: Path, owner: Owner, **kw: Any) -> RelayClient:
    return RelayClient(settings=settings, data_dir=data_dir, **owner.kwargs(), **kw)


@contextlib.asynccontextmanager
async def running(client: RelayClient) -> AsyncIterator[RelayClient]:
    """``client`` started, and stopped at the end of the block."""
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def serve_relay(tmp_path: Path) -> AsyncIterator[TestRelay]:
    """The test relay over plain HTTP on loopback (a test module makes it a fixture:
    ``relay_fixture = pytest.fixture(name="relay")(serve_relay)``)."""
    r = TestRelay(tmp_path / "relay" / "events.db")
    await r.start()
    yield r
    await r.stop()
    r.close()


async def serve_https_relay(tmp_path: Path, pki: Pki) -> AsyncIterator[TestRelay]:
    """The test relay over HTTPS, its certificate signed by the ``pki`` fixture's CA."""
    relay = TestRelay(tmp_path / "relay" / "events.db")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.cert, pki.key)
    await relay.start(ssl_context=context)
    yield relay
    await relay.stop()
    relay.close()
