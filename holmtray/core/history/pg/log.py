"""The shared event log: appending with ids that readers can trust, and reading it back.

**Why not BIGSERIAL.** A sequence hands out an id when a row is inserted, but the row becomes
visible when its transaction commits. With two writers, the one holding id 7 may commit after
the one holding id 8; a reader that saw 8 and goes on with ``id > 8`` never sees 7. Here every
appending transaction first locks the one row of ``holmtray_counter`` (``SELECT … FOR
UPDATE``), takes its ids from it and writes the new last id back; the lock is held until
commit, and PostgreSQL marks a transaction committed before it releases its locks. So the next
writer gets its ids only after the previous one is visible, and ids become visible in id
order: ``id > N`` never skips a row that commits later. Deduplication looks up the stored
bodies after taking the lock, so it sees everything committed before, and two relays given the
same body at once store it once. A batch of the group-commit writer is one such transaction,
so the lock is taken once per batch, not per event.

After the rows, ``pg_notify('holmtray_events', <last id>)`` rings the doorbell of every relay's
follower (:mod:`~holmtray.core.history.pg.follow`); notifications are sent at commit.

:class:`PgSession` is one connection with the transaction and error mapping every part uses;
:class:`PgEventLog` is the writer's side (the event-log interface's ``EventLog``) and
:class:`PgRelayLog` the relay's reading, used on the read threads through
:class:`~holmtray.core.history.pg.backend.PgView`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from holmtray.core.history import dedupe
from holmtray.core.history.codec import from_us, sha256_hex, storable, to_us
from holmtray.core.history.database import StoreError
from holmtray.core.history.eventlog import InsertResult, LogEntry, NewEvent
from holmtray.core.history.pg.connect import PgTarget

log = logging.getLogger("holmtray.history.pg.log")

CHANNEL = "holmtray_events"
"""The notification channel: its payload is the last id of the batch just committed."""
_RETENTION_CHUNK = 500
_LOCK_COUNTER = "SELECT last_id FROM holmtray_counter WHERE id = 1 FOR UPDATE"
_SET_COUNTER = "UPDATE holmtray_counter SET last_id = %s WHERE id = 1"
_STORED_HASHES = (
    "SELECT body_hash, received_at, id FROM holmtray_events"
    " WHERE body_hash = ANY(%s) AND received_at BETWEEN %s AND %s"
)
_COPY_EVENTS = "COPY holmtray_events (id, received_at, body_hash, body) FROM STDIN"
# A page ends after the event whose body takes the page's characters to max_chars or beyond.
_ENTRIES_AFTER = """
    SELECT id, received_at, body FROM (
        SELECT id, received_at, body,
               sum(char_length(body)) OVER (ORDER BY id) - char_length(body) AS before
        FROM holmtray_events WHERE id > %s ORDER BY id LIMIT %s
    ) AS page
    WHERE before < %s ORDER BY id
"""

Conn = psycopg.Connection[TupleRow]


def pg_text(text: str) -> str:
    """``text`` as PostgreSQL can store it: valid UTF-8 and no NUL character."""
    return storable(text).replace("\x00", "\ufffd")


class PgSession:
    """One connection to the shared database, and transactions on it with errors mapped."""

    def __init__(self, conn: Conn, target: PgTarget) -> None:
        self._conn = conn
        self._target = target

    @property
    def target(self) -> PgTarget:
        return self._target

    @contextlib.contextmanager
    def transaction(self, doing: str) -> Iterator[Conn]:
        """``BEGIN .. COMMIT``; rolled back on any failure, the driver's errors mapped."""
        with self._target.failures(doing), self._conn.transaction():
            yield self._conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[Conn]:
        """Statements outside a transaction (each sees what was committed when it started)."""
        with self._target.failures("read from"):
            yield self._conn

    def is_current(self) -> bool:
        return not (self._conn.closed or self._conn.broken)

    def close(self) -> None:
        self._conn.close()


