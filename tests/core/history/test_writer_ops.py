"""The writer's named operations (set_read, mark_all_read, delete, restore) on real SQLite files.

Each must change the database, run in its place among the inserts submitted around it, fail
as an insert batch does (the store's error raised, the health set, cleared by the probe), and
leave its trace in the writer's operation log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from holmtray.core.events import Event, Kind, Severity, StoredEvent
from holmtray.core.history import writer as writer_mod
from holmtray.core.history.database import StoreUnavailable
from holmtray.core.history.query import EventQuery
from holmtray.core.history.store import Store
from holmtray.core.history.writer import GroupCommitWriter, Operation
from tests.core.history.test_faults import LOCKED, wait_for_health
from tests.core.history.test_relaylog import replicated
from tests.core.history.test_writer import locker, make_event, rows


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "events.sqlite3"


@pytest.fixture
async def writer(db: Path) -> AsyncIterator[GroupCommitWriter]:
    w = GroupCommitWriter(store_path=db, busy_timeout_s=0.2, probe_interval_s=0.05)
    await w.start()
    yield w
    await w.close()


def read_flags(db: Path) -> dict[int, bool]:
    """id -> read, as another program reading the file sees them."""
    con = sqlite3.connect(db)
    try:
        return {int(i): bool(r) for i, r in con.execute("SELECT id, read FROM events")}
    finally:
        con.close()


def stored(db: Path) -> list[StoredEvent]:
    with Store.open(db, readonly=True, check=False) as s:
        return s.query(EventQuery(limit=None, oldest_first=True))


async def submit_all(w: GroupCommitWriter, numbers: range) -> list[int]:
    return [(await w.submit(*make_event(i))).id for i in numbers]


def names(w: GroupCommitWriter) -> list[str]:
    """The operation log's names, runs of insert batches as one "insert"."""
    out: list[str] = []
    for op in w.operations:
        if not (op.name == "insert" and out and out[-1] == "insert"):
            out.append(op.name)
    return out


# ---- each operation changes the database -------------------------------------------------------


async def test_set_read_changes_the_flags_and_counts_only_real_changes(
    writer: GroupCommitWriter, db: Path
) -> None:
    a, b, c = await submit_all(writer, range(3))
    assert await writer.set_read([a, b]) == 2
    assert read_flags(db) == {a: True, b: True, c: False}
    assert await writer.set_read([a, b, 999]) == 0  # already read, or absent
    assert await writer.set_read([b], read=False) == 1
    assert read_flags(db) == {a: True, b: False, c: False}
    assert writer.operations[-3:] == [
        Operation("set_read", 2),
        Operation("set_read", 0),
        Operation("set_read", 1),
    ]


async def test_mark_all_read_applies_the_query(writer: GroupCommitWriter, db: Path) -> None:
    ids = await submit_all(writer, range(10))  # severity i % 5
    high = EventQuery(min_severity=Severity.HIGH)
    assert await writer.mark_all_read(high) == 4
    assert {i for i, r in read_flags(db).items() if r} == {ids[3], ids[4], ids[8], ids[9]}
    assert await writer.mark_all_read(high) == 0
    assert await writer.mark_all_read() == 6  # None: every event
    assert all(read_flags(db).values())
    assert [op for op in writer.operations if op.name == "mark_all_read"] == [
        Operation("mark_all_read", 4),
        Operation("mark_all_read", 0),
        Operation("mark_all_read", 6),
    ]


async def test_mark_all_read_ids_names_the_rows_changed_so_set_read_can_undo_it(
    writer: GroupCommitWriter, db: Path
) -> None:
    ids = await submit_all(writer, range(10))  # severity i % 5
    await writer.set_read([ids[4]])
    high = EventQuery(min_severity=Severity.HIGH)
    changed = await writer.mark_all_read_ids(high)
    assert changed == [ids[3], ids[8], ids[9]]  # ids[4] was read already
    assert await writer.set_read(changed, read=False) == 3  # the undo
    assert {i for i, r in read_flags(db).items() if r} == {ids[4]}
    assert writer.operations[-2:] == [Operation("mark_all_read", 3), Operation("set_read", 3)]


