"""RelayClient against a relay over loopback HTTP, storing into a real SQLite mirror."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.core.ingest.subscribing import (
    Owner,
    make_client,
    mirror_cursor,
    mirror_rows,
    settings_for,
    until,
)
from tests.relaytools import TestRelay


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[TestRelay]:
    r = TestRelay(tmp_path / "relay" / "events.db")
    await r.start()
    yield r
    await r.stop()
    r.close()


async def test_first_subscribe_loads_everything_then_streams_live(
    relay: TestRelay, tmp_path: Path
) -> None:
    relay.add(50)
    owner = Owner()
    client = make_client(settings_for(relay.url), tmp_path / "data", owner)
    await client.start()
    try:
        await until(owner.live, "live")
        assert owner.event_ids() == list(range(1, 51))
        assert all(backfill for _, backfill in owner.of("events"))
        relay.add(5)
        await until(lambda: len(owner.event_ids()) == 55, "live events")
        assert owner.of("events")[-1][1] is False
    finally:
        await client.stop()
    db = tmp_path / "data" / client.database.name  # type: ignore[union-attr]
    assert [b for _, b in mirror_rows(db)] == [e.body for e in relay.all_entries()]
    assert mirror_cursor(db, relay.store.log.relay_id()) == 55
