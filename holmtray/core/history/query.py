"""Which events to show, in which order: :class:`EventQuery`, the one filter rule and the sort
orders, each in SQL and in Python.

This module owns the meaning of a query: the query itself, turning typed search text into an
FTS5 expression that can never be a syntax error, the SQL that selects, counts or updates the
matching rows (walking the rowid, an index or the full-text index so that ``LIMIT`` stops
early), and :func:`matches`, the same filters applied to one event in memory (the event
window uses it to place a freshly stored event without asking the database).

Results are sorted by a :class:`SortKey` (receive order by default), ties broken by id, and
paged by keyset: :attr:`EventQuery.after` is the :func:`sort_position` of the last row of the
previous page. Each key's SQL expression is the one an index of the schema holds, so a sorted
page is an index walk that ``LIMIT`` stops, at any depth. :func:`order_key` is the same order
in Python (the event window places live events with it).

The SQL conditions (:func:`sql_filters`) and :func:`matches` are two spellings of one rule, as
are the SQL ``ORDER BY`` and :func:`order_key`; ``tests/core/history/test_query.py`` runs one
table of cases through both and demands the same events in the same order. No I/O here: the
store runs what this builds.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from holmtray.core.events import Event, Kind, Severity, StoredEvent
from holmtray.core.history.codec import to_us


class SortKey(StrEnum):
    """What results are sorted by; ties are always broken by id, in the same direction."""

    RECEIVED = "received"
    """Receive order (the id): the newest first, as the history has always been listed."""
    KIND = "kind"
    SEVERITY = "severity"
    TITLE = "title"
    """Case-insensitive for ASCII letters (SQLite's ``NOCASE``)."""
    ASSET = "asset"
    """:func:`asset_sort_text`, case-insensitive as titles; events without one sort after
    every event with one (ascending)."""


SortPosition = tuple[Any, int]
"""Where a row stands in an order: its sort value as SQL compares it, and its id."""

_SORT_SQL = {
    SortKey.KIND: "{p}kind",
    SortKey.SEVERITY: "{p}severity",
    SortKey.TITLE: "{p}title COLLATE NOCASE",
    # An empty blob sorts after every text: events without an asset come last (ascending).
    SortKey.ASSET: "coalesce({p}hostname, {p}ipv4, {p}asset_name, X'') COLLATE NOCASE",
}
"""Each key's SQL over the events columns; schema v4 indexes exactly these expressions, each
followed by the id and the filtered columns (v2 ``kind``), so an ordered page walks an index."""


@dataclass(frozen=True)
class EventQuery:
    """Which events to return, in which order. Every filter given must hold (they are ANDed).

    Results come newest (highest id) first; ``oldest_first`` turns that round, so that
    ``after_id`` pages upwards from the oldest match as ``before_id`` pages downwards from the
    newest. Either order walks the rowid, an index or the full-text index and stops at
    ``limit``, without sorting the matches (``since``/``until`` excepted: a time range is
    looked up by receive time, then sorted, in either order).

    With another ``sort``, results come highest first (critical, Z, the last kind) and
    ``oldest_first`` means ascending; ``after`` (a :func:`sort_position`) pages on in either
    direction. ``before_id``/``after_id`` stay plain bounds on the id.
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
    sort: SortKey = SortKey.RECEIVED
    after: SortPosition | None = None
    """Only rows that come after this position in the result order (keyset paging)."""


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
# The sort orders. The SQL ORDER BY and order_key() must agree (test_query.py holds them to one
# table of cases, as the filters).
# --------------------------------------------------------------------------------------------


def asset_sort_text(ev: Event) -> str | None:
    """The asset an event is sorted by: its host name, else its IPv4 address, else its name."""
    a = ev.asset
    for value in (a.hostname, a.ipv4, a.name):
        if value is not None:
            return value
    return None


_NOCASE = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
"""What SQLite's NOCASE folds: ASCII capitals only."""


def _nocase(text: str) -> str:
    return text.translate(_NOCASE)


def sort_position(s: StoredEvent, key: SortKey) -> SortPosition:
    """Where ``s`` stands in the order by ``key``, as :attr:`EventQuery.after` takes it."""
    ev = s.event
    value: Any
    if key is SortKey.RECEIVED:
        value = s.id
    elif key is SortKey.KIND:
        value = ev.kind.value
    elif key is SortKey.SEVERITY:
        value = int(ev.severity)
    elif key is SortKey.TITLE:
        value = ev.title
    else:
        asset = asset_sort_text(ev)
        value = asset if asset is not None else b""
    return value, s.id


def order_key(s: StoredEvent, key: SortKey) -> tuple[Any, ...]:
    """A Python key that sorts events exactly as the SQL order by ``key`` ascending does.

    Descending is the same order reversed (ties by id reverse with it).
    """
    value, event_id = sort_position(s, key)
    if key is SortKey.TITLE:
        return (_nocase(value), event_id)
    if key is SortKey.ASSET:
        # SQLite sorts text before blobs: the events without an asset come last.
        return (1, "", event_id) if isinstance(value, bytes) else (0, _nocase(value), event_id)
    return (value, event_id)


class _Reversed:
    """Wraps a sort key so that the larger one sorts first (a descending order)."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.key < self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.key == other.key

    __hash__ = None  # type: ignore[assignment]


def result_key(s: StoredEvent, q: EventQuery) -> Any:
    """A key that sorts events in the order ``q`` returns them (its sort and direction)."""
    key = order_key(s, q.sort)
    return key if q.oldest_first else _Reversed(key)


def sort_sql(key: SortKey, *, prefix: str) -> str:
    """The SQL expression sorted on for ``key`` (``prefix`` qualifies the columns)."""
    if key is SortKey.RECEIVED:
        return f"{prefix}id"
    return _SORT_SQL[key].format(p=prefix)


def _after_condition(q: EventQuery, *, prefix: str, id_col: str) -> tuple[str, list[Any]]:
    """The keyset condition for :attr:`EventQuery.after` (rows after it in the order)."""
    assert q.after is not None
    op = ">" if q.oldest_first else "<"
    value, event_id = q.after
    if q.sort is SortKey.RECEIVED:
        return f"{id_col} {op} ?", [int(event_id)]
    # Spelled out rather than as a row value: SQLite seeks an index on a COLLATE expression
    # for "key <= ?" but would scan it from the start for "(key, id) < (?, ?)".
    key = sort_sql(q.sort, prefix=prefix)
    condition = f"{key} {op}= ? AND ({key} {op} ? OR {id_col} {op} ?)"
    return condition, [value, value, int(event_id)]


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
    by_key = q.sort is not SortKey.RECEIVED
    if q.kinds is not None:
        if not q.kinds:
            where.append("0")
        else:
            # With "unread only", a unary + keeps the planner off events_kind (every row of the
            # kind: half the history for tickets) and on the small partial unread indexes;
            # its sampled statistics would otherwise pick the kind index (0.8 s vs 0.06 s to
            # count on a million events). Sorted by another key, it keeps it on that key's
            # index, which holds the kind: else it would sort every ticket (2 s on a million).
            plus = "+" if q.unread_only or (by_key and q.sort is not SortKey.KIND) else ""
            where.append(f"{plus}{prefix}kind IN ({', '.join('?' * len(q.kinds))})")
            params.extend(sorted(k.value for k in q.kinds))
    if q.min_severity is not None:
        plus = "+" if by_key and q.sort is not SortKey.SEVERITY else ""
        where.append(f"{plus}{prefix}severity >= ?")
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
        if q.after is not None:
            condition, values = _after_condition(q, prefix=prefix, id_col=id_col)
            where.append(condition)
            params.extend(values)
    if not where:
        where.append("1")
    return where, params


def matches(q: EventQuery, s: StoredEvent) -> bool | None:
    """Whether ``s`` passes the filters of ``q``; ``None`` when only the store can tell (search).

    Paging and order fields (``before_id``, ``after_id``, ``after``, ``limit``, ``sort``)
    are ignored.
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

    Every filter applies, search and ``before_id``/``after_id``/``after`` included; ``limit``
    does not.
    """
    where, params = sql_filters(q, prefix="", id_col="id", paging=True)
    search = fts_match_expression(q.search)
    if search is not None:
        where.append("id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)")
        params.append(search)
    return " AND ".join(where), params


def select_sql(
    q: EventQuery,
    columns: str,
    *,
    paging: bool,
    ordered: bool = True,
    extra: tuple[str, Sequence[Any]] | None = None,
) -> tuple[str, list[Any]]:
    """A SELECT of ``columns`` (over ``events AS e``) for the events matching ``q``.

    Ordered as ``q`` asks and limited to ``q.limit`` when ``paging``; ``count(...)`` columns or
    ``ordered=False`` give the bare, unordered statement. ``extra`` is one more condition and
    its parameters, written with ``{id}`` for the id column.
    """
    search = fts_match_expression(q.search)
    direction = "ASC" if q.oldest_first else "DESC"
    by_key = "" if q.sort is SortKey.RECEIVED else f"{sort_sql(q.sort, prefix='e.')} {direction}, "
    id_col = "e.id" if search is None else "events_fts.rowid"
    where, params = sql_filters(q, prefix="e.", id_col=id_col, paging=paging)
    if extra is not None:
        where.append(extra[0].format(id=id_col))
        params.extend(extra[1])
    if search is None:
        sql = f"SELECT {columns} FROM events AS e WHERE {' AND '.join(where)}"  # noqa: S608
    else:
        # Drive the query from the FTS index in rowid order (CROSS JOIN fixes the loop order),
        # so LIMIT stops early even when a common word matches a million rows.
        where = ["events_fts MATCH ?", *where]
        params = [search, *params]
        sql = (
            f"SELECT {columns} FROM events_fts CROSS JOIN events AS e"  # noqa: S608
            f" ON e.id = events_fts.rowid WHERE {' AND '.join(where)}"
        )
        # Another order sorts the matches (a search narrows them: typically a few hundred).
    if columns.startswith("count(") or not ordered:
        return sql, params
    sql += f" ORDER BY {by_key}{id_col} {direction}"
    if paging and q.limit is not None:
        sql += " LIMIT ?"
        params.append(max(q.limit, 0))
    return sql, params


def page_sql(q: EventQuery, columns: str) -> list[tuple[str, list[Any]]]:
    """The statements whose rows, one after the other, are the page ``q`` asks for.

    One statement (:func:`select_sql`), except when paging on from ``after`` in an order by a
    key: then the rest of the ``after`` row's group of equal keys (an index seek on
    ``key = ?``, walking the ids) and then the rows beyond the group (a seek on ``key < ?``).
    Each stops at ``LIMIT`` wherever it starts, where one statement would step over the whole
    group before the cursor (half a million events without an asset, say) on every page.
    With ``q.limit`` set, the last parameter of each statement is its limit: run them in turn
    until that many rows came, giving each the number still missing.
    """
    if q.after is None or q.sort is SortKey.RECEIVED:
        return [select_sql(q, columns, paging=True)]
    value, event_id = q.after
    op = ">" if q.oldest_first else "<"
    key = sort_sql(q.sort, prefix="e.")
    rest = dataclasses.replace(q, after=None)
    # Within the group the key is one value: ordered by id alone, which the planner sees an
    # index on an expression yields (it does not see that for ORDER BY expression, id).
    group = dataclasses.replace(rest, sort=SortKey.RECEIVED)
    return [
        select_sql(
            group, columns, paging=True, extra=(f"{key} = ? AND {{id}} {op} ?", [value, event_id])
        ),
        select_sql(rest, columns, paging=True, extra=(f"{key} {op} ?", [value])),
    ]
