"""EventTableModel: paging, roles, live insertion and row bookkeeping, without a window."""

from __future__ import annotations

import dataclasses
import html
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QBrush, QFont, QIcon
from PySide6.QtWidgets import QAbstractItemView, QTableView

from holmtray.core.events import Kind, Severity
from holmtray.core.history.query import EventQuery
from holmtray.core.history.store import Store
from holmtray.core.parsing.parser import parse_event
from holmtray.core.text import show_bidi_controls
from holmtray.ui.events import model as event_model
from holmtray.ui.events.display import (
    COL_ASSET,
    COL_COUNTS,
    COL_KIND,
    COL_RECEIVED,
    COL_SEVERITY,
    COL_STATUS,
    COL_TITLE,
)
from holmtray.ui.events.model import (
    MAX_LOADED_ROWS,
    PAGE_SIZE,
    EventRole,
    EventTableModel,
)
from holmtray.ui.icons import SEVERITY_COLORS
from tests.stored_events import (
    BASE_TIME,
    HOSTILE_TITLES,
    fast_big_store,
    fill_fast,
    insert,
    make_event,
    sample,
    varied_events,
)

# The model hands out fonts, brushes and icons, and drawing an icon needs a QGuiApplication:
# every test here gets one of its own accord, not from whichever test happened to run before.
pytestmark = pytest.mark.usefixtures("qapp")

DISPLAY = Qt.ItemDataRole.DisplayRole


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = fast_big_store(tmp_path_factory.mktemp("big") / "events.db", 100_000)
    yield s
    s.close()


