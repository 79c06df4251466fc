"""The SQLite event store, against real SQLite files in a temp directory (no mocks)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from holmtray.core.events import (
    Asset,
    Counts,
    Event,
    Kind,
    Severity,
    TicketInfo,
    Vulnerability,
)
from holmtray.core.history.database import StoreError, StoreUnavailable
from holmtray.core.history.query import EventQuery, SortKey, fts_match_expression, select_sql
from holmtray.core.history.schema import SCHEMA_VERSION
from holmtray.core.history.store import DEDUP_WINDOW, NewEvent, Store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
KINDS = list(Kind)


def make_event(
    i: int,
    *,
    kind: Kind | None = None,
    severity: Severity | None = None,
    title: str | None = None,
    hostname: str | None = None,
) -> tuple[str, Event]:
    """A body and its event; bodies differ by ``i`` so that they are not duplicates."""
    payload = {"ticket": {"n": i, "title": title or f"Event {i}"}}
    event = Event(
        kind=kind or KINDS[i % len(KINDS)],
        title=title or f"Event number {i}",
        severity=severity if severity is not None else Severity(i % 5),
        asset=Asset(name=f"asset{i}", hostname=hostname or f"host{i}.example.org"),
        payload=payload,
    )
    return json.dumps(payload), event


def new(i: int, at: datetime | None = None, **kw: object) -> NewEvent:
    body, event = make_event(i, **kw)  # type: ignore[arg-type]
    return NewEvent(body=body, event=event, received_at=at or T0 + timedelta(seconds=i))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "events.sqlite3"


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    s = Store.open(db)
    yield s
    s.close()


def fill(store: Store, n: int, start: int = 0) -> list[int]:
    return [r.id for r in store.insert_many([new(i) for i in range(start, start + n)])]


def raw(db: Path) -> sqlite3.Connection:
    """A second, independent connection to the same file."""
    return sqlite3.connect(db, isolation_level=None)


# ---- round trip ------------------------------------------------------------------------------


def test_insert_then_get_returns_every_field_and_the_body_verbatim(store: Store) -> None:
    body = (
        '{"ticket": {"title": "<b>Ärger</b> & <script>alert(1)</script> 🚨",'
        ' "note": "tab\\there", "zh": "漏洞"}}\n  '
    )
    event = Event(
        kind=Kind.FINISHED_SCAN,
        title="<b>Ärger</b> & <script>alert(1)</script> 🚨 漏洞",
        severity=Severity.CRITICAL,
        attention=True,
        counts=Counts(critical=1, high=2, medium=3, low=4),
        scan_name="Nightly «external»",
        scan_type="network",
        scan_status="Completed",
        errors=("timeout on 10.0.0.9", "ünreachable"),
        started=datetime(2025, 3, 1, 1, 0, tzinfo=UTC),
        finished=datetime(2025, 3, 1, 2, 30, 15, 123456, tzinfo=UTC),
        duration=timedelta(minutes=90, seconds=15),
        link="https://sc.holmsecurity.com/scans/view/123?a=1&b=<2>",
        asset=Asset(name="web", hostname="web-01.example.com", ipv4="10.0.0.1", os="Linux"),
        vulnerability=Vulnerability(
            name="Log4Shell", cve="CVE-2021-44228", cvss=10.0, summary="JNDI lookup"
        ),
        ticket=TicketInfo(number="T-17", status="Open"),
        payload=json.loads(body),
    )
    received = datetime(2025, 3, 1, 2, 31, 0, 999999, tzinfo=UTC)

    [result] = store.insert_many([NewEvent(body=body, event=event, received_at=received)])
    got = store.get(result.id)

    assert result.duplicate is False
    assert got is not None
    assert got == result.stored
    assert got.body == body
    assert got.event == event
    assert got.event.payload == event.payload
    assert got.received_at == received
    assert got.received_at.tzinfo is not None
    assert got.read is False


def test_received_at_in_another_timezone_is_stored_as_the_same_instant(store: Store) -> None:
    body, event = make_event(1)
    cet = datetime(2025, 3, 1, 13, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=1)))
    [r] = store.insert_many([NewEvent(body, event, cet)])
    got = store.get(r.id)
    assert got is not None
    assert got.received_at == cet
    assert got.received_at.utcoffset() == timedelta(0)


def test_naive_received_at_is_refused_as_a_bug(store: Store) -> None:
    body, event = make_event(1)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.insert_many([NewEvent(body, event, datetime(2025, 1, 1))])


def test_payload_that_differs_from_the_body_survives_the_round_trip(store: Store) -> None:
    body, event = make_event(1)
    event = Event(kind=event.kind, title=event.title, severity=event.severity, payload={"x": 1})
    [r] = store.insert_many([NewEvent(body, event, T0)])
    got = store.get(r.id)
    assert got is not None
    assert got.event.payload == {"x": 1}
    assert got.body == body


def test_lone_surrogate_from_a_hostile_body_does_not_fail_its_batch(store: Store) -> None:
    body = '{"ticket": {"title": "\\ud800 bad"}}'
    payload = json.loads(body)
    hostile = Event(kind=Kind.TICKET, title=payload["ticket"]["title"], severity=Severity.LOW)
    results = store.insert_many(
        [new(1), NewEvent(body, hostile, T0 + timedelta(seconds=2)), new(3)]
    )
    assert [r.duplicate for r in results] == [False, False, False]
    got = store.get(results[1].id)
    assert got is not None
    assert got.event.title == "\ufffd bad"
    assert store.count(EventQuery()) == 3


def test_get_of_unknown_id_is_none(store: Store) -> None:
    assert store.get(12345) is None


def test_ids_are_never_reused_after_delete(store: Store) -> None:
    ids = fill(store, 3)
    store.delete([ids[-1]])
    [again] = fill(store, 1, start=10)
    assert again > ids[-1]


def test_store_opened_in_one_thread_works_in_another(db: Path) -> None:
    s = Store.open(db)
    out: list[int] = []
    worker = threading.Thread(target=lambda: out.extend(fill(s, 2)))
    worker.start()
    worker.join()
    assert out == [1, 2]
    s.close()


# ---- file, folder and pragmas ----------------------------------------------------------------


def test_open_creates_a_private_folder_and_file_in_wal_mode(db: Path) -> None:
    with Store.open(db) as s:
        assert s.path == db
        assert s.recovered_from is None
        assert db.parent.stat().st_mode & 0o777 == 0o700
        assert db.stat().st_mode & 0o777 == 0o600
    con = raw(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_writable_store_keeps_its_statement_journal_in_memory(db: Path) -> None:
    # A batch's multi-row INSERT keeps a statement journal (the FTS trigger asks for one);
    # in a temporary file it cost more writes than the WAL. Read-only opens keep the default.
    with Store.open(db) as s:
        assert s._conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
        fill(s, 300)
        assert s.count(EventQuery()) == 300
        assert s.integrity_check() == "ok"
    with Store.open(db, readonly=True) as s:
        assert s._conn.execute("PRAGMA temp_store").fetchone()[0] == 0  # the default


def test_reopening_keeps_the_rows(db: Path) -> None:
    with Store.open(db) as s:
        fill(s, 5)
    with Store.open(db) as s:
        assert s.count(EventQuery()) == 5
        assert s.integrity_check() == "ok"


# ---- paging and filters ----------------------------------------------------------------------


def test_paging_newest_first_by_before_id_has_no_gaps_or_repeats(store: Store) -> None:
    ids = fill(store, 1000)
    seen: list[int] = []
    before: int | None = None
    while True:
        page = store.query_ids(EventQuery(before_id=before, limit=37))
        if not page:
            break
        seen.extend(page)
        before = page[-1]
    assert seen == sorted(ids, reverse=True)


def test_query_returns_the_same_rows_as_query_ids_newest_first(store: Store) -> None:
    fill(store, 30)
    q = EventQuery(min_severity=Severity.MEDIUM, limit=10)
    rows = store.query(q)
    assert [r.id for r in rows] == store.query_ids(q)
    assert [r.id for r in rows] == sorted((r.id for r in rows), reverse=True)


def test_after_id_returns_only_newer_events(store: Store) -> None:
    ids = fill(store, 10)
    assert store.query_ids(EventQuery(after_id=ids[6])) == [ids[9], ids[8], ids[7]]


def test_limit_none_returns_everything_and_zero_returns_nothing(store: Store) -> None:
    fill(store, 250)
    assert len(store.query_ids(EventQuery())) == 200
    assert len(store.query_ids(EventQuery(limit=None))) == 250
    assert store.query_ids(EventQuery(limit=0)) == []


def test_kinds_filter_keeps_only_those_kinds(store: Store) -> None:
    fill(store, 20)
    rows = store.query(EventQuery(kinds=frozenset({Kind.TICKET, Kind.CUSTOM}), limit=None))
    assert rows
    assert {r.event.kind for r in rows} == {Kind.TICKET, Kind.CUSTOM}
    assert store.count(EventQuery(kinds=frozenset({Kind.TICKET}))) == 5
    assert store.query_ids(EventQuery(kinds=frozenset())) == []


def test_min_severity_filter_keeps_that_severity_and_above(store: Store) -> None:
    fill(store, 20)
    rows = store.query(EventQuery(min_severity=Severity.HIGH, limit=None))
    assert len(rows) == 8
    assert {r.event.severity for r in rows} == {Severity.HIGH, Severity.CRITICAL}


def test_unread_only_filter_hides_read_events(store: Store) -> None:
    ids = fill(store, 6)
    store.set_read(ids[:4])
    assert store.query_ids(EventQuery(unread_only=True)) == [ids[5], ids[4]]


def test_since_is_inclusive_and_until_exclusive(store: Store) -> None:
    ids = fill(store, 10)  # received at T0 + i seconds
    q = EventQuery(since=T0 + timedelta(seconds=3), until=T0 + timedelta(seconds=6))
    assert store.query_ids(q) == [ids[5], ids[4], ids[3]]
    assert store.count(q) == 3


def test_naive_since_is_refused_as_a_bug(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.query(EventQuery(since=datetime(2025, 1, 1)))


def test_ids_filter_restricts_to_those_ids(store: Store) -> None:
    ids = fill(store, 10)
    assert store.query_ids(EventQuery(ids=frozenset({ids[2], ids[7], 999}))) == [ids[7], ids[2]]
    assert store.query_ids(EventQuery(ids=frozenset())) == []


def test_filters_combine_with_and(store: Store) -> None:
    fill(store, 50)
    q = EventQuery(
        kinds=frozenset({Kind.TICKET}), min_severity=Severity.MEDIUM, since=T0, limit=None
    )
    rows = store.query(q)
    assert rows
    assert all(r.event.kind is Kind.TICKET and r.event.severity >= Severity.MEDIUM for r in rows)
    assert len(rows) == store.count(q)


def test_count_ignores_limit_and_paging(store: Store) -> None:
    ids = fill(store, 300)
    q = EventQuery(limit=5, before_id=ids[10], after_id=ids[3])
    assert store.count(q) == 300
    assert store.count(EventQuery(search="number", limit=1, before_id=2)) == 300


_OLDEST_FIRST_FILTERS = {
    "none": EventQuery(),
    "kind": EventQuery(kinds=frozenset({Kind.TICKET, Kind.CUSTOM})),
    "kind+severity": EventQuery(kinds=frozenset({Kind.TICKET}), min_severity=Severity.HIGH),
    "unread": EventQuery(unread_only=True),
    "kind+unread": EventQuery(kinds=frozenset({Kind.TICKET}), unread_only=True),
    "severity+time": EventQuery(
        min_severity=Severity.MEDIUM,
        since=T0 + timedelta(seconds=50),
        until=T0 + timedelta(hours=1),
    ),
    "search": EventQuery(search="number"),
    "search+kind": EventQuery(search="host1", kinds=frozenset({Kind.FINISHED_SCAN})),
}


@pytest.mark.parametrize("q", _OLDEST_FIRST_FILTERS.values(), ids=_OLDEST_FIRST_FILTERS.keys())
def test_oldest_first_pages_upwards_by_after_id_with_every_filter(
    store: Store, q: EventQuery
) -> None:
    ids = fill(store, 400)
    store.set_read(ids[::3])
    expected = store.query_ids(dataclasses.replace(q, limit=None))
    assert expected  # every filter here matches something
    seen: list[int] = []
    after: int | None = None
    while page := store.query_ids(
        dataclasses.replace(q, oldest_first=True, after_id=after, limit=23)
    ):
        seen.extend(page)
        after = page[-1]
    assert seen == expected[::-1]  # the same rows, oldest first, no gaps or repeats
    rows = store.query(dataclasses.replace(q, oldest_first=True, limit=5))
    assert [r.id for r in rows] == expected[::-1][:5]
    # before_id still bounds it from above: the oldest page below some id.
    below = store.query_ids(dataclasses.replace(q, oldest_first=True, before_id=expected[0]))
    assert below == expected[:0:-1][:200]
    # Order does not matter to counting or to marking read.
    assert store.count(dataclasses.replace(q, oldest_first=True)) == len(expected)
    assert store.count(dataclasses.replace(q, oldest_first=True), cap=3) == 4


_WINDOW_FILTERS = {k: q for k, q in _OLDEST_FIRST_FILTERS.items() if q.since is None}
"""The filters the event window sets (a time range is searched by receive time, then sorted,
in either order; the window never sets one)."""


@pytest.mark.parametrize("q", _WINDOW_FILTERS.values(), ids=_WINDOW_FILTERS.keys())
def test_oldest_first_walks_an_index_without_sorting(store: Store, q: EventQuery) -> None:
    # What keeps "jump to the oldest" ~1 ms on a million rows: the rowid, an index or the FTS
    # index is walked in ascending order and LIMIT stops it; no sort of every match.
    from holmtray.core.history.query import select_sql  # noqa: PLC0415

    fill(store, 10)
    con = raw(store.path)
    con.execute("ANALYZE")  # plans as on a real file, where the statistics exist
    for after in (None, 5):
        sql, params = select_sql(
            dataclasses.replace(q, oldest_first=True, after_id=after, limit=201),
            "e.id",
            paging=True,
        )
        assert "ASC" in sql
        plan = " | ".join(str(r[3]) for r in con.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "TEMP B-TREE" not in plan, plan


# ---- full-text search ------------------------------------------------------------------------


@pytest.fixture
def searchable(store: Store) -> dict[str, int]:
    events = {
        "log4": Event(
            kind=Kind.TICKET,
            title="Remote code execution",
            severity=Severity.CRITICAL,
            asset=Asset(name="Payroll", hostname="web-01.example.com", ipv4="10.20.30.40"),
            vulnerability=Vulnerability(
                name="Apache Log4j", cve="CVE-2021-44228", summary="JNDI lookup injection"
            ),
        ),
        "scan": Event(
            kind=Kind.FINISHED_SCAN,
            title="Scan finished",
            severity=Severity.HIGH,
            scan_name="Nightly DMZ",
            asset=Asset(hostname="mail.example.com", ipv4="192.168.1.5"),
        ),
        "cafe": Event(kind=Kind.CUSTOM, title="Ärger im Café Zürich", severity=Severity.LOW),
        "markup": Event(kind=Kind.CUSTOM, title='Quote " star * NEAR( -x', severity=Severity.INFO),
    }
    out = {}
    for n, (key, ev) in enumerate(events.items()):
        [r] = store.insert_many([NewEvent(f'{{"k": "{key}"}}', ev, T0 + timedelta(seconds=n))])
        out[key] = r.id
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("remote", {"log4"}),  # title
        ("payroll", {"log4"}),  # asset name
        ("web-01.example.com", {"log4"}),  # hostname as a phrase
        ("10.20.30.40", {"log4"}),  # ipv4
        ("CVE-2021-44228", {"log4"}),  # cve
        ("log4j", {"log4"}),  # vulnerability name
        ("jndi", {"log4"}),  # vulnerability summary
        ("nightly dmz", {"scan"}),  # scan name, two tokens ANDed
        ("nightly mail", {"scan"}),  # tokens may come from different columns
        ("nightly payroll", set()),  # ... but all must match
        ("exam", {"log4", "scan"}),  # the last token is a prefix
        ("192.168", {"scan"}),  # a prefix of an address
        ("cafe zurich", {"cafe"}),  # diacritics folded
        ("ÄRGER", {"cafe"}),  # case folded
    ],
)
def test_search_finds_events_by_text(
    store: Store, searchable: dict[str, int], text: str, expected: set[str]
) -> None:
    found = set(store.query_ids(EventQuery(search=text)))
    assert found == {searchable[k] for k in expected}


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '""',
        "*",
        "NEAR(",
        "NEAR(a b",
        "AND OR",
        "OR",
        "NOT",
        "-",
        "- -x",
        "^",
        "+",
        "(",
        ")",
        ":",
        "title:remote",
        "{title} : x",
        "'",
        "a\x00b",
        "\\",
        "🙂",
        "漏洞",
        "é" * 3000,
        'Quote " star',
        "a AND",
    ],
)
def test_hostile_search_text_never_raises(
    store: Store, searchable: dict[str, int], text: str
) -> None:
    ids = store.query_ids(EventQuery(search=text))
    assert set(ids) <= set(searchable.values())
    assert store.count(EventQuery(search=text)) == len(ids)
    store.mark_all_read(EventQuery(search=text))


def test_search_for_reserved_words_matches_them_as_plain_words(
    store: Store, searchable: dict[str, int]
) -> None:
    assert store.query_ids(EventQuery(search='quote " star * near(')) == [searchable["markup"]]
    assert store.query_ids(EventQuery(search="title:remote")) == []


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "-", '"', "*"])
def test_search_without_searchable_characters_is_no_filter(
    store: Store, searchable: dict[str, int], text: str
) -> None:
    assert store.count(EventQuery(search=text)) == len(searchable)


def test_fts_match_expression_quotes_ands_and_prefixes_the_last_token() -> None:
    assert fts_match_expression(None) is None
    assert fts_match_expression("  ") is None
    assert fts_match_expression('web-01 say"hi" x') == '"web-01" AND "say""hi""" AND "x"*'
    assert fts_match_expression("- * foo") == '"foo"*'


