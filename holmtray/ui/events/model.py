"""The event table model: the stored history as rows of a ``QAbstractTableModel``.

This module owns how events become table rows: what each role returns for them (text,
icons, severity colours, bold for unread, tooltips), and which part of the history is in
memory. Rows are read from the
:class:`~holmtray.core.history.store.Store` a page at a time, newest first, through
``canFetchMore``/``fetchMore``, so a history of a million events costs one page of memory and
one indexed query until the user scrolls. Nothing here counts or
loads the whole history up front; the match count for the status label is computed on demand,
capped at :data:`COUNT_CAP` matches, and cached.

The loaded rows are one contiguous stretch of the matches. Normally it starts at the newest
match; :meth:`EventTableModel.jump_to_oldest` replaces it with the oldest page (read with an
ascending query, shown reversed so the list still reads newest first), and from there
:meth:`EventTableModel.fetch_newer` prepends newer pages as the user scrolls up. At most
:data:`MAX_LOADED_ROWS` rows stay loaded: growing past that drops rows at the far end.

Every string from a payload is returned as a plain ``str`` for the display role; views paint
that as plain text. Tooltips are returned as escaped rich text
(:func:`~holmtray.ui.events.display.tooltip_html`). The texts themselves come from
:mod:`holmtray.ui.events.display`.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from holmtray.core.events import Severity, StoredEvent
from holmtray.core.history.query import EventQuery, matches
from holmtray.core.history.store import Store
from holmtray.ui.events.display import (
    COL_KIND,
    COL_SEVERITY,
    COL_STATUS,
    HEADERS,
    cell_text,
    cell_tooltip,
    tooltip_html,
)
from holmtray.ui.icons import SEVERITY_COLORS, kind_icon

EventRole = int(Qt.ItemDataRole.UserRole) + 1
"""Returns the row's :class:`StoredEvent`."""

PAGE_SIZE = 200
"""Rows per ``fetchMore``: a screenful several times over, one cheap indexed query."""

MAX_LOADED_ROWS = 20_000
"""Most rows kept in memory (~4.5 KB each); paging past it drops rows at the other end."""

LIVE_ROWS = 1_000
"""Rows kept below the last one in use as live events push rows down (see
:meth:`EventTableModel.keep_rows`): a stream of events costs this much, not a row per event."""

COUNT_CAP = 10_000
""":meth:`EventTableModel.match_count` stops counting after this many matches (a result above
it means "more"): an exact count of a common word in a million events takes half a second."""

_ID_CHUNK = 5000
"""Ids per store query when re-reading rows, to keep each statement's parameter small."""

