"""Which events to show: :class:`EventQuery` and the one filter rule, in SQL and in Python.

This module owns the meaning of a query: the query itself, turning typed search text into an
FTS5 expression that can never be a syntax error, the SQL that selects, counts or updates the
matching rows (walking the rowid, an index or the full-text index so that ``LIMIT`` stops
early), and :func:`matches`, the same filters applied to one event in memory (the event
window uses it to place a freshly stored event without asking the database).

The SQL conditions (:func:`sql_filters`) and :func:`matches` are two spellings of one rule;
``tests/core/history/test_query.py`` runs one table of cases through both and demands the same
events. No I/O here: the store runs what this builds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from holmtray.core.events import Kind, Severity, StoredEvent
from holmtray.core.history.codec import to_us


@dataclass(frozen=True)
class EventQuery:
    """Which events to return. Every filter given must hold (they are ANDed).

    Results come newest (highest id) first; ``oldest_first`` turns that round, so that
    ``after_id`` pages upwards from the oldest match as ``before_id`` pages downwards from the
    newest. Either order walks the rowid, an index or the full-text index and stops at
    ``limit``, without sorting the matches (``since``/``until`` excepted: a time range is
    looked up by receive time, then sorted, in either order).
    """

    search: str | None = None
    kinds: frozenset[Kind] | None = None
    min_severity: Severity | None = None
    unread_only: bool = False
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    after_id: int | None = None
    ids: frozenset[int] | None = None
    limit: int | None = 200
    oldest_first: bool = False


def fts_match_expression(text: str | None) -> str | None:
    """Turn what a person typed into an FTS5 expression that can never be a syntax error.

    Each whitespace-separated token becomes a quoted string (``"`` doubled inside), the tokens
    are ANDed, and the last one is prefix-matched, so ``web-01 cve-2021`` finds rows containing
    ``web 01`` and a token starting ``2021`` after ``cve``. Tokens without a letter or digit
    (``-``, ``*``, ``"``) cannot match anything and are dropped; ``None`` means "no filter".
    """
    if text is None:
        return None
    # NUL would end the expression inside FTS5 ("unterminated string"); it separates words.
    tokens = [t for t in text.replace("\x00", " ").split() if any(ch.isalnum() for ch in t)]
    if not tokens:
        return None
    quoted = ['"' + t.replace('"', '""') + '"' for t in tokens]
    quoted[-1] += "*"
    return " AND ".join(quoted)


def sorted_ids(ids: Iterable[int]) -> list[int]:
    """``ids`` sorted, without repeats, as ints (for ``json_each``)."""
    return sorted({int(i) for i in ids})


# --------------------------------------------------------------------------------------------
# The filter rule. sql_filters() and matches() must agree: a change to one is a change to
# the other (tests/core/history/test_query.py holds them to one table of cases).
# --------------------------------------------------------------------------------------------


def sql_filters(
    q: EventQuery, *, prefix: str, id_col: str, paging: bool
) -> tuple[list[str], list[Any]]:
    """SQL conditions for ``q``: ``prefix`` qualifies the events columns, ``id_col`` is the id.

    The search is not among them (it needs the full-text index: see :func:`select_sql`).
    """
    where: list[str] = []
    params: list[Any] = []
    if q.kinds is not None:
        if not q.kinds:
            where.append("0")
        else:
            # With "unread only", a unary + keeps the planner off events_kind (every row of the
            # kind: half the history for tickets) and on the small partial unread indexes;
            # its sampled statistics would otherwise pick the kind index (0.8 s vs 0.06 s to
            # count on a million events).
            plus = "+" if q.unread_only else ""
            where.append(f"{plus}{prefix}kind IN ({', '.join('?' * len(q.kinds))})")
            params.extend(sorted(k.value for k in q.kinds))
    if q.min_severity is not None:
        where.append(f"{prefix}severity >= ?")
        params.append(int(q.min_severity))
    if q.unread_only:
        where.append(f"{prefix}read = 0")
    if q.since is not None:
        where.append(f"{prefix}received_at >= ?")
        params.append(to_us(q.since))
    if q.until is not None:
        where.append(f"{prefix}received_at < ?")
        params.append(to_us(q.until))
    if q.ids is not None:
        where.append(f"{id_col} IN (SELECT value FROM json_each(?))")  # noqa: S608
        params.append(json.dumps(sorted(q.ids)))
    if paging:
        if q.before_id is not None:
            where.append(f"{id_col} < ?")
            params.append(q.before_id)
        if q.after_id is not None:
            where.append(f"{id_col} > ?")
            params.append(q.after_id)
    if not where:
        where.append("1")
    return where, params


def matches(q: EventQuery, s: StoredEvent) -> bool | None:
    """Whether ``s`` passes the filters of ``q``; ``None`` when only the store can tell (search).

    Paging fields (``before_id``, ``after_id``, ``limit``) are ignored.
    """
    if q.search is not None and q.search.strip():
        return None
    ev = s.event
    if q.kinds is not None and ev.kind not in q.kinds:
        return False
    if q.min_severity is not None and ev.severity < q.min_severity:
        return False
    if q.unread_only and s.read:
        return False
    if q.since is not None and s.received_at < q.since:
        return False
    if q.until is not None and s.received_at >= q.until:
        return False
    return not (q.ids is not None and s.id not in q.ids)


# --------------------------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------------------------


def update_where(q: EventQuery) -> tuple[str, list[Any]]:
    """The WHERE condition of an UPDATE of ``events`` for every row matching ``q``.

    Every filter applies, search and ``before_id``/``after_id`` included; ``limit`` does not.
    """
    where, params = sql_filters(q, prefix="", id_col="id", paging=True)
    search = fts_match_expression(q.search)
    if search is not None:
        where.append("id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)")
        params.append(search)
    return " AND ".join(where), params


def select_sql(
    q: EventQuery, columns: str, *, paging: bool, ordered: bool = True
) -> tuple[str, list[Any]]:
    """A SELECT of ``columns`` (over ``events AS e``) for the events matching ``q``.

    Ordered by id as ``q`` asks and limited to ``q.limit`` when ``paging``; ``count(...)``
    columns or ``ordered=False`` give the bare, unordered statement.
    """
    search = fts_match_expression(q.search)
    direction = "ASC" if q.oldest_first else "DESC"
    if search is None:
        where, params = sql_filters(q, prefix="e.", id_col="e.id", paging=paging)
        sql = f"SELECT {columns} FROM events AS e WHERE {' AND '.join(where)}"  # noqa: S608
        order = f" ORDER BY e.id {direction}"
    else:
        # Drive the query from the FTS index in rowid order (CROSS JOIN fixes the loop order),
        # so LIMIT stops early even when a common word matches a million rows.
        where, params = sql_filters(q, prefix="e.", id_col="events_fts.rowid", paging=paging)
        where = ["events_fts MATCH ?", *where]
        params = [search, *params]
        sql = (
            f"SELECT {columns} FROM events_fts CROSS JOIN events AS e"  # noqa: S608
            f" ON e.id = events_fts.rowid WHERE {' AND '.join(where)}"
        )
        order = f" ORDER BY events_fts.rowid {direction}"
    if columns.startswith("count(") or not ordered:
        return sql, params
    sql += order
    if paging and q.limit is not None:
        sql += " LIMIT ?"
        params.append(max(q.limit, 0))
    return sql, params
