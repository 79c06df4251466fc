"""How a row of the event table looks besides its text: fonts, colours, icons and tooltips.

This module owns the roles other than the display text (:mod:`holmtray.ui.events.display`
has that): bold for unread rows and nothing else bold; the severity colour on the severity
column only (the kind icon is drawn in a neutral grey, so the two never compete); the
attention mark and colour on the status; closed tickets greyed, their status struck through;
the escaped rich-text tooltips; and the header's roles (which way a first click sorts, what a
header's tooltip says). :class:`CellLook` builds the fonts and brushes once.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from holmtray.core.events import Severity, StoredEvent
from holmtray.ui.events.display import (
    COL_COUNTS,
    COL_KIND,
    COL_SEVERITY,
    COL_STATUS,
    FIRST_ASCENDING,
    HEADERS,
    NO_FINDINGS,
    SORT_KEYS,
    cell_tooltip,
    counts_text,
    is_closed_ticket,
    tooltip_html,
)
from holmtray.ui.icons import SEVERITY_COLORS, attention_icon, kind_icon

Role = Qt.ItemDataRole


def severity_tint(severity: Severity) -> QColor:
    """A translucent version of a severity colour, legible under dark or light text."""
    tinted = QColor(SEVERITY_COLORS[severity])
    tinted.setAlpha(40)
    return tinted


def severity_text_colour(severity: Severity) -> QColor:
    """The severity colour, darkened enough to read as text on its own tint."""
    return QColor(SEVERITY_COLORS[severity]).darker(120)


def header_data(section: int, role: int) -> Any:
    """A role's value for column ``section``'s header (``None``: Qt's default)."""
    if not 0 <= section < len(HEADERS):
        return None
    if role == Role.DisplayRole:
        return HEADERS[section]
    if role == Role.InitialSortOrderRole and section in SORT_KEYS:
        first_ascending = SORT_KEYS[section] in FIRST_ASCENDING
        return Qt.SortOrder.AscendingOrder if first_ascending else Qt.SortOrder.DescendingOrder
    if role == Role.ToolTipRole:
        if section in SORT_KEYS:
            return f"Sort by {HEADERS[section].lower()} (click again to reverse)"
        return "Not sortable: sort by severity instead"
    return None


class CellLook:
    """The fonts and brushes of the table's cells, made once; :meth:`data` answers a role."""

    def __init__(self) -> None:
        self._bold = QFont()
        self._bold.setBold(True)
        self._struck = QFont()
        self._struck.setStrikeOut(True)
        self._bold_struck = QFont(self._bold)
        self._bold_struck.setStrikeOut(True)
        self._sev_fg = {s: QBrush(severity_text_colour(s)) for s in Severity}
        self._sev_bg = {s: QBrush(severity_tint(s)) for s in Severity}
        self._attention_fg = QBrush(QColor(SEVERITY_COLORS[Severity.CRITICAL]))
        palette = QApplication.palette() if QApplication.instance() else QPalette()
        self._muted = QBrush(palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))

    def data(self, s: StoredEvent, col: int, role: int) -> Any:
        """The value of ``role`` for column ``col`` of ``s``'s row (``None``: Qt's default)."""
        ev = s.event
        if role == Role.FontRole:
            struck = col == COL_STATUS and is_closed_ticket(ev)
            if struck:
                return self._struck if s.read else self._bold_struck
            return None if s.read else self._bold
        if role == Role.DecorationRole:
            if col == COL_KIND:
                return kind_icon(ev.kind)
            if col == COL_STATUS and ev.attention:
                return attention_icon()
            return None
        if role == Role.ForegroundRole:
            return self._foreground(s, col)
        if role == Role.BackgroundRole:
            return self._sev_bg[ev.severity] if col == COL_SEVERITY else None
        if role == Role.ToolTipRole:
            return tooltip_html(cell_tooltip(s, col))
        return None

    def _foreground(self, s: StoredEvent, col: int) -> QBrush | None:
        ev = s.event
        if col == COL_SEVERITY:
            return self._sev_fg[ev.severity]
        if col == COL_STATUS and ev.attention:
            return self._attention_fg
        if is_closed_ticket(ev):
            return self._muted  # nothing left to do: the row reads as done
        if col == COL_COUNTS and counts_text(ev) == NO_FINDINGS:
            return self._muted
        if col == COL_STATUS and (ev.scan_status or "").lower() == "completed":
            return self._muted  # the usual outcome: only the others should catch the eye
        return None
