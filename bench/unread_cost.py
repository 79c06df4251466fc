"""What the unread counts (schema v5) cost on the write path, and what they save on the read.

Two fresh databases of the current schema side by side, one with the three ``events_unread_*``
triggers dropped (the v4 write path: same code, same indexes, nothing else differs). Rounds
alternate between them; every figure is the median over rounds of CPU time (``process_time``:
the fsync waits of ``synchronous=FULL`` are not CPU) per row:

- insert: ``Store.insert_many`` in batches of ``--batch`` unique events (the writer's path);
- mark read / unread: ``set_read`` on the rows of the last insert (flags flip both ways);
- delete: ``delete`` of those rows (the retention's statement per row is the same trigger).

Then the unread summary after a commit (nothing cached) on a database with ``--unread``
unread events: the old scanning statements against ``unread_summary()`` now, each on a fresh
connection (cold page cache) and again on a warm one, with SQLite's memory in use after it.

Run: python bench/unread_cost.py [--rounds 15] [--batch 50] [--unread 100000] [--upsert]
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import machine

from holmtray.core.events import Asset, Event, Kind, Severity
from holmtray.core.history.store import NewEvent, Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TRIGGERS = ("events_unread_insert", "events_unread_delete", "events_unread_update")
OLD_SQL = (
    "SELECT count(*) FROM events WHERE read = 0",
    "SELECT max(severity) FROM events WHERE read = 0",
)


def events(start: int, n: int) -> list[NewEvent]:
    out = []
    for i in range(start, start + n):
        body = f'{{"ticket": {{"n": {i}, "title": "Ticket {i}"}}}}'
        ev = Event(
            kind=Kind.TICKET,
            title=f"Ticket {i} on host{i % 97}",
            severity=Severity(i % 5),
            asset=Asset(name=f"asset{i % 97}", hostname=f"host{i % 97}.example.org"),
            payload={"ticket": {"n": i, "title": f"Ticket {i}"}},
        )
        out.append(NewEvent(body=body, event=ev, received_at=T0 + timedelta(milliseconds=i)))
    return out


def cpu_per_row(fn: object, rows: int) -> float:
    t = time.process_time()
    fn()  # type: ignore[operator]
    return (time.process_time() - t) / rows * 1e6


def sqlite_memory_mb() -> float:
    lib = ctypes.CDLL("libsqlite3.so.0")
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return float(lib.sqlite3_memory_used()) / 1e6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--unread", type=int, default=100_000)
    p.add_argument("--upsert", action="store_true", help="variant: the insert trigger as an upsert")
    args = p.parse_args()
    print(machine())
    tmp = Path(tempfile.mkdtemp(prefix="holmtray-bench-unread-"))
    stores = {name: Store.open(tmp / f"{name}.db") for name in ("without", "with")}
    for name in TRIGGERS:
        stores["without"]._conn.execute(f"DROP TRIGGER {name}")
    if args.upsert:  # the variant first tried: no rows up front, an upsert per insert
        conn = stores["with"]._conn
        conn.execute("DROP TRIGGER events_unread_insert")
        conn.execute("DELETE FROM unread_counts")
        conn.execute(
            "CREATE TRIGGER events_unread_insert AFTER INSERT ON events WHEN new.read = 0 BEGIN"
            " INSERT INTO unread_counts (severity, n) VALUES (new.severity, 1)"
            " ON CONFLICT (severity) DO UPDATE SET n = n + 1; END"
        )
    figures: dict[str, dict[str, list[float]]] = {n: {} for n in stores}
    counter = 0
    for r in range(args.rounds + 1):  # round 0 warms up
        for name in ("without", "with") if r % 2 else ("with", "without"):
            s = stores[name]
            batch = events(counter, args.batch)
            counter += args.batch
            got: dict[str, float] = {}
            results: list[int] = []
            got["insert"] = cpu_per_row(
                lambda s=s, b=batch, out=results: out.extend(x.id for x in s.insert_many(b)),
                len(batch),
            )
            ids = list(results)
            got["mark read"] = cpu_per_row(lambda s=s, ids=ids: s.set_read(ids, True), len(ids))
            got["mark unread"] = cpu_per_row(lambda s=s, ids=ids: s.set_read(ids, False), len(ids))
            got["delete"] = cpu_per_row(lambda s=s, ids=ids: s.delete(ids), len(ids))
            if r:
                for k, v in got.items():
                    figures[name].setdefault(k, []).append(v)
    print(f"\nCPU µs per row, median of {args.rounds} rounds, batches of {args.batch}:")
    print("| operation | v4 path (no triggers) | v5 (triggers) | extra |")
    print("|---|---|---|---|")
    for k in figures["with"]:
        a = statistics.median(figures["without"][k])
        b = statistics.median(figures["with"][k])
        print(f"| {k} | {a:.1f} | {b:.1f} | {b - a:+.1f} |")
    for s in stores.values():
        s.close()

    # The read side: a database with --unread unread events.
    db = tmp / "unread.db"
    with Store.open(db) as s:
        for start in range(0, args.unread, 5000):
            s.insert_many(events(10**7 + start, min(5000, args.unread - start)))
    print(f"\nunread summary on {args.unread:,} unread events (ms; SQLite memory after):")
    for label, run in (("old: two scans", "old"), ("new: unread_counts", "new")):
        import sqlite3  # noqa: PLC0415

        base = sqlite_memory_mb()
        con = sqlite3.connect(db)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            if run == "old":
                for sql in OLD_SQL:
                    con.execute(sql).fetchone()
            else:
                con.execute(
                    "SELECT coalesce(sum(n), 0), max(CASE WHEN n > 0 THEN severity END)"
                    " FROM unread_counts"
                ).fetchone()
            times.append((time.perf_counter() - t) * 1e3)
        print(
            f"  {label}: cold {times[0]:.2f}, warm {statistics.median(times[1:]):.3f} ms;"
            f" page cache +{sqlite_memory_mb() - base:.2f} MB"
        )
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
