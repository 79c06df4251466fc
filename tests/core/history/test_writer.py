"""The group-commit writer, against real SQLite files (no mocks)."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from holmtray.core.events import Event, Kind, Severity, StoredEvent
from holmtray.core.history.database import StoreError, StoreUnavailable
from holmtray.core.history.query import EventQuery
from holmtray.core.history.schema import SCHEMA_VERSION
from holmtray.core.history.store import InsertResult, NewEvent, Store
from holmtray.core.history.writer import GroupCommitWriter

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def make_event(i: int) -> tuple[str, Event]:
    payload = {"ticket": {"n": i}}
    event = Event(kind=Kind.TICKET, title=f"Ticket {i}", severity=Severity(i % 5), payload=payload)
    return json.dumps(payload), event


def rows(db: Path) -> list[tuple[int, str]]:
    """What another program reading the file sees."""
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT id, body FROM events ORDER BY id").fetchall()
    finally:
        con.close()


def locker(db: Path) -> sqlite3.Connection:
    """Another connection holding the write lock until it rolls back."""
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    return con


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "events.sqlite3"


class Batches:
    """An on_commit that records each batch and the thread it ran on."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.events: list[StoredEvent] = []
        self.threads: set[int] = set()

    def __call__(self, events: list[StoredEvent]) -> None:
        self.sizes.append(len(events))
        self.events.extend(events)
        self.threads.add(threading.get_ident())


@pytest.fixture
def batches() -> Batches:
    return Batches()


@pytest.fixture
async def writer(db: Path, batches: Batches) -> AsyncIterator[GroupCommitWriter]:
    w = GroupCommitWriter(store_path=db, on_commit=batches, busy_timeout_s=5.0)
    await w.start()
    yield w
    await w.close()


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


# ---- durability and ordering -----------------------------------------------------------------


async def test_submit_returns_only_after_the_row_is_visible_to_another_connection(
    db: Path,
) -> None:
    seen_in_on_commit: list[object] = []

    def on_commit(events: list[StoredEvent]) -> None:
        con = sqlite3.connect(db)
        for e in events:
            seen_in_on_commit.append(
                con.execute("SELECT body FROM events WHERE id = ?", (e.id,)).fetchone()
            )
        con.close()

    w = GroupCommitWriter(store_path=db, on_commit=on_commit)
    await w.start()
    body, event = make_event(1)
    result = await w.submit(body, event)
    assert rows(db) == [(result.id, body)]  # right after submit returns
    assert seen_in_on_commit == [(body,)]  # and already inside on_commit
    assert result.stored is not None
    assert result.stored.body == body
    assert result.stored.event == event
    await w.close()


async def test_received_at_comes_from_the_injected_clock(db: Path) -> None:
    w = GroupCommitWriter(store_path=db, clock=lambda: NOW)
    await w.start()
    result = await w.submit(*make_event(1))
    await w.close()
    with Store.open(db) as s:
        got = s.get(result.id)
    assert got is not None
    assert got.received_at == NOW


async def test_on_commit_runs_on_the_event_loop_thread_with_the_new_events(
    writer: GroupCommitWriter, batches: Batches
) -> None:
    results = await asyncio.gather(*(writer.submit(*make_event(i)) for i in range(3)))
    assert batches.threads == {threading.get_ident()}
    assert sorted(e.id for e in batches.events) == sorted(r.id for r in results)
    assert any(t.name.startswith("holmtray-writer") for t in threading.enumerate())


async def test_duplicate_submit_answers_the_original_id_and_is_not_announced(
    writer: GroupCommitWriter, batches: Batches, db: Path
) -> None:
    first = await writer.submit(*make_event(1))
    again = await writer.submit(*make_event(1))
    assert again == InsertResult(id=first.id, duplicate=True, stored=None)
    assert batches.sizes == [1]
    assert len(rows(db)) == 1


# ---- group commit ----------------------------------------------------------------------------


async def test_concurrent_submits_share_far_fewer_commits(
    writer: GroupCommitWriter, db: Path
) -> None:
    results = await asyncio.gather(*(writer.submit(*make_event(i)) for i in range(200)))
    assert len({r.id for r in results}) == 200
    assert len(rows(db)) == 200
    assert writer.commits <= 10


