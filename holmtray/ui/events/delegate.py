"""How the event table paints its cells: plain text, the kind as an icon, findings as chips.

This module owns the item delegate of the event table. Every text is painted as plain text
with bidi controls made visible (a payload cannot reorder what is shown); the kind column shows
its icon alone, centred (the word is in its tooltip, and in the kind filter beside the same
icon); a finished scan's findings are drawn as small chips in their severity's colours, zeros
left out ("1 C", "3 H", "5 M"), so a scan's worst result is seen before it is read.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QLocale, QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from holmtray.core.events import StoredEvent
from holmtray.core.text import show_bidi_controls
from holmtray.ui.events.cells import severity_text_colour, severity_tint
from holmtray.ui.events.display import count_chips
from holmtray.ui.events.model import EventRole

_Index = QModelIndex | QPersistentModelIndex

CHIP_GAP = 4
CHIP_PAD = 5


def chips_width(fm: QFontMetrics, texts: list[str]) -> int:
    """How wide the chips for ``texts`` are drawn with font metrics ``fm``."""
    return sum(fm.horizontalAdvance(t) + 2 * CHIP_PAD for t in texts) + CHIP_GAP * max(
        len(texts) - 1, 0
    )


class EventDelegate(QStyledItemDelegate):
    """Paints the event table's cells as plain text. The kind and findings columns get the
    subclasses below: every method overridden here runs in Python for every cell painted (a
    repaint of the list is ~150 cells), so each column gets only what it needs."""

    def displayText(self, value: Any, locale: QLocale | QLocale.Language) -> str:
        if isinstance(value, str):
            return show_bidi_controls(value)
        return str(super().displayText(value, locale))


class KindDelegate(EventDelegate):
    """The kind column: its icon alone, centred (the word is in the tooltip)."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: _Index) -> None:
        super().initStyleOption(option, index)
        option.text = ""
        option.displayAlignment = Qt.AlignmentFlag.AlignCenter
        option.decorationAlignment = Qt.AlignmentFlag.AlignCenter
        option.decorationPosition = QStyleOptionViewItem.Position.Top


class FindingsDelegate(EventDelegate):
    """The findings column: a finished scan's counts as chips in their severity's colours."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        s = index.data(EventRole)
        chips = count_chips(s.event.counts) if isinstance(s, StoredEvent) and s.event.counts else []
        if not chips:
            super().paint(painter, option, index)  # "No findings", muted, or nothing
            return
        # The cell's background and selection as for any cell, then the chips over it.
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(opt.font)
        fm = QFontMetrics(opt.font)
        rect = opt.rect
        height = min(rect.height() - 6, fm.height() + 4)
        top = rect.top() + (rect.height() - height) / 2
        x = float(rect.left() + 4)
        right = rect.right() - 2
        for severity, text in chips:
            width = fm.horizontalAdvance(text) + 2 * CHIP_PAD
            if x + width > right:
                break  # no room: the tooltip has every count
            box = QRectF(x, top, width, height)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(severity_tint(severity))
            painter.drawRoundedRect(box, height / 2.5, height / 2.5)
            painter.setPen(QPen(severity_text_colour(severity)))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
            x += width + CHIP_GAP
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        hint = super().sizeHint(option, index)
        s = index.data(EventRole)
        if isinstance(s, StoredEvent) and s.event.counts:
            texts = [t for _, t in count_chips(s.event.counts)]
            hint.setWidth(chips_width(QFontMetrics(option.font), texts) + 8)
        return hint
