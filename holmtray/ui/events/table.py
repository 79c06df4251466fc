"""The event table view: plain-text cells, steady rows in view, and jumps through long histories.

This module owns the ``QTableView`` the event window shows over
:class:`~holmtray.ui.events.model.EventTableModel`: how it looks (columns sized for their
content, the title column stretching, plain-text cells with bidi controls made visible), how it
keeps the rows the user is reading in place while rows arrive or go above them, and how it
pages: Ctrl+End and the scroll bar's end jump to the oldest events, and reaching the top while
the newest rows are not loaded loads the next newer page.
"""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QLocale,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
)
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QHeaderView,
    QStyledItemDelegate,
    QTableView,
    QWidget,
)

from holmtray.core.text import show_bidi_controls
from holmtray.ui.events.display import (
    COL_COUNTS,
    COL_KIND,
    COL_RECEIVED,
    COL_SEVERITY,
    COL_STATUS,
    COL_TITLE,
)
from holmtray.ui.events.model import EventTableModel


class PlainTextDelegate(QStyledItemDelegate):
    """Paints cells as plain text (as Qt does) with bidi controls made visible."""

    def displayText(self, value: Any, locale: QLocale | QLocale.Language) -> str:
        if isinstance(value, str):
            return show_bidi_controls(value)
        return str(super().displayText(value, locale))


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

    def __init__(self, *, model: EventTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pin_inserts = False
        self._removed_above: tuple[int, int] | None = None
        self.verticalScrollBar().actionTriggered.connect(self._scroll_bar_action)
        self.setModel(model)
        self.setItemDelegate(PlainTextDelegate(self))
        self._set_look()

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

    def last_row_in_use(self, *, in_view: bool) -> int:
        """The last row that is current or selected, and with ``in_view`` the last row in the
        viewport too (all rows when they do not fill it); -1 if none."""
        sm = self.selectionModel()
        sel = sm.selection()
        rows = [sm.currentIndex().row(), *(sel.at(i).bottom() for i in range(sel.size()))]
        if in_view:
            bottom = self.rowAt(self.viewport().height() - 1)
            rows.append(bottom if bottom >= 0 else self.model().rowCount() - 1)
        return max(rows)

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
