"""Schema v5: the unread summary from ``unread_counts``, kept by triggers, always equals the
scanning query it replaced — after any sequence of writes, through every write path, from
another connection, and after migrating a v4 database — on real SQLite files."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holmtray.core.events import Kind, Severity, StoredEvent
from holmtray.core.history import schema
from holmtray.core.history.codec import INSERT_SQL, row_values
from holmtray.core.history.query import EventQuery
from holmtray.core.history.store import Store
from tests.core.history.test_store import T0, build_v1, new


def scanned(db: Path) -> tuple[int, Severity | None]:
    """The summary as it used to be computed: a scan of the unread events."""
    con = sqlite3.connect(db)
    try:
        n, top = con.execute("SELECT count(*), max(severity) FROM events WHERE read = 0").fetchone()
    finally:
        con.close()
    return int(n), (Severity(top) if top is not None else None)


def per_severity(db: Path) -> tuple[dict[int, int], dict[int, int]]:
    """The kept counts (zero rows left out) and the counts by a scan."""
    con = sqlite3.connect(db)
    try:
        kept = dict(con.execute("SELECT severity, n FROM unread_counts WHERE n != 0"))
        counted = dict(
            con.execute("SELECT severity, count(*) FROM events WHERE read = 0 GROUP BY severity")
        )
    finally:
        con.close()
    return kept, counted


# One step of a random history: what it does and its arguments (ids are picked by position
# among the rows present, so every step applies whatever came before).
steps = st.one_of(
    st.tuples(st.just("insert"), st.integers(1, 12)),
    st.tuples(st.just("read"), st.lists(st.integers(0, 60), max_size=8), st.booleans()),
    st.tuples(st.just("read_all"), st.sampled_from([None, *Kind]), st.booleans()),
    st.tuples(st.just("delete"), st.lists(st.integers(0, 60), max_size=8), st.booleans()),
    st.tuples(st.just("retention"), st.integers(0, 30)),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(steps, min_size=1, max_size=25))
def test_the_kept_summary_equals_the_scan_after_any_sequence_of_writes(
    history: list[tuple[object, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "events.db"
        counter = 0
        with Store.open(db) as s, Store.open(db, check=False) as reader:
            for step in history:
                ids = s.query_ids(EventQuery(limit=None, oldest_first=True))
                op = step[0]
                if op == "insert":
                    n = int(step[1])  # type: ignore[call-overload]
                    s.insert_many([new(counter + i) for i in range(n)])
                    counter += n
                elif op == "read":
                    picks, flag = step[1], step[2]
                    assert isinstance(picks, list)
                    s.set_read([ids[p % len(ids)] for p in picks if ids], bool(flag))
                elif op == "read_all":
                    kind, undo = step[1], step[2]
                    q = EventQuery(kinds=frozenset({kind})) if isinstance(kind, Kind) else None
                    changed = s.mark_all_read_ids(q)
                    if undo:
                        s.set_read(changed, False)
                elif op == "delete":
                    picks, undo = step[1], step[2]
                    assert isinstance(picks, list)
                    chosen = sorted({ids[p % len(ids)] for p in picks if ids})
                    gone: list[StoredEvent] = [e for i in chosen if (e := s.get(i)) is not None]
                    s.delete(chosen)
                    if undo:
                        s.restore(gone)
                        s.restore(gone)  # twice is harmless, and must not count twice
                elif op == "retention":
                    s.apply_retention(now=T0, max_age_days=0, max_count=int(step[1]) + 1)
                expected = scanned(db)
                assert s.unread_summary() == expected
                assert reader.unread_summary() == expected  # another connection's commits
                kept, counted = per_severity(db)
                assert kept == counted


def test_restoring_read_events_and_flipping_flags_keeps_every_severity_right(
    tmp_path: Path,
) -> None:
    db = tmp_path / "events.db"
    with Store.open(db) as s:
        ids = [r.id for r in s.insert_many([new(i) for i in range(10)])]  # severities 0..4 x2
        assert s.unread_summary() == (10, Severity.CRITICAL)
        s.set_read([i for i in ids if s.get(i).event.severity == Severity.CRITICAL])  # type: ignore[union-attr]
        assert s.unread_summary() == (8, Severity.HIGH)
        read_ones = [e for i in ids if (e := s.get(i)) is not None and e.read]
        s.delete(ids)
        assert s.unread_summary() == (0, None)
        s.restore(read_ones)  # they come back read: nothing unread
        assert s.unread_summary() == (0, None)
        s.set_read([e.id for e in read_ones], False)
        assert s.unread_summary() == (2, Severity.CRITICAL)
        s.set_read([e.id for e in read_ones], False)  # no change: no double count
        assert s.unread_summary() == (2, Severity.CRITICAL)
    assert per_severity(db)[0] == {int(Severity.CRITICAL): 2}


def test_a_write_by_plain_sql_is_counted_too(tmp_path: Path) -> None:
    """The triggers are in the file: a writer that is not this code (an older CLI of the same
    schema, sqlite3 by hand) keeps the counts right as well."""
    db = tmp_path / "events.db"
    with Store.open(db) as s:
        s.insert_many([new(i) for i in range(5)])
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("UPDATE events SET severity = 4 WHERE severity = 0")  # unread: 0 -> 4
    con.execute("UPDATE events SET read = 1 WHERE severity = 1")
    con.execute("DELETE FROM events WHERE severity = 2")
    con.close()
    with Store.open(db, check=False) as s:
        assert s.unread_summary() == scanned(db) == (3, Severity.CRITICAL)
    kept, counted = per_severity(db)
    assert kept == counted == {3: 1, 4: 2}


def build_v4(path: Path, rows: int) -> None:
    """A database as holmtray wrote it at schema v4: the frozen migrations up to v4, rows
    through the row codec, a mix of read flags and severities."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    for step in schema._MIGRATIONS[:4]:
        step(con)
    con.execute("BEGIN")
    con.executemany(
        INSERT_SQL,
        [
            row_values(None, n.event, n.body, n.received_at, i % 3 == 0)
            for i, n in enumerate(new(i, T0 + timedelta(seconds=i)) for i in range(rows))
        ],
    )
    con.execute("PRAGMA user_version = 4")
    con.execute("COMMIT")
    con.close()


