"""The one filter rule, spelled twice: the store's SQL and ``matches()`` must pick the same events;
the sort orders, spelled twice: the store's ORDER BY and ``order_key()`` must sort them alike.

Every case of one table runs through a real SQLite file (``Store.query_ids`` and
``Store.count``) and through :func:`holmtray.core.history.query.matches` over the same stored
events; both must give the same ids, and as many as the table says. A case with a search is
one only the store can answer: ``matches()`` must say so (``None``) for every event.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from holmtray.core.events import Asset, Event, Kind, Severity, StoredEvent
from holmtray.core.history.query import (
    EventQuery,
    SortKey,
    asset_sort_text,
    matches,
    order_key,
    page_sql,
    result_key,
    sort_position,
)
from holmtray.core.history.store import NewEvent, Store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EDGE = T0 + timedelta(seconds=20)
"""A boundary: event 20 is received exactly at it, two more 1 µs either side of it."""
US = timedelta(microseconds=1)
KINDS = list(Kind)
N = 40
"""Events 0..N-1, one a second from T0; ids 1..N. Ids N+1 and N+2 are EDGE - 1 µs, EDGE + 1 µs."""


def _event(i: int) -> Event:
    # Kind repeats every 4, severity every 5: every kind meets every severity.
    return Event(
        kind=KINDS[i % len(KINDS)],
        title=f"{'alpha' if i % 2 else 'beta'} event {i}",
        severity=Severity((3 * i) % 5),
        asset=Asset(name=f"asset{i}", hostname=f"host{i}.example.org"),
        payload={"n": i},
    )


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[StoredEvent]]]:
    db: Path = tmp_path_factory.mktemp("query") / "events.db"
    items = [NewEvent(json.dumps({"n": i}), _event(i), T0 + timedelta(seconds=i)) for i in range(N)]
    items += [
        NewEvent(json.dumps({"n": N}), _event(N), EDGE - US),
        NewEvent(json.dumps({"n": N + 1}), _event(N + 1), EDGE + US),
    ]
    with Store.open(db) as store:
        results = store.insert_many(items)
        assert [r.id for r in results] == list(range(1, N + 3))
        store.set_read([r.id for r in results if r.id % 3 == 0])  # every third is read
        stored = store.query(EventQuery(limit=None))
        assert len(stored) == N + 2
        yield store, stored


EDGE_ID, BEFORE_EDGE_ID, AFTER_EDGE_ID = 21, N + 1, N + 2
BERLIN = timezone(timedelta(hours=2))


@dataclass(frozen=True)
class Case:
    name: str
    query: EventQuery
    count: int
    """How many events match (an independent check that the case filters what it means to)."""


CASES = [
    Case("everything", EventQuery(), N + 2),
    Case("kinds: none", EventQuery(kinds=frozenset()), 0),
    Case("kinds: one", EventQuery(kinds=frozenset({Kind.TICKET})), 10),
    Case("kinds: two", EventQuery(kinds=frozenset({Kind.TICKET, Kind.CUSTOM})), 20),
    Case("kinds: all", EventQuery(kinds=frozenset(Kind)), N + 2),
    Case("min severity info", EventQuery(min_severity=Severity.INFO), N + 2),
    Case("min severity high", EventQuery(min_severity=Severity.HIGH), 17),
    Case("min severity critical", EventQuery(min_severity=Severity.CRITICAL), 8),
    Case("unread only", EventQuery(unread_only=True), 28),
    Case("since the edge (inclusive)", EventQuery(since=EDGE), 21),
    Case("since 1 µs after the edge", EventQuery(since=EDGE + US), 20),
    Case("until the edge (exclusive)", EventQuery(until=EDGE), 21),
    Case("until 1 µs after the edge", EventQuery(until=EDGE + US), 22),
    Case("since == until: empty", EventQuery(since=EDGE, until=EDGE), 0),
    Case("exactly the edge", EventQuery(since=EDGE, until=EDGE + US), 1),
    Case("the edge ± 1 µs", EventQuery(since=EDGE - US, until=EDGE + 2 * US), 3),
    Case("since the edge, another zone", EventQuery(since=EDGE.astimezone(BERLIN)), 21),
    Case("until the edge, another zone", EventQuery(until=EDGE.astimezone(BERLIN)), 21),
    Case("ids, one absent", EventQuery(ids=frozenset({1, 5, EDGE_ID, 999})), 3),
    Case("ids: none", EventQuery(ids=frozenset()), 0),
    Case(
        "kinds + unread only",
        EventQuery(kinds=frozenset({Kind.FINISHED_SCAN, Kind.TICKET}), unread_only=True),
        14,
    ),
    Case(
        "kinds + severity + time range",
        EventQuery(
            kinds=frozenset({Kind.SCHEDULED_SCAN, Kind.CUSTOM}),
            min_severity=Severity.MEDIUM,
            since=T0 + timedelta(seconds=5),
            until=EDGE + US,
        ),
        4,
    ),
    Case("ids + unread only", EventQuery(ids=frozenset(range(1, 11)), unread_only=True), 7),
    Case(
        "every filter",
        EventQuery(
            kinds=frozenset({Kind.TICKET}),
            min_severity=Severity.LOW,
            unread_only=True,
            since=T0,
            until=EDGE,
            ids=frozenset(range(1, 31)),
        ),
        2,
    ),
    Case("blank search is no filter", EventQuery(search="   "), N + 2),
    Case("search", EventQuery(search="alpha"), 21),
    Case("search + filters", EventQuery(search="event", unread_only=True, until=EDGE), 15),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_store_and_matches_pick_the_same_events(
    history: tuple[Store, list[StoredEvent]], case: Case
) -> None:
    store, stored = history
    q = dataclasses.replace(case.query, limit=None)
    by_sql = store.query_ids(q)
    assert len(by_sql) == case.count
    assert store.count(q) == case.count
    verdicts = {s.id: matches(q, s) for s in stored}
    if fts_search(q):
        assert set(verdicts.values()) == {None}  # only the store can tell
        return
    assert None not in verdicts.values()
    assert {i for i, ok in verdicts.items() if ok} == set(by_sql)


def fts_search(q: EventQuery) -> bool:
    return q.search is not None and bool(q.search.strip())


def test_the_edge_events_are_where_the_cases_assume(
    history: tuple[Store, list[StoredEvent]],
) -> None:
    _, stored = history
    at = {s.id: s.received_at for s in stored}
    assert (at[BEFORE_EDGE_ID], at[EDGE_ID], at[AFTER_EDGE_ID]) == (EDGE - US, EDGE, EDGE + US)
    assert sum(1 for s in stored if s.read) == (N + 2) // 3


# ---- the sort orders: SQL ORDER BY and order_key() -------------------------------------------

_TITLES = ["beta", "Alpha", "alpha", "ALPHA", "Älpha", "_under", "zeta", "Beta", "äbc", "10 items"]
_ASSETS = [
    Asset(hostname="web-01.example"),
    Asset(hostname="Web-01.example"),
    Asset(ipv4="10.0.0.2"),
    Asset(name="payroll"),
    Asset(name="Payroll", ipv4="10.0.0.1"),
    Asset(),
    Asset(hostname="édge.example"),
    Asset(),
    Asset(hostname="", ipv4="10.0.0.3"),
    Asset(name="zulu"),
]
SORT_N = 60


def _sortable(i: int) -> Event:
    # Titles, assets, kinds and severities repeat at different rates: every key has ties
    # (broken by id), case variants, non-ASCII letters and, for assets, events without one.
    return Event(
        kind=KINDS[i % len(KINDS)],
        title=_TITLES[i % len(_TITLES)],
        severity=Severity((2 * i) % 5),
        asset=_ASSETS[(i * 7) % len(_ASSETS)],
        payload={"n": i},
    )


@pytest.fixture(scope="module")
def sortable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[StoredEvent]]]:
    db: Path = tmp_path_factory.mktemp("sort") / "events.db"
    items = [
        NewEvent(json.dumps({"n": i}), _sortable(i), T0 + timedelta(seconds=i))
        for i in range(SORT_N)
    ]
    with Store.open(db) as store:
        store.insert_many(items)
        store.set_read(range(1, SORT_N + 1, 4))
        yield store, store.query(EventQuery(limit=None))


SORT_FILTERS = {
    "everything": EventQuery(),
    "kind": EventQuery(kinds=frozenset({Kind.TICKET, Kind.CUSTOM})),
    "severity": EventQuery(min_severity=Severity.MEDIUM),
    "unread": EventQuery(unread_only=True),
    "ids": EventQuery(ids=frozenset(range(5, 40, 3))),
    "search": EventQuery(search="alpha"),
}


@pytest.mark.parametrize("ascending", [False, True], ids=["descending", "ascending"])
@pytest.mark.parametrize("key", list(SortKey), ids=[k.value for k in SortKey])
@pytest.mark.parametrize("name", SORT_FILTERS.keys())
def test_store_and_order_key_sort_alike_and_keyset_pages_add_up(
    sortable: tuple[Store, list[StoredEvent]], key: SortKey, ascending: bool, name: str
) -> None:
    store, stored = sortable
    q = dataclasses.replace(SORT_FILTERS[name], sort=key, oldest_first=ascending, limit=None)
    by_sql = store.query_ids(q)
    matching = set(store.query_ids(dataclasses.replace(q, sort=SortKey.RECEIVED)))
    assert matching  # every filter here matches something
    by_python = sorted(
        (s for s in stored if s.id in matching),
        key=lambda s: order_key(s, key),
        reverse=not ascending,
    )
    assert by_sql == [s.id for s in by_python]
    # The same order by the key that places rows in the event window (direction included).
    shuffled = random.Random(7).sample(by_python, len(by_python))
    assert by_sql == [s.id for s in sorted(shuffled, key=lambda s: result_key(s, q))]
    # Keyset paging: each page starts after the last row of the one before, in any order.
    by_id = {s.id: s for s in stored}
    for size in (1, 4, 7):
        seen: list[int] = []
        after = None
        while page := store.query_ids(dataclasses.replace(q, after=after, limit=size)):
            assert len(page) <= size
            seen.extend(page)
            after = sort_position(by_id[page[-1]], key)
        assert seen == by_sql, size
    assert [s.id for s in store.query(dataclasses.replace(q, limit=5))] == by_sql[:5]


def test_the_sort_cases_have_ties_case_variants_and_missing_assets(
    sortable: tuple[Store, list[StoredEvent]],
) -> None:
    _, stored = sortable
    assets = [asset_sort_text(s.event) for s in stored]
    assert None in assets
    assert "" in assets  # a blank host name is still the host name, as in SQL's coalesce
    assert {"web-01.example", "Web-01.example"} <= set(assets)
    titles = [s.event.title for s in stored]
    assert len(set(titles)) < len(titles)


@pytest.mark.parametrize("key", [k for k in SortKey if k is not SortKey.RECEIVED])
@pytest.mark.parametrize("ascending", [False, True], ids=["descending", "ascending"])
def test_a_sorted_page_walks_an_index_and_seeks_where_it_starts(
    sortable: tuple[Store, list[StoredEvent]], key: SortKey, ascending: bool
) -> None:
    # What keeps sorting a million events as fast as filtering them: every statement of a page
    # is an index walk that LIMIT stops (no "USE TEMP B-TREE FOR ORDER BY": sorting every
    # match), and a page further on seeks to where it starts ("SEARCH", not "SCAN").
    store, stored = sortable
    con = sqlite3.connect(store.path)
    con.execute("ANALYZE")  # plans as on a real file, where the statistics exist
    try:
        q = EventQuery(sort=key, oldest_first=ascending, limit=201)
        middle = sort_position(stored[len(stored) // 2], key)
        for query, verb in ((q, "SCAN"), (dataclasses.replace(q, after=middle), "SEARCH")):
            for sql, params in page_sql(query, "e.id"):
                assert "ORDER BY" in sql
                plan = " | ".join(
                    str(r[3]) for r in con.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                )
                assert "TEMP B-TREE" not in plan, plan
                assert plan.startswith(f"{verb} e USING"), plan
                assert "INDEX events_" in plan, plan
    finally:
        con.execute("DROP TABLE IF EXISTS sqlite_stat1")
        con.commit()
        con.close()
