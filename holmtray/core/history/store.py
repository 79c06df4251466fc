"""The durable event history: the :class:`Store` over one SQLite file, and every query on it.

This module owns what is done with an open database: inserting batches with deduplication of
identical bodies, the read flags, delete and restore, retention, the queries, counts and the
unread summary, the write probe, and the transactions they run in (a failed one rolled back,
its operational failure raised as :class:`StoreUnavailable`). The rest of the history package
supplies the parts: :mod:`~holmtray.core.history.database` opens, checks and recovers the
file and holds the error classes, :mod:`~holmtray.core.history.schema` the schema and its
migrations, :mod:`~holmtray.core.history.codec` the row codec and
:mod:`~holmtray.core.history.query` the filters.

A :class:`Store` wraps one connection and is used by one thread at a time; the connection is
made with ``check_same_thread=False`` so that it may be opened in one thread and then used only
by a dedicated worker thread (see :mod:`holmtray.core.history.writer`). No Qt here; bodies are
never logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Self

from holmtray.core.events import Severity, StoredEvent
from holmtray.core.history import dedupe
from holmtray.core.history.codec import (
    BODY_HASH,
    INSERT_OR_IGNORE_SQL,
    RECEIVED_AT,
    ROW_COLUMNS,
    insert_chunks,
    insert_rows_sql,
    row_values,
    stored_event,
    to_us,
)
from holmtray.core.history.database import (
    StoreUnavailable,
    apply_pragmas,
    open_file,
    unavailable,
    unavailable_on_failure,
)
from holmtray.core.history.dedupe import DEDUP_WINDOW
from holmtray.core.history.eventlog import InsertResult, NewEvent
from holmtray.core.history.query import (
    EventQuery,
    page_sql,
    select_sql,
    sorted_ids,
    update_where,
)
from holmtray.core.history.relaylog import Mirror, RelayLog
from holmtray.core.history.schema import SCHEMA_VERSION, check_version, migrate
from holmtray.core.history.tokens import ReadTokens

log = logging.getLogger("holmtray.history.store")

_RETENTION_CHUNK = 500
"""Rows deleted per transaction by retention, so the write lock is only ever held briefly."""
_UNREAD_SUMMARY_SQL = (
    "SELECT coalesce(sum(n), 0), max(CASE WHEN n > 0 THEN severity END) FROM unread_counts"
)
"""The unread count and highest unread severity (one statement: one snapshot)."""
_STORED_HASHES_SQL = (
    "SELECT body_hash, received_at, id FROM events"
    " WHERE body_hash IN (SELECT value FROM json_each(?)) AND received_at BETWEEN ? AND ?"
)


class Store:
    """The event history in one SQLite file. Make one with :meth:`Store.open`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        readonly: bool,
        recovered_from: Path | None,
    ) -> None:
        self._conn = conn
        self._path = path
        self._readonly = readonly
        self._recovered_from = recovered_from
        self._identity = self._file_identity()
        self._closed = False
        self._writes = 0  # write transactions begun on this connection
        # unread_summary()'s last answer, keyed by (PRAGMA data_version, self._writes).
        self._unread: tuple[tuple[int, int], tuple[int, Severity | None]] | None = None
        # The relay's tables over the same connection and transactions (schema v3).
        self.log = RelayLog(read=self._read)
        self.tokens = ReadTokens(read=self._read, write=self._write)
        self.mirror = Mirror(read=self._read, write=self._write)

    # ---- opening -------------------------------------------------------------------------

    @classmethod
    def create_empty(cls, path: Path) -> None:
        """Create an empty database at ``path`` (for a reader to open while there is none to
        show, e.g. before a relay was mirrored); an existing file is left as it is."""
        if not Path(path).exists():
            cls.open(path, check=False).close()

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        busy_timeout_s: float = 5.0,
        readonly: bool = False,
        check: bool = True,
    ) -> Store:
        """Open (creating or migrating as needed) the database at ``path``.

        ``readonly=True`` opens through a ``mode=ro`` URI: SQLite itself refuses every write,
        whoever runs the process (root included), and nothing is created, migrated or moved.
        ``check=False`` skips the structural check (``PRAGMA quick_check`` reads the whole
        file: about 2 s for a million events) and only reads the header and schema, so a file
        that is not a database is still caught (and moved aside unless read-only) but damage
        deep inside is not. For opens right after a checked one (the tray app's GUI store
        after its writer's) and for quick reads (``holmtray events``).
        Raises :class:`StoreUnavailable` when the file or its folder cannot be opened and
        :class:`StoreError` for a database this version cannot use.
        """
        path = Path(path)
        conn, recovered_from = open_file(
            path, busy_timeout_s=busy_timeout_s, readonly=readonly, check=check
        )
        try:
            with unavailable_on_failure(path, "prepare"):
                # Nothing is written before the version check: a newer database stays as it is.
                version = check_version(conn, path, readonly=readonly)
                apply_pragmas(conn, path, readonly=readonly)
                if version < SCHEMA_VERSION:
                    migrate(conn, path, version)
        except BaseException:
            conn.close()
            raise
        log.debug("opened %s (schema v%d, readonly=%s)", path, SCHEMA_VERSION, readonly)
        return cls(conn, path, readonly=readonly, recovered_from=recovered_from)

    # ---- properties ----------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._path

    @property
    def recovered_from(self) -> Path | None:
        """Where a damaged file was moved when this store was opened, else ``None``."""
        return self._recovered_from

    def file_is_current(self) -> bool:
        """False once the file was removed or replaced since open.

        SQLite would go on writing into the unlinked file and report success, so writes refuse
        (with :class:`StoreUnavailable`) and the owner should reopen.
        """
        return self._file_identity() == self._identity

    def is_current(self) -> bool:
        """:meth:`file_is_current` (the event-log interface's name for it)."""
        return self.file_is_current()

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    # ---- transactions --------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE .. COMMIT``; rolled back on any failure, errors mapped."""
        conn = self._conn
        if not self._readonly and not self.file_is_current():
            raise StoreUnavailable(
                f"cannot {doing} {self._path}: the database file was removed or replaced",
                cause="the database file was removed or replaced",
            )
        self._writes += 1  # whether it commits or not: cached answers are stale either way
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.rollback()
                except sqlite3.Error as rb_exc:  # the original error is the one that matters
                    log.warning("rollback after failure on %s failed: %s", self._path, rb_exc)
            if isinstance(exc, sqlite3.OperationalError):
                mapped = unavailable(exc, self._path, doing)
                if mapped is not None:
                    raise mapped from exc
            raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with unavailable_on_failure(self._path, "read"):
            yield self._conn

    # ---- writing -------------------------------------------------------------------------

    def insert_many(self, items: Sequence[NewEvent]) -> list[InsertResult]:
        """Insert a batch in one transaction; results in input order. Duplicates add no row.

        An item is a duplicate of the newest stored row (or earlier item of the batch) with the
        same body received within :data:`DEDUP_WINDOW` of it. The batch takes a handful of
        statements however large it is -- one look-up of the batch's body hashes, one
        multi-row INSERT per slice ``insert_chunks`` makes (a few sizes, so that the
        connection's statement cache stays small) -- rather than two per event: every
        statement releases and re-takes the GIL, and with the listener busy on another thread
        each re-take waits, which had made the writer wait more than it worked.
        """
        if not items:
            return []
        rows = [row_values(None, item.event, item.body, item.received_at, False) for item in items]
        keys = [(values[RECEIVED_AT], values[BODY_HASH]) for values in rows]
        with self._write("store events in") as conn:
            dup_of, fresh = dedupe.plan(keys, self._stored_hashes(conn, keys))
            new_ids: list[int] = []
            for start, end in insert_chunks(len(fresh)):
                chunk = fresh[start:end]
                cur = conn.execute(insert_rows_sql(len(chunk)), [v for i in chunk for v in rows[i]])
                last = cur.lastrowid
                assert last is not None
                assert cur.rowcount == len(chunk)
                # One statement, one writer, AUTOINCREMENT: the rows got consecutive ids in
                # VALUES order, the last of them lastrowid.
                new_ids.extend(range(last - len(chunk) + 1, last + 1))
        return dedupe.results(items, [received for received, _ in keys], dup_of, new_ids)

    @staticmethod
    def _stored_hashes(conn: sqlite3.Connection, keys: Sequence[tuple[int, str]]) -> dedupe.Stored:
        """Stored rows that may be duplicates of ``keys``: hash -> [(received, id)]."""
        hashes, lo, hi = dedupe.search_range(keys)
        found: dedupe.Stored = {}
        for body_hash, received_us, row_id in conn.execute(
            _STORED_HASHES_SQL, (json.dumps(hashes), lo, hi)
        ):
            found.setdefault(body_hash, []).append((int(received_us), int(row_id)))
        return found

    def set_read(self, ids: Iterable[int], read: bool = True) -> int:
        """Set the read flag; returns how many rows actually changed."""
        id_list = sorted_ids(ids)
        if not id_list:
            return 0
        with self._write("update") as conn:
            cur = conn.execute(
                "UPDATE events SET read = ? WHERE read != ?"
                " AND id IN (SELECT value FROM json_each(?))",
                (int(read), int(read), json.dumps(id_list)),
            )
            return cur.rowcount

    def mark_all_read(self, q: EventQuery | None = None) -> int:
        """Mark every unread event matching ``q`` read (all of them for ``None``).

        Every filter of ``q`` applies except ``limit``; pass ``before_id=<newest shown> + 1``
        so that events that arrived after the view was drawn stay unread. Returns how many
        rows changed.
        """
        where, params = update_where(q or EventQuery())
        sql = f"UPDATE events SET read = 1 WHERE read = 0 AND {where}"  # noqa: S608
        with self._write("update") as conn:
            return conn.execute(sql, params).rowcount

    def mark_all_read_ids(self, q: EventQuery | None = None) -> list[int]:
        """:meth:`mark_all_read`, returning the ids it changed (ascending), for an undo.

        The ids are read and updated in one transaction, so they are exactly the rows changed:
        ``set_read(ids, False)`` puts them back as they were.
        """
        where, params = update_where(q or EventQuery())
        select = f"SELECT id FROM events WHERE read = 0 AND {where} ORDER BY id"  # noqa: S608
        with self._write("update") as conn:
            ids = [int(row[0]) for row in conn.execute(select, params)]
            if ids:
                conn.execute(
                    "UPDATE events SET read = 1 WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids),),
                )
            return ids

    def delete(self, ids: Iterable[int]) -> int:
        """Delete these events; returns how many existed. Undo with :meth:`restore`."""
        id_list = sorted_ids(ids)
        if not id_list:
            return 0
        with self._write("delete from") as conn:
            return conn.execute(
                "DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(id_list),),
            ).rowcount

    def restore(self, events: Sequence[StoredEvent]) -> None:
        """Put deleted events back with their ids, receive times and read flags (undo).

        An event whose id is present already is left as it is, so undoing twice is harmless.
        """
        if not events:
            return
        rows = [row_values(s.id, s.event, s.body, s.received_at, s.read) for s in events]
        with self._write("restore events in") as conn:
            conn.executemany(INSERT_OR_IGNORE_SQL, rows)

    def apply_retention(
        self, *, now: datetime, max_age_days: int, max_count: int, max_rows: int | None = None
    ) -> int:
        """Delete events older than ``max_age_days`` and beyond the newest ``max_count``.

        0 means "no limit" for either; the oldest go first. Works in transactions of
        ``_RETENTION_CHUNK`` rows (~30 ms each on a million-row file) so the write lock is
        never held long. ``max_rows`` (an addition for the writer) stops after that many rows
        so that inserts can run in between; call again until it returns less. Returns how
        many rows were deleted.
        """
        if max_age_days < 0 or max_count < 0:
            raise ValueError(f"retention limits must be >= 0, got {max_age_days}, {max_count}")
        budget = max_rows
        deleted = 0
        if max_age_days:
            cutoff = to_us(now - timedelta(days=max_age_days))
            deleted += self._delete_oldest("received_at < ?", (cutoff,), budget=budget)
        if max_count and (budget is None or deleted < budget):
            with self._read() as conn:
                # The newest row that is beyond the count; it and everything older goes.
                edge = conn.execute(
                    "SELECT received_at, id FROM events ORDER BY received_at DESC, id DESC"
                    " LIMIT 1 OFFSET ?",
                    (max_count,),
                ).fetchone()
            if edge is not None:
                deleted += self._delete_oldest(
                    "(received_at, id) <= (?, ?)",
                    (int(edge[0]), int(edge[1])),
                    budget=None if budget is None else budget - deleted,
                )
        if deleted:
            log.debug("retention removed %d events from %s", deleted, self._path)
        return deleted

    def _delete_oldest(self, condition: str, params: tuple[int, ...], *, budget: int | None) -> int:
        sql = (
            "DELETE FROM events WHERE id IN (SELECT id FROM events"  # noqa: S608
            f" WHERE {condition} ORDER BY received_at, id LIMIT ?)"
        )
        deleted = 0
        while budget is None or deleted < budget:
            chunk = _RETENTION_CHUNK if budget is None else min(_RETENTION_CHUNK, budget - deleted)
            with self._write("apply retention to") as conn:
                n = conn.execute(sql, (*params, chunk)).rowcount
            deleted += n
            if n < chunk:
                break
        return deleted

    def check_writable(self, *, wait_s: float = 0.1) -> None:
        """Commit one tiny write; raises :class:`StoreUnavailable` if a commit fails now.

        The write rewrites the schema version unchanged, which still appends a page to the WAL,
        so a full disk, a read-only file or another program's lock shows here just as it would
        for an insert. A lock is waited for at most ``wait_s``: this is a probe, not a write
        that must get through.
        """
        conn = self._conn
        (saved,) = conn.execute("PRAGMA busy_timeout").fetchone()
        conn.execute(f"PRAGMA busy_timeout = {int(wait_s * 1000)}")
        try:
            with self._write("write to") as c:
                (version,) = c.execute("PRAGMA user_version").fetchone()
                c.execute(f"PRAGMA user_version = {int(version)}")
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(saved)}")

    # ---- reading -------------------------------------------------------------------------

    def get(self, event_id: int) -> StoredEvent | None:
        with self._read() as conn:
            sql = f"SELECT {ROW_COLUMNS} FROM events AS e WHERE e.id = ?"  # noqa: S608
            row = conn.execute(sql, (event_id,)).fetchone()
        return stored_event(row) if row is not None else None

    def query(self, q: EventQuery) -> list[StoredEvent]:
        """Matching events in the order ``q`` asks: newest (highest id) first by default."""
        return [stored_event(row) for row in self._page(q, ROW_COLUMNS)]

    def query_ids(self, q: EventQuery) -> list[int]:
        """The ids :meth:`query` would return, in the same order."""
        return [int(row[0]) for row in self._page(q, "e.id")]

    def _page(self, q: EventQuery, columns: str) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        with self._read() as conn:
            for sql, params in page_sql(q, columns):
                if q.limit is not None:
                    params[-1] = max(q.limit - len(rows), 0)
                rows.extend(conn.execute(sql, params))
                if q.limit is not None and len(rows) >= q.limit:
                    break
        return rows

    def count(self, q: EventQuery, *, cap: int | None = None) -> int:
        """How many events match ``q``; its paging fields and ``oldest_first`` are ignored.

        With ``cap``, counting stops at ``cap + 1`` matches, so a result above ``cap`` means
        "more than ``cap``". An exact count reads every match: 0.5-1.5 s for a common word or
        a broad filter on a million events, where a capped one costs about as much as a page.
        """
        if cap is None:
            sql, params = select_sql(q, "count(*)", paging=False)
        else:
            if cap < 0:
                raise ValueError(f"cap must be >= 0, got {cap}")
            inner, params = select_sql(q, "1", paging=False, ordered=False)
            sql = f"SELECT count(*) FROM ({inner} LIMIT ?)"  # noqa: S608
            params.append(cap + 1)
        with self._read() as conn:
            return int(conn.execute(sql, params).fetchone()[0])

    def unread_summary(self) -> tuple[int, Severity | None]:
        """The number of unread events and the highest severity among them.

        Read from ``unread_counts`` (schema v5: a row per severity, kept by triggers), so it
        costs the same with a million unread as with none. The tray asks every second, so the
        answer is still kept until the database changes: a commit by another connection
        changes ``PRAGMA data_version``, one by this connection the write counter.
        """
        with self._read() as conn:
            (version,) = conn.execute("PRAGMA data_version").fetchone()
            key = (int(version), self._writes)
            if self._unread is not None and self._unread[0] == key:
                return self._unread[1]
            (n, top) = conn.execute(_UNREAD_SUMMARY_SQL).fetchone()
        summary = (int(n), (Severity(top) if top is not None else None))
        self._unread = (key, summary)
        return summary

    def last_event(self) -> StoredEvent | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {ROW_COLUMNS} FROM events AS e ORDER BY e.id DESC LIMIT 1"  # noqa: S608
            ).fetchone()
        return stored_event(row) if row is not None else None

    def integrity_check(self) -> str:
        """``"ok"``, or the problems found (SQLite's integrity check and the full-text index)."""
        with self._read() as conn:
            problems = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
            if problems == ["ok"]:
                problems = []
            if not self._readonly:
                try:
                    conn.execute("INSERT INTO events_fts(events_fts) VALUES ('integrity-check')")
                except sqlite3.DatabaseError as exc:
                    if isinstance(exc, sqlite3.OperationalError) and unavailable(
                        exc, self._path, "check"
                    ):
                        raise
                    problems.append(f"full-text index: {exc}")
        return "\n".join(problems) if problems else "ok"

    # ---- closing -------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._readonly and self.file_is_current():
            with contextlib.suppress(sqlite3.Error):
                # Keeps the planner's statistics fresh; the limit bounds it on huge files.
                self._conn.execute("PRAGMA analysis_limit = 1000")
                self._conn.execute("PRAGMA optimize")
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# The batch types and the window are defined with the event-log interface; callers import them
# from here as well.
__all__ = ["DEDUP_WINDOW", "InsertResult", "NewEvent", "Store"]
