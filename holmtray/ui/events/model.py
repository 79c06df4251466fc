"""The event table model: the stored history as rows of a ``QAbstractTableModel``.

This module owns which part of the history is in memory and in which order. Rows are read from
the :class:`~holmtray.core.history.store.Store` a page at a time through
``canFetchMore``/``fetchMore``, in the order of the query's :class:`SortKey` (receive order,
newest first, unless a column header was clicked), each page one index walk from where the last
one ended (keyset paging). A history of a million events costs one page of memory and one
indexed query until the user scrolls, in any order. Nothing here counts or loads the whole
history up front; the match count for the status label is computed on demand, capped at
:data:`COUNT_CAP` matches, and cached.

The loaded rows are one contiguous stretch of the matches. Normally it starts at the first
match; :meth:`EventTableModel.jump_to_oldest` replaces it with the last page (read in the
reverse order, shown turned round, so the list still reads in its order), and from there
:meth:`EventTableModel.fetch_newer` prepends earlier pages as the user scrolls up. At most
:data:`MAX_LOADED_ROWS` rows stay loaded: growing past that drops rows at the far end.

What each cell says comes from :mod:`holmtray.ui.events.display`, how it looks from
:mod:`holmtray.ui.events.cells`. Every string from a payload is returned as a plain ``str`` for
the display role; views paint that as plain text.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Literal

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from holmtray.core.clock import utc_now
from holmtray.core.events import StoredEvent
from holmtray.core.history.query import (
    EventQuery,
    SortKey,
    SortPosition,
    matches,
    result_key,
    sort_position,
)
from holmtray.core.history.store import Store
from holmtray.ui.events.cells import CellLook, header_data
from holmtray.ui.events.display import HEADERS, SORT_KEYS, cell_text

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
_ROW_FLAGS = (
    Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
)
"""Every cell's flags, combined once: a view asks for them for every cell it paints."""


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
    """Stored events matching one :class:`EventQuery`, in its order, lazily paged.

    The loaded rows are always in the query's order (by its sort key, ties by id) and hold no
    duplicates; every method that changes them keeps that invariant, which is what lets a live
    event find its place by bisection. They are a contiguous stretch of the matches: every
    match between the first and the last loaded row is loaded. Later matches come through
    ``canFetchMore``/``fetchMore``; when the stretch does not start at the first match (after
    :meth:`jump_to_oldest`, or once paging down dropped the top rows) :meth:`showing_newest`
    is false and :meth:`fetch_newer` brings the page before. Live events are only inserted
    where they belong to the stretch.
    """

    EventRole = EventRole

    showing_newest_changed = Signal(bool)
    """Emitted with :meth:`showing_newest` whenever it changes (also across resets)."""

    def __init__(
        self,
        store: Store,
        parent: QObject | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._clock = clock
        self._query = EventQuery(limit=None)
        self._rows: list[StoredEvent] = []
        self._row_index: dict[int, int] | None = None  # id -> row, rebuilt after changes
        self._exhausted = False  # nothing after the last row matches
        self._newest = True  # the first row is the first match (live events may go above)
        self._horizon: int | None = None  # the newest id the view has known of: see top_id()
        self._edges: tuple[StoredEvent, StoredEvent] | None = None  # when all were removed
        self._busy = False  # a paging step is under way (see _paging)
        self._count: int | None = None
        self._count_cap = COUNT_CAP
        self._look = CellLook()
        self._load_first_page()

    # ---- filter and order ----------------------------------------------------------------

    def query(self) -> EventQuery:
        """The filter and order in effect (paging fields cleared)."""
        return self._query

    def set_query(self, q: EventQuery) -> None:
        """Show the events matching ``q``, in its order, instead; reloads the first page."""
        with self._paging():
            self.beginResetModel()
            # The model does its own paging; the caller's paging fields would fight it.
            self._query = dataclasses.replace(
                q, before_id=None, after_id=None, after=None, limit=None
            )
            self._rows = []
            self._row_index = None
            self._exhausted = False
            self._count = None
            self._load_first_page()
            self.endResetModel()
        self._set_newest(True)

    def set_sort(self, key: SortKey, *, ascending: bool) -> None:
        """Order by ``key`` (ties by id), the filter kept; reloads the first page."""
        self.set_query(dataclasses.replace(self._query, sort=key, oldest_first=ascending))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Qt's entry point: sort by a column that has a :data:`SORT_KEYS` entry."""
        key = SORT_KEYS.get(column)
        if key is not None:
            self.set_sort(key, ascending=order == Qt.SortOrder.AscendingOrder)

    def reload(self) -> None:
        """Re-read from the store with the same filter (e.g. after outside changes).

        Goes back to the first rows, as after any filter change.
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

    # ---- order ---------------------------------------------------------------------------

    def _key(self, s: StoredEvent) -> Any:
        """A key that is ascending in the order the rows are shown."""
        return result_key(s, self._query)

    def _position(self, s: StoredEvent | None) -> SortPosition | None:
        return sort_position(s, self._query.sort) if s is not None else None

    # ---- paging --------------------------------------------------------------------------

    def showing_newest(self) -> bool:
        """Whether the first row is the first match (the newest, in receive order), i.e. no
        earlier page is left to load."""
        return self._newest

    def _set_newest(self, newest: bool) -> None:
        if newest == self._newest:
            return
        self._newest = newest
        self.showing_newest_changed.emit(newest)

    def _first(self) -> StoredEvent | None:
        """The first loaded row (or where it was, if every loaded row was removed)."""
        if self._rows:
            return self._rows[0]
        return self._edges[0] if self._edges is not None else None

    def _last(self) -> StoredEvent | None:
        """The last loaded row (or where it was, if every loaded row was removed)."""
        if self._rows:
            return self._rows[-1]
        return self._edges[1] if self._edges is not None else None

    def _seen(self, rows: Iterable[StoredEvent]) -> None:
        """Raise :meth:`top_id` to the newest of ``rows`` (now shown)."""
        newest = max((s.id for s in rows), default=None)
        if newest is not None and (self._horizon is None or newest > self._horizon):
            self._horizon = newest

    def _page(self, after: StoredEvent | None) -> list[StoredEvent]:
        """The next page after ``after``; sets ``_exhausted`` when nothing later matches."""
        # One row more than a page tells whether there is more without another query, so
        # canFetchMore turns false exactly at the end (a view asks again only on scrolling).
        q = dataclasses.replace(self._query, after=self._position(after), limit=PAGE_SIZE + 1)
        page = self._store.query(q)
        self._exhausted = len(page) <= PAGE_SIZE
        return page[:PAGE_SIZE]

    def _load_first_page(self) -> None:
        self._edges = None
        self._row_index = None
        self._rows = self._page(None)
        q = self._query
        if q.sort is SortKey.RECEIVED and not q.oldest_first:
            self._horizon = self._rows[0].id if self._rows else None
        else:
            # What "mark all read" may go up to: the newest match when the view was drawn.
            newest = dataclasses.replace(q, sort=SortKey.RECEIVED, oldest_first=False, limit=1)
            ids = self._store.query_ids(newest)
            self._horizon = ids[0] if ids else None

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
        """Append the next page; drops the first rows if too many are then loaded."""
        if not self.canFetchMore(parent):
            return
        with self._paging():
            page = self._page(self._last())
            if page:
                self._append(page)
                self._trim(keep="oldest")

    def can_fetch_newer(self) -> bool:
        """Whether :meth:`fetch_newer` has anything to bring (see :meth:`showing_newest`)."""
        return not self._newest and not self._busy

    def _reversed_query(self, after: StoredEvent | None) -> EventQuery:
        """The query walking the order backwards from ``after`` (a page and one more)."""
        q = self._query
        return dataclasses.replace(
            q, oldest_first=not q.oldest_first, after=self._position(after), limit=PAGE_SIZE + 1
        )

    def fetch_newer(self) -> int:
        """Insert the page before the first row above it; returns how many rows came.

        One query walking the order backwards from the first loaded row (cheap at any depth).
        The rows are inserted at row 0 in one ``beginInsertRows``; if more than
        :data:`MAX_LOADED_ROWS` are then loaded, the last are dropped and ``fetchMore`` brings
        them back later.
        """
        if not self.can_fetch_newer():
            return 0
        page = self._store.query(self._reversed_query(self._first()))
        block = page[:PAGE_SIZE][::-1]
        with self._paging():
            if block:
                self.beginInsertRows(QModelIndex(), 0, len(block) - 1)
                self._rows[0:0] = block
                self._row_index = None
                self.endInsertRows()
                self._seen(block)
            self._trim(keep="newest")
        self._set_newest(len(page) <= PAGE_SIZE)
        return len(block)

    def jump_to_oldest(self) -> bool:
        """Show the last matches without loading the ones between; ``False`` if loaded.

        The last page is one query walking the order backwards (a few ms on a million rows).
        If it reaches the loaded rows, the missing ones are appended (selection and scroll
        position stay); otherwise the model is reset to that page alone.
        """
        if self._exhausted or self._busy:
            return False
        page = self._store.query(self._reversed_query(None))
        last = self._last()
        if last is not None and page and not self._key(last) < self._key(page[-1]):
            # The last page meets the loaded rows: everything after them is in it.
            self._exhausted = True
            cut = self._key(last)
            tail = [s for s in reversed(page) if cut < self._key(s)]
            with self._paging():
                if tail:
                    self._append(tail)
                self._trim(keep="oldest")
            return True
        with self._paging():
            self.beginResetModel()
            self._rows = page[:PAGE_SIZE][::-1]
            self._row_index = None
            self._edges = None
            self._exhausted = True
            self.endResetModel()
        self._seen(self._rows)
        self._set_newest(len(page) <= PAGE_SIZE)
        return True

    def jump_to_newest(self) -> bool:
        """Go back to the first page (a reset) if it is not loaded; ``False`` if it is."""
        if self._newest:
            return False
        self.reload()
        return True

    def _append(self, rows: list[StoredEvent]) -> None:
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self._row_index = None
        self.endInsertRows()
        self._seen(rows)

    def keep_rows(self, n: int) -> int:
        """Drop the loaded rows after the first ``n`` (the last in the order; ``fetchMore``
        brings them back on scrolling); returns how many went. Live events are inserted as they
        come, so without this a tray app running for months would hold every event it received.
        Only while the rows start at the first match: otherwise live events are not inserted."""
        if self._busy or not self._newest:
            return 0
        before = len(self._rows)
        with self._paging():
            self._trim(keep="newest", limit=min(max(n, PAGE_SIZE), MAX_LOADED_ROWS))
        return before - len(self._rows)

    def _trim(self, *, keep: Literal["oldest", "newest"], limit: int | None = None) -> None:
        """Drop rows beyond ``limit`` (default :data:`MAX_LOADED_ROWS`) at the end away from
        ``keep``.

        ``keep="oldest"`` (after paging down) drops the first rows, ``"newest"`` (after
        paging up, or as live events arrive) the last: those furthest from where the user is
        reading.
        """
        excess = len(self._rows) - (MAX_LOADED_ROWS if limit is None else limit)
        if excess <= 0:
            return
        # The flags change after the removal: a view (or Qt's model tester) may ask for more
        # rows from its removal handlers, and must not get them in the middle of it.
        if keep == "oldest":
            self.beginRemoveRows(QModelIndex(), 0, excess - 1)
            del self._rows[:excess]
            self._row_index = None
            self.endRemoveRows()
            self._set_newest(False)
        else:
            n = len(self._rows)
            self.beginRemoveRows(QModelIndex(), n - excess, n - 1)
            del self._rows[n - excess :]
            self._row_index = None
            self.endRemoveRows()
            self._exhausted = False

    def ensure_loaded(self, event_id: int, *, max_rows: int | None = None) -> int | None:
        """Load rows down to ``event_id`` if it matches the filter; its row, or ``None``.

        The rows between the loaded ones and ``event_id`` are read in one query rather than
        page by page, because the only caller wants to jump there (a notification click).
        ``None`` also when more than ``max_rows`` rows would have to be loaded to get there:
        reading half a million rows to show one old event would freeze the window. An event
        before the loaded rows, when they do not start at the first match, brings the first
        page back first (a reset).
        """
        row = self.row_of(event_id)
        if row is not None:
            return row
        target = self._store.get(event_id)
        if target is None or matches(self._query, target) is False:
            return None
        first = self._first()
        if not self._newest and (first is None or self._key(target) < self._key(first)):
            self.jump_to_newest()
            row = self.row_of(event_id)
            if row is not None:
                return row
        last = self._last()
        if self._exhausted or (last is not None and self._key(target) < self._key(last)):
            return None  # in the loaded range but not there: it does not match
        span_q = dataclasses.replace(self._query, after=self._position(last))
        # Ids only, and at most one more than allowed: cheap even when the gap is huge.
        ids = self._store.query_ids(
            dataclasses.replace(span_q, limit=None if max_rows is None else max_rows + 1)
        )
        if event_id not in ids or (max_rows is not None and ids.index(event_id) >= max_rows):
            return None
        span = self._store.query(dataclasses.replace(span_q, limit=ids.index(event_id) + 1))
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
        return _ROW_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        return header_data(section, role)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        row, col = index.row(), index.column()
        if not (0 <= row < len(self._rows)) or not (0 <= col < len(HEADERS)):
            return None
        s = self._rows[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(s, col, self._clock())
        if role == EventRole:
            return s
        return self._look.data(s, col, role)

    # ---- rows by id ----------------------------------------------------------------------

    def event_at(self, row: int) -> StoredEvent:
        """The event in ``row``; ``IndexError`` outside the loaded rows."""
        if not 0 <= row < len(self._rows):
            raise IndexError(f"row {row} is not loaded ({len(self._rows)} rows)")
        return self._rows[row]

    def row_of(self, event_id: int) -> int | None:
        """The row showing ``event_id``, or ``None`` if it is not loaded."""
        if self._row_index is None:
            self._row_index = {s.id: r for r, s in enumerate(self._rows)}
        return self._row_index.get(event_id)

    def ids_for_rows(self, rows: Iterable[int]) -> list[int]:
        """The event ids of ``rows`` (in row order), skipping rows that are not loaded."""
        n = len(self._rows)
        return [self._rows[r].id for r in sorted(set(rows)) if 0 <= r < n]

    def top_id(self) -> int | None:
        """The newest event the view has known of: the newest match when it was drawn, or
        one shown since (loaded by paging, or a live event inserted). "Mark all read" goes up
        to it, so events that arrived unseen stay unread."""
        return self._horizon

    # ---- changes -------------------------------------------------------------------------

    def add_events(self, events: Sequence[StoredEvent]) -> int:
        """Insert newly committed (or restored) events that match the filter; returns how many
        matched (and were added to the match count).

        Events after the loaded rows are left for ``fetchMore`` to bring (counted if they are
        new: a sorted list can have a new event anywhere); events already shown are skipped;
        so are, though counted, events before the first row when it is not the first match
        (:meth:`fetch_newer` or going back to the first page brings them). Events land where
        they belong in the order, in one ``beginInsertRows`` per place, so a view keeps its
        selection. When the filter includes a full-text search, which only the store can
        evaluate, the candidates are re-read from it by id with the filter applied.
        """
        candidates = {s.id: s for s in events if self.row_of(s.id) is None}
        if not candidates:
            return 0
        fresh: list[StoredEvent]
        if self._query.search is not None and self._query.search.strip():
            fresh = self._query_ids(frozenset(candidates), filtered=True)
        else:
            fresh = [s for s in candidates.values() if matches(self._query, s)]
        keys = {s.id: self._key(s) for s in fresh}  # each event's key, computed once
        last = self._last()
        if last is not None and not self._exhausted:
            cut = self._key(last)
            later = [s for s in fresh if not keys[s.id] < cut]
            fresh = [s for s in fresh if keys[s.id] < cut]
        else:
            later = []
        # Of the events after the loaded rows, only new ones are new matches (a restored one
        # was never taken off the count).
        horizon = self._horizon or 0
        counted = len(fresh) + sum(1 for s in later if s.id > horizon)
        if self._count is not None:
            self._count += counted
        first = self._first()
        if not self._newest and first is not None:
            start = self._key(first)
            fresh = [s for s in fresh if not keys[s.id] < start]
        # Positions are computed against the rows before any insertion, then the groups are
        # inserted bottom-up, so the earlier positions stay valid.
        groups: dict[int, list[StoredEvent]] = {}
        rows = self._rows
        top = self._key(rows[0]) if rows else None
        for s in sorted(fresh, key=lambda s: keys[s.id]):
            key = keys[s.id]
            # Live events mostly go above the first row (newest first): one comparison, where
            # the search would compute the key of a row at each of its steps. The same place.
            on_top = top is None or not top < key
            pos = 0 if on_top else bisect.bisect_left(rows, key, key=self._key)
            groups.setdefault(pos, []).append(s)
        for pos in sorted(groups, reverse=True):
            block = groups[pos]
            self.beginInsertRows(QModelIndex(), pos, pos + len(block) - 1)
            self._rows[pos:pos] = block
            self._row_index = None
            self.endInsertRows()
        if fresh:
            self._edges = None
            self._seen(fresh)
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
                self._rows[row] = s  # the same event: its place in the order is the same
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
            self._edges = (self._rows[0], self._rows[-1])
        for first, last in reversed(_runs(rows)):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._rows[first : last + 1]
            self._row_index = None
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
