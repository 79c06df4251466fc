"""How a row of the event table looks besides its text: fonts, colours, icons and tooltips.

This module owns the roles other than the display text (:mod:`holmtray.ui.events.display`
has that): bold for unread rows and nothing else bold; the severity colour on the severity
column only (the kind icon is drawn in the text colour, so the two never compete); the
attention mark and colour on the status; closed tickets greyed, their status struck through;
and the escaped rich-text tooltips. :class:`CellLook` builds the fonts and brushes once.
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
    COL_TITLE,
    NO_FINDINGS,
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
        if is_closed_ticket(ev) and col in (COL_TITLE, COL_STATUS):
            return self._muted  # nothing left to do: it reads as done
        if col == COL_COUNTS and counts_text(ev) == NO_FINDINGS:
            return self._muted
        if col == COL_STATUS and (ev.scan_status or "").lower() == "completed":
            return self._muted  # the usual outcome: only the others should catch the eye
        return None
