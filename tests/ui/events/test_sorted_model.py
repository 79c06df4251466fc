"""EventTableModel sorted by a column: paging both ways, jumps, live events and bookkeeping keep
the store's order (the store sorts; the model only places live events by the same rule)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex

from holmtray.core.events import Kind, Severity
from holmtray.core.history.query import EventQuery, SortKey
from holmtray.core.history.store import Store
from holmtray.ui.events import model as event_model
from holmtray.ui.events.model import PAGE_SIZE, EventTableModel
from tests.stored_events import fill_fast

pytestmark = pytest.mark.usefixtures("qapp")

ORDERS = [
    (key, ascending)
    for key in (SortKey.SEVERITY, SortKey.KIND, SortKey.TITLE, SortKey.ASSET)
    for ascending in (False, True)
]
ORDER_IDS = [f"{k.value}-{'asc' if a else 'desc'}" for k, a in ORDERS]


def all_ids(model: EventTableModel) -> list[int]:
    return [model.event_at(r).id for r in range(model.rowCount())]


def expected(store: Store, q: EventQuery) -> list[int]:
    return store.query_ids(dataclasses.replace(q, limit=None))


@pytest.mark.parametrize(("key", "ascending"), ORDERS, ids=ORDER_IDS)
def test_paging_down_up_and_jumping_keep_the_sorted_order(
    store: Store, key: SortKey, ascending: bool
) -> None:
    fill_fast(store, 5 * PAGE_SIZE + 30)
    store.set_read(range(1, 5 * PAGE_SIZE, 4))
    q = EventQuery(sort=key, oldest_first=ascending, kinds=frozenset(set(Kind) - {Kind.CUSTOM}))
    want = expected(store, q)
    model = EventTableModel(store)
    model.set_query(q)
    assert all_ids(model) == want[:PAGE_SIZE]
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    assert all_ids(model) == want  # keyset pages, joined: no gap, no repeat
    model.reload()
    assert model.jump_to_oldest()  # the last page, read backwards
    assert all_ids(model) == want[-PAGE_SIZE:]
    assert not model.showing_newest()
    while model.can_fetch_newer():
        model.fetch_newer()
    assert all_ids(model) == want
    assert model.showing_newest()


@pytest.mark.parametrize(("key", "ascending"), ORDERS, ids=ORDER_IDS)
def test_live_and_restored_events_land_where_the_store_would_put_them(
    store: Store, key: SortKey, ascending: bool, qtmodeltester: Any
) -> None:
    stored = fill_fast(store, 60)
    q = EventQuery(sort=key, oldest_first=ascending)
    model = EventTableModel(store)
    model.set_query(q)
    qtmodeltester.check(model)  # every change below, checked as it happens
    gone = [stored[5], stored[17], stored[40]]
    store.delete([s.id for s in gone])
    model.remove_ids([s.id for s in gone])
    new = fill_fast(store, 7, start=60)
    assert model.add_events(new) == 7
    store.restore(gone)
    assert model.add_events(gone) == 3
    assert all_ids(model) == expected(store, q)


def test_a_live_event_after_the_loaded_rows_waits_for_paging(store: Store) -> None:
    fill_fast(store, 3 * PAGE_SIZE)
    q = EventQuery(sort=SortKey.SEVERITY)  # the most severe first
    model = EventTableModel(store)
    model.set_query(q)
    assert {model.event_at(r).event.severity for r in range(PAGE_SIZE)} <= {
        Severity.CRITICAL,
        Severity.HIGH,
    }
    count = model.match_count()
    new = fill_fast(store, 5, start=3 * PAGE_SIZE)  # one of each severity
    (info,) = [s for s in new if s.event.severity == 0]
    assert model.add_events(new) == 5  # all counted ...
    assert model.match_count() == count + 5
    assert model.row_of(info.id) is None  # ... the info one left to fetchMore: far below
    assert model.event_at(0).id == new[-1].id  # the new critical: first
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    assert info.id in all_ids(model)
    assert all_ids(model) == expected(store, q)


def test_ensure_loaded_reaches_a_deep_event_in_a_sorted_list(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_model, "MAX_LOADED_ROWS", 3 * PAGE_SIZE)
    fill_fast(store, 2000)
    q = EventQuery(sort=SortKey.TITLE, oldest_first=True)
    want = expected(store, q)
    model = EventTableModel(store)
    model.set_query(q)
    target = want[1500]
    row = model.ensure_loaded(target, max_rows=2000)
    assert row is not None
    assert model.event_at(row).id == target
    assert all_ids(model) == want[1501 - 3 * PAGE_SIZE : 1501]  # bounded, in order
    assert not model.showing_newest()
    assert model.ensure_loaded(want[1999], max_rows=100) is None  # too far: not loaded
    # An event before the loaded rows brings the first page back, then finds it there.
    assert model.ensure_loaded(want[3]) == 3
    assert model.showing_newest()


def test_mark_all_read_in_a_sorted_list_stops_at_the_newest_event_known(store: Store) -> None:
    fill_fast(store, 50)
    model = EventTableModel(store)
    model.set_query(EventQuery(sort=SortKey.SEVERITY, oldest_first=True))
    assert model.event_at(0).event.severity is Severity.INFO
    assert model.top_id() == 50  # the newest match, though the first row is not it
    (late,) = fill_fast(store, 1, start=50)  # an info event: it goes among the shown rows
    model.add_events([late])
    assert model.row_of(late.id) is not None
    assert model.top_id() == 51  # shown, so "mark all read" covers it


@pytest.mark.parametrize(
    ("key", "ascending"), [(None, False), *ORDERS], ids=["received", *ORDER_IDS]
)
def test_a_live_batch_computes_each_key_once_and_lands_in_the_stores_order(
    store: Store, key: SortKey | None, ascending: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The newest-first list takes each new event above the first row with one comparison; a
    # sorted one searches. Either way every event's key is computed once, not once per step.
    fill_fast(store, 300)
    q = (
        EventQuery(oldest_first=ascending)
        if key is None
        else EventQuery(sort=key, oldest_first=ascending)
    )
    model = EventTableModel(store)
    model.set_query(q)
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())  # every row loaded: no event waits for paging
    calls: list[object] = []
    real = event_model.result_key

    def counting(s: Any, query: EventQuery) -> Any:
        calls.append(s)
        return real(s, query)

    monkeypatch.setattr(event_model, "result_key", counting)
    live = fill_fast(store, 40, start=300)
    assert model.add_events(live) == 40
    assert all_ids(model) == expected(store, q)
    new_keys = [s for s in calls if s in live]
    assert len(new_keys) == 40  # once each
    if key is None and not ascending:
        assert len(calls) <= 40 + 3  # and, on top of them, the first and the last row at most