class PgEventLog:
    """The writer's side of the shared log (an ``EventLog``); on the writer thread only."""

    def __init__(self, session: PgSession) -> None:
        self._session = session

    def insert_many(self, items: Sequence[NewEvent]) -> list[InsertResult]:
        """Append a batch in one transaction under the counter's lock (module docstring)."""
        if not items:
            return []
        bodies = [pg_text(item.body) for item in items]
        keys = [
            (to_us(item.received_at), sha256_hex(body))
            for item, body in zip(items, bodies, strict=True)
        ]
        new_ids: list[int] = []
        with self._session.transaction("store events in") as conn:
            row = conn.execute(_LOCK_COUNTER).fetchone()
            if row is None:  # only a hand-edited database lacks it
                raise StoreError("the shared database has no id counter row")
            last = int(row[0])
            hashes, lo, hi = dedupe.search_range(keys)
            stored: dedupe.Stored = {}
            # Planned for these values every time (never a generic plan): a handful of probes
            # of the dedup index, however many events arrived within the window.
            found = conn.execute(_STORED_HASHES, (hashes, lo, hi), prepare=False)
            for body_hash, received_us, row_id in found:
                stored.setdefault(str(body_hash), []).append((int(received_us), int(row_id)))
            dup_of, fresh = dedupe.plan(keys, stored)
            if fresh:
                new_ids = list(range(last + 1, last + 1 + len(fresh)))
                conn.execute(
                    "UPDATE holmtray_counter SET last_id = %s WHERE id = 1", (new_ids[-1],)
                )
                with conn.cursor().copy(_COPY_EVENTS) as copy:
                    for i, new_id in zip(fresh, new_ids, strict=True):
                        copy.write_row((new_id, keys[i][0], keys[i][1], bodies[i]))
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(new_ids[-1])))
        return dedupe.results(items, [received for received, _ in keys], dup_of, new_ids)

    def check_writable(self) -> None:
        """Commit a transaction that takes a transaction id (so it writes a commit record)."""
        with self._session.transaction("write to") as conn:
            conn.execute("SELECT txid_current()")

    def apply_retention(
        self, *, now: datetime, max_age_days: int, max_count: int, max_rows: int | None = None
    ) -> int:
        """Delete the oldest events (by id) beyond the limits, in small transactions."""
        if max_age_days < 0 or max_count < 0:
            raise ValueError(f"retention limits must be >= 0, got {max_age_days}, {max_count}")
        deleted = 0
        if max_age_days:
            cutoff = to_us(now - timedelta(days=max_age_days))
            deleted += self._delete_oldest("received_at < %s", cutoff, max_rows)
        if max_count and (max_rows is None or deleted < max_rows):
            with self._session.reading() as conn:
                edge = conn.execute(
                    "SELECT id FROM holmtray_events ORDER BY id DESC LIMIT 1 OFFSET %s",
                    (max_count,),
                ).fetchone()
            if edge is not None:
                budget = None if max_rows is None else max_rows - deleted
                deleted += self._delete_oldest("id <= %s", int(edge[0]), budget)
        return deleted

    def _delete_oldest(self, condition: str, value: int, budget: int | None) -> int:
        sql = (
            "DELETE FROM holmtray_events WHERE id IN (SELECT id FROM holmtray_events"  # noqa: S608
            f" WHERE {condition} ORDER BY id LIMIT %s)"
        )
        deleted = 0
        while budget is None or deleted < budget:
            chunk = _RETENTION_CHUNK if budget is None else min(_RETENTION_CHUNK, budget - deleted)
            with self._session.transaction("apply retention to") as conn:
                n = conn.execute(sql, (value, chunk)).rowcount
            deleted += n
            if n < chunk:
                break
        return deleted

    def is_current(self) -> bool:
        return self._session.is_current()

    def close(self) -> None:
        self._session.close()


class PgRelayLog:
    """The relay's reading of the shared log (a ``RelayReads``)."""

    def __init__(self, session: PgSession) -> None:
        self._session = session

    def relay_id(self) -> str:
        with self._session.reading() as conn:
            row = conn.execute("SELECT value FROM holmtray_meta WHERE key = 'relay_id'").fetchone()
        if row is None:
            raise StoreError("the shared database has no relay id")
        return str(row[0])

    def bounds(self) -> tuple[int | None, int]:
        """(oldest retained id or ``None``; the counter's last id), in one snapshot."""
        with self._session.reading() as conn:
            row = conn.execute(
                "SELECT (SELECT min(id) FROM holmtray_events),"
                " (SELECT last_id FROM holmtray_counter WHERE id = 1)"
            ).fetchone()
        assert row is not None
        oldest, last = row
        return (int(oldest) if oldest is not None else None), int(last or 0)

    def entries_after(
        self, after_id: int, limit: int, *, max_chars: int | None = None
    ) -> list[LogEntry]:
        """Up to ``limit`` events above ``after_id``, ascending; see ``RelayLog``."""
        cap = max_chars if max_chars is not None else 2**62
        with self._session.reading() as conn:
            rows = conn.execute(_ENTRIES_AFTER, (after_id, max(limit, 0), cap)).fetchall()
        return [LogEntry(int(i), from_us(int(r)), str(b)) for i, r, b in rows]
