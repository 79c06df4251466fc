"""The event window made for triage: sorting, navigation, the detail pane, the empty window,
undo of "mark all read", export defaults, and how the list reads (screenshots).

As in the tray app, the window reads through a read-only store and writes through a real
writer on its own thread.
"""

from __future__ import annotations

import csv
import html
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, QStandardPaths, Qt
from PySide6.QtGui import QFont, QFontMetrics, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QWidget

from holmtray.core.events import Kind, Severity, StoredEvent
from holmtray.core.history.query import EventQuery, SortKey
from holmtray.core.history.store import Store
from holmtray.core.parsing.parser import parse_event
from holmtray.ui.events.display import (
    COL_ASSET,
    COL_COUNTS,
    COL_KIND,
    COL_RECEIVED,
    COL_SEVERITY,
    COL_STATUS,
    COL_TITLE,
)
from holmtray.ui.events.empty_state import NO_EVENTS, NO_MATCHES, NO_URL
from holmtray.ui.events.model import PAGE_SIZE
from holmtray.ui.events.window import EventWindow
from holmtray.ui.welcome import TestDone
from tests.stored_events import (
    BASE_TIME,
    fill_fast,
    insert,
    insert_at,
    make_event,
    million_rows,
    sample,
    triage_events,
)
from tests.ui.writer_thread import WriterThread

NOW = datetime(2024, 4, 16, 15, 30, tzinfo=UTC)
URL = "https://holm.example.org:8747/hook/T0ken-0123456789abcdef"


class Recorder:
    """Stands in for the app's callables (open a link, show a folder, send a test)."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)


@pytest.fixture
def make_window(make_window: Any) -> Callable[..., EventWindow]:
    """The event tests' windows, with the clock at :data:`NOW`."""

    def make(**kw: Any) -> EventWindow:
        kw.setdefault("clock", lambda: NOW)
        return make_window(**kw)  # type: ignore[no-any-return]

    return make


def select(w: EventWindow, row: int) -> None:
    flags = QItemSelectionModel.SelectionFlag
    w.table.selectionModel().setCurrentIndex(
        w.model.index(row, 0), flags.ClearAndSelect | flags.Rows
    )


def ids(w: EventWindow) -> list[int]:
    return [w.model.event_at(r).id for r in range(w.model.rowCount())]


def click_header(w: EventWindow, column: int) -> None:
    header = w.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))


# ---- sorting ---------------------------------------------------------------------------------


