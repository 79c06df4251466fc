"""The event table view: sortable columns, steady rows in view, and jumps through long histories.

This module owns the ``QTableView`` the event window shows over
:class:`~holmtray.ui.events.model.EventTableModel`: how it looks (columns sized for their
content, the title column stretching, cells painted by
:class:`~holmtray.ui.events.delegate.EventDelegate`), sorting by a click on a column header
(the model sorts in SQL), how it keeps the rows the user is reading in place while rows arrive
or go above them, and how it pages: Ctrl+End and the scroll bar's end jump to the last events,
and reaching the top while the first rows are not loaded loads the page before. Ctrl+Home and
Ctrl+End select the row they reach, so Enter opens it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QHeaderView,
    QTableView,
    QWidget,
)

from holmtray.core.events import StoredEvent
from holmtray.core.history.query import SortKey
from holmtray.ui.events.delegate import (
    EventDelegate,
    FindingsDelegate,
    KindDelegate,
    chips_width,
)
from holmtray.ui.events.display import (
    COL_ASSET,
    COL_COUNTS,
    COL_KIND,
    COL_RECEIVED,
    COL_SEVERITY,
    COL_STATUS,
    COL_TITLE,
    SORT_KEYS,
)
from holmtray.ui.events.model import EventTableModel

_JUMP_KEYS = (Qt.Key.Key_Home, Qt.Key.Key_End)
ROOM_FOR_TITLES = 500
"""Pixels the title column keeps before the asset column grows into a wider window."""
ASSET_GROWTH_MAX = 120


class EventTable(QTableView):
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

    sorted = Signal()
    """A click on a column header sorted the list anew (it shows its top)."""

    def __init__(self, *, model: EventTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pin_inserts = False
        self._removed_above: tuple[int, int] | None = None
        self.verticalScrollBar().actionTriggered.connect(self._scroll_bar_action)
        self.setModel(model)
        self.setItemDelegate(EventDelegate(self))
        self.setItemDelegateForColumn(COL_KIND, KindDelegate(self))
        self.setItemDelegateForColumn(COL_COUNTS, FindingsDelegate(self))
        self._set_look()
        header = self.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        self.show_sort(model.query().sort, ascending=model.query().oldest_first)
        header.sortIndicatorChanged.connect(self._header_clicked)

    def _set_look(self) -> None:
        """Rows, selection and scrolling behaviour, and the columns' widths."""
        self.setSortingEnabled(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setIconSize(QSize(16, 16))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

        fm = self.fontMetrics()
        vheader = self.verticalHeader()
        vheader.hide()
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vheader.setDefaultSectionSize(fm.height() + 10)

        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setMinimumSectionSize(28)
        # Sized for unread (bold) text, so that the title gets the rest: about 500 px at the
        # window's default width, enough for a ticket's title with its asset.
        bold = QFont(self.font())
        bold.setBold(True)
        bfm = QFontMetrics(bold)
        pad = 8  # the cell's margins
        arrow = 14  # the header's sort arrow
        widths = {
            COL_RECEIVED: bfm.horizontalAdvance("Yesterday 00:00") + pad,
            COL_KIND: 36,
            COL_SEVERITY: max(bfm.horizontalAdvance("Critical"), fm.horizontalAdvance("Severity"))
            + pad
            + arrow,
            COL_ASSET: bfm.horizontalAdvance("web-01.corp.example") + pad,
            # Three chips; a fourth (the lows) is left to the tooltip when there is no room.
            COL_COUNTS: chips_width(fm, ["1 C", "3 H", "5 M"]) + pad,
            COL_STATUS: bfm.horizontalAdvance("Completed") + pad + 20,  # + the attention mark
        }
        for col, width in widths.items():
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, width)
        header.setSectionResizeMode(COL_TITLE, QHeaderView.ResizeMode.Stretch)
        self._asset_width = widths[COL_ASSET]
        self._asset_auto = True  # until the user sizes the column
        self._sizing = False
        header.sectionResized.connect(self._section_resized)

    def keep_column_widths(self) -> None:
        """The widths were set (restored from the last session): do not size the asset's."""
        self._asset_auto = False

    def _section_resized(self, column: int, _old: int, _new: int) -> None:
        if column == COL_ASSET and not self._sizing:
            self._asset_auto = False

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if not self._asset_auto:
            return
        # Wider than the default window, the asset shares the room the title does not need.
        header = self.horizontalHeader()
        others = sum(
            header.sectionSize(c) for c in range(header.count()) if c not in (COL_TITLE, COL_ASSET)
        )
        spare = self.viewport().width() - others - self._asset_width - ROOM_FOR_TITLES
        width = self._asset_width + max(0, min(spare * 2 // 5, ASSET_GROWTH_MAX))
        self._sizing = True
        try:
            header.resizeSection(COL_ASSET, width)
        finally:
            self._sizing = False

    # ---- sorting -------------------------------------------------------------------------

    def show_sort(self, key: SortKey, *, ascending: bool) -> None:
        """Put the header's sort arrow on ``key``'s column (no sorting: the model's job)."""
        column = next((c for c, k in SORT_KEYS.items() if k is key), COL_RECEIVED)
        order = Qt.SortOrder.AscendingOrder if ascending else Qt.SortOrder.DescendingOrder
        header = self.horizontalHeader()
        blocked = header.blockSignals(True)
        try:
            header.setSortIndicator(column, order)
        finally:
            header.blockSignals(blocked)

    def _header_clicked(self, column: int, order: Qt.SortOrder) -> None:
        model = self._event_model()
        if model is None:
            return
        q = model.query()
        if column not in SORT_KEYS:
            self.show_sort(q.sort, ascending=q.oldest_first)  # not sortable: the arrow stays
            return
        model.sort(column, order)
        self.scrollToTop()
        self.sorted.emit()

    # ---- selection -----------------------------------------------------------------------

    def current_event(self) -> StoredEvent | None:
        """The current row's event, if that row is selected (else nothing is being read)."""
        model = self._event_model()
        sm = self.selectionModel()
        index = sm.currentIndex()
        if model is None or not index.isValid() or not sm.isRowSelected(index.row()):
            return None
        return model.event_at(index.row())

    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.selectionModel().selectedRows())

    def select_rows(self, rows: Sequence[int], *, current: int, scroll: bool) -> None:
        """Select exactly ``rows`` (whole rows), ``current`` the current one."""
        model = self.model()
        selection = QItemSelection()
        last_col = model.columnCount() - 1
        for r in rows:
            selection.select(model.index(r, 0), model.index(r, last_col))
        flags = QItemSelectionModel.SelectionFlag
        self.selectionModel().select(selection, flags.ClearAndSelect | flags.Rows)
        self.selectionModel().setCurrentIndex(model.index(current, 0), flags.NoUpdate)
        if scroll:
            self.scrollTo(model.index(current, 0))

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

    def selectionCommand(
        self, index: QModelIndex | QPersistentModelIndex, event: QEvent | None = None
    ) -> QItemSelectionModel.SelectionFlag:
        # Ctrl+arrows move the current row without selecting, as in any list; Ctrl+Home and
        # Ctrl+End select the row they reach, so that Enter opens it and the detail shows it.
        if (
            isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in _JUMP_KEYS
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
            and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            flags = QItemSelectionModel.SelectionFlag
            return flags.ClearAndSelect | flags.Rows
        return super().selectionCommand(index, event)

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
