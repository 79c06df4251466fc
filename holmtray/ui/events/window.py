"""The event window: the browsable, searchable history behind the tray icon.

This module owns the window a person uses to look through stored events: it puts the filter
bar, the table over :class:`~holmtray.ui.events.model.EventTableModel` (sorted by a click on a
column header), the detail pane and, with nothing to list, the empty state together, and owns
the actions on events (mark read/unread, mark all read and delete, both with undo, export),
their shortcuts, and when the layout is saved and restored. Links go to the ``open_link``
callable it is given, which applies the link-safety rules. ``status_area`` at the top is the
place for a strip about the receiver's state (the app fills it). A filter or search that
changes, or a new sort, shows the first match selected at the top.

Reading and writing are apart. The window reads through the read-only
:class:`~holmtray.core.history.store.Store` it is given; every change (mark read/unread, mark
all read, delete, undo) is a named operation on the history's writer, submitted through
:class:`~holmtray.ui.history_writes.HistoryWrites` with the ``write`` callable it is given, and
the rows change only when the operation's success comes back (a failure leaves them as they
were and says why in the status bar). Nothing here waits for a write.

Reading rule: the event shown in the detail pane is marked read once it has stayed the current
row for :attr:`EventWindow.MARK_READ_DELAY_MS` (so arrowing through the list does not mark
everything read), or at once when its link is opened.

Long histories: Ctrl+End in the list (or dragging the scroll bar to its very end) jumps to the
last events (the oldest, in receive order) instead of paging through everything in between,
selecting the last; earlier events then load above as the user scrolls up, a bar says so, and
Ctrl+Home or its "Back to newest" button returns to the top. The "N events" label counts up to
:data:`~holmtray.ui.events.model.COUNT_CAP` matches and says "10,000+ events" beyond.

Everything from a payload is shown as plain text: labels are set to ``Qt.PlainText`` and the raw
payload goes into a ``QPlainTextEdit``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QCloseEvent,
    QGuiApplication,
    QHideEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QMainWindow,
    QProgressDialog,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from holmtray.core.alerts.links import Verdict, decide
from holmtray.core.clock import utc_now
from holmtray.core.events import StoredEvent
from holmtray.core.history.database import StoreError
from holmtray.core.history.query import EventQuery
from holmtray.core.history.store import Store
from holmtray.ui import icons
from holmtray.ui.events.actions import EventActions
from holmtray.ui.events.bars import IdsChip, OlderBar, UndoBar
from holmtray.ui.events.detail import DetailPane
from holmtray.ui.events.display import local_time
from holmtray.ui.events.empty_state import EmptyState, WebhookUrl
from holmtray.ui.events.export_dialog import ExportFlow, ShowInFolder, show_in_file_manager
from holmtray.ui.events.filter_bar import FilterBar
from holmtray.ui.events.layout_state import LayoutState
from holmtray.ui.events.model import LIVE_ROWS, EventTableModel
from holmtray.ui.events.table import EventTable
from holmtray.ui.events.undo import Deleted, MarkedRead, UndoEntry, UndoStack
from holmtray.ui.history_writes import HistoryWrites, Submit
from holmtray.ui.welcome import SendTest

log = logging.getLogger("holmtray.ui.events.window")

OpenLink = Callable[[str, QWidget], None]


class EventWindow(QMainWindow):
    """The event history window. Hiding it (close, Esc) keeps it alive; the app is the tray."""

    read_state_changed = Signal()
    """Emitted after any read/unread/delete/restore has been stored, so the tray can refresh
    its badge."""

    MARK_READ_DELAY_MS = 1000
    SEARCH_DEBOUNCE_MS = 200
    SHOW_EVENT_MAX_ROWS = 10_000
    """:meth:`show_event` loads at most this many rows to reach an event (~0.3 s)."""

    def __init__(
        self,
        *,
        store: Store,
        write: Submit,
        open_link: OpenLink,
        state_path: Path,
        webhook_url: WebhookUrl | None = None,
        send_test: SendTest | None = None,
        show_in_folder: ShowInFolder = show_in_file_manager,
        clock: Callable[[], datetime] = utc_now,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store  # for reading: writes go through self.writes
        self.writes = HistoryWrites(submit=write, parent=self)
        self.writes.failed.connect(self._show_problem)
        self._open_link = open_link
        self._clock = clock
        self._ids_filter: frozenset[int] | None = None
        self._deleting: set[int] = set()  # ids whose delete is on its way

        self.setWindowTitle("holmtray — events")
        self.setWindowIcon(icons.app_icon())
        self.resize(1100, 650)

        self.model = EventTableModel(store, self, clock=clock)
        self._build_filter_bar()
        self._build_table()
        self.detail = DetailPane(clock=clock)
        self.empty_state = EmptyState(webhook_url=webhook_url, send_test=send_test)
        self.empty_state.clear_button.clicked.connect(self.clear_filters)
        self._build_bars()
        self._build_actions()

        self.list_stack = QStackedWidget()
        self.list_stack.addWidget(self.table)
        self.list_stack.addWidget(self.empty_state)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(0)
        top_layout.addWidget(self.older_bar)
        top_layout.addWidget(self.list_stack, 1)
        top_layout.addWidget(self.undo_bar)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([370, 250])

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 4, 6, 0)
        layout.setSpacing(4)
        self.status_area = QVBoxLayout()
        """Empty: where the app puts a strip about receiving (e.g. "Not receiving: ...")."""
        self.status_area.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.status_area)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.ids_chip)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.statusBar().setSizeGripEnabled(True)
        self.exports = ExportFlow(
            window=self,
            store=store,
            query=self.model.query,
            report=self._report,
            clock=clock,
            show_in_folder=show_in_folder,
        )
        self.folder_button = self.exports.folder_button

        self._search_timer = QTimer(self, singleShot=True, interval=self.SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self.apply_filter_now)
        self._read_timer = QTimer(self, singleShot=True, interval=self.MARK_READ_DELAY_MS)
        self._read_timer.timeout.connect(self._mark_current_read)
        self._pending_read: int | None = None

        self.search.textChanged.connect(self._search_timer.start)
        self.kind_combo.currentIndexChanged.connect(self.apply_filter_now)
        self.severity_combo.currentIndexChanged.connect(self.apply_filter_now)
        self.unread_check.toggled.connect(self.apply_filter_now)
        self.detail.open_button.clicked.connect(self.open_selected)
        self.detail.copy_button.clicked.connect(self.copy_link)
        self.model.dataChanged.connect(self._on_data_changed)
        self.model.modelReset.connect(self._sync_detail)
        self.model.rowsRemoved.connect(self._sync_detail)
        self.model.showing_newest_changed.connect(self._update_older_bar)
        for signal in (self.model.modelReset, self.model.rowsInserted, self.model.rowsRemoved):
            signal.connect(self._update_empty)

        self._layout_state = LayoutState(
            path=state_path,
            window=self,
            geometry_key="events/geometry",
            parts={
                "events/splitter": self.splitter,
                "events/detail_splitter": self.detail.splitter,
                # "2": the columns of this version (an Asset column came); older widths are
                # for other columns and are left unread.
                "events/columns2": self.table.horizontalHeader(),
            },
            toggles={"events/raw_json": self.detail.raw_toggle},
        )
        # The saved header state brings its sort arrow, and restoring it says so: the list
        # would sort. It opens in receive order instead, the newest first, whatever the last
        # session's sort was (a notification's event is then where one expects it).
        header = self.table.horizontalHeader()
        blocked = header.blockSignals(True)
        try:
            restored = self._layout_state.restore()
        finally:
            header.blockSignals(blocked)
        if "events/columns2" in restored:
            self.table.keep_column_widths()
        q = self.model.query()
        self.table.show_sort(q.sort, ascending=q.oldest_first)
        self._update_count_label()
        self._update_empty()
        self._update_actions()

    # ---- construction: the parts' widgets and actions are the window's attributes as well
    # (w.search, w.undo_button, w.act_read, ...): the app and the tests use them from here.

    def _build_filter_bar(self) -> None:
        self.filter_bar = FilterBar()
        self.search = self.filter_bar.search
        self.kind_combo = self.filter_bar.kind_combo
        self.severity_combo = self.filter_bar.severity_combo
        self.unread_check = self.filter_bar.unread_check
        self.count_label = self.filter_bar.count_label
        self.ids_chip = IdsChip()
        self.ids_label = self.ids_chip.label
        self.ids_clear = self.ids_chip.clear_button
        self.ids_clear.clicked.connect(self.clear_ids_filter)

    def _build_table(self) -> None:
        table = EventTable(model=self.model)
        table.doubleClicked.connect(self.open_selected)
        table.sorted.connect(self._select_first)
        # Both: the current row can change without the selection, and the other way round.
        table.selectionModel().currentRowChanged.connect(self._sync_detail)
        table.selectionModel().selectionChanged.connect(self._sync_detail)
        self.table = table

    def _build_bars(self) -> None:
        self.undo_bar = UndoBar()
        self.undo_label = self.undo_bar.label
        self.undo_button = self.undo_bar.undo_button
        self.undo_stack = UndoStack(
            writes=self.writes, bar=self.undo_bar, undone=self._undone, changed=self._update_actions
        )
        self.older_bar = OlderBar()
        self.older_label = self.older_bar.label
        self.newest_button = self.older_bar.newest_button
        self.newest_button.clicked.connect(self.show_newest)

    def _build_actions(self) -> None:
        actions = EventActions(window=self, commands=self, table=self.table)
        self.act_open = actions.open
        self.act_copy = actions.copy
        self.act_read = actions.read
        self.act_unread = actions.unread
        self.act_all_read = actions.all_read
        self.act_delete = actions.delete
        self.act_undo = actions.undo
        self.act_export_csv = actions.export_csv
        self.act_export_json = actions.export_json
        self.act_find = actions.find
        self.act_escape = actions.escape
        self.toolbar = actions.toolbar
        self.table.customContextMenuRequested.connect(actions.context_menu)
        self._actions = actions

    def _update_older_bar(self, *args: Any) -> None:
        self.older_bar.setVisible(not self.model.showing_newest())

    def _update_empty(self, *args: Any) -> None:
        """The empty state instead of the table (and no detail pane) while nothing is listed."""
        empty = self.model.rowCount() == 0 and not self.model.canFetchMore(QModelIndex())
        nothing_stored = empty and not self.model.is_filtered()
        if empty:
            if nothing_stored:
                self.empty_state.show_no_events()
            else:
                self.empty_state.show_no_matches()
        self.list_stack.setCurrentWidget(self.empty_state if empty else self.table)
        self.detail.setVisible(not empty)
        self._update_actions()

    # ---- state ---------------------------------------------------------------------------

    def save_state(self) -> None:
        """Write geometry, splitter positions and column widths to ``state_path``."""
        self._layout_state.save()

    def hideEvent(self, event: QHideEvent) -> None:
        self._read_timer.stop()  # nobody reads a hidden window: the event shown stays unread
        if not event.spontaneous():
            self.save_state()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()  # the app lives in the tray: closing the window only hides it
        event.ignore()
        self.hide()

    # ---- filtering -----------------------------------------------------------------------

    def current_query(self) -> EventQuery:
        """The filter the widgets describe, in the order the list is sorted by."""
        q = self.model.query()
        filters = self.filter_bar.query(ids=self._ids_filter)
        return dataclasses.replace(filters, sort=q.sort, oldest_first=q.oldest_first)

    def apply_filter_now(self) -> None:
        """Apply the filter widgets at once (the search field otherwise waits for a pause).

        The list then starts at its top, the first match selected.
        """
        self._search_timer.stop()
        q = self.current_query()
        if q == self.model.query():
            return
        self.model.set_query(q)
        self._select_first()
        self._update_count_label()

    def _select_first(self) -> None:
        self.table.scrollToTop()
        if self.model.rowCount() > 0:
            self.table.select_rows([0], current=0, scroll=True)

    def is_filtered(self) -> bool:
        return self.filter_bar.query(ids=self._ids_filter) != EventQuery(limit=None)

    def clear_filters(self) -> None:
        """Back to every event: clears search, kind, severity, unread and the id set."""
        self.filter_bar.reset()
        self._set_ids_filter(None, "")
        self.apply_filter_now()

    def show_ids(self, ids: Iterable[int], label: str) -> None:
        """Show exactly these events (e.g. one burst), with ``label`` on a clearable chip."""
        id_set = frozenset(int(i) for i in ids)
        self.filter_bar.reset()
        self._set_ids_filter(id_set, label)
        self.apply_filter_now()
        self._show_window()
        self._select_first()

    def clear_ids_filter(self) -> None:
        self._set_ids_filter(None, "")
        self.apply_filter_now()

    def _set_ids_filter(self, ids: frozenset[int] | None, label: str) -> None:
        self._ids_filter = ids
        self.ids_chip.show_label(label if ids is not None else None)

    def _update_count_label(self) -> None:
        try:
            n = self.model.match_count()
        except StoreError as exc:
            self.filter_bar.show_count_unknown()
            self._report("Cannot count events", exc)
            return
        self.filter_bar.show_count(n, cap=self.model.count_cap())

    # ---- selection and detail ------------------------------------------------------------

    def current_event(self) -> StoredEvent | None:
        return self.table.current_event()

    def selected_rows(self) -> list[int]:
        return self.table.selected_rows()

    def selected_ids(self) -> list[int]:
        return self.model.ids_for_rows(self.selected_rows())

    def _sync_detail(self, *args: Any) -> None:
        """Show the current event (if selected) and start its read timer when it changed."""
        s = self.current_event()
        shown = self.detail.shown_event()
        self._update_actions()
        if s is not None and shown is not None and s.id == shown.id:
            return  # the selection grew or shrank around the same current event
        self.detail.set_event(s)
        if s is not None and not s.read:
            self._pending_read = s.id
            self._read_timer.start()
        else:
            self._pending_read = None
            self._read_timer.stop()

    def _on_data_changed(
        self, top_left: QModelIndex, bottom_right: QModelIndex, *args: Any
    ) -> None:
        current = self.table.selectionModel().currentIndex()
        if current.isValid() and top_left.row() <= current.row() <= bottom_right.row():
            self.detail.set_event(self.current_event())
            self._update_actions()

    def _mark_current_read(self) -> None:
        s = self.current_event()
        if s is None or s.id != self._pending_read or s.read:
            return
        self._set_read([s.id], True)

    def _update_actions(self, *args: Any) -> None:
        if not hasattr(self, "_actions"):
            return  # still being built
        selected = bool(self.table.selectionModel().selectedRows())
        s = self.current_event()
        self._actions.update(
            selected=selected,
            has_link=bool(s is not None and s.event.link),
            has_rows=self.model.rowCount() > 0,
            undo=latest.action if (latest := self.undo_stack.latest) is not None else None,
        )

    # ---- actions -------------------------------------------------------------------------

    def _report(self, doing: str, exc: Exception) -> None:
        log.warning("%s: %s", doing, exc)
        self._show_problem(f"{doing}: {exc}")

    def _show_problem(self, message: str) -> None:
        """What went wrong, in the status bar: a failed read here, a failed write (the one
        message :class:`HistoryWrites` makes for every operation)."""
        self.statusBar().showMessage(message, 10_000)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def escape(self) -> None:
        """Esc: clear the filter if there is one, else hide the window."""
        if self.is_filtered():
            self.clear_filters()
        else:
            self.hide()

    def open_selected(self, *args: Any) -> None:
        """Open the current event's link through ``open_link`` and mark it read."""
        s = self.current_event()
        if s is None:
            return
        if not s.event.link:
            self.statusBar().showMessage("This event has no link.", 5000)
            return
        if not s.read:
            self._set_read([s.id], True)
        self._open_link(s.event.link, self)

    def copy_link(self) -> None:
        """Copy the link as a browser would read it (the WHATWG serialisation, the host in
        punycode), so a pasted link goes where the checked one would; a link holmtray would
        never open is not copied."""
        s = self.current_event()
        if s is None or not s.event.link:
            return
        decision = decide(s.event.link, ())
        if decision.verdict is Verdict.REFUSE:
            self.statusBar().showMessage(f"Not copied: {decision.reason}.", 5000)
            return
        QGuiApplication.clipboard().setText(decision.url)
        self.statusBar().showMessage("Link copied.", 3000)

    def _set_read(self, ids: Sequence[int], read: bool) -> None:
        if not ids:
            return
        id_list = list(ids)
        self.writes.set_read(id_list, read, done=lambda _n: self._read_state_stored(id_list))

    def _read_state_stored(self, ids: list[int]) -> None:
        self.model.refresh_rows(ids)
        self._update_count_label()
        self.read_state_changed.emit()

    def mark_selected_read(self) -> None:
        self._read_timer.stop()
        self._set_read(self.selected_ids(), True)

    def mark_selected_unread(self) -> None:
        # Stop the dwell timer, or it would mark the current event read again a second later.
        self._read_timer.stop()
        self._pending_read = None
        self._set_read(self.selected_ids(), False)

    def mark_all_read(self) -> None:
        """Mark every event matching the filter read, up to the newest one shown; undoable."""
        top = self.model.top_id()
        if top is None:
            return
        # Events that arrive after the view was drawn stay unread.
        q = dataclasses.replace(self.model.query(), before_id=top + 1, limit=None)
        self.writes.mark_all_read(q, done=self._all_read_stored)

    def _all_read_stored(self, ids: list[int]) -> None:
        self._read_state_stored(ids)
        self.model.invalidate_count()
        self._update_count_label()
        if ids:
            self.undo_stack.push(MarkedRead(ids))

    def delete_selected(self) -> None:
        """Delete the selected events; the undo bar (and Ctrl+Z) puts them back."""
        events = [self.model.event_at(r) for r in self.selected_rows()]
        events = [s for s in events if s.id not in self._deleting]  # not twice
        if not events:
            return
        ids = [s.id for s in events]
        self._deleting.update(ids)
        self.writes.delete(
            ids,
            done=lambda _n: self._deleted(events),
            failed=lambda _exc: self._deleting.difference_update(ids),
        )

    def _deleted(self, events: list[StoredEvent]) -> None:
        ids = [s.id for s in events]
        self._deleting.difference_update(ids)
        rows = sorted(r for r in map(self.model.row_of, ids) if r is not None)
        self.model.remove_ids(ids)
        self.undo_stack.push(Deleted(events))
        # Keep the keyboard flow: the row that moved into the first deleted place is selected.
        if rows and self.model.rowCount():
            row = min(rows[0], self.model.rowCount() - 1)
            self.table.select_rows([row], current=row, scroll=True)
        self._update_count_label()
        self.read_state_changed.emit()

    def undo(self) -> None:
        """Undo the latest delete or "mark all read" (deleted events come back with their ids
        and read flags; events marked read become unread again, exactly those)."""
        self.undo_stack.undo()

    def _undone(self, entry: UndoEntry) -> None:
        if isinstance(entry, Deleted):
            self.model.add_events(entry.events)
            rows = [r for r in (self.model.row_of(s.id) for s in entry.events) if r is not None]
            if rows:
                self.table.select_rows(rows, current=min(rows), scroll=True)
        else:
            self._read_timer.stop()  # the event on display is not read again behind the undo
            self._pending_read = None
            self.model.refresh_rows(entry.ids)
            self.model.invalidate_count()
        self._update_count_label()
        self.read_state_changed.emit()

    # ---- export --------------------------------------------------------------------------

    def export_dialog(self, fmt: str) -> None:
        """Ask where to (a dated file in Documents or Downloads), then export with progress."""
        self.exports.ask(fmt)

    def start_export(self, path: Path, fmt: str) -> None:
        """Export to ``path`` in steps on the event loop, with a progress dialog."""
        self.exports.start(path, fmt)

    @property
    def _export_progress(self) -> QProgressDialog | None:
        return self.exports.progress

    # ---- entry points for the app --------------------------------------------------------

    def add_events(self, events: Sequence[StoredEvent]) -> None:
        """A batch of newly committed events (from the writer thread, on the GUI thread).

        Rows pushed more than :data:`LIVE_ROWS` past the last one in use are let go (hidden,
        only a selection near the top counts): scrolling brings them back.
        """
        if self.model.add_events(events):
            self._update_count_label()
            in_use = self.table.last_row_in_use(in_view=self.isVisible())
            if not self.isVisible() and in_use >= LIVE_ROWS:
                in_use = -1
            self.model.keep_rows(in_use + 1 + LIVE_ROWS)

    def show_event(self, event_id: int) -> None:
        """Show and raise the window with ``event_id`` selected (a notification was clicked).

        The filter is cleared if it hides the event. An event so old that the rows down to it
        are too many to load is shown on its own (as with :meth:`show_ids`).
        """
        self._show_window()
        q = self.model.query()
        wanted = frozenset({event_id}) if q.ids is None else frozenset({event_id}) & q.ids
        try:
            stored = self._store.get(event_id)
            if stored is None:
                self.statusBar().showMessage(f"Event {event_id} no longer exists.", 8000)
                return
            if self._store.count(dataclasses.replace(q, ids=wanted)) == 0:
                self.clear_filters()
            row = self.model.ensure_loaded(event_id, max_rows=self.SHOW_EVENT_MAX_ROWS)
        except StoreError as exc:
            self._report("Cannot show the event", exc)
            return
        if row is None:
            self.show_ids([event_id], f"event #{event_id} of {local_time(stored.received_at)}")
            row = self.model.row_of(event_id)
        if row is not None:
            self.table.select_rows([row], current=row, scroll=False)
            self.table.scrollTo(
                self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter
            )
            self.table.setFocus()

    def show_newest(self) -> None:
        """Back to the newest events (from the oldest, or after paging far down)."""
        self.table.jump_to_newest()
        self.table.setFocus()

    def _show_window(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()
