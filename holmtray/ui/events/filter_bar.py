"""The filter bar over the event table.

This module owns the filter widgets (search field, kind and severity pickers, "Unread only"),
the "N events" label beside them, and the :class:`~holmtray.core.history.store.EventQuery` they
describe. When a filter applies (the search field waits for a pause) is the window's business.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from holmtray.core.events import Kind, Severity
from holmtray.core.history.query import EventQuery
from holmtray.ui import icons


class FilterBar(QWidget):
    """Search, kind, severity and "Unread only", with the count of matching events."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 2, 0, 2)
        row.setSpacing(8)
        row.addWidget(self.search, 1)
        row.addWidget(self.kind_combo)
        row.addWidget(self.severity_combo)
        row.addWidget(self.unread_check)
        row.addWidget(self.count_label)

    def query(self, *, ids: frozenset[int] | None) -> EventQuery:
        """The filter the widgets describe, limited to ``ids`` if given."""
        text = self.search.text().strip()
        # Item data are plain str/int: enums do not survive the trip through QVariant intact.
        kind = self.kind_combo.currentData()
        severity = self.severity_combo.currentData()
        return EventQuery(
            search=text or None,
            kinds=frozenset({Kind(kind)}) if kind is not None else None,
            min_severity=Severity(int(severity)) if severity is not None else None,
            unread_only=self.unread_check.isChecked(),
            ids=ids,
            limit=None,
        )

    def reset(self) -> None:
        """Search, kind, severity and unread back to "everything", without a change signal."""
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

    def show_count(self, n: int, *, cap: int) -> None:
        """Show ``n`` matches; above ``cap`` it means "more than ``cap``"."""
        if n > cap:
            # Counting every match of a broad filter in a big history takes too long.
            self.count_label.setText(f"{cap:,}+ events")
            self.count_label.setToolTip(f"More than {cap:,} events match.")
        else:
            self.count_label.setText(f"{n:,} event" + ("" if n == 1 else "s"))
            self.count_label.setToolTip("")

    def show_count_unknown(self) -> None:
        """The count could not be had (the store failed)."""
        self.count_label.setText("? events")
