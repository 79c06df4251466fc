"""The event table model: the stored history as rows of a ``QAbstractTableModel``.

This module owns how events become table rows: which columns there are, what each role
returns for them (text, icons, severity colours, bold for unread, tooltips), and which part of
the history is in memory. Rows are read from the :class:`~holmtray.core.store.Store` a page at a
time, newest first, through ``canFetchMore``/``fetchMore``, so a history of a million events
costs one page of memory and one indexed query until the user scrolls. Nothing here counts or
loads the whole history up front; the match count for the status label is computed on demand
and cached.

Every string from a payload is returned as a plain ``str`` for the display role; views paint
that as plain text. Tooltips are the exception that needs care: ``QToolTip`` guesses whether a
string is rich text from its content, so tooltip texts are returned as rich text built by
escaping, which shows the untrusted characters literally.
"""

from __future__ import annotations

import bisect
import dataclasses
import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from holmtray.core.events import Event, Severity, StoredEvent
from holmtray.core.store import EventQuery, Store
from holmtray.ui.icons import SEVERITY_COLORS, kind_icon

COL_RECEIVED = 0
COL_KIND = 1
COL_SEVERITY = 2
COL_TITLE = 3
COL_COUNTS = 4
COL_STATUS = 5

HEADERS = ("Received", "Kind", "Severity", "Title", "Counts", "Status")

EventRole = int(Qt.ItemDataRole.UserRole) + 1
"""Returns the row's :class:`StoredEvent`."""

PAGE_SIZE = 200
"""Rows per ``fetchMore``: a screenful several times over, one cheap indexed query."""

_ID_CHUNK = 5000
"""Ids per store query when re-reading rows, to keep each statement's parameter small."""

_TOOLTIP_MAX = 1000
"""Longest untrusted text put into a tooltip; the detail pane shows the rest."""

UTC_NOTE = "Times without a zone in the payload are taken as UTC."

_Index = QModelIndex | QPersistentModelIndex