def test_clicking_a_header_sorts_through_the_store_and_paging_keeps_the_order(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    fill_fast(store, 3 * PAGE_SIZE + 50)  # severity i % 5, ids 1..650
    w = make_window()
    click_header(w, COL_SEVERITY)
    q = w.model.query()
    assert (q.sort, q.oldest_first) == (SortKey.SEVERITY, False)  # the most severe first
    assert w.table.horizontalHeader().sortIndicatorSection() == COL_SEVERITY
    assert w.table.currentIndex().row() == 0
    assert w.selected_rows() == [0]
    assert w.model.rowCount() == PAGE_SIZE  # a page, not everything
    while w.model.canFetchMore(w.table.rootIndex()):
        w.model.fetchMore(w.table.rootIndex())
    expected = store.query_ids(EventQuery(sort=SortKey.SEVERITY, limit=None))
    assert ids(w) == expected  # pages joined by keyset: no gaps, no repeats
    severities = [w.model.event_at(r).event.severity for r in range(w.model.rowCount())]
    assert severities == sorted(severities, reverse=True)
    # Again: the other way round. Then a column without an order: nothing changes.
    click_header(w, COL_SEVERITY)
    assert w.model.query().oldest_first
    assert w.model.event_at(0).event.severity is Severity.INFO
    before = ids(w)
    click_header(w, COL_COUNTS)
    assert ids(w) == before
    assert w.table.horizontalHeader().sortIndicatorSection() == COL_SEVERITY
    # Title and Asset start A to Z; Received goes back to the newest first.
    click_header(w, COL_TITLE)
    assert (w.model.query().sort, w.model.query().oldest_first) == (SortKey.TITLE, True)
    assert w.model.event_at(0).event.title == "event 0"
    click_header(w, COL_ASSET)
    assert w.model.query().sort is SortKey.ASSET
    click_header(w, COL_RECEIVED)
    assert (w.model.query().sort, w.model.query().oldest_first) == (SortKey.RECEIVED, False)
    assert w.model.event_at(0).id == 3 * PAGE_SIZE + 50


def test_a_sort_survives_a_filter_change_and_live_events_land_in_their_place(
    make_window: Any, store: Store
) -> None:
    insert(store, [make_event(f"e{i}", severity=Severity(i % 5)) for i in range(20)])
    w = make_window()
    click_header(w, COL_SEVERITY)
    w.kind_combo.setCurrentIndex(w.kind_combo.findData(Kind.CUSTOM.value))
    assert w.model.query().sort is SortKey.SEVERITY
    assert w.model.event_at(0).event.severity is Severity.CRITICAL
    new = insert(
        store,
        [make_event("new high", severity=Severity.HIGH)],
        start=BASE_TIME + timedelta(days=1),
    )
    w.add_events(new)
    # After the four criticals, first among the highs (the newest of them).
    assert w.model.row_of(new[0].id) == 4
    assert ids(w) == store.query_ids(
        EventQuery(kinds=frozenset({Kind.CUSTOM}), sort=SortKey.SEVERITY, limit=None)
    )


@pytest.fixture(scope="module")
def million(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("million") / "events.db"
    million_rows(path)
    return path


def no_writes(_operation: Any) -> Any:
    raise AssertionError("this window only reads")


@pytest.mark.slow
def test_sorting_a_million_events_walks_an_index_page_by_page(
    million: Path, qtbot: Any, tmp_path: Path
) -> None:
    store = Store.open(million, readonly=True, check=False)
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    try:
        w = EventWindow(
            store=store,
            write=no_writes,
            open_link=Recorder(),
            state_path=tmp_path / "window.ini",
            clock=lambda: NOW,
        )
        qtbot.addWidget(w)
        w.show()
        statements.clear()
        for column, key in ((COL_SEVERITY, SortKey.SEVERITY), (COL_ASSET, SortKey.ASSET)):
            click_header(w, column)
            assert w.model.query().sort is key
            assert w.model.rowCount() == PAGE_SIZE
            first = [w.model.event_at(r) for r in range(PAGE_SIZE)]
            for _ in range(3):  # three more pages, each after the last row of the one before
                w.model.fetchMore(w.table.rootIndex())
            assert w.model.rowCount() == 4 * PAGE_SIZE
            loaded = ids(w)
            assert len(set(loaded)) == len(loaded)
            if key is SortKey.SEVERITY:
                assert {s.event.severity for s in first} == {Severity.CRITICAL}
                # Event i has severity i % 5 and id i + 1: the criticals are every fifth id.
                assert loaded == list(range(1_000_000, 1_000_000 - 5 * 4 * PAGE_SIZE, -5))
            else:
                hosts = [w.model.event_at(r).event.asset.hostname for r in range(4 * PAGE_SIZE)]
                assert hosts[0] == "host0.example"
                assert hosts == sorted(hosts, key=lambda h: (h or "").lower())
        # Ctrl+End: the last page, in one step, its last row selected: the events without an
        # asset come last, ties in id order, so the newest of them (event 999,999).
        w.table.setFocus()
        QTest.keyClick(w.table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        current = w.current_event()
        assert current is not None
        assert current.id == 1_000_000
        assert current.event.asset.hostname is None
        assert w.model.rowCount() == PAGE_SIZE
        # Every ordered read went through an index, stopped by LIMIT: no sort of a million.
        con = sqlite3.connect(f"file:{million}?mode=ro", uri=True)
        pages = [s for s in statements if "ORDER BY" in s and "LIMIT" in s]
        assert len(pages) >= 8
        for sql in pages:
            plan = " | ".join(str(r[3]) for r in con.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "TEMP B-TREE" not in plan, (sql, plan)
            # An index, or the rowid itself (receive order) walked from where the page starts.
            assert "INDEX" in plan or "INTEGER PRIMARY KEY" in plan or plan == "SCAN e", plan
        # ... among them the sorted pages: by severity, and by the asset expression.
        assert any("ORDER BY e.severity DESC, e.id DESC" in sql for sql in pages)
        assert any("ORDER BY coalesce(e.hostname, e.ipv4, e.asset_name" in sql for sql in pages)
        con.close()
    finally:
        store.close()


def test_a_new_window_opens_newest_first_with_the_last_sessions_column_widths(
    make_window: Any, store: Store, tmp_path: Path
) -> None:
    fill_fast(store, 30)
    state = tmp_path / "layout.ini"
    w = make_window(state_path=state)
    click_header(w, COL_SEVERITY)
    w.table.horizontalHeader().resizeSection(COL_ASSET, 250)
    w.close()  # saves the layout, the sort arrow with it
    again = make_window(state_path=state)
    assert again.model.query().sort is SortKey.RECEIVED
    assert again.table.horizontalHeader().sortIndicatorSection() == COL_RECEIVED
    assert again.model.event_at(0).id == 30
    again.resize(1280, 800)  # wider: the asset column is not sized anew over the user's width
    assert again.table.columnWidth(COL_ASSET) == 250


# ---- navigation ------------------------------------------------------------------------------


def test_changing_a_filter_or_the_search_shows_the_first_match_selected_at_the_top(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    fill_fast(store, 600)
    w = make_window()
    w.table.scrollToBottom()
    select(w, w.model.rowCount() - 1)
    assert w.table.verticalScrollBar().value() > 0
    w.severity_combo.setCurrentIndex(w.severity_combo.findData(int(Severity.HIGH)))
    assert w.table.verticalScrollBar().value() == 0
    assert w.selected_rows() == [0]
    first = w.current_event()
    assert first is not None
    assert first.id == store.query_ids(EventQuery(min_severity=Severity.HIGH, limit=1))[0]
    assert w.detail.shown_event() == first
    # The search too, once typing pauses.
    w.table.scrollToBottom()
    select(w, 50)
    w.search.setText("event 59")
    qtbot.waitUntil(lambda: w.model.query().search == "event 59", timeout=3000)
    assert w.table.verticalScrollBar().value() == 0
    assert w.selected_rows() == [0]
    assert w.current_event() == w.model.event_at(0)


def test_ctrl_end_and_ctrl_home_select_the_row_they_reach_so_enter_opens_it(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    stored = insert(
        store,
        [make_event(f"e{i}", link=f"https://sc.holmsecurity.com/t/{i}") for i in range(450)],
    )
    links = Recorder()
    w = make_window(open_link=links)
    select(w, 3)
    QTest.keyClick(w.table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    current = w.current_event()
    assert current is not None
    assert current.id == stored[0].id  # the oldest, reached in one jump ...
    assert w.selected_ids() == [stored[0].id]  # ... and selected
    assert w.detail.shown_event() == current
    QTest.keyClick(w.table, Qt.Key.Key_Return)
    assert links.calls[-1] == ("https://sc.holmsecurity.com/t/0", w)
    QTest.keyClick(w.table, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    assert w.selected_ids() == [stored[-1].id]
    QTest.keyClick(w.table, Qt.Key.Key_Enter)
    assert links.calls[-1] == ("https://sc.holmsecurity.com/t/449", w)
    # Within the loaded rows too: Ctrl+End selects the last row loaded, not only moves to it.
    select(w, 0)
    w.model.fetchMore(w.table.rootIndex())
    QTest.keyClick(w.table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert w.selected_rows() == [w.model.rowCount() - 1]


def test_mark_all_read_is_undone_for_exactly_the_events_it_changed(
    make_window: Any, store: Store, writes: WriterThread, qtbot: Any
) -> None:
    stored = insert(store, [make_event(f"e{i}") for i in range(6)])
    read_before = {stored[1].id, stored[4].id}
    store.set_read(read_before)
    w = make_window()
    with qtbot.waitSignal(w.read_state_changed):
        w.act_all_read.trigger()
    assert all(w.model.event_at(r).read for r in range(6))
    assert w.undo_bar.isVisible()
    assert w.undo_label.text() == "4 events marked read"
    assert w.act_undo.isEnabled()
    assert "Undo mark all read" in w.act_undo.toolTip()
    with qtbot.waitSignal(w.read_state_changed):
        QTest.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert {s.id for s in store.query(EventQuery(limit=None)) if s.read} == read_before
    assert {w.model.event_at(r).id for r in range(6) if w.model.event_at(r).read} == read_before
    assert not w.undo_bar.isVisible()
    assert w.count_label.text() == "6 events"
    assert writes.named_operations() == ["mark_all_read", "set_read"]


# ---- the detail pane -------------------------------------------------------------------------


def test_a_new_event_in_the_detail_pane_starts_at_its_title(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    insert(store, [parse_event(sample("ticket_opened_nested")) for _ in range(1)])
    insert(store, [parse_event(sample("finished_scan_with_errors"))], start=NOW)
    w = make_window()
    w.splitter.setSizes([400, 120])  # a short pane: the fields scroll
    select(w, 1)
    bar = w.detail.scroll_area.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=2000)
    bar.setValue(bar.maximum())
    select(w, 0)
    assert bar.value() == 0
    assert w.detail.title.text() == "Scan 'DMZ web apps' stopped with 2 errors"


def test_a_tickets_triage_facts_show_and_attention_no_longer_says_no(
    make_window: Any, store: Store
) -> None:
    insert(store, [parse_event(sample("ticket_opened_nested"))])
    w = make_window()
    select(w, 0)
    d = w.detail
    assert d.extra_rows("Triage") == [
        ("Due", "13 Apr 2024 — overdue by 3 days"),
        ("Exploit", "Yes — a public exploit exists"),
        ("Ransomware", "No"),
        ("Patch", "Available"),
        ("Business risk", "High"),
        ("Owner", "ops@example.com"),
        ("Teams", "Platform"),
        ("Tags", "dmz, linux"),
    ]
    assert d.value_label("Triage", "Exploit").textFormat() == Qt.TextFormat.PlainText
    # Overdue and a public exploit stand out; the rest reads as plain facts.
    assert "#b91c1c" in d.value_label("Triage", "Due").styleSheet()
    assert "#b91c1c" in d.value_label("Triage", "Exploit").styleSheet()
    assert d.value_label("Triage", "Patch").styleSheet() == ""
    assert d.value_label("Triage", "Due").isVisibleTo(d)
    assert not d.value_label("Event", "Attention").isVisibleTo(d)  # no "Attention: No"
    assert d.value_label("Vulnerability", "CVSS").text() == "5.9"


def test_a_custom_payload_shows_each_top_level_field(make_window: Any, store: Store) -> None:
    # Stored as the app stores it (the body is the payload): its fields in their order.
    insert_at(store, [(NOW, parse_event(sample("custom_placeholders")))])
    insert(store, [make_event("other")], start=NOW + timedelta(minutes=1))
    w = make_window()
    select(w, 1)
    assert w.detail.extra_rows("Fields") == [
        ("Subject", "New ticket 4712: Apache HTTP Server 2.4.x RCE on web-02"),
        ("Severity", "Critical"),
        ("Asset", "web-02.corp.example (10.20.0.16)"),
        ("Ticket url", "https://sc.holmsecurity.com/tickets/4712"),
    ]
    select(w, 0)  # another event replaces the rows
    assert w.detail.extra_rows("Fields") == [("Title", "other")]
    assert w.detail.extra_rows("Triage") == []


def test_the_raw_json_is_behind_a_toggle_that_is_remembered(
    make_window: Any, store: Store, tmp_path: Path
) -> None:
    insert(store, [parse_event(sample("finished_scan"))])
    state = tmp_path / "layout.ini"
    w = make_window(state_path=state)
    select(w, 0)
    assert not w.detail.raw_panel.isVisible()  # off at first: the fields get the room
    w.detail.raw_toggle.click()
    assert w.detail.raw_panel.isVisible()
    assert '"finished_scan"' in w.detail.raw.toPlainText()
    w.close()
    again = make_window(state_path=state)
    assert again.detail.raw_toggle.isChecked()
    assert again.detail.raw_panel.isVisibleTo(again.detail)


# ---- how the list reads ----------------------------------------------------------------------


def test_the_list_reads_for_triage(make_window: Any, store: Store) -> None:
    stored = insert_at(store, triage_events(20, NOW))
    store.set_read([s.id for s in stored[::2]])
    w = make_window(show=False)
    m = w.model
    by_id = {m.event_at(r).id: r for r in range(m.rowCount())}

    def cell(s: StoredEvent, col: int, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        return m.data(m.index(by_id[s.id], col), role)

    # Compact times, the full one in the tooltip.
    assert cell(stored[-1], COL_RECEIVED) == (NOW - timedelta(minutes=233)).astimezone().strftime(
        "%H:%M"
    )
    old = stored[0]
    local = old.received_at.astimezone()
    assert cell(old, COL_RECEIVED) == f"{local.day} {local:%b}"
    assert old.received_at.strftime("%H:%M:%S UTC") in cell(
        old, COL_RECEIVED, Qt.ItemDataRole.ToolTipRole
    )
    # Bold for unread rows only, on every cell of the row.
    for s in stored[:4]:
        fonts = [cell(s, c, Qt.ItemDataRole.FontRole) for c in range(7)]
        bold = [isinstance(f, QFont) and f.bold() for f in fonts]
        assert bold == [not m.event_at(by_id[s.id]).read] * 7
    assert {m.event_at(by_id[s.id]).read for s in stored[:4]} == {True, False}
    # Closed tickets read as closed, opened ones do not.
    closed = next(s for s in stored if s.event.ticket.is_closed)
    opened = next(s for s in stored if s.event.kind is Kind.TICKET and not s.event.ticket.is_closed)
    assert "closed" in cell(closed, COL_TITLE)
    assert cell(closed, COL_STATUS, Qt.ItemDataRole.FontRole).strikeOut()
    assert cell(closed, COL_TITLE, Qt.ItemDataRole.ForegroundRole) is not None
    assert cell(opened, COL_STATUS) == "Open"
    status_font = cell(opened, COL_STATUS, Qt.ItemDataRole.FontRole)
    assert status_font is None or not status_font.strikeOut()
    assert cell(opened, COL_TITLE, Qt.ItemDataRole.ForegroundRole) is None
    # The asset in its own column; findings without zeros; the kind icon in one grey.
    assert cell(opened, COL_ASSET) == opened.event.asset.hostname
    # The list's title leaves the asset to its column; the tooltip and the detail keep it.
    assert opened.event.title.endswith(f" on {opened.event.asset.name}")
    assert cell(opened, COL_TITLE) == opened.event.title.removesuffix(
        f" on {opened.event.asset.name}"
    )
    assert opened.event.title in html.unescape(cell(opened, COL_TITLE, Qt.ItemDataRole.ToolTipRole))
    scan = next(s for s in stored if s.event.kind is Kind.FINISHED_SCAN and s.event.counts.total)
    assert "0 " not in cell(scan, COL_COUNTS)
    assert cell(scan, COL_COUNTS).split(" · ")[0][-1] in "CHML"
    none = next(
        s for s in stored if s.event.kind is Kind.FINISHED_SCAN and not s.event.counts.total
    )
    assert cell(none, COL_COUNTS) == "No findings"
    icon = cell(scan, COL_KIND, Qt.ItemDataRole.DecorationRole).pixmap(16, 16).toImage()
    drawn = [
        icon.pixelColor(x, y) for x in range(16) for y in range(16) if icon.pixelColor(x, y).alpha()
    ]
    assert drawn
    assert max(c.hsvSaturation() for c in drawn) < 90  # grey: the severity has the colour


# ---- the empty window ------------------------------------------------------------------------


def test_an_empty_window_explains_itself_with_the_url_and_a_test_event(
    make_window: Any, store: Store, qtbot: Any
) -> None:
    sent: list[TestDone] = []
    w = make_window(webhook_url=lambda: URL, send_test=sent.append)
    e = w.empty_state
    assert w.list_stack.currentWidget() is e
    assert e.heading.text() == NO_EVENTS
    assert e.url_edit.text() == URL
    assert not w.detail.isVisible()
    for action in (w.act_all_read, w.act_export_csv, w.act_export_json, w.act_read, w.act_delete):
        assert not action.isEnabled(), action.text()
    e.copy_button.click()
    assert QGuiApplication.clipboard().text() == URL
    e.send_button.click()
    assert len(sent) == 1
    assert not e.send_button.isEnabled()  # one at a time
    sent[0](True, "Test event stored.")
    qtbot.waitUntil(lambda: e.result_label.text() == "Test event stored.", timeout=2000)
    assert e.send_button.isEnabled()
    # The event arrives: the list replaces the explanation.
    w.add_events(insert(store, [make_event("first")]))
    assert w.list_stack.currentWidget() is w.table
    assert w.act_all_read.isEnabled()
    assert w.act_export_csv.isEnabled()
    # A filter that matches nothing says so, and clears with one click.
    w.search.setText("nothing like this")
    w.apply_filter_now()
    assert w.list_stack.currentWidget() is e
    assert e.heading.text() == NO_MATCHES
    assert not e.url_edit.isVisible()
    e.clear_button.click()
    assert w.search.text() == ""
    assert w.model.rowCount() == 1


def test_an_empty_window_without_a_working_url_offers_no_copy_or_test(make_window: Any) -> None:
    w = make_window(webhook_url=lambda: None, send_test=Recorder())
    e = w.empty_state
    assert e.url_edit.text() == NO_URL
    assert not e.copy_button.isEnabled()
    assert not e.send_button.isEnabled()


# ---- export ----------------------------------------------------------------------------------


def test_export_offers_a_dated_file_in_documents_and_then_the_folder(
    make_window: Any, store: Store, tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert(
        store, [parse_event(sample("ticket_opened_nested")), parse_event(sample("finished_scan"))]
    )
    offered: list[str] = []
    target = tmp_path / "chosen.csv"

    def save_dialog(_parent: QWidget, _caption: str, start: str, _pattern: str) -> tuple[str, str]:
        offered.append(start)
        return str(target), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_dialog))
    shown = Recorder()
    w = make_window(show_in_folder=shown)
    w.act_export_csv.trigger()
    folders = [
        QStandardPaths.writableLocation(loc)
        for loc in (
            QStandardPaths.StandardLocation.DocumentsLocation,
            QStandardPaths.StandardLocation.DownloadLocation,
        )
    ]
    start = Path(offered[0])
    assert start.name == "holmtray-events-2024-04-16.csv"
    assert str(start.parent) in [*(f for f in folders if f and Path(f).is_dir()), str(Path.home())]
    qtbot.waitUntil(target.exists, timeout=5000)
    with target.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["asset"] for r in rows] == ["", "web-01.corp.example"]
    assert rows[0]["critical"] == "1"
    assert w.statusBar().currentMessage() == f"Exported 2 events to {target}."
    qtbot.waitUntil(w.folder_button.isVisible, timeout=2000)
    w.folder_button.click()
    assert shown.calls == [(target,)]
    # The next export is offered in the folder the last one went to.
    w.act_export_json.trigger()
    assert Path(offered[1]) == tmp_path / "holmtray-events-2024-04-16.json"


# ---- screenshots -----------------------------------------------------------------------------


SIZES = {"default": None, "1280x800": (1280, 800)}


def _shoot(
    w: EventWindow, qtbot: Any, artifacts: Path, name: str, size: tuple[int, int] | None
) -> Path:
    if size is not None:
        w.resize(*size)
    qtbot.wait(50)
    path = artifacts / f"{name}.png"
    assert w.grab().save(str(path))
    return path


@pytest.mark.parametrize("size", SIZES.keys())
def test_screenshots_of_the_event_window_for_triage(
    make_window: Any, store: Store, artifacts: Path, qtbot: Any, size: str, tmp_path: Path
) -> None:
    suffix = "" if size == "default" else f"_{size}"
    # Empty, with the URL to paste.
    w = make_window(webhook_url=lambda: URL, send_test=Recorder(), state_path=tmp_path / "a.ini")
    _shoot(w, qtbot, artifacts, f"triage_empty{suffix}", SIZES[size])
    w.hide()
    # 60 mixed events, the newest unread.
    stored = insert_at(store, triage_events(60, NOW))
    store.set_read([s.id for s in stored[:40]])
    w = make_window(state_path=tmp_path / "b.ini")
    _shoot(w, qtbot, artifacts, f"triage_list{suffix}", SIZES[size])
    # At the default size, no title in view is cut off.
    if size == "default":
        width = w.table.columnWidth(COL_TITLE)
        for r in range(w.model.rowCount()):
            if w.table.rowViewportPosition(r) > w.table.viewport().height():
                break
            font = (
                w.model.data(w.model.index(r, COL_TITLE), Qt.ItemDataRole.FontRole)
                or w.table.font()
            )
            title = w.model.data(w.model.index(r, COL_TITLE))
            # The delegate's text margins: 3 px each side (Qt's focus frame margin + 1).
            assert QFontMetrics(font).horizontalAdvance(title) + 6 <= width, title
    # A ticket's detail: an open one, unread, overdue, with an exploit.
    ticket = next(
        s
        for s in reversed(stored)
        if s.event.kind is Kind.TICKET
        and not s.event.ticket.is_closed
        and s.id not in {i.id for i in stored[:40]}
        and s.event.payload["ticket"]["vulnerability"]["exploits"]
    )
    select(w, w.model.row_of(ticket.id))
    _shoot(w, qtbot, artifacts, f"triage_ticket{suffix}", SIZES[size])
