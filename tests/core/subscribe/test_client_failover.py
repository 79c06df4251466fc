"""Several relay addresses (``subscribe.urls``): the subscriber moves on when its relay stops
answering and resumes from the same cursor on the next, as with relays that share one
PostgreSQL database (here: two relay stubs serving one store, so the same relay id and ids)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from holmtray.core.subscribe.client import RelayClient
from tests.core.subscribe.subscribing import Owner, make_client, running, settings_for, until
from tests.relaystub import TestRelay


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[TestRelay, TestRelay]]:
    db = tmp_path / "relay" / "events.db"
    a, b = TestRelay(db), TestRelay(db, first_seq=1_000_000)
    await a.start()
    await b.start()
    yield a, b
    await a.stop()
    await b.stop()
    a.close()
    b.close()


def client_for(urls: list[str], data: Path, owner: Owner) -> RelayClient:
    settings = settings_for(urls[0], **{"subscribe.urls": urls})
    return make_client(settings, data, owner, rng=lambda: 0.0)


async def test_a_relay_that_dies_is_left_for_the_next_and_nothing_is_missed_or_repeated(
    pair: tuple[TestRelay, TestRelay], tmp_path: Path
) -> None:
    a, b = pair
    owner = Owner()
    async with running(client_for([a.url, b.url], tmp_path / "data", owner)) as client:
        first = a.add(5)
        await until(lambda: owner.event_ids() == first and owner.live(), "the first events")
        assert client.target.url == a.url
        await a.stop(bye=None)  # streams cut, the port closed: a crashed relay
        more = b.add(5)
        await until(lambda: owner.event_ids() == first + more, "the events after the failover")
        assert client.target.url == b.url
        assert client.cursor == more[-1]
        assert b.requests[-1]["Last-Event-ID"] == str(first[-1])  # resumed by id
        ids = owner.event_ids()
        assert ids == sorted(set(ids))


async def test_a_relay_that_shuts_down_is_left_for_the_next_at_once(
    pair: tuple[TestRelay, TestRelay], tmp_path: Path
) -> None:
    a, b = pair
    owner = Owner()
    async with running(client_for([a.url, b.url], tmp_path / "data", owner)) as client:
        await until(owner.live, "live on the first relay")
        a.say_bye("shutdown")  # (still answering, so a reconnect to it would be seen)
        await until(lambda: client.target.url == b.url and b.subscribers == 1, "the second relay")
        assert client.connects == 2
        assert len(a.connects) == 1  # not tried again
        more = b.add(3)
        await until(lambda: owner.event_ids() == more, "events from the second relay")


async def test_an_unreachable_first_address_is_skipped_at_start(
    pair: tuple[TestRelay, TestRelay], tmp_path: Path
) -> None:
    a, b = pair
    await a.stop()
    owner = Owner()
    async with running(client_for([a.url, b.url], tmp_path / "data", owner)) as client:
        ids = b.add(2)
        await until(lambda: owner.event_ids() == ids, "events from the second address")
        assert client.target.url == b.url
