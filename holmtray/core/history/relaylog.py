"""The history as a relay serves it and as a mirror keeps it.

Relay side (:class:`RelayLog`): the relay id (a UUID made once per database by the v3
migration; a subscriber that sees another one knows the history was reset), the id bounds,
and the retained events after an id in ascending order. Ids are the events table's
AUTOINCREMENT ids: never reused, and in commit order because one writer gives each batch
consecutive ids.

Mirror side (:class:`Mirror`): events fetched from a relay are stored with the relay's ids, and
the cursor (``replica.last_id``, the relay's id of the last event stored) is written in the
same transaction as the rows it covers. The cursor is never ``MAX(id)``: an event the analyst
deleted must not come back on the next resume.

Both work on a :class:`~holmtray.core.history.store.Store`'s connection through the
transaction helpers it hands them; the mirror's writes run on the writer thread.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from holmtray.core.events import Event, StoredEvent
from holmtray.core.history.codec import (
    RECEIVED_AT,
    from_us,
    insert_chunks,
    insert_rows_sql,
    row_values,
)
from holmtray.core.history.eventlog import LogEntry

WriteTx = Callable[[str], contextlib.AbstractContextManager[sqlite3.Connection]]
ReadTx = Callable[[], contextlib.AbstractContextManager[sqlite3.Connection]]


@dataclass(frozen=True, slots=True)
class Replicated:
    """One event fetched from a relay, parsed here, to be stored in the mirror."""

    id: int
    received_at: datetime
    body: str
    event: Event


class RelayLog:
    """The relay's reading of the history."""

    def __init__(self, *, read: ReadTx) -> None:
        self._read = read

    def relay_id(self) -> str:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'relay_id'").fetchone()
        if row is None:  # only a hand-edited database lacks it
            raise sqlite3.DatabaseError("the database has no relay id")
        return str(row[0])

    def bounds(self) -> tuple[int | None, int]:
        """(oldest retained id, or ``None`` when no event is retained; last id ever given)."""
        with self._read() as conn:
            (oldest,) = conn.execute("SELECT min(id) FROM events").fetchone()
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        last = int(row[0]) if row is not None else 0
        return (int(oldest) if oldest is not None else None), last

    def entries_after(
        self, after_id: int, limit: int, *, max_chars: int | None = None
    ) -> list[LogEntry]:
        """Up to ``limit`` retained events with an id above ``after_id``, ascending.

        With ``max_chars`` the page also ends after the event whose body takes the bodies'
        total to ``max_chars`` or beyond (at least one event is returned), so that a page of
        large bodies stays small in memory: a short page does not mean the end.
        """
        entries: list[LogEntry] = []
        total = 0
        with self._read() as conn:
            cur = conn.execute(
                "SELECT id, received_at, body FROM events WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, max(limit, 0)),
            )
            for i, r, b in cur:
                entries.append(LogEntry(int(i), from_us(int(r)), str(b)))
                total += len(b)
                if max_chars is not None and total >= max_chars:
                    break
            cur.close()
        return entries


class Mirror:
    """A subscriber's copy of one relay's events, and its cursor."""

    def __init__(self, *, read: ReadTx, write: WriteTx) -> None:
        self._read = read
        self._write = write

    def cursor(self, relay_id: str) -> int:
        """The relay's id of the last event stored from it; 0 before the first."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT last_id FROM replica WHERE relay_id = ?", (relay_id,)
            ).fetchone()
        return int(row[0]) if row is not None else 0

    def store(self, relay_id: str, items: Sequence[Replicated]) -> list[StoredEvent]:
        """Store ``items`` with their relay ids and move the cursor, in one transaction.

        Items at or below the cursor (already stored, or deleted here since) are skipped, so a
        redelivery after a crash stores nothing twice; the cursor only ever moves forward. Returns
        the events stored, ascending.
        """
        if not items:
            return []
        with self._write("store relayed events in") as conn:
            row = conn.execute(
                "SELECT last_id FROM replica WHERE relay_id = ?", (relay_id,)
            ).fetchone()
            cursor = int(row[0]) if row is not None else 0
            fresh: dict[int, Replicated] = {}
            for item in items:
                if item.id > cursor:
                    fresh[item.id] = item
            ordered = [fresh[i] for i in sorted(fresh)]
            if ordered:
                present = {
                    int(i)
                    for (i,) in conn.execute(
                        "SELECT id FROM events WHERE id IN (SELECT value FROM json_each(?))",
                        (json.dumps([r.id for r in ordered]),),
                    )
                }
                ordered = [r for r in ordered if r.id not in present]
            rows = [row_values(r.id, r.event, r.body, r.received_at, False) for r in ordered]
            for start, end in insert_chunks(len(rows)):
                chunk = rows[start:end]
                conn.execute(insert_rows_sql(len(chunk)), [v for row in chunk for v in row])
            top = max(item.id for item in items)
            if top > cursor:
                conn.execute(
                    "INSERT INTO replica (relay_id, last_id) VALUES (?, ?)"
                    " ON CONFLICT (relay_id) DO UPDATE SET last_id = excluded.last_id",
                    (relay_id, top),
                )
        return [
            StoredEvent(
                id=r.id,
                received_at=from_us(values[RECEIVED_AT]),
                read=False,
                event=r.event,
                body=r.body,
            )
            for r, values in zip(ordered, rows, strict=True)
        ]


__all__ = ["LogEntry", "Mirror", "ReadTx", "RelayLog", "Replicated", "WriteTx"]