async def test_delete_then_restore_puts_back_the_same_ids_flags_and_bodies(
    writer: GroupCommitWriter, db: Path
) -> None:
    ids = await submit_all(writer, range(5))
    await writer.set_read(ids[:2])
    before = stored(db)
    gone = [s for s in before if s.id in {ids[0], ids[3]}]

    assert await writer.delete([ids[0], ids[3], 999]) == 2
    assert [i for i, _ in rows(db)] == [ids[1], ids[2], ids[4]]

    await writer.restore(gone)
    assert stored(db) == before
    await writer.restore(gone)  # undoing twice is harmless
    assert stored(db) == before
    assert writer.operations[-3:] == [
        Operation("delete", 2),
        Operation("restore", 2),
        Operation("restore", 2),
    ]


async def test_inserts_are_on_record_with_the_rows_they_added(writer: GroupCommitWriter) -> None:
    await writer.submit(*make_event(1))
    await writer.submit(*make_event(1))  # a duplicate adds no row
    assert writer.operations == [Operation("insert", 1), Operation("insert", 0)]


async def test_the_operation_log_keeps_only_the_latest(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_mod, "OPERATION_LOG_SIZE", 3)
    w = GroupCommitWriter(store_path=db)
    await w.start()
    ids = await submit_all(w, range(2))
    await w.set_read(ids)
    await w.delete(ids)
    await w.close()
    assert w.operations == [
        Operation("insert", 1),
        Operation("set_read", 2),
        Operation("delete", 2),
    ]


# ---- in turn with the inserts ------------------------------------------------------------------


async def test_an_operation_sees_every_insert_submitted_before_it_and_none_after(
    writer: GroupCommitWriter, db: Path
) -> None:
    # Submitted together, without waiting for any commit: the queue's order is the order.
    first = [asyncio.create_task(writer.submit(*make_event(i))) for i in range(3)]
    marked = asyncio.create_task(writer.mark_all_read())
    later = [asyncio.create_task(writer.submit(*make_event(i))) for i in range(3, 5)]
    assert await marked == 3
    first_ids = [r.id for r in await asyncio.gather(*first)]
    later_ids = [r.id for r in await asyncio.gather(*later)]
    assert read_flags(db) == {i: i in first_ids for i in first_ids + later_ids}
    assert names(writer) == ["insert", "mark_all_read", "insert"]


async def test_a_delete_submitted_right_after_inserts_deletes_them(
    writer: GroupCommitWriter, db: Path
) -> None:
    inserts = [asyncio.create_task(writer.submit(*make_event(i))) for i in range(4)]
    await asyncio.sleep(0)  # the submits are queued, none is committed yet
    assert rows(db) == []
    # A fresh file numbers from 1; the delete is queued behind the four inserts.
    assert await writer.delete([1, 2, 3, 4]) == 4
    assert [r.id for r in await asyncio.gather(*inserts)] == [1, 2, 3, 4]
    assert rows(db) == []
    assert names(writer) == ["insert", "delete"]


async def test_operations_run_one_at_a_time_in_the_order_called(
    writer: GroupCommitWriter, db: Path
) -> None:
    ids = await submit_all(writer, range(3))
    snapshot = stored(db)
    calls = [
        writer.delete(ids),
        writer.restore(snapshot),
        writer.set_read(ids[:1]),
        writer.delete(ids[2:]),
    ]
    assert await asyncio.gather(*calls) == [3, None, 1, 1]
    assert read_flags(db) == {ids[0]: True, ids[1]: False}
    assert [op.name for op in writer.operations[-4:]] == ["delete", "restore", "set_read", "delete"]


# ---- failures ----------------------------------------------------------------------------------


async def test_a_locked_database_fails_each_operation_sets_the_health_and_logs_it(
    writer: GroupCommitWriter, db: Path
) -> None:
    ids = await submit_all(writer, range(3))
    snapshot = stored(db)
    lock = locker(db)
    try:
        for call in (
            writer.set_read(ids),
            writer.mark_all_read(),
            writer.delete(ids),
            writer.restore([dataclasses.replace(snapshot[0], id=100)]),
        ):
            with pytest.raises(StoreUnavailable, match="locked"):
                await call
            assert writer.health == LOCKED
    finally:
        lock.execute("ROLLBACK")
    failed = writer.operations[-4:]
    assert [op.name for op in failed] == ["set_read", "mark_all_read", "delete", "restore"]
    assert all(op.rows == 0 and op.error and "locked" in op.error for op in failed)
    assert read_flags(db) == dict.fromkeys(ids, False)  # nothing changed

    await wait_for_health(writer, None)  # the probe saw the lock go
    assert await writer.delete(ids) == 3
    assert writer.operations[-1] == Operation("delete", 3)