async def test_submissions_during_a_commit_collect_into_the_next_batch(
    writer: GroupCommitWriter, batches: Batches, db: Path
) -> None:
    lock = locker(db)  # the first commit waits on this lock
    first = asyncio.create_task(writer.submit(*make_event(0)))
    await asyncio.sleep(0.2)
    rest = [asyncio.create_task(writer.submit(*make_event(i))) for i in range(1, 51)]
    await asyncio.sleep(0.05)
    lock.execute("ROLLBACK")
    await asyncio.gather(first, *rest)
    assert batches.sizes == [1, 50]
    assert writer.commits == 2


async def test_batches_never_exceed_max_batch(db: Path, batches: Batches) -> None:
    w = GroupCommitWriter(store_path=db, on_commit=batches, max_batch=16)
    await w.start()
    await asyncio.gather(*(w.submit(*make_event(i)) for i in range(100)))
    await w.close()
    assert sum(batches.sizes) == 100
    assert max(batches.sizes) <= 16
    assert w.commits >= 7


# ---- shutdown --------------------------------------------------------------------------------


async def test_close_commits_everything_already_submitted(db: Path) -> None:
    w = GroupCommitWriter(store_path=db)
    await w.start()
    tasks = [asyncio.create_task(w.submit(*make_event(i))) for i in range(50)]
    await asyncio.sleep(0)  # every task has queued its event, none has been answered
    await w.close()
    assert all(t.done() and not t.cancelled() for t in tasks)
    assert sorted(t.result().id for t in tasks) == [i for i, _ in rows(db)]
    assert len(rows(db)) == 50


async def test_submit_after_close_is_store_unavailable(db: Path) -> None:
    w = GroupCommitWriter(store_path=db)
    await w.start()
    await w.close()
    with pytest.raises(StoreUnavailable, match="shutting down"):
        await w.submit(*make_event(1))
    with pytest.raises(StoreUnavailable):
        await w.run_retention_now()
    await w.close()  # a second close is harmless


async def test_submit_before_start_is_store_unavailable(db: Path) -> None:
    w = GroupCommitWriter(store_path=db)
    with pytest.raises(StoreUnavailable, match="not started"):
        await w.submit(*make_event(1))
    await w.close()


# ---- cancellation ----------------------------------------------------------------------------


async def test_cancelled_submitters_events_are_still_stored(
    writer: GroupCommitWriter, db: Path
) -> None:
    lock = locker(db)
    in_flight = asyncio.create_task(writer.submit(*make_event(1)))
    await asyncio.sleep(0.2)  # its batch is now waiting for the lock
    queued = asyncio.create_task(writer.submit(*make_event(2)))
    await asyncio.sleep(0.05)  # queued behind the running commit
    in_flight.cancel()
    queued.cancel()
    lock.execute("ROLLBACK")
    after = await writer.submit(*make_event(3))  # goes after both of them

    assert in_flight.cancelled()
    assert queued.cancelled()
    bodies = [b for _, b in rows(db)]
    assert bodies == [make_event(i)[0] for i in (1, 2, 3)]
    assert after.id == 3


# ---- failures and recovery -------------------------------------------------------------------


async def test_failed_commit_fails_its_whole_batch_and_the_writer_recovers(db: Path) -> None:
    w = GroupCommitWriter(store_path=db, busy_timeout_s=0.2)
    await w.start()
    lock = locker(db)
    try:
        outcomes = await asyncio.gather(
            *(w.submit(*make_event(i)) for i in range(5)), return_exceptions=True
        )
    finally:
        lock.execute("ROLLBACK")
    assert all(isinstance(o, StoreUnavailable) for o in outcomes), outcomes
    assert "locked" in str(outcomes[0])
    assert rows(db) == []

    result = await w.submit(*make_event(9))
    assert rows(db) == [(result.id, make_event(9)[0])]
    assert w.commits == 1
    await w.close()