_Index = QModelIndex | QPersistentModelIndex


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
    that changes them keeps that invariant, which is what lets :meth:`row_of` bisect. They are
    a contiguous stretch of the matches: every match between the first and the last loaded row
    is loaded. Older matches below it come through ``canFetchMore``/``fetchMore``; when the
    stretch does not reach the newest match (after :meth:`jump_to_oldest`, or once paging
    down dropped the top rows) :meth:`showing_newest` is false and :meth:`fetch_newer` brings
    the next newer page. Live events are only inserted where they belong to the stretch.
    """

    EventRole = EventRole

    showing_newest_changed = Signal(bool)
    """Emitted with :meth:`showing_newest` whenever it changes (also across resets)."""

    def __init__(self, store: Store, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._query = EventQuery(limit=None)
        self._rows: list[StoredEvent] = []
        self._exhausted = False  # nothing older than the last row matches
        self._newest = True  # the first row is the newest match (live events go on top)
        self._head_id: int | None = None  # the newest id shown before the top was dropped
        self._empty_span: tuple[int, int] | None = None  # (last, first) id when all were removed
        self._busy = False  # a paging step is under way (see _paging)
        self._count: int | None = None
        self._count_cap = COUNT_CAP
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
        """Show the events matching ``q`` instead; reloads the first (newest) page."""
        with self._paging():
            self.beginResetModel()
            # The model does its own paging; the caller's paging fields would fight it.
            self._query = dataclasses.replace(
                q, before_id=None, after_id=None, limit=None, oldest_first=False
            )
            self._rows = []
            self._exhausted = False
            self._count = None
            self._load_first_page()
            self.endResetModel()
        self._set_newest(True)

    def reload(self) -> None:
        """Re-read from the store with the same filter (e.g. after outside changes).

        Goes back to the newest rows, as after any filter change.
        """
        self.set_query(self._query)

    def match_count(self) -> int:
        """How many stored events match the filter (not just the loaded ones), up to a cap.

        Counting stops after :data:`COUNT_CAP` matches: a result above :meth:`count_cap`
        means "more than that many". Cached until the filter changes; live insertions and
        removals adjust it.
        """
        if self._count is None:
            self._count_cap = COUNT_CAP
            self._count = self._store.count(self._query, cap=self._count_cap)
        return self._count

    def count_cap(self) -> int:
        """The cap :meth:`match_count` counted to; a larger count means "more than this"."""
        return self._count_cap

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

    def showing_newest(self) -> bool:
        """Whether the first row is the newest match, i.e. no newer page is left to load."""
        return self._newest

    def _set_newest(self, newest: bool, *, head: int | None = None) -> None:
        """Set :meth:`showing_newest`; ``head`` is :meth:`top_id` before the top goes."""
        if newest == self._newest:
            return
        if not newest:
            # What mark-all-read may go up to: the newest row shown before the top was dropped.
            self._head_id = head if head is not None else self.top_id()
        self._newest = newest
        self.showing_newest_changed.emit(newest)

    def _first_id(self) -> int | None:
        """The newest loaded id (or where it was, if every loaded row was removed)."""
        if self._rows:
            return self._rows[0].id
        return self._empty_span[1] if self._empty_span is not None else None

    def _last_id(self) -> int | None:
        """The oldest loaded id (or where it was, if every loaded row was removed)."""
        if self._rows:
            return self._rows[-1].id
        return self._empty_span[0] if self._empty_span is not None else None

    def _page(self, before_id: int | None) -> list[StoredEvent]:
        """The next page; sets ``_exhausted`` when nothing older matches."""
        # One row more than a page tells whether there is more without another query, so
        # canFetchMore turns false exactly at the end (a view asks again only on scrolling).
        q = dataclasses.replace(self._query, before_id=before_id, limit=PAGE_SIZE + 1)
        page = self._store.query(q)
        self._exhausted = len(page) <= PAGE_SIZE
        return page[:PAGE_SIZE]

    def _load_first_page(self) -> None:
        self._empty_span = None
        self._rows = self._page(None)

    @contextlib.contextmanager
    def _paging(self) -> Iterator[None]:
        """Marks a paging step in progress: its signals' handlers cannot start another.

        A view (or Qt's model tester) may ask for more rows from its handler of the rows we
        insert or remove; a nested page would land between this step's insert and trim.
        """
        previous, self._busy = self._busy, True
        try:
            yield
        finally:
            self._busy = previous

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted and not self._busy

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        """Append the next older page; drops the newest rows if too many are then loaded."""
        if not self.canFetchMore(parent):
            return
        with self._paging():
            page = self._page(self._last_id())
            if page:
                self._append(page)
                self._trim(keep="oldest")

    def can_fetch_newer(self) -> bool:
        """Whether :meth:`fetch_newer` has anything to bring (see :meth:`showing_newest`)."""
        return not self._newest and not self._busy

    def fetch_newer(self) -> int:
        """Insert the next newer page above the first row; returns how many rows came.

        One ascending query from the first loaded id (cheap at any depth). The rows are
        inserted at row 0 in one ``beginInsertRows``; if more than :data:`MAX_LOADED_ROWS`
        are then loaded, the oldest are dropped and ``fetchMore`` brings them back later.
        """
        if not self.can_fetch_newer():
            return 0
        q = dataclasses.replace(
            self._query, after_id=self._first_id(), oldest_first=True, limit=PAGE_SIZE + 1
        )
        page = self._store.query(q)
        block = page[:PAGE_SIZE][::-1]
        with self._paging():
            if block:
                self.beginInsertRows(QModelIndex(), 0, len(block) - 1)
                self._rows[0:0] = block
                self.endInsertRows()
            self._trim(keep="newest")
        self._set_newest(len(page) <= PAGE_SIZE)
        return len(block)

    def jump_to_oldest(self) -> bool:
        """Show the oldest matches without loading the ones between; ``False`` if loaded.

        The oldest page is one ascending query (a few ms on a million rows). If it reaches
        the loaded rows, the missing ones are appended (selection and scroll position stay);
        otherwise the model is reset to that page alone, the newest rows not loaded.
        """
        if self._exhausted or self._busy:
            return False
        q = dataclasses.replace(self._query, oldest_first=True, limit=PAGE_SIZE + 1)
        page = self._store.query(q)
        last = self._last_id()
        if last is not None and page and page[-1].id >= last:
            # The oldest page meets the loaded rows: everything below them is in it.
            self._exhausted = True
            tail = [s for s in reversed(page) if s.id < last]
            with self._paging():
                if tail:
                    self._append(tail)
                self._trim(keep="oldest")
            return True
        head = self.top_id()
        with self._paging():
            self.beginResetModel()
            self._rows = page[:PAGE_SIZE][::-1]
            self._empty_span = None
            self._exhausted = True
            self.endResetModel()
        self._set_newest(len(page) <= PAGE_SIZE, head=head)
        return True

    def jump_to_newest(self) -> bool:
        """Go back to the newest page (a reset) if it is not loaded; ``False`` if it is."""
        if self._newest:
            return False
        self.reload()
        return True

    def _append(self, rows: list[StoredEvent]) -> None:
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    def keep_rows(self, n: int) -> int:
        """Drop the loaded rows after the first ``n`` (the oldest; ``fetchMore`` brings them
        back on scrolling); returns how many went. Live events are inserted at the top, so
        without this a tray app running for months would hold every event it received. Only
        while the rows start at the newest match: otherwise live events are not inserted."""
        if self._busy or not self._newest:
            return 0
        before = len(self._rows)
        with self._paging():
            self._trim(keep="newest", limit=min(max(n, PAGE_SIZE), MAX_LOADED_ROWS))
        return before - len(self._rows)

    def _trim(self, *, keep: Literal["oldest", "newest"], limit: int | None = None) -> None:
        """Drop rows beyond ``limit`` (default :data:`MAX_LOADED_ROWS`) at the end away from
        ``keep``.

        ``keep="oldest"`` (after paging down) drops the newest rows, ``"newest"`` (after
        paging up, or as live events arrive) the oldest: those furthest from where the user is
        reading.
        """
        excess = len(self._rows) - (MAX_LOADED_ROWS if limit is None else limit)
        if excess <= 0:
            return
        # The flags change after the removal: a view (or Qt's model tester) may ask for more
        # rows from its removal handlers, and must not get them in the middle of it.
        if keep == "oldest":
            head = self.top_id()
            self.beginRemoveRows(QModelIndex(), 0, excess - 1)
            del self._rows[:excess]
            self.endRemoveRows()
            self._set_newest(False, head=head)
        else:
            n = len(self._rows)
            self.beginRemoveRows(QModelIndex(), n - excess, n - 1)
            del self._rows[n - excess :]
            self.endRemoveRows()
            self._exhausted = False

    def ensure_loaded(self, event_id: int, *, max_rows: int | None = None) -> int | None:
        """Load rows down to ``event_id`` if it matches the filter; its row, or ``None``.

        The rows between the loaded ones and ``event_id`` are read in one query rather than
        page by page, because the only caller wants to jump there (a notification click).
        ``None`` also when more than ``max_rows`` rows would have to be loaded to get there:
        reading half a million rows to show one old event would freeze the window. An event
        newer than the loaded rows, when they do not start at the newest, brings the newest
        page back first (a reset).
        """
        row = self.row_of(event_id)
        if row is not None:
            return row
        first = self._first_id()
        if not self._newest and (first is None or event_id > first):
            self.jump_to_newest()
            row = self.row_of(event_id)
            if row is not None:
                return row
        if self._exhausted:
            return None
        last = self._last_id()
        if last is not None and event_id > last:
            return None  # in the loaded range but not there: it does not match
        span_q = dataclasses.replace(self._query, before_id=last, after_id=event_id - 1)
        if max_rows is not None:
            # Ids only, and at most one more than allowed: cheap even when the gap is huge.
            ids = self._store.query_ids(dataclasses.replace(span_q, limit=max_rows + 1))
            if len(ids) > max_rows or not ids or ids[-1] != event_id:
                return None
        span = self._store.query(dataclasses.replace(span_q, limit=None))
        if not span or span[-1].id != event_id:
            return None
        with self._paging():
            self._append(span)
            self._trim(keep="oldest")
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
            return cell_text(s, col)
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
            return tooltip_html(cell_tooltip(s, col))
        return None

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
        """The newest id shown: the first row's, or, when the newest rows are not loaded
        (:meth:`showing_newest` false), the first row's before they were dropped."""
        if self._newest:
            return self._rows[0].id if self._rows else None
        return self._head_id

    # ---- changes -------------------------------------------------------------------------

    def add_events(self, events: Sequence[StoredEvent]) -> int:
        """Insert newly committed (or restored) events that match the filter; returns how many
        matched (and were added to the match count).

        Events older than the loaded pages are left for ``fetchMore`` to bring; events already
        shown are skipped; so are, though counted, events newer than the first row when the
        newest rows are not loaded (:meth:`fetch_newer` or going back to the newest brings
        them). Newly committed events land at the top in one ``beginInsertRows``, so a view
        keeps its selection. When the filter includes a full-text search, which only the store
        can evaluate, the candidates are re-read from it by id with the filter applied.
        """
        last = self._last_id()
        floor = last if (last is not None and not self._exhausted) else 0
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
        counted = len(fresh)
        if self._count is not None:
            self._count += counted
        if not self._newest:
            ceiling = self._first_id() or 0
            fresh = [s for s in fresh if s.id <= ceiling]
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
        if fresh:
            self._empty_span = None
        return counted

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
        if rows and len(rows) == len(self._rows):
            # Paging goes on from where the rows were (they are gone from the store too).
            self._empty_span = (self._rows[-1].id, self._rows[0].id)
        for first, last in reversed(_runs(rows)):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._rows[first : last + 1]
            self.endRemoveRows()
        if self._count is not None and rows:
            if self._count > self._count_cap:
                self._count = None  # "more than the cap" minus some: count again (cheap)
            else:
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