class RecordingStore:
    """Passes calls to a store and records which read methods were called with what."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args[0] if args else None))
            return attr(*args, **kwargs)

        return wrapper


def all_ids(model: EventTableModel) -> list[int]:
    return [model.event_at(r).id for r in range(model.rowCount())]


def text(model: EventTableModel, row: int, col: int) -> Any:
    return model.data(model.index(row, col), DISPLAY)


# ---- tests ---------------------------------------------------------------------------------


def test_model_passes_qt_model_tester(store: Store, qtmodeltester: Any) -> None:
    stored = insert(store, varied_events() * 10)  # > one page, so fetchMore is exercised too
    model = EventTableModel(store)
    assert model.canFetchMore(QModelIndex())
    qtmodeltester.check(model)
    # Every change the model makes, checked by the tester as it happens.
    model.fetchMore(QModelIndex())
    store.delete([stored[-1].id, stored[-3].id])
    model.remove_ids([stored[-1].id, stored[-3].id])
    store.restore([stored[-1], stored[-3]])
    model.add_events([stored[-1], stored[-3]])
    store.set_read([stored[-2].id])
    model.refresh_rows([stored[-2].id])


def test_filtered_model_passes_qt_model_tester(store: Store, qtmodeltester: Any) -> None:
    insert(store, varied_events() * 10)
    model = EventTableModel(store)
    # Reset before attaching: Qt's tester runs its checks (which call fetchMore) from its
    # modelReset handler while it still considers the reset in flight, and then complains
    # about the rows fetchMore inserts. That is the tester's ordering, not a model bug.
    model.set_query(EventQuery(min_severity=Severity.MEDIUM))
    qtmodeltester.check(model)
    model.fetchMore(QModelIndex())


def test_first_page_is_one_query_with_a_limit_and_no_count(store: Store) -> None:
    insert(store, [make_event(f"e{i}") for i in range(PAGE_SIZE * 3)])
    recording = RecordingStore(store)
    model = EventTableModel(recording)  # type: ignore[arg-type]
    assert model.rowCount() == PAGE_SIZE
    names = [name for name, _ in recording.calls]
    assert names == ["query"]
    q = recording.calls[0][1]
    assert q.limit == PAGE_SIZE + 1
    assert q.before_id is None
    # Children never exist and never fetch: the parent guards.
    parent = model.index(0, 0)
    assert model.rowCount(parent) == 0
    assert model.columnCount(parent) == 0
    assert not model.canFetchMore(parent)


@pytest.mark.slow
def test_paging_through_100k_rows_by_scrolling_reaches_the_oldest_without_gaps(
    big_store: Store, qtbot: Any
) -> None:
    model = EventTableModel(big_store)
    assert model.rowCount() == PAGE_SIZE
    assert model.event_at(0).id == 100_000
    view = QTableView()
    qtbot.addWidget(view)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setModel(model)
    view.resize(600, 400)
    with qtbot.waitExposed(view):
        view.show()

    all_ids_at_start = all_ids(model)
    inserted: list[int] = []
    model.rowsInserted.connect(
        lambda _parent, first, last: inserted.extend(
            model.event_at(r).id for r in range(first, last + 1)
        )
    )
    started = time.monotonic()
    while model.canFetchMore(QModelIndex()):
        oldest = model.event_at(model.rowCount() - 1).id
        view.scrollToTop()
        view.scrollToBottom()  # lays out the rows loaded so far, then goes to the end

        def fetched(oldest: int = oldest) -> bool:
            return model.event_at(model.rowCount() - 1).id < oldest

        qtbot.waitUntil(fetched, timeout=5000)
        assert time.monotonic() - started < 120
    # Every row was loaded once, newest first, no duplicates, no gaps...
    assert list(range(100_000, 0, -1)) == all_ids_at_start + inserted
    # ... and memory stays bounded: only the newest were dropped on the way down.
    assert all_ids(model) == list(range(MAX_LOADED_ROWS, 0, -1))
    assert not model.showing_newest()
    assert text(model, model.rowCount() - 1, COL_TITLE) == "event 0"


def test_fetch_more_pages_with_filter_until_exhausted(big_store: Store) -> None:
    model = EventTableModel(big_store)
    model.set_query(EventQuery(kinds=frozenset({Kind.TICKET}), min_severity=Severity.HIGH))
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    ids = all_ids(model)
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids)) == model.match_count()
    assert all(
        model.event_at(r).event.kind is Kind.TICKET
        and model.event_at(r).event.severity >= Severity.HIGH
        for r in range(model.rowCount())
    )


def test_display_and_decoration_roles_for_a_finished_scan(store: Store) -> None:
    (s,) = insert(store, [parse_event(sample("finished_scan"))])
    model = EventTableModel(store, clock=lambda: s.received_at + timedelta(minutes=1))
    assert text(model, 0, COL_RECEIVED) == s.received_at.astimezone().strftime("%H:%M")
    assert text(model, 0, COL_KIND) == "Finished scan"
    assert text(model, 0, COL_SEVERITY) == "Critical"
    assert text(model, 0, COL_TITLE) == "Daily scan finished"
    assert text(model, 0, COL_ASSET) == ""
    assert text(model, 0, COL_COUNTS) == "1 C · 3 H · 5 M · 12 L"
    assert text(model, 0, COL_STATUS) == "Completed"
    assert isinstance(model.data(model.index(0, COL_KIND), Qt.ItemDataRole.DecorationRole), QIcon)
    assert model.data(model.index(0, COL_TITLE), Qt.ItemDataRole.DecorationRole) is None
    font = model.data(model.index(0, COL_TITLE), Qt.ItemDataRole.FontRole)
    assert isinstance(font, QFont)
    assert font.bold()
    fg = model.data(model.index(0, COL_SEVERITY), Qt.ItemDataRole.ForegroundRole)
    bg = model.data(model.index(0, COL_SEVERITY), Qt.ItemDataRole.BackgroundRole)
    assert isinstance(fg, QBrush)
    assert isinstance(bg, QBrush)
    assert model.data(model.index(0, COL_TITLE), Qt.ItemDataRole.BackgroundRole) is None
    tip = model.data(model.index(0, COL_RECEIVED), Qt.ItemDataRole.ToolTipRole)
    assert s.received_at.strftime("%Y-%m-%d %H:%M:%S UTC") in tip
    assert "Times without a zone in the payload are taken as UTC." in tip
    assert model.data(model.index(0, 0), EventRole) == s
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(7)] == [
        "Received",
        "Kind",
        "Severity",
        "Title",
        "Asset",
        "Findings",
        "Status",
    ]


def test_status_column_for_tickets_scheduled_scans_and_attention(store: Store) -> None:
    insert(
        store,
        [
            parse_event(sample("ticket_opened_nested")),
            parse_event(sample("scheduled_scan")),
            parse_event(sample("finished_scan_with_errors")),
            parse_event(sample("custom_placeholders")),
        ],
    )
    model = EventTableModel(store)
    # Newest first: custom, errors, scheduled, ticket.
    assert [text(model, r, COL_STATUS) for r in range(4)] == ["", "Stopped", "Scheduled", "Open"]
    assert text(model, 1, COL_SEVERITY) == "Medium"
    # Attention shows on the status: a red mark and red text, and why, in its tooltip.
    decoration = Qt.ItemDataRole.DecorationRole
    assert isinstance(model.data(model.index(1, COL_STATUS), decoration), QIcon)
    assert model.data(model.index(3, COL_STATUS), decoration) is None
    red = model.data(model.index(1, COL_STATUS), Qt.ItemDataRole.ForegroundRole)
    assert red.color().name() == SEVERITY_COLORS[Severity.CRITICAL]
    tip = model.data(model.index(1, COL_STATUS), Qt.ItemDataRole.ToolTipRole)
    assert "not Completed, and it reported 2 errors" in tip
    # Zeros are left out of the findings.
    assert [text(model, r, COL_COUNTS) for r in range(4)] == ["", "2 M · 1 L", "", ""]
    assert [text(model, r, COL_ASSET) for r in range(4)] == [
        "web-02.corp.example (10.20.0.16)",  # the custom payload's asset field
        "",
        "",
        "web-01.corp.example",
    ]


def test_read_rows_are_not_bold(store: Store) -> None:
    stored = insert(store, [make_event("a"), make_event("b")])
    store.set_read([stored[0].id])
    model = EventTableModel(store)
    row = model.row_of(stored[0].id)
    assert row is not None
    assert model.data(model.index(row, COL_TITLE), Qt.ItemDataRole.FontRole) is None


def test_hostile_text_is_returned_verbatim_and_tooltips_are_escaped(store: Store) -> None:
    insert(store, [make_event(t) for t in HOSTILE_TITLES])
    model = EventTableModel(store)
    titles = [text(model, r, COL_TITLE) for r in range(model.rowCount())]
    assert titles == list(reversed(HOSTILE_TITLES))
    for r in range(model.rowCount()):
        title = titles[r]
        tip = model.data(model.index(r, COL_TITLE), Qt.ItemDataRole.ToolTipRole)
        if len(title) < 1000:
            assert html.escape(show_bidi_controls(title), quote=False) in tip
        if "<" in title:
            assert title not in tip  # the raw tag never reaches QToolTip's rich-text guess


def test_add_events_inserts_newer_events_at_the_top(store: Store, qtbot: Any) -> None:
    insert(store, [make_event(f"old {i}") for i in range(5)])
    model = EventTableModel(store)
    new = insert(
        store, [make_event("new 1"), make_event("new 2")], start=BASE_TIME + timedelta(days=1)
    )
    with qtbot.waitSignal(model.rowsInserted) as blocker:
        assert model.add_events(new) == 2
    assert blocker.args[1:] == [0, 1]
    assert [text(model, r, COL_TITLE) for r in range(3)] == ["new 2", "new 1", "old 4"]
    # The same batch again (or an overlap) adds nothing.
    assert model.add_events(new) == 0
    assert model.rowCount() == 7


def test_add_events_applies_the_filter_in_python(store: Store) -> None:
    insert(store, [make_event("seed", kind=Kind.TICKET)])
    model = EventTableModel(store)
    model.set_query(EventQuery(kinds=frozenset({Kind.TICKET}), min_severity=Severity.HIGH))
    assert model.match_count() == 0
    new = insert(
        store,
        [
            make_event("ticket high", kind=Kind.TICKET, severity=Severity.HIGH),
            make_event("ticket low", kind=Kind.TICKET, severity=Severity.LOW),
            make_event("custom critical", kind=Kind.CUSTOM, severity=Severity.CRITICAL),
        ],
        start=BASE_TIME + timedelta(days=1),
    )
    recording = RecordingStore(store)
    model._store = recording  # type: ignore[assignment]
    assert model.add_events(new) == 1
    assert recording.calls == []  # decided without a query
    assert [text(model, r, COL_TITLE) for r in range(model.rowCount())] == ["ticket high"]
    assert model.match_count() == 1


def test_add_events_asks_the_store_when_the_filter_has_a_search(store: Store) -> None:
    insert(store, [make_event("seed apple")])
    model = EventTableModel(store)
    model.set_query(EventQuery(search="banana"))
    assert model.rowCount() == 0
    new = insert(
        store,
        [make_event("banana split"), make_event("cherry pie"), make_event("bananas foster")],
        start=BASE_TIME + timedelta(days=1),
    )
    assert model.add_events(new) == 2
    assert [text(model, r, COL_TITLE) for r in range(model.rowCount())] == [
        "bananas foster",
        "banana split",
    ]


def test_add_events_leaves_older_unloaded_events_to_fetch_more(store: Store) -> None:
    stored = insert(store, [make_event(f"e{i}") for i in range(PAGE_SIZE * 2)])
    model = EventTableModel(store)
    oldest = stored[0]
    store.delete([oldest.id])
    store.restore([oldest])
    assert model.add_events([oldest]) == 0  # below the loaded page: paging will bring it
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    assert all_ids(model) == [s.id for s in reversed(stored)]


def test_remove_and_restore_keep_rows_sorted(store: Store) -> None:
    stored = insert(store, [make_event(f"e{i}") for i in range(10)])
    model = EventTableModel(store)
    gone = [stored[1], stored[2], stored[7]]
    store.delete([s.id for s in gone])
    assert model.remove_ids([s.id for s in gone]) == 3
    assert model.row_of(stored[7].id) is None
    assert model.rowCount() == 7
    store.restore(gone)
    assert model.add_events(gone) == 3
    assert all_ids(model) == [s.id for s in reversed(stored)]


def test_refresh_rows_rereads_read_state_and_keeps_rows_under_unread_only(
    store: Store, qtbot: Any
) -> None:
    stored = insert(store, [make_event(f"e{i}") for i in range(3)])
    model = EventTableModel(store)
    model.set_query(EventQuery(unread_only=True))
    assert model.match_count() == 3
    store.set_read([stored[1].id])
    with qtbot.waitSignal(model.dataChanged):
        model.refresh_rows([stored[1].id])
    row = model.row_of(stored[1].id)
    assert row is not None
    assert model.event_at(row).read
    assert model.rowCount() == 3  # the row being read does not vanish under the user
    assert model.match_count() == 2


def test_refresh_rows_drops_rows_deleted_elsewhere(store: Store) -> None:
    stored = insert(store, [make_event(f"e{i}") for i in range(3)])
    model = EventTableModel(store)
    store.delete([stored[0].id])
    model.refresh_rows([stored[0].id])
    assert model.row_of(stored[0].id) is None
    assert model.rowCount() == 2


@pytest.mark.parametrize(
    ("query", "expected_titles"),
    [
        (EventQuery(search="needle"), {"needle in haystack"}),
        (EventQuery(kinds=frozenset({Kind.TICKET})), {"ticket"}),
        (EventQuery(min_severity=Severity.HIGH), {"ticket", "critical scan"}),
        (EventQuery(unread_only=True), {"needle in haystack", "ticket", "critical scan"}),
    ],
)
def test_set_query_filters_rows(store: Store, query: EventQuery, expected_titles: set[str]) -> None:
    stored = insert(
        store,
        [
            make_event("needle in haystack", severity=Severity.LOW),
            make_event("ticket", kind=Kind.TICKET, severity=Severity.HIGH),
            make_event("critical scan", kind=Kind.FINISHED_SCAN, severity=Severity.CRITICAL),
            make_event("read one", severity=Severity.INFO),
        ],
    )
    store.set_read([stored[3].id])
    model = EventTableModel(store)
    assert model.rowCount() == 4
    assert not model.is_filtered()
    model.set_query(query)
    assert model.query().search == query.search
    assert {text(model, r, COL_TITLE) for r in range(model.rowCount())} == expected_titles
    assert model.match_count() == len(expected_titles)
    assert model.is_filtered()


def test_set_query_by_ids(store: Store) -> None:
    stored = insert(store, [make_event(f"e{i}") for i in range(10)])
    model = EventTableModel(store)
    wanted = {stored[2].id, stored[5].id}
    model.set_query(EventQuery(ids=frozenset(wanted), limit=5))
    assert set(all_ids(model)) == wanted
    assert model.query().limit is None  # paging is the model's business


def test_row_lookup_helpers(store: Store) -> None:
    stored = insert(store, [make_event(f"e{i}") for i in range(5)])
    model = EventTableModel(store)
    assert model.row_of(stored[4].id) == 0
    assert model.row_of(stored[0].id) == 4
    assert model.row_of(999_999) is None
    assert model.ids_for_rows([4, 0, 0, 17]) == [stored[4].id, stored[0].id]
    assert model.top_id() == stored[4].id
    with pytest.raises(IndexError):
        model.event_at(5)
    assert model.data(model.index(7, 0), DISPLAY) is None


def test_ensure_loaded_reaches_an_old_event_in_one_step(big_store: Store) -> None:
    model = EventTableModel(big_store)
    row = model.ensure_loaded(50_000)
    assert row is not None
    assert model.event_at(row).id == 50_000
    # 50,001 rows were read in one query; only the MAX_LOADED_ROWS down to the event stay.
    assert all_ids(model) == list(range(50_000 + MAX_LOADED_ROWS - 1, 49_999, -1))
    assert not model.showing_newest()
    assert model.top_id() == 100_000
    # A newer event than the loaded rows brings the newest page back.
    assert model.ensure_loaded(99_990) == 10
    assert model.showing_newest()
    assert model.rowCount() == PAGE_SIZE
    model.set_query(EventQuery(kinds=frozenset({Kind.TICKET})))
    assert model.ensure_loaded(50_000) is None  # event 50,000 is a custom one


# ---- capped count, jumping to the oldest, bounded memory -----------------------------------


def test_match_count_stops_at_the_cap(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event_model, "COUNT_CAP", 5)
    fill_fast(store, 8)
    recording = RecordingStore(store)
    model = EventTableModel(recording)  # type: ignore[arg-type]
    assert model.match_count() == 6  # cap + 1: "more than 5"
    assert model.count_cap() == 5
    assert ("count", model.query()) in recording.calls
    model.set_query(EventQuery(kinds=frozenset({Kind.TICKET})))
    assert model.match_count() == 2  # under the cap: exact
    model.set_query(EventQuery())
    assert model.match_count() == 6
    # Removing from "more than the cap" cannot know the new figure: it counts again.
    store.delete([8])
    model.remove_ids([8])
    assert model.match_count() == 6
    store.delete([7, 6])
    model.remove_ids([7, 6])
    assert model.match_count() == 5


def test_jump_to_oldest_loads_one_ascending_page_shown_newest_first(store: Store) -> None:
    fill_fast(store, 5000)
    recording = RecordingStore(store)
    model = EventTableModel(recording)  # type: ignore[arg-type]
    recording.calls.clear()
    assert model.showing_newest()
    assert model.jump_to_oldest()
    assert [name for name, _ in recording.calls] == ["query"]
    q = recording.calls[0][1]
    assert q.oldest_first
    assert q.limit == PAGE_SIZE + 1
    assert q.after_id is None
    assert all_ids(model) == list(range(PAGE_SIZE, 0, -1))
    assert not model.canFetchMore(QModelIndex())
    assert not model.showing_newest()
    assert model.can_fetch_newer()
    assert model.top_id() == 5000  # what "mark all read" may go up to
    assert not model.jump_to_oldest()  # there already
    # Newer pages come above, one ascending query each, until the newest is loaded.
    assert model.fetch_newer() == PAGE_SIZE
    assert all_ids(model) == list(range(2 * PAGE_SIZE, 0, -1))
    while model.can_fetch_newer():
        model.fetch_newer()
    assert all_ids(model) == list(range(5000, 0, -1))
    assert model.showing_newest()
    assert model.fetch_newer() == 0


@pytest.mark.parametrize(
    "query",
    [
        EventQuery(kinds=frozenset({Kind.TICKET})),
        EventQuery(min_severity=Severity.HIGH, unread_only=True),
        EventQuery(search="event", kinds=frozenset({Kind.CUSTOM, Kind.SCHEDULED_SCAN})),
    ],
    ids=["kind", "severity+unread", "search+kinds"],
)
def test_jump_to_oldest_and_back_up_with_a_filter(store: Store, query: EventQuery) -> None:
    fill_fast(store, 5000)
    store.set_read(range(1, 5001, 3))
    expected = store.query_ids(dataclasses.replace(query, limit=None))
    model = EventTableModel(store)
    model.set_query(query)
    assert model.jump_to_oldest()
    assert all_ids(model) == expected[-PAGE_SIZE:]
    while model.can_fetch_newer():
        model.fetch_newer()
    assert all_ids(model) == expected  # no gaps, no repeats
    assert model.jump_to_newest() is False  # everything is loaded
    assert model.jump_to_oldest() is False
    model.reload()
    assert model.jump_to_oldest()
    assert model.jump_to_newest()
    assert all_ids(model) == expected[:PAGE_SIZE]
    assert model.showing_newest()
    assert model.canFetchMore(QModelIndex())


def test_jump_to_oldest_that_meets_the_loaded_rows_appends_them(store: Store, qtbot: Any) -> None:
    fill_fast(store, PAGE_SIZE + 50)
    model = EventTableModel(store)
    with qtbot.assertNotEmitted(model.modelReset):
        assert model.jump_to_oldest()
    assert all_ids(model) == list(range(PAGE_SIZE + 50, 0, -1))
    assert model.showing_newest()
    assert not model.canFetchMore(QModelIndex())


def test_live_events_in_oldest_mode_are_counted_not_inserted(store: Store) -> None:
    stored = fill_fast(store, 1000)
    model = EventTableModel(store)
    assert model.match_count() == 1000
    model.jump_to_oldest()
    rows_before = all_ids(model)
    new = fill_fast(store, 3, start=1000)
    assert model.add_events(new) == 3
    assert all_ids(model) == rows_before  # the newest rows are not loaded: nowhere to go
    assert model.match_count() == 1003
    # A deleted and restored (undo) event inside the loaded rows goes back in its place.
    old = stored[10]
    store.delete([old.id])
    model.remove_ids([old.id])
    store.restore([old])
    assert model.add_events([old]) == 1
    assert all_ids(model) == rows_before
    assert model.match_count() == 1003
    # Going back to the newest shows them.
    model.jump_to_newest()
    assert all_ids(model)[:4] == [1003, 1002, 1001, 1000]


def test_removing_every_loaded_row_in_oldest_mode_keeps_paging_in_place(store: Store) -> None:
    fill_fast(store, 1000)
    model = EventTableModel(store)
    model.jump_to_oldest()
    gone = all_ids(model)
    store.delete(gone)
    assert model.remove_ids(gone) == PAGE_SIZE
    assert model.rowCount() == 0
    assert model.fetch_newer() == PAGE_SIZE
    assert all_ids(model) == list(range(2 * PAGE_SIZE, PAGE_SIZE, -1))


def test_loaded_rows_stay_bounded_in_both_directions(
    store: Store, monkeypatch: pytest.MonkeyPatch, qtmodeltester: Any
) -> None:
    monkeypatch.setattr(event_model, "MAX_LOADED_ROWS", 3 * PAGE_SIZE)
    fill_fast(store, 5000)
    model = EventTableModel(store)
    model.jump_to_oldest()
    qtmodeltester.check(model)  # checks every change below as it happens
    for _ in range(5):
        model.fetch_newer()
    # Paging up dropped the oldest rows; paging down brings them back.
    assert all_ids(model) == list(range(6 * PAGE_SIZE, 3 * PAGE_SIZE, -1))
    assert not model.showing_newest()
    assert model.canFetchMore(QModelIndex())
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        assert model.rowCount() <= 3 * PAGE_SIZE
    assert all_ids(model) == list(range(3 * PAGE_SIZE, 0, -1))
    while model.can_fetch_newer():
        model.fetch_newer()
    assert all_ids(model) == list(range(5000, 5000 - 3 * PAGE_SIZE, -1))
    assert model.showing_newest()
    # From the newest, paging down past the bound drops the newest rows: no longer showing
    # the newest, and live events wait (counted) until the user goes back up.
    for _ in range(4):
        model.fetchMore(QModelIndex())
    assert all_ids(model)[0] == 5000 - PAGE_SIZE * 4
    assert not model.showing_newest()
    assert model.top_id() == 5000
    (extra,) = fill_fast(store, 1, start=5000)
    assert model.add_events([extra]) == 1
    assert model.row_of(extra.id) is None
    while model.can_fetch_newer():
        model.fetch_newer()
    assert model.event_at(0).id == extra.id
    # Resets in both directions, under the tester too.
    model.reload()
    assert model.jump_to_oldest()
    assert model.jump_to_newest()
    assert all_ids(model) == list(range(extra.id, extra.id - PAGE_SIZE, -1))