@pytest.mark.parametrize("rows", [0, 1, 2_000])
def test_a_v4_database_is_backed_up_and_gains_counts_equal_to_the_scan(
    tmp_path: Path, rows: int
) -> None:
    db = tmp_path / "events.db"
    build_v4(db, rows)
    before = scanned(db)
    with Store.open(db) as s:
        assert s.unread_summary() == before
        assert s.count(EventQuery()) == rows
        # The triggers are live after the migration.
        s.insert_many([new(rows + 1, severity=Severity.CRITICAL)])
        s.mark_all_read()
        assert s.unread_summary() == (0, None)
        assert s.integrity_check() == "ok"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION == 5
    triggers = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert {"events_unread_insert", "events_unread_delete", "events_unread_update"} <= triggers
    con.close()
    if rows:
        backup = sqlite3.connect(db.with_name(db.name + ".bak-v4"))
        assert backup.execute("PRAGMA user_version").fetchone()[0] == 4
        assert backup.execute("SELECT count(*) FROM events").fetchone()[0] == rows
        backup.close()


def test_a_v1_database_migrates_through_to_counts_equal_to_the_scan(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    build_v1(db, 25)  # every other one read, severities 0..4
    expected = scanned(db)
    assert expected[0] == 12
    with Store.open(db) as s:
        assert s.unread_summary() == expected
    kept, counted = per_severity(db)
    assert kept == counted


def test_the_summary_reads_the_small_table_not_the_events(tmp_path: Path) -> None:
    """What makes it O(1): the statement touches ``unread_counts`` only."""
    db = tmp_path / "events.db"
    with Store.open(db) as s:
        s.insert_many([new(i) for i in range(50)])
    con = sqlite3.connect(db)
    from holmtray.core.history.store import _UNREAD_SUMMARY_SQL  # noqa: PLC0415

    plan = " | ".join(str(r[3]) for r in con.execute(f"EXPLAIN QUERY PLAN {_UNREAD_SUMMARY_SQL}"))
    con.close()
    assert "unread_counts" in plan
    assert "events" not in plan.replace("unread_counts", "")


def test_a_new_database_has_a_zero_row_per_severity_and_unread_rows_are_counted(
    tmp_path: Path,
) -> None:
    db = tmp_path / "events.db"
    with Store.open(db) as s:
        assert s.unread_summary() == (0, None)
    con = sqlite3.connect(db)
    assert con.execute("SELECT severity, n FROM unread_counts ORDER BY severity").fetchall() == [
        (int(level), 0) for level in Severity
    ]
    con.close()