async def test_writer_reopens_when_the_folder_was_removed_and_recovers_when_possible(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "data"
    db = folder / "events.sqlite3"
    w = GroupCommitWriter(store_path=db)
    await w.start()
    await w.submit(*make_event(1))

    shutil.rmtree(folder)
    folder.write_text("a file where the folder was")  # the folder cannot be made again
    with caplog.at_level(logging.WARNING), pytest.raises(StoreUnavailable, match="cannot create"):
        await w.submit(*make_event(2))
    assert "removed or replaced" in caplog.text

    folder.unlink()  # the fault clears
    result = await w.submit(*make_event(3))
    assert rows(db) == [(result.id, make_event(3)[0])]  # a new, empty database
    await w.close()


async def test_on_commit_errors_are_logged_and_do_not_stop_the_writer(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(events: list[StoredEvent]) -> None:
        raise RuntimeError("the GUI is broken")

    w = GroupCommitWriter(store_path=db, on_commit=broken)
    await w.start()
    with caplog.at_level(logging.ERROR, logger="holmtray.history.writer"):
        await w.submit(*make_event(1))
        await w.submit(*make_event(2))
    await w.close()
    assert len(rows(db)) == 2
    assert "on_commit callback failed" in caplog.text


async def test_start_fails_with_store_error_for_a_newer_database(db: Path) -> None:
    Store.open(db).close()
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    w = GroupCommitWriter(store_path=db)
    with pytest.raises(StoreError, match="newer"):
        await w.start()
    with pytest.raises(StoreUnavailable):
        await w.submit(*make_event(1))


async def test_recovered_from_reports_a_damaged_file_moved_aside_at_start(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"\x00garbage" * 1000)
    w = GroupCommitWriter(store_path=db)
    await w.start()
    assert w.recovered_from is not None
    assert w.recovered_from.read_bytes() == b"\x00garbage" * 1000
    await w.submit(*make_event(1))
    await w.close()
    assert len(rows(db)) == 1


# ---- retention -------------------------------------------------------------------------------


def seed(db: Path, *, old: int, recent: int) -> None:
    with Store.open(db) as s:
        items = [
            NewEvent(*make_event(i), received_at=NOW - timedelta(days=100, seconds=-i))
            for i in range(old)
        ]
        items += [
            NewEvent(*make_event(1000 + i), received_at=NOW - timedelta(hours=1, seconds=-i))
            for i in range(recent)
        ]
        s.insert_many(items)


def count(db: Path) -> int:
    return len(rows(db))


async def test_retention_runs_at_start_and_reads_the_settings_each_time(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seed(db, old=10, recent=5)
    limits = {"now": (30, 0)}
    w = GroupCommitWriter(store_path=db, retention=lambda: limits["now"], clock=lambda: NOW)
    with caplog.at_level(logging.INFO, logger="holmtray.history.writer"):
        await w.start()
        await wait_for(lambda: count(db) == 5)
        limits["now"] = (0, 2)  # the user changed the setting
        assert await w.run_retention_now() == 3
    await w.close()
    assert count(db) == 2
    assert "retention removed 10 events" in caplog.text
    assert "retention removed 3 events" in caplog.text


async def test_retention_repeats_every_interval(db: Path) -> None:
    calls: list[int] = []

    def limits() -> tuple[int, int]:
        calls.append(1)
        return (0, 3)

    w = GroupCommitWriter(store_path=db, retention=limits, retention_interval_s=0.02)
    await w.start()
    await w.submit(*make_event(1))
    await wait_for(lambda: len(calls) >= 3)
    for i in range(2, 7):
        await w.submit(*make_event(i))
    await wait_for(lambda: count(db) == 3)
    await w.close()


async def test_retention_of_many_rows_lets_submits_through_in_between(db: Path) -> None:
    seed(db, old=6000, recent=0)
    w = GroupCommitWriter(store_path=db, retention=lambda: (30, 0), clock=lambda: NOW)
    await w.start()
    result = await w.submit(*make_event(99_999))
    assert result.duplicate is False
    assert count(db) > 1  # committed between retention steps, not after all of them
    await wait_for(lambda: count(db) == 1)
    await w.close()


async def test_without_retention_settings_nothing_is_removed(db: Path) -> None:
    seed(db, old=3, recent=0)
    w = GroupCommitWriter(store_path=db, clock=lambda: NOW)
    await w.start()
    assert await w.run_retention_now() == 0
    await w.close()
    with Store.open(db) as s:
        assert s.count(EventQuery()) == 3