def test_search_combines_with_filters_and_pages_newest_first(store: Store) -> None:
    items = [new(i, title=f"apache finding {i}") for i in range(100)]
    items += [new(i, title=f"nginx finding {i}") for i in range(100, 150)]
    ids = [r.id for r in store.insert_many(items)]
    apache = ids[:100]
    seen: list[int] = []
    before: int | None = None
    while page := store.query_ids(EventQuery(search="apache", before_id=before, limit=7)):
        seen.extend(page)
        before = page[-1]
    assert seen == sorted(apache, reverse=True)
    critical = store.query(EventQuery(search="apache", min_severity=Severity.CRITICAL, limit=None))
    assert len(critical) == 20
    assert all("apache" in r.event.title for r in critical)
    assert store.query_ids(EventQuery(search="finding", after_id=ids[147])) == ids[148:][::-1]


def test_search_follows_updates_and_deletes(store: Store) -> None:
    [a] = fill(store, 1)
    assert store.query_ids(EventQuery(search="number")) == [a]
    store.delete([a])
    assert store.query_ids(EventQuery(search="number")) == []
    assert store.integrity_check() == "ok"


def test_search_is_driven_by_the_fts_index_without_sorting(store: Store) -> None:
    # Pins what keeps search fast with a million rows: FTS5 yields rowids newest-first and the
    # LIMIT stops early; a "USE TEMP B-TREE FOR ORDER BY" would mean sorting every match.
    from holmtray.core.history.query import select_sql  # noqa: PLC0415

    fill(store, 10)
    sql, params = select_sql(
        EventQuery(search="number", min_severity=Severity.HIGH, before_id=5), "e.id", paging=True
    )
    con = raw(store.path)
    plan = " | ".join(str(r[3]) for r in con.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "events_fts VIRTUAL TABLE" in plan.split(" | ")[0]
    assert "TEMP B-TREE" not in plan


# ---- read flags, delete, restore ---------------------------------------------------------------


def test_set_read_counts_only_rows_that_changed(store: Store) -> None:
    ids = fill(store, 5)
    assert store.set_read([ids[0], ids[1], 999]) == 2
    assert store.set_read([ids[0], ids[2]]) == 1
    assert store.set_read([ids[0]], read=False) == 1
    assert store.set_read([]) == 0
    assert [e.read for e in store.query(EventQuery())][::-1] == [False, True, True, False, False]


def test_set_read_accepts_more_ids_than_sqlite_has_variables(store: Store) -> None:
    fill(store, 10)
    many = range(1, 40_000)  # SQLite allows at most 32766 "?" in one statement
    assert store.set_read(many) == 10
    assert store.unread_summary() == (0, None)
    assert store.delete(many) == 10
    assert store.query_ids(EventQuery(ids=frozenset(many))) == []


def test_mark_all_read_ids_returns_exactly_the_rows_it_changed(store: Store) -> None:
    ids = fill(store, 12)
    store.set_read([ids[0], ids[4]])
    tickets = EventQuery(kinds=frozenset({Kind.TICKET}), before_id=ids[10])
    expected = store.query_ids(dataclasses.replace(tickets, unread_only=True))
    assert sorted(expected) == [3, 7]  # the tickets below id 11 (the read ones are not tickets)
    changed = store.mark_all_read_ids(tickets)
    assert changed == sorted(expected)
    assert store.query_ids(dataclasses.replace(tickets, unread_only=True)) == []
    assert store.mark_all_read_ids(tickets) == []  # nothing left to change
    # The undo: exactly those back to unread, the rows read before stay read.
    assert store.set_read(changed, read=False) == len(changed)
    assert store.get(ids[0]).read  # type: ignore[union-attr]
    assert sorted(store.query_ids(EventQuery(unread_only=True, limit=None))) == [
        i for i in ids if i not in (ids[0], ids[4])
    ]


def test_mark_all_read_respects_the_filter_and_before_id(store: Store) -> None:
    ids = fill(store, 20)
    assert store.mark_all_read(EventQuery(kinds=frozenset({Kind.TICKET}), limit=1)) == 5
    # The view showed up to ids[14]: newer events must stay unread.
    assert store.mark_all_read(EventQuery(before_id=ids[14] + 1)) == 15 - 5 + 1
    assert store.unread_summary()[0] == 5 - 1
    assert store.mark_all_read() == 4
    assert store.unread_summary() == (0, None)


def test_unread_summary_counts_unread_and_finds_their_highest_severity(store: Store) -> None:
    assert store.unread_summary() == (0, None)
    results = store.insert_many(
        [new(i, severity=s) for i, s in enumerate([Severity.LOW, Severity.CRITICAL, Severity.HIGH])]
    )
    assert store.unread_summary() == (3, Severity.CRITICAL)
    store.set_read([results[1].id])
    assert store.unread_summary() == (2, Severity.HIGH)


def test_last_event_is_the_newest(store: Store) -> None:
    assert store.last_event() is None
    ids = fill(store, 3)
    last = store.last_event()
    assert last is not None
    assert last.id == ids[-1]


def test_delete_then_restore_brings_back_ids_times_and_read_flags(store: Store) -> None:
    ids = fill(store, 5)
    store.set_read([ids[1]])
    victims = store.query(EventQuery(ids=frozenset(ids[1:3])))
    assert store.delete([*ids[1:3], 999]) == 2
    assert store.query_ids(EventQuery(limit=None)) == [ids[4], ids[3], ids[0]]
    assert store.query_ids(EventQuery(search="number", ids=frozenset(ids[1:3]))) == []

    store.restore(victims)

    assert store.query_ids(EventQuery(limit=None)) == ids[::-1]
    for v in victims:
        assert store.get(v.id) == v
        assert store.get(v.id).received_at == v.received_at  # type: ignore[union-attr]
        assert store.get(v.id).read == v.read  # type: ignore[union-attr]
    assert set(store.query_ids(EventQuery(search="number", limit=None))) == set(ids)
    store.restore(victims)  # undoing twice changes nothing
    assert store.count(EventQuery()) == 5
    assert store.integrity_check() == "ok"


# ---- dedup -----------------------------------------------------------------------------------


def test_identical_body_within_the_window_is_a_duplicate_of_the_original(store: Store) -> None:
    [first] = store.insert_many([new(1, at=T0)])
    [again] = store.insert_many([new(1, at=T0 + DEDUP_WINDOW - timedelta(seconds=1))])
    assert again.duplicate is True
    assert again.id == first.id
    assert again.stored is None
    assert store.count(EventQuery()) == 1


def test_identical_body_outside_the_window_is_stored_again(store: Store) -> None:
    [first] = store.insert_many([new(1, at=T0)])
    [later] = store.insert_many([new(1, at=T0 + DEDUP_WINDOW + timedelta(seconds=1))])
    assert later.duplicate is False
    assert later.id != first.id
    assert store.count(EventQuery()) == 2


def test_different_body_is_never_a_duplicate(store: Store) -> None:
    body, event = make_event(1)
    results = store.insert_many([NewEvent(body, event, T0), NewEvent(body + " ", event, T0)])
    assert [r.duplicate for r in results] == [False, False]


def test_duplicates_inside_one_batch_are_detected(store: Store) -> None:
    results = store.insert_many([new(1, at=T0), new(2, at=T0), new(1, at=T0 + timedelta(1e-3))])
    assert [r.duplicate for r in results] == [False, False, True]
    assert results[2].id == results[0].id
    assert store.count(EventQuery()) == 2


# ---- retention -------------------------------------------------------------------------------


def test_retention_by_age_deletes_only_older_events(store: Store) -> None:
    items = [new(i, at=T0 + timedelta(days=i)) for i in range(10)]
    ids = [r.id for r in store.insert_many(items)]
    now = T0 + timedelta(days=10)
    assert store.apply_retention(now=now, max_age_days=3, max_count=0) == 7
    assert store.query_ids(EventQuery()) == ids[7:][::-1]


def test_retention_by_count_keeps_the_newest(store: Store) -> None:
    ids = fill(store, 5000)  # more than one chunk
    assert store.apply_retention(now=T0, max_age_days=0, max_count=1234) == 5000 - 1234
    assert store.query_ids(EventQuery(limit=None)) == ids[-1234:][::-1]
    assert store.integrity_check() == "ok"


def test_retention_by_count_goes_by_receive_time_then_id(store: Store) -> None:
    # An event restored by undo keeps its old id and time, and is among the oldest.
    items = [new(i, at=T0 + timedelta(minutes=i)) for i in range(4)]
    ids = [r.id for r in store.insert_many(items)]
    late = store.insert_many([new(9, at=T0 - timedelta(days=1))])[0].id
    assert store.apply_retention(now=T0, max_age_days=0, max_count=3) == 2
    assert set(store.query_ids(EventQuery())) == set(ids[1:])
    assert late not in store.query_ids(EventQuery())


def test_retention_zero_means_no_limit(store: Store) -> None:
    fill(store, 10)
    assert store.apply_retention(now=T0 + timedelta(days=999), max_age_days=0, max_count=0) == 0
    assert store.count(EventQuery()) == 10


def test_retention_applies_both_limits(store: Store) -> None:
    store.insert_many([new(i, at=T0 + timedelta(days=i)) for i in range(10)])
    removed = store.apply_retention(now=T0 + timedelta(days=10), max_age_days=5, max_count=2)
    assert removed == 8
    assert store.count(EventQuery()) == 2


def test_retention_max_rows_stops_early_so_inserts_can_interleave(store: Store) -> None:
    fill(store, 100)
    assert store.apply_retention(now=T0, max_age_days=0, max_count=10, max_rows=30) == 30
    assert store.apply_retention(now=T0, max_age_days=0, max_count=10, max_rows=100) == 60
    assert store.count(EventQuery()) == 10


def test_negative_retention_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        store.apply_retention(now=T0, max_age_days=-1, max_count=0)


# ---- schema versions and migration -------------------------------------------------------------

V1_SCHEMA = """
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    severity    INTEGER NOT NULL,
    attention   INTEGER NOT NULL DEFAULT 0,
    read        INTEGER NOT NULL DEFAULT 0,
    title       TEXT    NOT NULL,
    link        TEXT,
    scan_name   TEXT,
    asset_name  TEXT,
    hostname    TEXT,
    cve         TEXT,
    vuln_name   TEXT,
    fields      TEXT    NOT NULL,
    body        TEXT    NOT NULL
);
CREATE INDEX events_received_at ON events(received_at);
PRAGMA user_version = 1;
"""


def build_v1(path: Path, rows: int) -> list[tuple[str, Event]]:
    """A database exactly as holmtray v1 wrote it, by hand."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    con.executescript(V1_SCHEMA)
    made = []
    for i in range(rows):
        body = json.dumps({"ticket": {"n": i}})
        ev = Event(
            kind=Kind.TICKET,
            title=f"Legacy ticket {i}",
            severity=Severity(i % 5),
            asset=Asset(name=f"a{i}", hostname=f"legacy{i}.example.net", ipv4=f"172.16.0.{i}"),
            vulnerability=Vulnerability(cve=f"CVE-2019-{1000 + i}", summary=f"old summary {i}"),
            payload=json.loads(body),
        )
        us = int((T0 + timedelta(seconds=i)).timestamp()) * 1_000_000
        con.execute(
            "INSERT INTO events (received_at, kind, severity, attention, read, title, link,"
            " scan_name, asset_name, hostname, cve, vuln_name, fields, body)"
            " VALUES (?, ?, ?, 0, ?, ?, NULL, NULL, ?, ?, ?, NULL, ?, ?)",
            (
                us,
                ev.kind.value,
                int(ev.severity),
                int(i % 2 == 0),
                ev.title,
                ev.asset.name,
                ev.asset.hostname,
                ev.vulnerability.cve,
                json.dumps(ev.fields_dict()),
                body,
            ),
        )
        made.append((body, ev))
    con.close()
    return made


def test_v1_database_is_backed_up_migrated_and_searchable(db: Path) -> None:
    made = build_v1(db, 25)

    with Store.open(db) as s:
        assert s.count(EventQuery()) == 25
        rows = s.query(EventQuery(limit=None))[::-1]
        assert [r.body for r in rows] == [b for b, _ in made]
        assert [r.event for r in rows] == [e for _, e in made]
        assert [r.read for r in rows] == [i % 2 == 0 for i in range(25)]
        # Backfilled: the ipv4 and summary columns v1 kept only inside `fields` ...
        assert s.query_ids(EventQuery(search="172.16.0.7")) == [rows[7].id]
        assert s.query_ids(EventQuery(search="old summary 12")) == [rows[12].id]
        assert s.query_ids(EventQuery(search="legacy3.example.net")) == [rows[3].id]
        # ... and the body hash, so an old row still catches its duplicate.
        body, ev = made[24]
        [dup] = s.insert_many([NewEvent(body, ev, T0 + timedelta(seconds=30))])
        assert dup.duplicate
        assert dup.id == rows[24].id
        # New rows continue after the old ids.
        [fresh] = s.insert_many([new(100)])
        assert fresh.id == 26
        assert s.integrity_check() == "ok"

    con = raw(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    backup = db.with_name(db.name + ".bak-v1")
    bcon = sqlite3.connect(backup)
    assert bcon.execute("PRAGMA user_version").fetchone()[0] == 1
    assert bcon.execute("SELECT count(*) FROM events").fetchone()[0] == 25
    bcon.close()


def build_v3(path: Path, events: list[NewEvent]) -> None:
    """A database as holmtray wrote it at schema v3: the frozen migrations up to v3, rows
    through the row codec (v4 added indexes, no column)."""
    from holmtray.core.history import schema  # noqa: PLC0415
    from holmtray.core.history.codec import INSERT_SQL, row_values  # noqa: PLC0415

    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    for step in schema._MIGRATIONS[:3]:
        step(con)
    con.executemany(
        INSERT_SQL, [row_values(None, n.event, n.body, n.received_at, False) for n in events]
    )
    con.execute("PRAGMA user_version = 3")
    con.close()


def test_a_v3_database_gains_the_sort_indexes_and_sorts_through_them(db: Path) -> None:
    hosts = ["beta.example", "Alpha.example", None, "alpha.example", None, "gamma.example"]
    events = [
        NewEvent(
            body=json.dumps({"n": i}),
            event=Event(
                kind=Kind.TICKET,
                title=f"{'bcaBA'[i % 5]} ticket",
                severity=Severity.HIGH,
                asset=Asset(hostname=host),
                payload={"n": i},
            ),
            received_at=T0 + timedelta(seconds=i),
        )
        for i, host in enumerate(hosts)
    ]
    build_v3(db, events)
    con = raw(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 3
    con.close()

    with Store.open(db) as s:
        asset_order = s.query_ids(EventQuery(sort=SortKey.ASSET, oldest_first=True))
        title_order = s.query_ids(EventQuery(sort=SortKey.TITLE, oldest_first=True))
        assert s.count(EventQuery()) == 6

    # Case-insensitive, ties by id, events without an asset last.
    assert asset_order == [2, 4, 1, 6, 3, 5]
    assert title_order == [3, 5, 1, 4, 6, 2]
    con = raw(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    indexes = dict(con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
    assert "title COLLATE NOCASE" in indexes["events_title"]
    assert "coalesce(hostname, ipv4, asset_name, X'') COLLATE NOCASE" in indexes["events_asset"]
    for key in (SortKey.TITLE, SortKey.ASSET):
        sql, params = select_sql(EventQuery(sort=key, limit=10), "e.id", paging=True)
        plan = " | ".join(str(r[3]) for r in con.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert f"INDEX events_{key.value}" in plan
        assert "TEMP B-TREE" not in plan
    con.close()
    backup = sqlite3.connect(db.with_name(db.name + ".bak-v3"))
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 3
    assert backup.execute("SELECT count(*) FROM events").fetchone()[0] == 6
    backup.close()


def test_empty_new_database_is_not_backed_up(db: Path) -> None:
    Store.open(db).close()
    assert sorted(p.name for p in db.parent.iterdir() if ".bak" in p.name) == []


def test_database_from_a_newer_holmtray_is_refused_and_left_untouched(db: Path) -> None:
    Store.open(db).close()
    con = raw(db)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.execute("PRAGMA journal_mode = DELETE")
    con.close()
    before = db.read_bytes()

    with pytest.raises(StoreError, match="newer"):
        Store.open(db)

    assert db.read_bytes() == before
    assert not Path(f"{db}-wal").exists()


def test_foreign_sqlite_database_is_refused_and_left_untouched(db: Path) -> None:
    db.parent.mkdir(parents=True)
    con = raw(db)
    con.execute("CREATE TABLE notes (x TEXT)")
    con.close()
    before = db.read_bytes()
    with pytest.raises(StoreError, match="not a holmtray one"):
        Store.open(db)
    assert db.read_bytes() == before


# ---- corruption ------------------------------------------------------------------------------


def corrupt_copies(db: Path) -> list[Path]:
    return sorted(p for p in db.parent.iterdir() if ".corrupt-" in p.name)


def test_garbage_file_is_moved_aside_and_a_new_database_started(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db.parent.mkdir(parents=True)
    garbage = os.urandom(50_000)
    db.write_bytes(garbage)

    with caplog.at_level(logging.WARNING, logger="holmtray.history.database"), Store.open(db) as s:
        assert s.recovered_from is not None
        assert s.count(EventQuery()) == 0
        fill(s, 2)
        assert s.count(EventQuery()) == 2

    [moved] = corrupt_copies(db)
    assert s.recovered_from == moved
    assert moved.name.startswith(db.name + ".corrupt-")
    assert moved.read_bytes() == garbage
    warning = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert str(db) in warning
    assert str(moved) in warning


def test_database_with_damaged_pages_is_moved_aside_with_its_bytes(db: Path) -> None:
    with Store.open(db) as s:
        s.insert_many([new(i, title="x" * 500 + str(i)) for i in range(400)])
    size = db.stat().st_size
    page = 4096
    data = bytearray(db.read_bytes())
    middle = (size // page // 2) * page
    data[middle : middle + 8 * page] = os.urandom(8 * page)
    db.write_bytes(bytes(data))

    with Store.open(db) as s:
        assert s.recovered_from is not None
        assert s.count(EventQuery()) == 0
        assert s.integrity_check() == "ok"

    [moved] = corrupt_copies(db)
    assert moved.read_bytes() == bytes(data)


def test_two_recoveries_in_the_same_second_never_overwrite_each_other(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"first garbage" * 100)
    Store.open(db).close()
    db.write_bytes(b"second garbage" * 100)
    Store.open(db).close()
    contents = sorted(p.read_bytes()[:6] for p in corrupt_copies(db))
    assert contents == [b"first ", b"second"]


def test_read_only_open_of_a_damaged_file_refuses_and_moves_nothing(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError, match="damaged"):
        Store.open(db, readonly=True)
    assert corrupt_copies(db) == []


# ---- operational failures --------------------------------------------------------------------


def test_read_only_store_refuses_writes_with_store_unavailable(db: Path) -> None:
    # chmod cannot stop root, so the test goes through SQLite itself: readonly=True opens a
    # `file:...?mode=ro` URI and SQLite refuses the write for every user, root included.
    with Store.open(db) as s:
        fill(s, 3)
    before = db.read_bytes()

    with Store.open(db, readonly=True) as ro:
        assert ro.count(EventQuery()) == 3  # reading works
        with pytest.raises(StoreUnavailable, match="read-only"):
            ro.insert_many([new(10)])
        with pytest.raises(StoreUnavailable, match="read-only"):
            ro.set_read([1])
        with pytest.raises(StoreUnavailable, match="read-only"):
            ro.delete([1])
        assert ro.count(EventQuery()) == 3
        assert ro.integrity_check() == "ok"

    assert db.read_bytes() == before


def test_read_only_open_of_a_missing_file_is_store_unavailable(db: Path) -> None:
    with pytest.raises(StoreUnavailable, match="cannot be opened"):
        Store.open(db, readonly=True)
    assert not db.parent.exists()


def test_locked_database_is_store_unavailable_and_recovers_after_release(db: Path) -> None:
    s = Store.open(db, busy_timeout_s=0.1)
    fill(s, 1)
    other = raw(db)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            s.insert_many([new(5), new(6)])
    finally:
        other.execute("ROLLBACK")
    assert s.count(EventQuery()) == 1
    assert [r.duplicate for r in s.insert_many([new(5), new(6)])] == [False, False]
    assert s.count(EventQuery()) == 3
    s.close()


def test_disk_full_is_store_unavailable_and_leaves_nothing_half_written(store: Store) -> None:
    fill(store, 3)
    # A real SQLITE_FULL from SQLite: cap the file at its current size on this connection.
    (pages,) = store._conn.execute("PRAGMA page_count").fetchone()
    store._conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreUnavailable, match="disk is full"):
        store.insert_many([new(i, title="y" * 3000) for i in range(10, 60)])
    assert store.count(EventQuery()) == 3
    store._conn.execute("PRAGMA max_page_count = 1073741823")
    assert len(fill(store, 2, start=100)) == 2


def test_unexpected_database_error_propagates_and_rolls_back_the_batch(
    store: Store, db: Path
) -> None:
    con = raw(db)
    con.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON events WHEN new.title = 'boom'"
        " BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    con.close()
    with pytest.raises(sqlite3.IntegrityError, match="boom"):
        store.insert_many([new(1), new(2, title="boom"), new(3)])
    assert store.count(EventQuery()) == 0


def test_removed_database_file_makes_writes_unavailable(db: Path) -> None:
    s = Store.open(db)
    fill(s, 1)
    for p in db.parent.iterdir():
        p.unlink()
    db.parent.rmdir()
    assert s.file_is_current() is False
    with pytest.raises(StoreUnavailable, match="removed or replaced"):
        s.insert_many([new(2)])
    s.close()


def test_folder_that_cannot_be_created_is_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("not a folder")
    with pytest.raises(StoreUnavailable, match="cannot create"):
        Store.open(tmp_path / "blocker" / "events.sqlite3")


def test_store_unavailable_is_a_store_error() -> None:
    assert issubclass(StoreUnavailable, StoreError)
    assert not issubclass(StoreError, sqlite3.Error)


def test_close_is_idempotent(db: Path) -> None:
    s = Store.open(db)
    s.close()
    s.close()
