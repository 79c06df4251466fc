"""The event window: the browsable, searchable history behind the tray icon.

This module owns the window a person uses to look through stored events: the filter bar, the
table over :class:`~holmtray.ui.events.model.EventTableModel`, the detail pane for the selected
event, the actions on events (mark read/unread, mark all read, delete with undo, export), their
shortcuts, and saving/restoring the window's layout. It turns user actions into
:class:`~holmtray.core.history.store.Store` calls and never opens a link itself: links go to the
``open_link`` callable it is given, which applies the link-safety rules.

Reading rule: the event shown in the detail pane is marked read once it has stayed the current
row for :attr:`EventWindow.MARK_READ_DELAY_MS` (so arrowing through the list does not mark
everything read), or at once when its link is opened.

Long histories: Ctrl+End in the list (or dragging the scroll bar to its very end) jumps to the
oldest events instead of paging through everything in between; newer events then load above as
the user scrolls up, a bar says so, and Ctrl+Home or its "Back to newest" button returns to
the newest. The "N events" label counts up to :data:`~holmtray.ui.events.model.COUNT_CAP`
matches and says "10,000+ events" beyond.

Everything from a payload is shown as plain text: labels are set to ``Qt.PlainText`` and the raw
payload goes into a ``QPlainTextEdit``.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QByteArray,
    QItemSelection,
    QItemSelectionModel,
    QLocale,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSettings,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QHideEvent,
    QKeySequence,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QProgressDialog,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStyledItemDelegate,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from holmtray.core.events import Event, Kind, Severity, StoredEvent
from holmtray.core.history.store import EventQuery, Store, StoreError
from holmtray.core.text import show_bidi_controls
from holmtray.ui import icons
from holmtray.ui.events.model import (
    COL_COUNTS,
    COL_KIND,
    COL_RECEIVED,
    COL_SEVERITY,
    COL_STATUS,
    COL_TITLE,
    UTC_NOTE,
    EventTableModel,
    local_time,
    status_text,
    utc_time,
)

log = logging.getLogger("holmtray.ui.events")

OpenLink = Callable[[str, QWidget], None]

EXPORT_PAGE = 1000
"""Rows written per step of an export; one step is short enough not to stall the GUI."""

CSV_COLUMNS = (
    "id",
    "received_at",
    "kind",
    "severity",
    "attention",
    "read",
    "title",
    "link",
    "scan_status",
    "asset_name",
    "hostname",
    "cve",
)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""Cell openings a spreadsheet may run as a formula (OWASP's CSV injection list)."""


# --------------------------------------------------------------------------------------------
# Export (no widgets: usable from tests and, later, the command line)
# --------------------------------------------------------------------------------------------


