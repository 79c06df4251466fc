"""The row codec: how one event becomes a row of ``events`` and a row becomes a StoredEvent.

This module owns the mapping between :class:`~holmtray.core.events.Event` and the columns of
the ``events`` table: receive times as microseconds since the Unix epoch (UTC), text made
storable (lone surrogates replaced, as SQLite text must be valid UTF-8), the body's hash used
for deduplication, the payload column (stored only when it differs from the body), the INSERT
statement with its column order, and the columns a query reads back. No I/O here.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from holmtray.core.events import Event, StoredEvent, dumps_compact, event_from_fields
from holmtray.core.jsonload import loads

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

INSERT_SQL = (
    "INSERT INTO events (id, received_at, kind, severity, attention, read, title, link,"
    " scan_name, asset_name, hostname, ipv4, cve, vuln_name, vuln_summary, fields, body,"
    " body_hash, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
"""Inserts one tuple of :func:`row_values` (19 parameters)."""
INSERT_OR_IGNORE_SQL = INSERT_SQL.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
RECEIVED_AT = 1
"""Where the receive time (microseconds) is in a tuple of :func:`row_values`."""
BODY_HASH = 17
"""Where the body's hash is in a tuple of :func:`row_values`."""

ROW_COLUMNS = "e.id, e.received_at, e.read, e.fields, e.body, e.payload"
"""What a query selects (from ``events AS e``) for :func:`stored_event`."""


def to_us(when: datetime) -> int:
    """``when`` (timezone-aware) as microseconds since the Unix epoch."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got {when!r}")
    return (when - _EPOCH) // _US


def from_us(us: int) -> datetime:
    """Microseconds since the Unix epoch as an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=us)


def sha256_hex(body: str) -> str:
    """The body's hash as stored in ``body_hash`` (lone surrogates hashed as they are)."""
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def storable(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD: SQLite text must be valid UTF-8.

    ``json.loads`` turns an escaped ``"\\ud800"`` into such a character; without this one
    hostile webhook would fail the whole batch it was committed with.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _payload_from_body(body: str) -> dict[str, Any]:
    try:
        value = loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@functools.lru_cache(maxsize=64)
def insert_rows_sql(n: int) -> str:
    """:data:`INSERT_SQL` for ``n`` rows in one statement."""
    head, _, row = INSERT_SQL.partition(" VALUES ")
    return f"{head} VALUES {', '.join([row] * n)}"


EXACT_INSERT_ROWS = 16
"""Batches below this many rows are inserted by one statement of exactly their size."""
MAX_INSERT_ROWS = 256
"""The most rows one INSERT statement takes (19 parameters each: far below SQLite's limit)."""


def insert_chunks(n: int) -> list[tuple[int, int]]:
    """``(start, end)`` slices of ``n`` rows, one multi-row INSERT each, in order.

    Each connection keeps its prepared statements (Python's cache: 128 per connection), and
    one of ``k`` rows takes ~15 kB + 1.6 kB per row: were every batch size its own statement,
    a writer taking batches of every size (bursts) would keep ~100 of them, tens of MB. So a
    slice is a power of two from :data:`EXACT_INSERT_ROWS` to :data:`MAX_INSERT_ROWS` rows,
    and only the rest below :data:`EXACT_INSERT_ROWS` gets its exact size: at most 20
    statements ever (~1.3 MB), at most 5 + n // 256 per batch, one for a batch below 16.
    """
    out: list[tuple[int, int]] = []
    start = 0
    while n - start >= EXACT_INSERT_ROWS:
        size = min(MAX_INSERT_ROWS, 1 << ((n - start).bit_length() - 1))
        out.append((start, start + size))
        start += size
    if start < n:
        out.append((start, n))
    return out


def row_values(
    event_id: int | None, ev: Event, body: str, received_at: datetime, read: bool
) -> tuple[Any, ...]:
    """The parameters of :data:`INSERT_SQL` for one event (``event_id`` ``None``: a new id).

    Every text column is :func:`storable`. Runs once per stored event, so the tuple is built
    in one go rather than as a list of values filtered afterwards.
    """
    payload = None if _payload_from_body(body) == ev.payload else dumps_compact(ev.payload)
    body = storable(body)
    asset, vuln = ev.asset, ev.vulnerability
    return (
        event_id,
        to_us(received_at),
        storable(ev.kind.value),
        int(ev.severity),
        int(ev.attention),
        int(read),
        _storable_or_none(ev.title),
        _storable_or_none(ev.link),
        _storable_or_none(ev.scan_name),
        _storable_or_none(asset.name),
        _storable_or_none(asset.hostname),
        _storable_or_none(asset.ipv4),
        _storable_or_none(vuln.cve),
        _storable_or_none(vuln.name),
        _storable_or_none(vuln.summary),
        storable(ev.fields_json()),
        body,
        sha256_hex(body),
        None if payload is None else storable(payload),
    )


def _storable_or_none(value: Any) -> Any:
    """:func:`storable` for text; anything else (``None`` mostly) as it is."""
    return storable(value) if isinstance(value, str) else value


def stored_event(row: tuple[Any, ...]) -> StoredEvent:
    """The event of one row selected as :data:`ROW_COLUMNS`."""
    event_id, received_us, read, fields_json, body, payload_json = row
    payload = json.loads(payload_json) if payload_json is not None else _payload_from_body(body)
    return StoredEvent(
        id=int(event_id),
        received_at=from_us(int(received_us)),
        read=bool(read),
        event=event_from_fields(json.loads(fields_json), payload),
        body=body,
    )
