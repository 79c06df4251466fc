"""EventWindow: filters, live insertion, detail pane, actions, keyboard, export and layout state.

As in the tray app, the window reads through a read-only store and writes through a real
writer on its own thread; a change shows once the writer has stored it, so the tests wait for
``read_state_changed`` (emitted then) before looking.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSlider

from holmtray.core.events import Counts, Kind, Severity, StoredEvent
from holmtray.core.history.query import EventQuery
from holmtray.core.history.store import Store
from holmtray.core.parsing.parser import parse_event
from holmtray.core.text import show_bidi_controls
from holmtray.ui.events import model as event_model
from holmtray.ui.events.display import COL_COUNTS, COL_RECEIVED, COL_TITLE
from holmtray.ui.events.model import PAGE_SIZE
from holmtray.ui.events.window import EventWindow
from tests.stored_events import (
    BASE_TIME,
    HOSTILE_TITLES,
    fill_fast,
    insert,
    make_event,
    sample,
    store_mixed,
    varied_events,
)
from tests.ui.events.conftest import LinkRecorder


def select(w: EventWindow, row: int) -> None:
    index = w.model.index(row, 0)
    flags = QItemSelectionModel.SelectionFlag
    w.table.selectionModel().setCurrentIndex(index, flags.ClearAndSelect | flags.Rows)


def titles(w: EventWindow) -> list[str]:
    return [w.model.event_at(r).event.title for r in range(w.model.rowCount())]


def later(n: int) -> Any:
    return BASE_TIME + timedelta(days=n)


# ---- live insertion --------------------------------------------------------------------------


def test_live_insertion_keeps_selection_and_the_rows_in_view(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    insert(store, [make_event(f"old {i}") for i in range(PAGE_SIZE)])
    w = make_window()
    select(w, 40)
    selected = w.current_event()
    assert selected is not None
    w.table.scrollTo(w.model.index(30, 0), w.table.ScrollHint.PositionAtTop)
    qtbot.wait(10)
    top_before = w.table.rowAt(0)
    top_id = w.model.event_at(top_before).id
    bar_before = w.table.verticalScrollBar().value()
    assert bar_before > 0

    new = insert(store, [make_event(f"new {i}") for i in range(7)], start=later(1))
    w.add_events(new)
    qtbot.wait(10)

    assert w.model.rowCount() == PAGE_SIZE + 7
    current = w.current_event()
    assert current is not None
    assert current.id == selected.id
    assert w.selected_ids() == [selected.id]
    assert w.model.event_at(w.table.rowAt(0)).id == top_id  # same rows in view
    assert w.table.verticalScrollBar().value() > bar_before
    assert w.count_label.text() == f"{PAGE_SIZE + 7} events"


def test_live_insertion_at_the_top_brings_new_events_into_view(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    insert(store, [make_event(f"old {i}") for i in range(50)])
    w = make_window()
    select(w, 3)
    new = insert(store, [make_event("brand new")], start=later(1))
    w.add_events(new)
    qtbot.wait(10)
    assert w.table.verticalScrollBar().value() == 0
    assert w.table.rowAt(0) == 0
    assert w.model.event_at(0).event.title == "brand new"
    assert w.selected_rows() == [4]


def test_filtered_live_insertion_shows_only_matching_events(make_window: Any, store: Store) -> None:
    insert(store, [make_event("seed", kind=Kind.TICKET)])
    w = make_window()
    w.kind_combo.setCurrentIndex(w.kind_combo.findData(Kind.TICKET.value))
    w.search.setText("terrapin")
    w.apply_filter_now()
    assert w.model.rowCount() == 0
    assert w.count_label.text() == "0 events"
    new = insert(
        store,
        [
            parse_event(sample("ticket_opened_nested")),
            parse_event(sample("finished_scan")),
            make_event("terrapin custom", kind=Kind.CUSTOM),
        ],
        start=later(1),
    )
    w.add_events(new)
    assert titles(w) == [new[0].event.title]
    assert w.count_label.text() == "1 event"


# ---- filters ---------------------------------------------------------------------------------


@pytest.fixture
def mixed(store: Store) -> list[StoredEvent]:
    return store_mixed(store)


def test_search_is_debounced_then_filters_rows_and_count(
    make_window: Any, mixed: list[StoredEvent], qtbot: Any
) -> None:
    w = make_window()
    assert w.count_label.text() == "6 events"
    w.search.setText("CVE-2023-48795")
    assert w.model.rowCount() == 6  # not yet: the search waits for a pause in typing
    qtbot.waitUntil(lambda: w.model.rowCount() == 1, timeout=2000)
    assert titles(w) == [mixed[3].event.title]
    assert w.count_label.text() == "1 event"
    w.search.setText("web-01")
    w.apply_filter_now()
    assert titles(w) == [mixed[3].event.title]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (
            lambda w: w.kind_combo.setCurrentIndex(w.kind_combo.findData(Kind.FINISHED_SCAN.value)),
            [1, 0],
        ),
        (
            lambda w: w.severity_combo.setCurrentIndex(
                w.severity_combo.findData(int(Severity.HIGH))
            ),
            [4, 3, 0],
        ),
        (lambda w: w.unread_check.setChecked(True), [5, 4, 3, 1]),
        (lambda w: w.search.setText("DMZ"), [1]),
    ],
    ids=["kind", "min-severity", "unread", "search"],
)
def test_each_filter_changes_rows_and_count(
    make_window: Any, mixed: list[StoredEvent], setup: Any, expected: list[int]
) -> None:
    w = make_window()
    setup(w)
    w.apply_filter_now()
    assert [w.model.event_at(r).id for r in range(w.model.rowCount())] == [
        mixed[i].id for i in expected
    ]
    n = len(expected)
    assert w.count_label.text() == f"{n} event{'s' if n != 1 else ''}"
    assert w.is_filtered()


def test_filters_combine(make_window: Any, mixed: list[StoredEvent]) -> None:
    w = make_window()
    w.severity_combo.setCurrentIndex(w.severity_combo.findData(int(Severity.CRITICAL)))
    w.unread_check.setChecked(True)
    assert [w.model.event_at(r).id for r in range(w.model.rowCount())] == [mixed[4].id]


def test_show_ids_filters_to_exactly_those_with_a_clearable_chip(
    make_window: Any, mixed: list[StoredEvent]
) -> None:
    w = make_window()
    w.search.setText("scan")
    w.apply_filter_now()
    w.show_ids([mixed[1].id, mixed[5].id], "2 events from the burst at 14:02")
    assert w.ids_chip.isVisible()
    assert "2 events from the burst at 14:02" in w.ids_label.text()
    assert w.ids_label.textFormat() == Qt.TextFormat.PlainText
    assert w.search.text() == ""  # exactly these ids, not these ids within a search
    assert [w.model.event_at(r).id for r in range(w.model.rowCount())] == [
        mixed[5].id,
        mixed[1].id,
    ]
    assert w.count_label.text() == "2 events"
    w.ids_clear.click()
    assert not w.ids_chip.isVisible()
    assert w.model.rowCount() == 6


# ---- detail pane and hostile text --------------------------------------------------------


def test_detail_pane_shows_every_field_as_plain_text(
    make_window: Any, mixed: list[StoredEvent]
) -> None:
    w = make_window()
    select(w, w.model.row_of(mixed[3].id))  # the nested ticket
    d = w.detail
    assert d.title.text() == mixed[3].event.title
    assert d.value_label("Asset", "Hostname").text() == "web-01.corp.example"
    assert d.value_label("Asset", "IPv4").text() == "10.20.0.15"
    assert d.value_label("Vulnerability", "CVE").text() == "CVE-2023-48795"
    assert d.value_label("Vulnerability", "CVSS").text() == "5.9"
    assert d.value_label("Ticket", "Number").text() == "4711"
    assert d.value_label("Ticket", "Status").text() == "Open"
    assert d.value_label("Event", "Link").text() == "https://sc.holmsecurity.com/tickets/4711"
    assert "UTC" in d.value_label("Event", "Received").text()
    assert not d.value_label("Scan", "Name").isVisibleTo(d)  # empty fields are hidden
    payload = json.loads(d.raw.toPlainText())
    assert payload == mixed[3].event.payload
    assert d.raw.isReadOnly()
    assert d.raw.font().fixedPitch()
    select(w, w.model.row_of(mixed[1].id))  # scan with errors
    errors = d.value_label("Scan", "Errors").text().split("\n")
    assert errors == [
        "Target https://shop.example.com unreachable",
        "Authentication failed for https://intranet.example.com",
    ]
    assert d.value_label("Scan", "Duration").text() == "2:41:07"
    assert d.value_label("Scan", "Findings").text() == "0 critical, 0 high, 2 medium, 1 low"
    assert d.value_label("Event", "Attention").text() == (
        "Needs attention: the scan's status is “Stopped”, not Completed, and it reported 2 errors"
    )


def test_detail_value_labels_never_interpret_rich_text(
    make_window: Any, mixed: list[StoredEvent]
) -> None:
    w = make_window()
    select(w, 0)
    value_labels = [w.detail.title, w.detail.meta] + [
        w.detail.value_label(section, name)
        for section, name in w.detail._values  # every field label
    ]
    assert all(label.textFormat() == Qt.TextFormat.PlainText for label in value_labels)


@pytest.mark.parametrize("hostile", HOSTILE_TITLES, ids=["b", "img", "amp", "rlo", "10k"])
def test_hostile_titles_are_shown_literally(make_window: Any, store: Store, hostile: str) -> None:
    insert(store, [make_event(hostile, scan_name=hostile, scan_status="Stopped")])
    w = make_window()
    assert w.model.data(w.model.index(0, COL_TITLE)) == hostile  # verbatim from the model
    select(w, 0)
    d = w.detail
    assert d.title.textFormat() == Qt.TextFormat.PlainText
    # Shown literally; bidi overrides are made visible rather than obeyed.
    assert d.title.text() == show_bidi_controls(hostile)
    assert d.value_label("Scan", "Name").text() == show_bidi_controls(hostile)
    assert hostile in d.raw.toPlainText()
    delegate = w.table.itemDelegate()
    shown = delegate.displayText(hostile, w.table.locale())
    assert shown == show_bidi_controls(hostile)
    if "\u202e" in hostile:
        assert "[U+202E]" in shown
    w.grab()  # paints without trouble


# ---- read state ----------------------------------------------------------------------------


def test_mark_read_and_unread_update_rows_and_signal(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    stored = insert(store, [make_event(f"e{i}") for i in range(4)])
    w = make_window()
    w.table.selectionModel().select(
        w.model.index(0, 0),
        QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
    )
    w.table.selectionModel().select(
        w.model.index(2, 0),
        QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
    )
    with qtbot.waitSignal(w.read_state_changed):
        w.act_read.trigger()
    assert store.unread_summary()[0] == 2
    assert w.model.event_at(0).read
    assert w.model.event_at(2).read
    assert w.model.data(w.model.index(0, COL_TITLE), Qt.ItemDataRole.FontRole) is None
    with qtbot.waitSignal(w.read_state_changed):
        w.act_unread.trigger()
    assert store.unread_summary()[0] == 4
    assert not w.model.event_at(0).read
    assert {s.id for s in stored} == {w.model.event_at(r).id for r in range(4)}


def test_an_event_that_stays_selected_is_marked_read(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    insert(store, [make_event("a"), parse_event(sample("ticket_opened_nested"))])
    w = make_window()
    select(w, 0)
    assert not w.model.event_at(0).read  # not at once: arrowing past must not mark it
    raw = w.detail.raw
    raw.verticalScrollBar().setValue(raw.verticalScrollBar().maximum())
    scrolled = raw.verticalScrollBar().value()
    assert scrolled > 0
    with qtbot.waitSignal(w.read_state_changed, timeout=3000):
        pass
    assert w.model.event_at(0).read
    assert raw.verticalScrollBar().value() == scrolled  # the JSON did not jump back
    assert not w.model.event_at(1).read
    assert w.detail.meta.text().endswith("·  read")


def test_moving_on_before_the_delay_leaves_the_event_unread(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    insert(store, [make_event("a"), make_event("b")])
    w = make_window()
    select(w, 0)
    qtbot.wait(200)
    select(w, 1)
    qtbot.waitUntil(lambda: w.model.event_at(1).read, timeout=3000)
    assert not w.model.event_at(0).read


def test_mark_all_read_covers_the_filter_but_not_later_arrivals(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    insert(
        store,
        [make_event(f"t{i}", kind=Kind.TICKET) for i in range(PAGE_SIZE + 20)]
        + [make_event("c", kind=Kind.CUSTOM)],
    )
    w = make_window()
    w.kind_combo.setCurrentIndex(w.kind_combo.findData(Kind.TICKET.value))
    # Arrives after the view was drawn and is not yet shown.
    insert(store, [make_event("late ticket", kind=Kind.TICKET)], start=later(1))
    with qtbot.waitSignal(w.read_state_changed):
        w.act_all_read.trigger()
    assert all(w.model.event_at(r).read for r in range(w.model.rowCount()))
    assert store.count(EventQuery(kinds=frozenset({Kind.TICKET}), unread_only=True)) == 1
    assert store.count(EventQuery(kinds=frozenset({Kind.CUSTOM}), unread_only=True)) == 1


# ---- delete and undo -------------------------------------------------------------------------


def test_delete_key_deletes_selection_and_undo_restores_the_same_ids(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    stored = insert(store, [make_event(f"e{i}") for i in range(6)])
    store.set_read([stored[2].id])
    w = make_window()
    rows = [w.model.row_of(stored[2].id), w.model.row_of(stored[4].id)]
    flags = QItemSelectionModel.SelectionFlag
    for r in rows:
        w.table.selectionModel().select(w.model.index(r, 0), flags.Select | flags.Rows)
    w.table.selectionModel().setCurrentIndex(w.model.index(rows[0], 0), flags.NoUpdate)
    before = [s.id for s in store.query(EventQuery(limit=None))]

    with qtbot.waitSignal(w.read_state_changed):
        qtbot.keyClick(w.table, Qt.Key.Key_Delete)
    assert store.get(stored[2].id) is None
    assert store.get(stored[4].id) is None
    assert w.model.rowCount() == 4
    assert w.undo_bar.isVisible()
    assert w.undo_label.text() == "2 events deleted"
    assert w.count_label.text() == "4 events"

    with qtbot.waitSignal(w.read_state_changed):
        qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [s.id for s in store.query(EventQuery(limit=None))] == before
    assert store.get(stored[2].id).read  # type: ignore[union-attr]
    assert [w.model.event_at(r).id for r in range(w.model.rowCount())] == before
    assert sorted(w.selected_ids()) == sorted([stored[2].id, stored[4].id])
    assert not w.undo_bar.isVisible()
    assert w.count_label.text() == "6 events"


def test_undo_button_restores_and_undo_is_stacked(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    stored = insert(store, [make_event(f"e{i}") for i in range(3)])
    w = make_window()
    select(w, 0)
    with qtbot.waitSignal(w.read_state_changed):
        w.delete_selected()
    select(w, 0)
    with qtbot.waitSignal(w.read_state_changed):
        w.delete_selected()
    assert w.model.rowCount() == 1
    with qtbot.waitSignal(w.read_state_changed):
        w.undo_button.click()
    assert w.model.rowCount() == 2
    assert w.undo_bar.isVisible()  # one more delete to undo
    with qtbot.waitSignal(w.read_state_changed):
        w.undo_button.click()
    assert [w.model.event_at(r).id for r in range(3)] == [s.id for s in reversed(stored)]
    assert not w.undo_bar.isVisible()


# ---- export ----------------------------------------------------------------------------------


def test_export_writes_the_events_the_filter_shows(
    make_window: Any, store: Store, mixed: list[StoredEvent], tmp_path: Path, qtbot: Any
) -> None:
    w = make_window()
    w.severity_combo.setCurrentIndex(w.severity_combo.findData(int(Severity.HIGH)))
    path = tmp_path / "out.json"
    w.start_export(path, "json")
    qtbot.waitUntil(path.exists, timeout=5000)
    data = json.loads(path.read_text(encoding="utf-8"))
    expected = [store.get(mixed[i].id) for i in (4, 3, 0)]
    assert data == [s.to_json() for s in expected if s is not None]
    assert w.statusBar().currentMessage() == f"Exported 3 events to {path}."


@pytest.mark.slow
def test_chunked_export_of_many_rows_with_progress(
    make_window: Any, store: Store, tmp_path: Path, qtbot: Any
) -> None:
    insert(store, [make_event(f"e{i}") for i in range(5000)], step_s=1)
    w = make_window()
    path = tmp_path / "many.json"
    w.start_export(path, "json")
    assert not path.exists()  # runs on the event loop, a page per turn
    qtbot.waitUntil(path.exists, timeout=30_000)
    assert len(json.loads(path.read_text(encoding="utf-8"))) == 5000


def test_cancelled_export_leaves_no_file(
    make_window: Any, store: Store, tmp_path: Path, qtbot: Any
) -> None:
    insert(store, [make_event(f"e{i}") for i in range(3000)], step_s=1)
    w = make_window()
    path = tmp_path / "cancelled.csv"
    w.start_export(path, "csv")
    w._export_progress.cancel()
    qtbot.waitUntil(lambda: "cancelled" in w.statusBar().currentMessage(), timeout=5000)
    assert not path.exists()
    assert not (tmp_path / "cancelled.csv.part").exists()


# ---- keyboard --------------------------------------------------------------------------------


def test_enter_opens_the_selected_link_through_open_link(
    make_window: Any, mixed: list[StoredEvent], links: LinkRecorder, qtbot: Any
) -> None:
    w = make_window()
    row = w.model.row_of(mixed[3].id)
    select(w, row)
    with qtbot.waitSignal(w.read_state_changed):
        qtbot.keyClick(w.table, Qt.Key.Key_Return)
    assert links.calls == [("https://sc.holmsecurity.com/tickets/4711", w)]
    assert w.model.event_at(row).read  # opening it is reading it
    w.detail.open_button.click()
    assert len(links.calls) == 2


def test_open_button_is_disabled_without_a_link(make_window: Any, store: Store) -> None:
    insert(store, [make_event("no link", link=None)])
    w = make_window()
    select(w, 0)
    assert not w.detail.open_button.isEnabled()
    assert not w.detail.copy_button.isEnabled()


def test_copy_link_puts_the_link_on_the_clipboard(
    make_window: Any, mixed: list[StoredEvent]
) -> None:
    w = make_window()
    select(w, w.model.row_of(mixed[0].id))
    w.detail.copy_button.click()
    assert QGuiApplication.clipboard().text() == "https://sc.holmsecurity.com/scans/view/123"


@pytest.mark.parametrize(
    ("link", "copied"),
    [
        # What the browser would contact, not the string: the backslash is a slash to it.
        ("https://evil.example\\.holmsecurity.com/x", "https://evil.example/.holmsecurity.com/x"),
        ("https://bücher.example/ä", "https://xn--bcher-kva.example/%C3%A4"),
    ],
)
def test_copy_link_copies_what_the_browser_would_open(
    make_window: Any, store: Store, link: str, copied: str
) -> None:
    QGuiApplication.clipboard().setText("before")
    [stored] = insert(store, [parse_event({"ticket": {"title": "t", "link": link}})])
    w = make_window()
    select(w, w.model.row_of(stored.id))
    w.copy_link()
    assert QGuiApplication.clipboard().text() == copied


def test_escape_clears_the_filter_then_hides(
    make_window: Any, mixed: list[StoredEvent], qtbot: Any
) -> None:
    w = make_window()
    w.search.setText("DMZ")
    w.unread_check.setChecked(True)
    w.apply_filter_now()
    assert w.model.rowCount() == 1
    qtbot.keyClick(w.table, Qt.Key.Key_Escape)
    assert w.search.text() == ""
    assert not w.unread_check.isChecked()
    assert w.model.rowCount() == 6
    assert w.isVisible()
    qtbot.keyClick(w.table, Qt.Key.Key_Escape)
    assert not w.isVisible()


def test_ctrl_f_focuses_the_search_field(make_window: Any, qtbot: Any) -> None:
    w = make_window()
    qtbot.keyClick(w.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(w.search.hasFocus, timeout=2000)


def test_shortcuts_are_set(make_window: Any) -> None:
    w = make_window(show=False)
    text = {a.text(): a.shortcut().toString() for a in w.findChildren(type(w.act_read))}
    assert text["Mark read"] == "Ctrl+R"
    assert text["Mark unread"] == "Ctrl+U"
    assert text["Mark all read"] == "Ctrl+Shift+R"
    assert text["Delete"] == "Del"
    assert text["Undo"] == "Ctrl+Z"  # a delete or a "mark all read"
    assert text["Open in Security Center"] == "Return"


# ---- entry points from the app ---------------------------------------------------------------


def test_show_event_selects_an_old_event_and_clears_a_filter_that_hides_it(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    stored = insert(
        store,
        [make_event(f"e{i}", kind=Kind.TICKET if i % 2 else Kind.CUSTOM) for i in range(1000)],
    )
    w = make_window()
    w.kind_combo.setCurrentIndex(w.kind_combo.findData(Kind.TICKET.value))
    target = stored[10]  # a custom event, hidden by the filter and far below the first page
    w.hide()
    w.show_event(target.id)
    assert w.isVisible()
    assert w.kind_combo.currentData() is None
    current = w.current_event()
    assert current is not None
    assert current.id == target.id
    rect = w.table.visualRect(w.model.index(w.model.row_of(target.id), 0))
    assert w.table.viewport().rect().intersects(rect)  # scrolled into view


def test_show_event_for_a_very_old_event_shows_it_alone_instead_of_loading_everything(
    make_window: Any, store: Store
) -> None:
    stored = insert(store, [make_event(f"e{i}") for i in range(2000)])
    w = make_window()
    w.SHOW_EVENT_MAX_ROWS = 500  # 1,000,000 stored events scaled down
    w.show_event(stored[3].id)
    assert w.model.rowCount() == 1
    assert w.ids_chip.isVisible()
    assert f"#{stored[3].id}" in w.ids_label.text()
    current = w.current_event()
    assert current is not None
    assert current.id == stored[3].id
    w.ids_clear.click()
    assert w.model.rowCount() == PAGE_SIZE


def test_show_event_keeps_a_filter_that_includes_it(make_window: Any, store: Store) -> None:
    stored = insert(store, [make_event("a", kind=Kind.TICKET), make_event("b", kind=Kind.TICKET)])
    w = make_window()
    w.kind_combo.setCurrentIndex(w.kind_combo.findData(Kind.TICKET.value))
    w.show_event(stored[0].id)
    assert w.kind_combo.currentData() == Kind.TICKET
    assert w.current_event() == w.model.event_at(1)


def test_show_event_for_a_deleted_event_says_so(make_window: Any, store: Store) -> None:
    w = make_window()
    w.show_event(12345)
    assert "no longer exists" in w.statusBar().currentMessage()


# ---- window state ----------------------------------------------------------------------------


def test_close_hides_and_geometry_and_columns_are_restored(
    make_window: Any, store: Store, tmp_path: Path, qtbot: Any
) -> None:
    state = tmp_path / "state" / "window.ini"
    w = make_window(state_path=state)
    assert w.windowTitle() == "holmtray — events"
    assert not w.windowIcon().isNull()
    w.resize(760, 520)  # within the offscreen platform's 800x600 screen
    w.table.horizontalHeader().resizeSection(COL_RECEIVED, 222)
    w.splitter.setSizes([300, 200])
    qtbot.wait(10)
    sizes = w.splitter.sizes()
    w.close()
    assert not w.isVisible()  # hidden, not destroyed: the app lives in the tray
    assert state.exists()

    w2 = make_window(state_path=state)
    assert w2.size() == w.size()
    assert w2.table.horizontalHeader().sectionSize(COL_RECEIVED) == 222
    assert w2.splitter.sizes() == sizes


def test_default_size_without_state(make_window: Any, tmp_path: Path) -> None:
    w = make_window(show=False, state_path=tmp_path / "none.ini")
    assert (w.width(), w.height()) == (1100, 650)


def test_a_damaged_state_file_is_ignored(make_window: Any, tmp_path: Path) -> None:
    state = tmp_path / "bad.ini"
    state.write_bytes(b"\x00\xff garbage [events]\ngeometry=@ByteArray(nonsense)\n")
    w = make_window(state_path=state)
    assert w.isVisible()


# ---- how it looks ----------------------------------------------------------------------------


def test_screenshot_of_the_window_with_varied_events(
    make_window: Any, store: Store, artifacts: Path, qtbot: Any
) -> None:
    stored = insert(store, varied_events())
    store.set_read([s.id for s in stored[::3]])
    w = make_window()
    attention = next(s for s in stored if s.event.attention and s.event.kind is Kind.FINISHED_SCAN)
    row = w.model.row_of(attention.id)
    assert row is not None
    select(w, row)
    w.table.scrollTo(w.model.index(row, 0), w.table.ScrollHint.PositionAtCenter)
    qtbot.wait(50)
    path = artifacts / "event_window.png"
    assert w.grab().save(str(path))
    image = QImage(str(path))
    assert image.width() >= 1000
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colours) > 50

    # The same window showing one burst, right after a delete (chip and undo bar visible).
    w.show_ids([s.id for s in stored[-12:]], "12 events from the burst at 12:18")
    select(w, 2)
    with qtbot.waitSignal(w.read_state_changed):
        w.delete_selected()
    qtbot.wait(50)
    assert w.grab().save(str(artifacts / "event_window_burst_undo.png"))


def test_counts_column_only_for_finished_scans(make_window: Any, store: Store) -> None:
    insert(
        store,
        [
            make_event("scan", kind=Kind.FINISHED_SCAN, counts=Counts(1, 3, 5, 12)),
            make_event("ticket", kind=Kind.TICKET),
        ],
    )
    w = make_window(show=False)
    assert w.model.data(w.model.index(1, COL_COUNTS)) == "1 C · 3 H · 5 M · 12 L"
    assert w.model.data(w.model.index(0, COL_COUNTS)) == ""


def test_hiding_the_window_stops_the_read_timer(make_window: Any, store: Store, qtbot: Any) -> None:
    insert(store, [make_event("a")])
    w = make_window()
    select(w, 0)
    w.hide()
    qtbot.wait(EventWindow.MARK_READ_DELAY_MS + 300)
    assert store.unread_summary()[0] == 1


# ---- capped count ----------------------------------------------------------------------------


def test_count_label_stops_at_the_cap(
    make_window: Any, store: Store, monkeypatch: pytest.MonkeyPatch, qtbot: Any
) -> None:
    monkeypatch.setattr(event_model, "COUNT_CAP", 5)
    fill_fast(store, 8)
    w = make_window()
    assert w.count_label.text() == "5+ events"
    assert "More than 5" in w.count_label.toolTip()
    w.kind_combo.setCurrentIndex(w.kind_combo.findData(Kind.TICKET.value))
    assert w.count_label.text() == "2 events"  # under the cap: exact
    w.clear_filters()
    assert w.count_label.text() == "5+ events"
    w.add_events(fill_fast(store, 1, start=8))
    assert w.count_label.text() == "5+ events"
    for r in range(4):
        w.table.selectionModel().select(
            w.model.index(r, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    with qtbot.waitSignal(w.read_state_changed):
        w.delete_selected()
    assert w.count_label.text() == "5 events"  # counted again: exactly at the cap
    assert w.count_label.toolTip() == ""


# ---- jumping to the oldest -------------------------------------------------------------------


@pytest.fixture
def history(store: Store) -> list[StoredEvent]:
    """5,000 events, ids 1 (oldest, "event 0") to 5,000, in one batch."""
    return fill_fast(store, 5000)


def ctrl_key(w: EventWindow, key: Qt.Key) -> None:
    QTest.keyClick(w.table, key, Qt.KeyboardModifier.ControlModifier)


def id_at_y(w: EventWindow, y: int) -> int:
    row = w.table.rowAt(y)
    assert row >= 0
    return w.model.event_at(row).id


def last_visible_id(w: EventWindow) -> int:
    return id_at_y(w, w.table.viewport().height() - 2)


def test_ctrl_end_shows_the_oldest_events_without_loading_the_rows_between(
    make_window: Any, history: list[StoredEvent], qtbot: Any
) -> None:
    w = make_window()
    select(w, 0)
    ctrl_key(w, Qt.Key.Key_End)
    assert w.model.rowCount() == PAGE_SIZE  # the oldest page only
    assert w.model.event_at(w.table.currentIndex().row()).id == 1
    qtbot.waitUntil(lambda: last_visible_id(w) == 1, timeout=2000)
    assert w.older_bar.isVisible()
    assert not w.model.showing_newest()
    assert w.count_label.text() == "5,000 events"
    # Selection and the detail pane work as ever.
    select(w, w.model.rowCount() - 1)
    assert w.current_event() is not None
    assert w.detail.title.text() == "event 0"
    # Ctrl+End again: already there, plain Qt behaviour.
    ctrl_key(w, Qt.Key.Key_End)
    assert w.model.rowCount() == PAGE_SIZE


def test_scrolling_up_from_the_oldest_loads_newer_rows_keeping_the_view(
    make_window: Any, history: list[StoredEvent], qtbot: Any
) -> None:
    w = make_window()
    ctrl_key(w, Qt.Key.Key_End)
    bar = w.table.verticalScrollBar()
    bar.setValue(bar.value() - w.table.viewport().height())  # some way up: nothing loads
    assert w.model.rowCount() == PAGE_SIZE
    bar.setValue(0)  # the top: the next newer page comes above
    assert w.model.rowCount() == 2 * PAGE_SIZE
    assert [w.model.event_at(r).id for r in (0, 2 * PAGE_SIZE - 1)] == [2 * PAGE_SIZE, 1]
    qtbot.waitUntil(lambda: id_at_y(w, 1) == PAGE_SIZE, timeout=2000)  # still in view
    assert bar.value() > 0
    # Up from the first row (the view at the top again) brings the next page and moves on.
    w.table.scrollToTop()
    assert w.model.rowCount() == 3 * PAGE_SIZE
    select(w, 0)
    first = w.current_event()
    assert first is not None
    top = first.id
    qtbot.keyClick(w.table, Qt.Key.Key_Up)
    current = w.current_event()
    assert current is not None
    assert current.id == top + 1
    assert w.detail.title.text() == f"event {top}"
    assert w.model.rowCount() <= 5 * PAGE_SIZE


def test_ctrl_home_and_the_bar_go_back_to_the_newest(
    make_window: Any, history: list[StoredEvent]
) -> None:
    w = make_window()
    ctrl_key(w, Qt.Key.Key_End)
    ctrl_key(w, Qt.Key.Key_Home)
    assert w.model.showing_newest()
    assert w.model.rowCount() == PAGE_SIZE
    assert w.model.event_at(0).id == 5000
    assert w.table.currentIndex().row() == 0
    assert not w.older_bar.isVisible()
    select(w, 3)
    assert w.detail.title.text() == "event 4996"
    ctrl_key(w, Qt.Key.Key_End)
    assert w.older_bar.isVisible()
    w.newest_button.click()
    assert w.model.showing_newest()
    assert w.model.event_at(0).id == 5000
    assert not w.older_bar.isVisible()


def test_dragging_the_scroll_bar_to_the_bottom_jumps_but_scrolling_pages(
    make_window: Any, history: list[StoredEvent], qtbot: Any
) -> None:
    w = make_window()
    bar = w.table.verticalScrollBar()
    end = bar.maximum()
    w.table.scrollToBottom()  # wheel, keys, or code: the next page, as before
    assert w.model.rowCount() == 2 * PAGE_SIZE
    assert w.model.showing_newest()
    qtbot.waitUntil(lambda: bar.maximum() > end, timeout=2000)  # laid out lazily
    bar.setSliderDown(True)  # the user drags the thumb ...
    bar.setValue(bar.maximum())  # ... to the very end
    bar.setSliderDown(False)
    assert w.model.rowCount() == PAGE_SIZE
    assert not w.model.showing_newest()
    qtbot.waitUntil(lambda: last_visible_id(w) == 1, timeout=2000)
    # The scroll bar's own Top and Bottom (its context menu) go to the two ends too.
    bar.triggerAction(QAbstractSlider.SliderAction.SliderToMinimum)
    assert w.model.showing_newest()
    assert id_at_y(w, 1) == 5000
    bar.triggerAction(QAbstractSlider.SliderAction.SliderToMaximum)
    assert not w.model.showing_newest()
    qtbot.waitUntil(lambda: last_visible_id(w) == 1, timeout=2000)


def test_live_events_while_showing_the_oldest_are_counted_then_shown_at_the_newest(
    make_window: Any, store: Store, history: list[StoredEvent], qtbot: Any
) -> None:
    w = make_window()
    ctrl_key(w, Qt.Key.Key_End)
    rows = [w.model.event_at(r).id for r in range(w.model.rowCount())]
    new = fill_fast(store, 2, start=5000)
    w.add_events(new)
    assert [w.model.event_at(r).id for r in range(w.model.rowCount())] == rows
    assert w.count_label.text() == "5,002 events"
    # "Mark all read" goes up to the newest event there was, not the ones that came since.
    with qtbot.waitSignal(w.read_state_changed):
        w.mark_all_read()
    assert store.get(5000).read  # type: ignore[union-attr]
    assert not store.get(new[0].id).read  # type: ignore[union-attr]
    assert w.model.event_at(0).read
    ctrl_key(w, Qt.Key.Key_Home)
    assert [w.model.event_at(r).id for r in range(3)] == [5002, 5001, 5000]


def test_paging_far_down_keeps_memory_bounded_and_the_rows_in_view(
    make_window: Any, history: list[StoredEvent], qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_model, "MAX_LOADED_ROWS", 2 * PAGE_SIZE)
    w = make_window()
    bar = w.table.verticalScrollBar()
    height = w.table.verticalHeader().defaultSectionSize()
    w.table.scrollToBottom()
    assert w.model.rowCount() == 2 * PAGE_SIZE
    w.table.scrollToTop()
    qtbot.waitUntil(lambda: bar.maximum() > PAGE_SIZE * height, timeout=2000)  # laid out
    at_the_end = w.model.event_at(bar.maximum() // height).id  # the top row at the bottom
    bar.setValue(bar.maximum())  # one more page comes below, the newest page goes above
    assert w.model.rowCount() == 2 * PAGE_SIZE
    assert w.model.event_at(0).id == 5000 - PAGE_SIZE
    assert not w.model.showing_newest()
    assert w.older_bar.isVisible()
    assert id_at_y(w, 1) == at_the_end  # the rows in view did not move
    assert bar.value() < bar.maximum()


def test_show_event_while_showing_the_oldest(
    make_window: Any, store: Store, history: list[StoredEvent]
) -> None:
    w = make_window()
    ctrl_key(w, Qt.Key.Key_End)
    w.show_event(50)  # among the loaded oldest rows: selected there
    current = w.current_event()
    assert current is not None
    assert current.id == 50
    assert not w.model.showing_newest()
    (new,) = fill_fast(store, 1, start=5000)
    w.add_events([new])
    w.show_event(new.id)  # a notification for a new event: back to the newest
    assert w.model.showing_newest()
    assert not w.older_bar.isVisible()
    current = w.current_event()
    assert current is not None
    assert current.id == new.id
    assert w.model.row_of(new.id) == 0