def defuse_cell(value: str) -> str:
    """Prefix ``'`` to text a spreadsheet would otherwise evaluate as a formula."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_row(s: StoredEvent) -> list[str]:
    ev = s.event
    cells = [
        str(s.id),
        s.received_at.astimezone(UTC).isoformat(),
        ev.kind.value,
        ev.severity.word,
        "true" if ev.attention else "false",
        "true" if s.read else "false",
        ev.title,
        ev.link or "",
        ev.scan_status or "",
        ev.asset.name or "",
        ev.asset.hostname or "",
        ev.vulnerability.cve or "",
    ]
    return [defuse_cell(c) for c in cells]


class ExportJob:
    """Writes the events matching a query to a file, one page per :meth:`step`.

    The file is written under a ``.part`` name and renamed at the end, so a cancelled or
    failed export never leaves a truncated file under the name the user chose.
    """

    def __init__(self, store: Store, query: EventQuery, path: Path, fmt: str) -> None:
        if fmt not in ("csv", "json"):
            raise ValueError(f"unknown export format {fmt!r} (allowed: csv, json)")
        self._store = store
        self._query = dataclasses.replace(query, before_id=None, after_id=None, limit=EXPORT_PAGE)
        self.path = path
        self.fmt = fmt
        self.written = 0
        self._part = path.with_name(path.name + ".part")
        self._before: int | None = None
        self._done = False
        # newline="" is what the csv module wants; utf-8-sig lets spreadsheets detect UTF-8.
        encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
        self._file: IO[str] = open(self._part, "w", encoding=encoding, newline="")  # noqa: SIM115
        if fmt == "csv":
            self._csv = csv.writer(self._file)
            self._csv.writerow(CSV_COLUMNS)
        else:
            self._file.write("[")

    @property
    def done(self) -> bool:
        return self._done

    def step(self) -> bool:
        """Write the next page; ``False`` once everything is written."""
        if self._done:
            return False
        page = self._store.query(dataclasses.replace(self._query, before_id=self._before))
        for s in page:
            if self.fmt == "csv":
                self._csv.writerow(csv_row(s))
            else:
                sep = "\n" if self.written == 0 else ",\n"
                self._file.write(sep + json.dumps(s.to_json(), indent=2, ensure_ascii=False))
            self.written += 1
        if page:
            # New events get higher ids, so paging downwards never picks them up mid-export.
            self._before = page[-1].id
        if len(page) < EXPORT_PAGE:
            self._done = True
        return not self._done

    def finish(self) -> None:
        """Close the file and move it to its final name."""
        if self.fmt == "json":
            self._file.write("\n]\n" if self.written else "]\n")
        self._file.close()
        os.replace(self._part, self.path)

    def abort(self) -> None:
        """Close and remove the partial file."""
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._part.unlink()


# --------------------------------------------------------------------------------------------
# The table view
# --------------------------------------------------------------------------------------------


class _PlainTextDelegate(QStyledItemDelegate):
    """Paints cells as plain text (as Qt does) with bidi controls made visible."""

    def displayText(self, value: Any, locale: QLocale | QLocale.Language) -> str:
        if isinstance(value, str):
            return show_bidi_controls(value)
        return str(super().displayText(value, locale))


class _EventTable(QTableView):
    """The event table: keeps the rows in view steady, and jumps instead of paging through.

    Qt keeps the selection on an insert or removal, but the scroll position is a pixel
    offset, so rows arriving (or dropped) above what the user is looking at would move it.
    When rows are inserted above the viewport while it is scrolled away from the top, or
    removed entirely above it, the offset moves along with them; at the very top it stays put
    on an insert, so new events come into sight.

    Over an :class:`EventTableModel` it also avoids paging through a long history: Ctrl+End,
    and dragging the scroll bar to the very bottom (or its "Bottom" action), while older pages
    remain, jump to the oldest page (:meth:`EventTableModel.jump_to_oldest`) instead of
    loading one page per step. Ctrl+Home (and the scroll bar's "Top" action) goes back to the
    newest page when it is not loaded.
    With the newest rows not loaded, reaching the top (scroll bar, wheel, Up, Page Up) loads
    the next newer page above, keeping the rows in view where they were.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pin_inserts = False
        self._removed_above: tuple[int, int] | None = None
        self.verticalScrollBar().actionTriggered.connect(self._scroll_bar_action)

    def _event_model(self) -> EventTableModel | None:
        model = self.model()
        return model if isinstance(model, EventTableModel) else None

    def setModel(self, model: QAbstractItemModel | None) -> None:
        old = self.model()
        if old is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                old.rowsRemoved.disconnect(self._after_rows_removed)
        super().setModel(model)
        if model is not None:
            model.rowsRemoved.connect(self._after_rows_removed)

    def _row_height(self) -> int:
        return self.verticalHeader().defaultSectionSize()

    # ---- keeping the rows in view --------------------------------------------------------

    def rowsInserted(
        self, parent: QModelIndex | QPersistentModelIndex, start: int, end: int
    ) -> None:
        bar = self.verticalScrollBar()
        value = bar.value()
        height = self._row_height()
        top_row = value // height if height > 0 else 0
        super().rowsInserted(parent, start, end)
        if parent.isValid() or start > top_row or (value == 0 and not self._pin_inserts):
            return
        # The scroll bar range is updated lazily; bring it up to date before moving it.
        self.updateGeometries()
        bar.setValue(value + (end - start + 1) * height)

    def rowsAboutToBeRemoved(
        self, parent: QModelIndex | QPersistentModelIndex, start: int, end: int
    ) -> None:
        value = self.verticalScrollBar().value()
        height = self._row_height()
        top_row = value // height if height > 0 else 0
        if not parent.isValid() and value > 0 and end < top_row:
            self._removed_above = (value, (end - start + 1) * height)
        super().rowsAboutToBeRemoved(parent, start, end)

    def _after_rows_removed(self, *args: Any) -> None:
        pending, self._removed_above = self._removed_above, None
        if pending is not None:
            value, shift = pending
            self.updateGeometries()
            self.verticalScrollBar().setValue(max(0, value - shift))

    # ---- jumping and loading newer rows --------------------------------------------------

    def jump_to_oldest(self) -> bool:
        """Show the oldest rows at the bottom of the view; ``False`` if they were loaded."""
        model = self._event_model()
        if model is None or not model.jump_to_oldest():
            return False
        self.scrollToBottom()
        return True

    def jump_to_newest(self) -> bool:
        """Show the newest rows at the top of the view; ``False`` if they were loaded."""
        model = self._event_model()
        if model is None or not model.jump_to_newest():
            return False
        self.scrollToTop()
        return True

    def load_newer(self) -> int:
        """Insert the next newer page above, keeping the rows in view; how many came."""
        model = self._event_model()
        if model is None or not model.can_fetch_newer():
            return 0
        self._pin_inserts = True
        try:
            return model.fetch_newer()
        finally:
            self._pin_inserts = False

    def moveCursor(
        self, cursorAction: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        model = self._event_model()
        action = QAbstractItemView.CursorAction
        ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        if model is not None:
            header = self.horizontalHeader()
            if cursorAction == action.MoveEnd and ctrl and self.jump_to_oldest():
                last_col = header.logicalIndex(header.count() - 1)
                return model.index(model.rowCount() - 1, max(last_col, 0))
            if cursorAction == action.MoveHome and ctrl and self.jump_to_newest():
                return model.index(0, max(header.logicalIndex(0), 0))
            if cursorAction in (action.MoveUp, action.MovePageUp) and model.can_fetch_newer():
                current = self.currentIndex()
                height = max(self._row_height(), 1)
                step = 1 if cursorAction == action.MoveUp else self.viewport().height() // height
                if not current.isValid() or current.row() < max(step, 1):
                    self.load_newer()
        return super().moveCursor(cursorAction, modifiers)

    def verticalScrollbarValueChanged(self, value: int) -> None:
        model = self._event_model()
        bar = self.verticalScrollBar()
        if model is not None:
            if value == bar.maximum() and bar.isSliderDown() and model.canFetchMore(QModelIndex()):
                # Dragged to the very end: the user wants the end, not the next page of it.
                self.jump_to_oldest()
                return
            if value == bar.minimum() and model.can_fetch_newer():
                self.load_newer()
        super().verticalScrollbarValueChanged(value)

    def _scroll_bar_action(self, slider_action: int) -> None:
        # The scroll bar's own "Bottom"/"Top" (context menu, or its keys) mean the very end.
        if slider_action == QAbstractSlider.SliderAction.SliderToMaximum.value:
            self.jump_to_oldest()
        elif slider_action == QAbstractSlider.SliderAction.SliderToMinimum.value:
            self.jump_to_newest()

    def wheelEvent(self, event: QWheelEvent) -> None:
        bar = self.verticalScrollBar()
        if event.angleDelta().y() > 0 and bar.value() == bar.minimum():
            self.load_newer()
        super().wheelEvent(event)


# --------------------------------------------------------------------------------------------
# The detail pane
# --------------------------------------------------------------------------------------------


def _fmt_time(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    local, utc = local_time(dt), utc_time(dt)
    return utc if dt.astimezone().utcoffset() == timedelta(0) else f"{local}  ({utc})"


def _fmt_duration(d: timedelta | None) -> str | None:
    if d is None:
        return None
    total = int(d.total_seconds())
    days, rest = divmod(total, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    clock = f"{h}:{m:02d}:{sec:02d}"
    return f"{days} d {clock}" if days else clock


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def detail_fields(s: StoredEvent) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every normalised field of ``s`` as (section, [(label, text or None)]) for display."""
    ev = s.event
    counts = ev.counts.describe(include_zero=True) if ev.counts is not None else None
    return [
        (
            "Event",
            [
                ("Received", _fmt_time(s.received_at)),
                ("Kind", ev.kind.label),
                ("Severity", ev.severity.label),
                ("Attention", "Needs attention" if ev.attention else "No"),
                ("Read", "Yes" if s.read else "No"),
                ("Link", _text(ev.link)),
                ("Event id", str(s.id)),
            ],
        ),
        (
            "Scan",
            [
                ("Name", _text(ev.scan_name)),
                ("Type", _text(ev.scan_type)),
                ("Status", _text(ev.scan_status)),
                ("Findings", counts),
                ("Errors", "\n".join(ev.errors) if ev.errors else None),
                ("Started", _fmt_time(ev.started)),
                ("Finished", _fmt_time(ev.finished)),
                ("Starts at", _fmt_time(ev.starts_at)),
                ("Duration", _fmt_duration(ev.duration)),
            ],
        ),
        (
            "Asset",
            [
                ("Name", _text(ev.asset.name)),
                ("Hostname", _text(ev.asset.hostname)),
                ("IPv4", _text(ev.asset.ipv4)),
                ("IPv6", _text(ev.asset.ipv6)),
                ("OS", _text(ev.asset.os)),
            ],
        ),
        (
            "Vulnerability",
            [
                ("Name", _text(ev.vulnerability.name)),
                ("CVE", _text(ev.vulnerability.cve)),
                (
                    "CVSS",
                    f"{ev.vulnerability.cvss:.1f}" if ev.vulnerability.cvss is not None else None,
                ),
                ("Summary", _text(ev.vulnerability.summary)),
                ("Solution", _text(ev.vulnerability.solution)),
            ],
        ),
        (
            "Ticket",
            [
                ("Number", _text(ev.ticket.number)),
                ("Status", _text(ev.ticket.status)),
                ("Due", _fmt_time(ev.due)),
            ],
        ),
    ]


def _plain_label(*, selectable: bool = True, wrap: bool = True) -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    # Ignored: a 10,000-character word must not widen the pane; it is clipped instead.
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(40)
    return label


# A blank event, only to learn the sections and field names (in order) for building the form.
_PLACEHOLDER = StoredEvent(
    id=0,
    received_at=datetime(1970, 1, 1, tzinfo=UTC),
    read=True,
    event=Event(kind=Kind.CUSTOM, title="", severity=Severity.INFO),
    body="{}",
)
_SECTION_FIELDS = {
    section: [name for name, _ in rows] for section, rows in detail_fields(_PLACEHOLDER)
}
_DETAIL_COLUMNS = (("Scan", "Vulnerability", "Ticket"), ("Asset", "Event"))


class DetailPane(QWidget):
    """The selected event's fields (plain text) and its raw payload (pretty-printed JSON)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._event: StoredEvent | None = None

        self.title = _plain_label()
        title_font = QFont(self.title.font())
        title_font.setBold(True)
        title_font.setPointSizeF(title_font.pointSizeF() * 1.15)
        self.title.setFont(title_font)
        self.meta = _plain_label()
        self.open_button = QPushButton("Open in Security Center")
        self.copy_button = QPushButton("Copy link")

        # Two columns of sections, so a short pane shows the fields that differ by kind at once.
        self._values: dict[tuple[str, str], QLabel] = {}
        self._section_heading: dict[str, QLabel] = {}
        self._section_form: dict[str, QFormLayout] = {}
        self._columns: list[tuple[QWidget, tuple[str, ...]]] = []
        columns_row = QHBoxLayout()
        columns_row.setSpacing(24)
        for sections in _DETAIL_COLUMNS:
            column = QWidget()
            form = QFormLayout(column)
            form.setContentsMargins(0, 0, 0, 0)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setHorizontalSpacing(10)
            form.setVerticalSpacing(3)
            for section in sections:
                heading = QLabel(section)
                heading_font = QFont(heading.font())
                heading_font.setBold(True)
                heading.setFont(heading_font)
                heading.setContentsMargins(0, 6, 0, 2)
                form.addRow(heading)
                self._section_heading[section] = heading
                self._section_form[section] = form
                for name in _SECTION_FIELDS[section]:
                    value = _plain_label()
                    caption = QLabel(name)
                    caption.setEnabled(False)  # the palette's muted colour, in any theme
                    form.addRow(caption, value)
                    self._values[(section, name)] = value
            columns_row.addWidget(column, 1, Qt.AlignmentFlag.AlignTop)
            self._columns.append((column, sections))

        self.note = QLabel(UTC_NOTE)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setEnabled(False)
        self.note.setWordWrap(True)

        self.placeholder = QLabel("Select an event to see its details.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setEnabled(False)

        fields = QWidget()
        fields_layout = QVBoxLayout(fields)
        fields_layout.setContentsMargins(10, 8, 10, 8)
        fields_layout.setSpacing(4)
        fields_layout.addWidget(self.title)
        fields_layout.addWidget(self.meta)
        fields_layout.addLayout(columns_row)
        fields_layout.addSpacing(6)
        fields_layout.addWidget(self.note)
        fields_layout.addStretch(1)
        self._fields_widget = fields

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(fields)
        self.scroll_area = scroll

        buttons = QHBoxLayout()
        buttons.setContentsMargins(10, 6, 10, 0)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(0)
        left_layout.addLayout(buttons)
        left_layout.addWidget(scroll, 1)
        left_layout.addWidget(self.placeholder, 1)

        self.raw = QPlainTextEdit()
        self.raw.setReadOnly(True)
        self.raw.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        # Some platforms answer with a family name only; the hints make any of them monospace.
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setFixedPitch(True)
        self.raw.setFont(mono)
        self.raw.setPlaceholderText("Raw payload")
        raw_caption = QLabel("Raw payload (JSON)")
        raw_caption.setEnabled(False)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 6, 6, 6)
        right_layout.setSpacing(4)
        right_layout.addWidget(raw_caption)
        right_layout.addWidget(self.raw, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("detailSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.set_event(None)

    def shown_event(self) -> StoredEvent | None:
        return self._event

    def set_event(self, s: StoredEvent | None) -> None:
        previous, self._event = self._event, s
        has = s is not None
        self.scroll_area.setVisible(has)
        self.placeholder.setVisible(not has)
        self.open_button.setEnabled(bool(has and s is not None and s.event.link))
        self.copy_button.setEnabled(bool(has and s is not None and s.event.link))
        if s is None:
            self.title.clear()
            self.meta.clear()
            self.raw.clear()
            return
        ev = s.event
        self.title.setText(show_bidi_controls(ev.title))
        meta = [ev.kind.label, ev.severity.label]
        status = status_text(ev)
        if status:
            meta.append(status)
        meta.append(f"received {local_time(s.received_at)}")
        meta.append("unread" if not s.read else "read")
        self.meta.setText("  ·  ".join(meta))
        shown: set[str] = set()
        for section, rows in detail_fields(s):
            form = self._section_form[section]
            for name, text in rows:
                label = self._values[(section, name)]
                label.setText(show_bidi_controls(text or ""))
                form.setRowVisible(label, text is not None)
                if text is not None:
                    shown.add(section)
            form.setRowVisible(self._section_heading[section], section in shown)
        for column, sections in self._columns:
            column.setVisible(any(sec in shown for sec in sections))
        if previous is None or previous.id != s.id:
            # Only for another event: the read flag changing a second after selection must not
            # throw the reader back to the top of the JSON.
            self.raw.setPlainText(json.dumps(s.event.payload, indent=2, ensure_ascii=False))

    def value_label(self, section: str, name: str) -> QLabel:
        return self._values[(section, name)]


# --------------------------------------------------------------------------------------------
# The window
# --------------------------------------------------------------------------------------------


class EventWindow(QMainWindow):
    """The event history window. Hiding it (close, Esc) keeps it alive; the app is the tray."""

    read_state_changed = Signal()
    """Emitted after any read/unread/delete/restore, so the tray can refresh its badge."""

    MARK_READ_DELAY_MS = 1000
    SEARCH_DEBOUNCE_MS = 200
    SHOW_EVENT_MAX_ROWS = 10_000
    """:meth:`show_event` loads at most this many rows to reach an event (~0.3 s)."""

    def __init__(
        self,
        *,
        store: Store,
        open_link: OpenLink,
        state_path: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._open_link = open_link
        self._state_path = Path(state_path)
        self._ids_filter: frozenset[int] | None = None
        self._undo: list[list[StoredEvent]] = []
        self._export_progress: QProgressDialog | None = None

        self.setWindowTitle("holmtray — events")
        self.setWindowIcon(icons.app_icon())
        self.resize(1100, 650)

        self.model = EventTableModel(store, self)
        self._build_filter_bar()
        self._build_table()
        self.detail = DetailPane()
        self._build_undo_bar()
        self._build_older_bar()
        self._build_actions()

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(0)
        top_layout.addWidget(self.older_bar)
        top_layout.addWidget(self.table, 1)
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
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.ids_chip)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.statusBar().setSizeGripEnabled(True)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(self.SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self.apply_filter_now)
        self._read_timer = QTimer(self)
        self._read_timer.setSingleShot(True)
        self._read_timer.setInterval(self.MARK_READ_DELAY_MS)
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

        self._restore_state()
        self._update_count_label()
        self._update_actions()

    # ---- construction --------------------------------------------------------------------

    def _build_filter_bar(self) -> None:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search title, scan, asset, host, CVE…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(260)

        self.kind_combo = QComboBox()
        self.kind_combo.addItem("All kinds", None)
        for kind in Kind:
            self.kind_combo.addItem(icons.kind_icon(kind), kind.label, kind.value)

        self.severity_combo = QComboBox()
        self.severity_combo.addItem("Any severity", None)
        for sev in Severity:
            text = f"{sev.label} only" if sev is Severity.CRITICAL else f"{sev.label} or higher"
            self.severity_combo.addItem(text, int(sev))

        self.unread_check = QCheckBox("Unread only")
        self.count_label = QLabel()
        self.count_label.setTextFormat(Qt.TextFormat.PlainText)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.count_label.setMinimumWidth(110)

        bar = QWidget()
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 2, 0, 2)
        row.setSpacing(8)
        row.addWidget(self.search, 1)
        row.addWidget(self.kind_combo)
        row.addWidget(self.severity_combo)
        row.addWidget(self.unread_check)
        row.addWidget(self.count_label)
        self.filter_bar = bar

        self.ids_label = QLabel()
        self.ids_label.setTextFormat(Qt.TextFormat.PlainText)
        self.ids_clear = QPushButton("Show all events")
        self.ids_clear.clicked.connect(self.clear_ids_filter)
        chip = QFrame()
        chip.setObjectName("idsChip")
        chip.setFrameShape(QFrame.Shape.StyledPanel)
        chip.setStyleSheet(
            "#idsChip { background: rgba(37, 99, 235, 28); border: 1px solid rgba(37, 99, 235, 90);"
            " border-radius: 4px; }"
        )
        chip_row = QHBoxLayout(chip)
        chip_row.setContentsMargins(8, 2, 4, 2)
        chip_row.addWidget(self.ids_label, 1)
        chip_row.addWidget(self.ids_clear)
        chip.setVisible(False)
        self.ids_chip = chip

    def _build_table(self) -> None:
        table = _EventTable()
        table.setModel(self.model)
        table.setItemDelegate(_PlainTextDelegate(table))
        table.setSortingEnabled(False)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.setShowGrid(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setIconSize(QSize(16, 16))
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._context_menu)
        table.doubleClicked.connect(self.open_selected)

        fm = table.fontMetrics()
        vheader = table.verticalHeader()
        vheader.hide()
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vheader.setDefaultSectionSize(fm.height() + 10)

        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setMinimumSectionSize(40)
        pad = 28
        widths = {
            COL_RECEIVED: fm.horizontalAdvance("2024-03-13 12:59:00") + pad,
            COL_KIND: fm.horizontalAdvance("Scheduled scan") + pad + 20,
            COL_SEVERITY: fm.horizontalAdvance("Critical !") + pad,
            COL_COUNTS: fm.horizontalAdvance("10C 30H 50M 120L") + pad,
            COL_STATUS: fm.horizontalAdvance("Completed — needs attention") + pad,
        }
        for col, width in widths.items():
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, width)
        header.setSectionResizeMode(COL_TITLE, QHeaderView.ResizeMode.Stretch)

        # Both: the current row can change without the selection, and the other way round.
        table.selectionModel().currentRowChanged.connect(self._sync_detail)
        table.selectionModel().selectionChanged.connect(self._sync_detail)
        self.table = table

    def _build_undo_bar(self) -> None:
        bar = QFrame()
        bar.setObjectName("undoBar")
        bar.setStyleSheet(
            "#undoBar { background: rgba(202, 138, 4, 40); border-top: 1px solid"
            " rgba(202, 138, 4, 120); }"
        )
        self.undo_label = QLabel()
        self.undo_label.setTextFormat(Qt.TextFormat.PlainText)
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self.undo_delete)
        dismiss = QPushButton("Dismiss")
        dismiss.setFlat(True)
        dismiss.clicked.connect(self._dismiss_undo)
        row = QHBoxLayout(bar)
        row.setContentsMargins(8, 3, 6, 3)
        row.addWidget(self.undo_label, 1)
        row.addWidget(self.undo_button)
        row.addWidget(dismiss)
        bar.setVisible(False)
        self.undo_bar = bar

    def _build_older_bar(self) -> None:
        """The bar over the table while the newest rows are not loaded (after a jump)."""
        bar = QFrame()
        bar.setObjectName("olderBar")
        bar.setStyleSheet(
            "#olderBar { background: rgba(37, 99, 235, 28); border-bottom: 1px solid"
            " rgba(37, 99, 235, 90); }"
        )
        self.older_label = QLabel(
            "Showing older events; newer ones load as you scroll up. New events are counted,"
            " not shown, until you go back to the newest."
        )
        self.older_label.setTextFormat(Qt.TextFormat.PlainText)
        self.older_label.setWordWrap(True)
        self.newest_button = QPushButton("Back to newest")
        self.newest_button.setToolTip("Show the newest events (Ctrl+Home in the list)")
        self.newest_button.clicked.connect(self.show_newest)
        row = QHBoxLayout(bar)
        row.setContentsMargins(8, 3, 6, 3)
        row.addWidget(self.older_label, 1)
        row.addWidget(self.newest_button)
        bar.setVisible(False)
        self.older_bar = bar

    def _update_older_bar(self, *args: Any) -> None:
        self.older_bar.setVisible(not self.model.showing_newest())

    def _action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcuts: Sequence[QKeySequence | QKeySequence.StandardKey | str] = (),
        *,
        context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut,
        tip: str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcuts:
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setShortcutContext(context)
        shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        tip = tip or text
        action.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        on_table = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.act_open = self._action(
            "Open in Security Center",
            self.open_selected,
            ("Return", "Enter"),
            context=on_table,
        )
        self.act_copy = self._action("Copy link", self.copy_link, ("Ctrl+Shift+C",))
        self.act_read = self._action("Mark read", self.mark_selected_read, ("Ctrl+R",))
        self.act_unread = self._action("Mark unread", self.mark_selected_unread, ("Ctrl+U",))
        self.act_all_read = self._action(
            "Mark all read",
            self.mark_all_read,
            ("Ctrl+Shift+R",),
            tip="Mark every event matching the filter read",
        )
        self.act_delete = self._action(
            "Delete", self.delete_selected, (QKeySequence.StandardKey.Delete,), context=on_table
        )
        self.act_undo = self._action(
            "Undo delete", self.undo_delete, (QKeySequence.StandardKey.Undo,)
        )
        self.act_export_csv = self._action(
            "Export CSV…",
            lambda: self.export_dialog("csv"),
            ("Ctrl+E",),
            tip="Export the events matching the filter to CSV",
        )
        self.act_export_json = self._action(
            "Export JSON…",
            lambda: self.export_dialog("json"),
            ("Ctrl+Shift+E",),
            tip="Export the events matching the filter to JSON",
        )
        self.act_find = self._action("Find", self.focus_search, (QKeySequence.StandardKey.Find,))
        self.act_escape = self._action("Clear filter or hide", self.escape, ("Esc",))

        for action in (self.act_open, self.act_delete):
            self.table.addAction(action)
        for action in (
            self.act_copy,
            self.act_read,
            self.act_unread,
            self.act_all_read,
            self.act_undo,
            self.act_export_csv,
            self.act_export_json,
            self.act_find,
            self.act_escape,
        ):
            self.addAction(action)

        toolbar = QToolBar("Actions")
        toolbar.setObjectName("actionsToolbar")
        toolbar.setMovable(False)
        toolbar.setFloatable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        # Open and Copy link live on the detail pane's buttons, Enter and the context menu.
        for action in (self.act_read, self.act_unread, self.act_all_read):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.act_delete)
        toolbar.addAction(self.act_undo)
        toolbar.addSeparator()
        toolbar.addAction(self.act_export_csv)
        toolbar.addAction(self.act_export_json)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar

    # ---- state ---------------------------------------------------------------------------

    def _settings(self) -> QSettings:
        return QSettings(str(self._state_path), QSettings.Format.IniFormat)

    def save_state(self) -> None:
        """Write geometry, splitter positions and column widths to ``state_path``."""
        try:
            self._state_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("cannot save the event window layout to %s: %s", self._state_path, exc)
            return
        s = self._settings()
        s.setValue("events/geometry", self.saveGeometry())
        s.setValue("events/splitter", self.splitter.saveState())
        s.setValue("events/detail_splitter", self.detail.splitter.saveState())
        s.setValue("events/columns", self.table.horizontalHeader().saveState())
        s.sync()
        if s.status() != QSettings.Status.NoError:
            log.warning("cannot save the event window layout to %s", self._state_path)

    def _restore_state(self) -> None:
        if not self._state_path.exists():
            return
        s = self._settings()

        def get(key: str) -> QByteArray | None:
            value = s.value(key)
            return value if isinstance(value, QByteArray) and not value.isEmpty() else None

        # A damaged or foreign state file must not stop the window: each part is optional.
        if (geometry := get("events/geometry")) is not None:
            self.restoreGeometry(geometry)
        if (state := get("events/splitter")) is not None:
            self.splitter.restoreState(state)
        if (state := get("events/detail_splitter")) is not None:
            self.detail.splitter.restoreState(state)
        if (state := get("events/columns")) is not None:
            self.table.horizontalHeader().restoreState(state)

    def hideEvent(self, event: QHideEvent) -> None:
        # Nobody is reading a hidden window: the event on display must not become read.
        self._read_timer.stop()
        if not event.spontaneous():
            self.save_state()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        # The app lives in the tray: closing the window only hides it.
        self.save_state()
        event.ignore()
        self.hide()

    # ---- filtering -----------------------------------------------------------------------

    def current_query(self) -> EventQuery:
        """The filter the widgets describe."""
        text = self.search.text().strip()
        # Item data are plain str/int: enums do not survive the trip through QVariant intact.
        kind = self.kind_combo.currentData()
        severity = self.severity_combo.currentData()
        return EventQuery(
            search=text or None,
            kinds=frozenset({Kind(kind)}) if kind is not None else None,
            min_severity=Severity(int(severity)) if severity is not None else None,
            unread_only=self.unread_check.isChecked(),
            ids=self._ids_filter,
            limit=None,
        )

    def apply_filter_now(self) -> None:
        """Apply the filter widgets at once (the search field otherwise waits for a pause)."""
        self._search_timer.stop()
        q = self.current_query()
        if q == self.model.query():
            return
        keep = self.current_event()
        self.model.set_query(q)
        if keep is not None and (row := self.model.row_of(keep.id)) is not None:
            self._select_rows([row], current=row, scroll=True)
        self._update_count_label()

    def is_filtered(self) -> bool:
        return self.current_query() != EventQuery(limit=None)

    def _reset_filter_widgets(self) -> None:
        """Search, kind, severity and unread back to "everything", without re-querying."""
        widgets = (self.search, self.kind_combo, self.severity_combo, self.unread_check)
        for w in widgets:
            w.blockSignals(True)
        try:
            self.search.clear()
            self.kind_combo.setCurrentIndex(0)
            self.severity_combo.setCurrentIndex(0)
            self.unread_check.setChecked(False)
        finally:
            for w in widgets:
                w.blockSignals(False)

    def clear_filters(self) -> None:
        """Back to every event: clears search, kind, severity, unread and the id set."""
        self._reset_filter_widgets()
        self._set_ids_filter(None, "")
        self.apply_filter_now()

    def show_ids(self, ids: Iterable[int], label: str) -> None:
        """Show exactly these events (e.g. one burst), with ``label`` on a clearable chip."""
        id_set = frozenset(int(i) for i in ids)
        self._reset_filter_widgets()
        self._set_ids_filter(id_set, label)
        self.apply_filter_now()
        self._show_window()
        if self.model.rowCount() > 0:
            self._select_rows([0], current=0, scroll=True)

    def clear_ids_filter(self) -> None:
        self._set_ids_filter(None, "")
        self.apply_filter_now()

    def _set_ids_filter(self, ids: frozenset[int] | None, label: str) -> None:
        self._ids_filter = ids
        self.ids_label.setText(f"Showing only: {label}" if ids is not None else "")
        self.ids_chip.setVisible(ids is not None)

    def _update_count_label(self) -> None:
        try:
            n = self.model.match_count()
        except StoreError as exc:
            self.count_label.setText("? events")
            self._report("Cannot count events", exc)
            return
        cap = self.model.count_cap()
        if n > cap:
            # Counting every match of a broad filter in a big history takes too long.
            self.count_label.setText(f"{cap:,}+ events")
            self.count_label.setToolTip(f"More than {cap:,} events match.")
        else:
            self.count_label.setText(f"{n:,} event" + ("" if n == 1 else "s"))
            self.count_label.setToolTip("")

    # ---- selection and detail ------------------------------------------------------------

    def current_event(self) -> StoredEvent | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid() or not self.table.selectionModel().isRowSelected(index.row()):
            return None
        return self.model.event_at(index.row())

    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.table.selectionModel().selectedRows())

    def selected_ids(self) -> list[int]:
        return self.model.ids_for_rows(self.selected_rows())

    def _select_rows(self, rows: Sequence[int], *, current: int, scroll: bool) -> None:
        sm = self.table.selectionModel()
        selection = QItemSelection()
        last_col = self.model.columnCount() - 1
        for r in rows:
            selection.select(self.model.index(r, 0), self.model.index(r, last_col))
        flags = QItemSelectionModel.SelectionFlag
        sm.select(selection, flags.ClearAndSelect | flags.Rows)
        sm.setCurrentIndex(self.model.index(current, 0), flags.NoUpdate)
        if scroll:
            self.table.scrollTo(self.model.index(current, 0))

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
        selected = bool(self.table.selectionModel().selectedRows())
        s = self.current_event()
        has_link = bool(s is not None and s.event.link)
        self.act_open.setEnabled(has_link)
        self.act_copy.setEnabled(has_link)
        self.act_read.setEnabled(selected)
        self.act_unread.setEnabled(selected)
        self.act_delete.setEnabled(selected)
        self.act_undo.setEnabled(bool(self._undo))

    def _context_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        for action in (
            self.act_open,
            self.act_copy,
            None,
            self.act_read,
            self.act_unread,
            self.act_all_read,
            None,
            self.act_delete,
            self.act_undo,
        ):
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.exec(self.table.viewport().mapToGlobal(pos))
        menu.deleteLater()

    # ---- actions -------------------------------------------------------------------------

    def _report(self, doing: str, exc: Exception) -> None:
        log.warning("%s: %s", doing, exc)
        self.statusBar().showMessage(f"{doing}: {exc}", 10_000)

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
        s = self.current_event()
        if s is not None and s.event.link:
            QGuiApplication.clipboard().setText(s.event.link)
            self.statusBar().showMessage("Link copied.", 3000)

    def _set_read(self, ids: Sequence[int], read: bool) -> int:
        if not ids:
            return 0
        try:
            changed = self._store.set_read(ids, read)
        except StoreError as exc:
            self._report("Cannot change the read state", exc)
            return 0
        self.model.refresh_rows(ids)
        self._update_count_label()
        self.read_state_changed.emit()
        return changed

    def mark_selected_read(self) -> None:
        self._read_timer.stop()
        self._set_read(self.selected_ids(), True)

    def mark_selected_unread(self) -> None:
        # Stop the dwell timer, or it would mark the current event read again a second later.
        self._read_timer.stop()
        self._pending_read = None
        self._set_read(self.selected_ids(), False)

    def mark_all_read(self) -> None:
        """Mark every event matching the filter read, up to the newest one shown."""
        top = self.model.top_id()
        if top is None:
            return
        # Events that arrive after the view was drawn stay unread.
        q = dataclasses.replace(self.model.query(), before_id=top + 1, limit=None)
        try:
            n = self._store.mark_all_read(q)
        except StoreError as exc:
            self._report("Cannot mark events read", exc)
            return
        unread_loaded = [
            self.model.event_at(r).id
            for r in range(self.model.rowCount())
            if not self.model.event_at(r).read
        ]
        self.model.refresh_rows(unread_loaded)
        self.model.invalidate_count()
        self._update_count_label()
        self.statusBar().showMessage(f"Marked {n:,} event{'s' if n != 1 else ''} read.", 5000)
        self.read_state_changed.emit()

    def delete_selected(self) -> None:
        """Delete the selected events; the undo bar (and Ctrl+Z) puts them back."""
        rows = self.selected_rows()
        if not rows:
            return
        events = [self.model.event_at(r) for r in rows]
        try:
            self._store.delete([s.id for s in events])
        except StoreError as exc:
            self._report("Cannot delete", exc)
            return
        self.model.remove_ids([s.id for s in events])
        self._undo.append(events)
        n = len(events)
        self.undo_label.setText(f"{n:,} event{'s' if n != 1 else ''} deleted")
        self.undo_bar.setVisible(True)
        # Keep the keyboard flow: the row that moved into the first deleted place is selected.
        if self.model.rowCount():
            row = min(rows[0], self.model.rowCount() - 1)
            self._select_rows([row], current=row, scroll=True)
        self._update_count_label()
        self._update_actions()
        self.read_state_changed.emit()

    def undo_delete(self) -> None:
        """Restore the most recently deleted events (with their ids and read flags)."""
        if not self._undo:
            return
        events = self._undo[-1]
        try:
            self._store.restore(events)
        except StoreError as exc:
            self._report("Cannot undo the delete", exc)
            return
        self._undo.pop()
        self.model.add_events(events)
        rows = [r for r in (self.model.row_of(s.id) for s in events) if r is not None]
        if rows:
            self._select_rows(rows, current=rows[0], scroll=True)
        if self._undo:
            n = len(self._undo[-1])
            self.undo_label.setText(f"{n:,} event{'s' if n != 1 else ''} deleted")
        else:
            self.undo_bar.setVisible(False)
        self._update_count_label()
        self._update_actions()
        self.read_state_changed.emit()

    def _dismiss_undo(self) -> None:
        self._undo.clear()
        self.undo_bar.setVisible(False)
        self._update_actions()

    # ---- export --------------------------------------------------------------------------

    def export_to(self, path: Path, fmt: str) -> int:
        """Write every event matching the current filter to ``path`` (``csv`` or ``json``).

        Returns how many events were written. Runs to completion; the dialog path below
        spreads the same job over the event loop.
        """
        job = ExportJob(self._store, self.model.query(), Path(path), fmt)
        try:
            while job.step():
                pass
        except BaseException:
            job.abort()
            raise
        job.finish()
        return job.written

    def export_dialog(self, fmt: str) -> None:
        """Ask for a file name and export with a cancellable progress dialog."""
        caption = "Export events to CSV" if fmt == "csv" else "Export events to JSON"
        pattern = "CSV files (*.csv)" if fmt == "csv" else "JSON files (*.json)"
        name, _ = QFileDialog.getSaveFileName(self, caption, f"holmtray-events.{fmt}", pattern)
        if name:
            self.start_export(Path(name), fmt)

    def start_export(self, path: Path, fmt: str) -> None:
        """Export in steps on the event loop, with a progress dialog that can cancel it."""
        try:
            # Exact, unlike the label's: the progress bar needs it, and an export of many
            # events takes far longer than counting them.
            total = self._store.count(self.model.query())
            job = ExportJob(self._store, self.model.query(), path, fmt)
        except (OSError, StoreError) as exc:
            self._report("Cannot export", exc)
            return
        progress = QProgressDialog(f"Exporting to {path.name}…", "Cancel", 0, max(total, 1), self)
        progress.setWindowTitle("Export")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)
        timer = QTimer(progress)
        timer.setInterval(0)

        def finish(error: Exception | None = None) -> None:
            timer.stop()
            if error is not None:
                job.abort()
                self._report("Export failed", error)
            elif progress.wasCanceled():
                job.abort()
                self.statusBar().showMessage("Export cancelled.", 5000)
            else:
                job.finish()
                self.statusBar().showMessage(f"Exported {job.written:,} events to {path}.", 8000)
            progress.reset()
            progress.deleteLater()

        def step() -> None:
            if progress.wasCanceled():
                finish()
                return
            try:
                more = job.step()
            except (OSError, StoreError) as exc:
                finish(exc)
                return
            progress.setValue(min(job.written, progress.maximum()))
            if not more:
                finish()

        timer.timeout.connect(step)
        timer.start()
        self._export_progress = progress

    # ---- entry points for the app --------------------------------------------------------

    def add_events(self, events: Sequence[StoredEvent]) -> None:
        """A batch of newly committed events (from the writer thread, on the GUI thread)."""
        if self.model.add_events(events):
            self._update_count_label()

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
            self._select_rows([row], current=row, scroll=False)
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