def local_time(dt: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in the local zone."""
    return dt.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def utc_time(dt: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS UTC``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def severity_text(ev: Event) -> str:
    """The severity word, with `` !`` when the event needs attention."""
    return f"{ev.severity.label} !" if ev.attention else ev.severity.label


def counts_text(ev: Event) -> str:
    """``1C 3H 5M 12L`` for a scan that reported counts, else empty."""
    c = ev.counts
    if c is None:
        return ""
    return f"{c.critical}C {c.high}H {c.medium}M {c.low}L"


def status_text(ev: Event) -> str:
    """Scan status, ticket status, or "Scheduled"; attention is added to whichever applies."""
    base = ev.scan_status or ev.ticket.status or ""
    if not base and ev.starts_at is not None:
        base = "Scheduled"
    if ev.attention:
        return f"{base} — needs attention" if base else "Needs attention"
    return base


_BIDI_CONTROLS = {
    ord(c): f"[U+{ord(c):04X}]"
    for c in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
}


def visible_controls(text: str) -> str:
    """``text`` with bidirectional control characters shown as ``[U+202E]`` and the like.

    An override character makes ``"invoice\u202egnp.exe"`` read as ``invoiceexe.png``; where
    people read payload text (table cells, detail labels, tooltips) it is shown for what it is.
    The model's display role and the raw JSON keep the exact string.
    """
    return text.translate(_BIDI_CONTROLS)


def tooltip_html(text: str) -> str:
    """``text`` as rich text that shows every character literally (see the module docstring)."""
    if len(text) > _TOOLTIP_MAX:
        text = text[:_TOOLTIP_MAX] + "…"
    body = html.escape(visible_controls(text), quote=False).replace("\n", "<br>")
    return f"<qt>{body}</qt>"


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


def _neg_id(s: StoredEvent) -> int:
    return -s.id


def _runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, de-duplicated rows as ``(first, last)`` runs of consecutive rows."""
    out: list[tuple[int, int]] = []
    for r in sorted(set(rows)):
        if out and out[-1][1] == r - 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


class EventTableModel(QAbstractTableModel):
    """Stored events matching one :class:`EventQuery`, newest (highest id) first, lazily paged.

    The loaded rows are always sorted by descending id and hold no duplicates; every method
    that changes them keeps that invariant, which is what lets :meth:`row_of` bisect.
    """

    EventRole = EventRole

    def __init__(self, store: Store, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._query = EventQuery(limit=None)
        self._rows: list[StoredEvent] = []
        self._exhausted = False
        self._count: int | None = None
        self._bold = QFont()
        self._bold.setBold(True)
        self._sev_fg = {s: QBrush(QColor(c).darker(120)) for s, c in SEVERITY_COLORS.items()}
        self._sev_bg = {s: QBrush(_tint(QColor(c))) for s, c in SEVERITY_COLORS.items()}
        self._attention_fg = QBrush(QColor(SEVERITY_COLORS[Severity.CRITICAL]))
        self._load_first_page()

    # ---- filter --------------------------------------------------------------------------

    def query(self) -> EventQuery:
        """The filter in effect (paging fields cleared)."""
        return self._query

    def set_query(self, q: EventQuery) -> None:
        """Show the events matching ``q`` instead; reloads the first page."""
        self.beginResetModel()
        # The model does its own paging; the caller's paging fields would fight it.
        self._query = dataclasses.replace(q, before_id=None, after_id=None, limit=None)
        self._rows = []
        self._exhausted = False
        self._count = None
        self._load_first_page()
        self.endResetModel()

    def reload(self) -> None:
        """Re-read from the store with the same filter (e.g. after outside changes)."""
        self.set_query(self._query)

    def match_count(self) -> int:
        """How many stored events match the filter (not just the loaded ones); cached."""
        if self._count is None:
            self._count = self._store.count(self._query)
        return self._count

    def invalidate_count(self) -> None:
        self._count = None

    def is_filtered(self) -> bool:
        q = self._query
        return bool(
            (q.search and q.search.strip())
            or q.kinds is not None
            or q.min_severity is not None
            or q.unread_only
            or q.since is not None
            or q.until is not None
            or q.ids is not None
        )

    # ---- paging --------------------------------------------------------------------------

    def _page(self, before_id: int | None) -> list[StoredEvent]:
        """The next page; sets ``_exhausted`` when nothing older matches."""
        # One row more than a page tells whether there is more without another query, so
        # canFetchMore turns false exactly at the end (a view asks again only on scrolling).
        q = dataclasses.replace(self._query, before_id=before_id, limit=PAGE_SIZE + 1)
        page = self._store.query(q)
        self._exhausted = len(page) <= PAGE_SIZE
        return page[:PAGE_SIZE]

    def _load_first_page(self) -> None:
        self._rows = self._page(None)

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted:
            return
        before = self._rows[-1].id if self._rows else None
        page = self._page(before)
        if not page:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._rows.extend(page)
        self.endInsertRows()

    def ensure_loaded(self, event_id: int, *, max_rows: int | None = None) -> int | None:
        """Load rows down to ``event_id`` if it matches the filter; its row, or ``None``.

        The rows between the loaded ones and ``event_id`` are read in one query rather than
        page by page, because the only caller wants to jump there (a notification click).
        ``None`` also when more than ``max_rows`` rows would have to be loaded to get there:
        reading half a million rows to show one old event would freeze the window.
        """
        row = self.row_of(event_id)
        if row is not None or self._exhausted:
            return row
        if self._rows and event_id > self._rows[-1].id:
            return None  # in the loaded range but not there: it does not match
        before = self._rows[-1].id if self._rows else None
        span_q = dataclasses.replace(self._query, before_id=before, after_id=event_id - 1)
        if max_rows is not None:
            # Ids only, and at most one more than allowed: cheap even when the gap is huge.
            ids = self._store.query_ids(dataclasses.replace(span_q, limit=max_rows + 1))
            if len(ids) > max_rows or not ids or ids[-1] != event_id:
                return None
        span = self._store.query(dataclasses.replace(span_q, limit=None))
        if not span or span[-1].id != event_id:
            return None
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(span) - 1)
        self._rows.extend(span)
        self.endInsertRows()
        return len(self._rows) - 1

    # ---- Qt model interface --------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(HEADERS)
        ):
            return HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        row, col = index.row(), index.column()
        if not (0 <= row < len(self._rows)) or not (0 <= col < len(HEADERS)):
            return None
        s = self._rows[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(s, col)
        if role == EventRole:
            return s
        if role == Qt.ItemDataRole.FontRole:
            return None if s.read else self._bold
        if role == Qt.ItemDataRole.DecorationRole:
            return kind_icon(s.event.kind) if col == COL_KIND else None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_SEVERITY:
                return self._sev_fg[s.event.severity]
            if col == COL_STATUS and s.event.attention:
                return self._attention_fg
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._sev_bg[s.event.severity] if col == COL_SEVERITY else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip_html(self._tooltip(s, col))
        return None

    @staticmethod
    def _display(s: StoredEvent, col: int) -> str:
        ev = s.event
        if col == COL_RECEIVED:
            return local_time(s.received_at)
        if col == COL_KIND:
            return ev.kind.label
        if col == COL_SEVERITY:
            return severity_text(ev)
        if col == COL_TITLE:
            return ev.title
        if col == COL_COUNTS:
            return counts_text(ev)
        return status_text(ev)

    @staticmethod
    def _tooltip(s: StoredEvent, col: int) -> str:
        ev = s.event
        if col == COL_RECEIVED:
            return (
                f"Received {local_time(s.received_at)} local, {utc_time(s.received_at)}\n{UTC_NOTE}"
            )
        if col == COL_SEVERITY:
            return ev.severity.label + (" — needs attention" if ev.attention else "")
        if col == COL_COUNTS:
            return ev.counts.describe(include_zero=True) if ev.counts is not None else ""
        if col == COL_KIND:
            return ev.kind.label
        if col == COL_STATUS:
            return status_text(ev)
        return ev.title

    # ---- rows by id ----------------------------------------------------------------------

    def event_at(self, row: int) -> StoredEvent:
        """The event in ``row``; ``IndexError`` outside the loaded rows."""
        if not 0 <= row < len(self._rows):
            raise IndexError(f"row {row} is not loaded ({len(self._rows)} rows)")
        return self._rows[row]

    def row_of(self, event_id: int) -> int | None:
        """The row showing ``event_id``, or ``None`` if it is not loaded."""
        i = bisect.bisect_left(self._rows, -event_id, key=_neg_id)
        if i < len(self._rows) and self._rows[i].id == event_id:
            return i
        return None

    def ids_for_rows(self, rows: Iterable[int]) -> list[int]:
        """The event ids of ``rows`` (newest first), skipping rows that are not loaded."""
        n = len(self._rows)
        return [self._rows[r].id for r in sorted(set(rows)) if 0 <= r < n]

    def top_id(self) -> int | None:
        """The newest loaded id."""
        return self._rows[0].id if self._rows else None

    # ---- changes -------------------------------------------------------------------------

    def add_events(self, events: Sequence[StoredEvent]) -> int:
        """Insert newly committed (or restored) events that match the filter; returns how many.

        Events older than the loaded pages are left for ``fetchMore`` to bring; events already
        shown are skipped. Newly committed events land at the top in one ``beginInsertRows``,
        so a view keeps its selection. When the filter includes a full-text search, which only
        the store can evaluate, the candidates are re-read from it by id with the filter applied.
        """
        floor = self._rows[-1].id if (self._rows and not self._exhausted) else 0
        candidates = {s.id: s for s in events if s.id > floor and self.row_of(s.id) is None}
        if not candidates:
            return 0
        fresh: list[StoredEvent]
        if self._query.search is not None and self._query.search.strip():
            fresh = self._query_ids(frozenset(candidates), filtered=True)
        else:
            fresh = [s for s in candidates.values() if matches(self._query, s)]
        if not fresh:
            return 0
        fresh.sort(key=_neg_id)
        # Positions are computed against the rows before any insertion, then the groups are
        # inserted bottom-up, so the earlier positions stay valid.
        groups: dict[int, list[StoredEvent]] = {}
        for s in fresh:
            pos = bisect.bisect_left(self._rows, -s.id, key=_neg_id)
            groups.setdefault(pos, []).append(s)
        for pos in sorted(groups, reverse=True):
            block = groups[pos]
            self.beginInsertRows(QModelIndex(), pos, pos + len(block) - 1)
            self._rows[pos:pos] = block
            self.endInsertRows()
        if self._count is not None:
            self._count += len(fresh)
        return len(fresh)

    def refresh_rows(self, ids: Iterable[int]) -> None:
        """Re-read these events from the store (after read/unread changes).

        Rows whose event is gone from the store are removed.
        """
        present = {i for i in ids if self.row_of(i) is not None}
        if not present:
            return
        # Unfiltered: a row that no longer matches (read, under "unread only") stays, updated.
        fresh = {s.id: s for s in self._query_ids(frozenset(present), filtered=False)}
        changed: list[int] = []
        for event_id, s in fresh.items():
            row = self.row_of(event_id)
            if row is not None:
                self._rows[row] = s
                changed.append(row)
        if changed:
            self.dataChanged.emit(
                self.index(min(changed), 0),
                self.index(max(changed), len(HEADERS) - 1),
            )
        gone = present - fresh.keys()
        if gone:
            self.remove_ids(gone)
        if self._query.unread_only:
            # Rows that became read stay visible until the filter is applied again (the one
            # being read must not vanish), but they no longer count as matches.
            self._count = None

    def remove_ids(self, ids: Iterable[int]) -> int:
        """Drop these events' rows (after a delete); returns how many rows were removed."""
        rows = [r for r in (self.row_of(i) for i in set(ids)) if r is not None]
        for first, last in reversed(_runs(rows)):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._rows[first : last + 1]
            self.endRemoveRows()
        if self._count is not None:
            self._count = max(0, self._count - len(rows))
        return len(rows)

    def _query_ids(self, ids: frozenset[int], *, filtered: bool) -> list[StoredEvent]:
        """These events from the store, with the current filter applied if ``filtered``."""
        ordered = sorted(ids, reverse=True)
        out: list[StoredEvent] = []
        for start in range(0, len(ordered), _ID_CHUNK):
            chunk = frozenset(ordered[start : start + _ID_CHUNK])
            if filtered:
                if self._query.ids is not None:
                    chunk &= self._query.ids
                q = dataclasses.replace(self._query, ids=chunk, limit=None)
            else:
                q = EventQuery(ids=chunk, limit=None)
            out.extend(self._store.query(q))
        return out


def _tint(colour: QColor) -> QColor:
    """A translucent version of a severity colour, legible under dark or light text."""
    tinted = QColor(colour)
    tinted.setAlpha(40)
    return tinted