async def test_a_full_disk_fails_a_restore_and_sets_the_health(
    writer: GroupCommitWriter, db: Path
) -> None:
    [event_id] = await submit_all(writer, range(1))
    [kept] = stored(db)
    big = json.dumps({"pad": "x" * 100_000})  # needs new pages: the file must grow
    event = Event(kind=Kind.CUSTOM, title="big", severity=Severity.LOW, payload=json.loads(big))
    lost = StoredEvent(id=50, received_at=kept.received_at, read=True, event=event, body=big)

    # The simulation of a full disk (see test_faults.py): SQLite answers SQLITE_FULL past
    # max_page_count, set on the writer's own connection on its thread.
    def limit(pages: int | None) -> None:
        conn: sqlite3.Connection = writer._store._conn  # type: ignore[union-attr]
        if pages is None:
            (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages}")

    await writer._run(limit, None)
    with pytest.raises(StoreUnavailable, match="disk is full"):
        await writer.restore([lost])
    assert writer.health == "cannot store events: the disk is full"
    assert writer.operations[-1].name == "restore"
    assert "disk is full" in (writer.operations[-1].error or "")
    assert [i for i, _ in rows(db)] == [event_id]

    await writer._run(limit, 1_073_741_823)
    await wait_for_health(writer, None)
    await writer.restore([lost])
    assert [s.id for s in stored(db)] == [event_id, 50]


async def test_an_unexpected_error_is_raised_as_it_is_and_sets_the_health(
    writer: GroupCommitWriter, db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await submit_all(writer, range(1))
    [kept] = stored(db)
    naive = dataclasses.replace(kept, id=7, received_at=datetime(2025, 1, 1))  # a bug: no zone
    with (
        caplog.at_level(logging.ERROR, logger="holmtray.history.writer"),
        pytest.raises(ValueError, match="timezone-aware"),
    ):
        await writer.restore([naive])
    assert "restore failed unexpectedly" in caplog.text
    assert writer.health == "cannot store events: unexpected error (see the log)"
    assert writer.operations[-1].name == "restore"
    assert "timezone-aware" in (writer.operations[-1].error or "")
    await wait_for_health(writer, None)  # the database itself is fine: the probe says so


async def test_operations_before_start_or_after_close_are_store_unavailable(db: Path) -> None:
    w = GroupCommitWriter(store_path=db)
    with pytest.raises(StoreUnavailable, match="not started"):
        await w.set_read([1])
    await w.start()
    await w.close()
    with pytest.raises(StoreUnavailable, match="shutting down"):
        await w.delete([1])


async def test_close_runs_every_operation_already_called(db: Path) -> None:
    w = GroupCommitWriter(store_path=db)
    await w.start()
    ids = await submit_all(w, range(2))
    pending = asyncio.create_task(w.delete(ids))
    await asyncio.sleep(0)  # queued
    await w.close()
    assert await pending == 2
    assert rows(db) == []


async def test_submit_replicated_stores_relay_ids_moves_the_cursor_and_is_logged(
    writer: GroupCommitWriter, db: Path
) -> None:
    got = await writer.submit_replicated("R", [replicated(i) for i in (7, 8)])
    assert [e.id for e in got] == [7, 8]
    again = await writer.submit_replicated("R", [replicated(i) for i in (8, 9)])
    assert [e.id for e in again] == [9]
    assert [op for op in writer.operations if op.name == "replicate"] == [
        Operation("replicate", 2),
        Operation("replicate", 1),
    ]
    with Store.open(db, readonly=True, check=False) as s:
        assert s.mirror.cursor("R") == 9
        assert s.query_ids(EventQuery(limit=None, oldest_first=True)) == [7, 8, 9]
