"""The detail pane: every field of the selected event, and its raw payload.

This module owns the lower half of the event window: :func:`detail_fields` lists an event's
normalised fields by section (Event, Scan, Asset, Vulnerability, Ticket), and
:class:`DetailPane` shows them in two columns of plain-text labels, hiding the fields and
sections an event does not have, next to the pretty-printed JSON payload. Its "Open" and "Copy
link" buttons are wired up by the window.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from holmtray.core.events import Event, Kind, Severity, StoredEvent
from holmtray.core.text import show_bidi_controls
from holmtray.ui.events.display import (
    UTC_NOTE,
    duration_text,
    local_time,
    status_text,
    time_text,
)


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
                ("Received", time_text(s.received_at)),
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
                ("Started", time_text(ev.started)),
                ("Finished", time_text(ev.finished)),
                ("Starts at", time_text(ev.starts_at)),
                ("Duration", duration_text(ev.duration)),
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
                ("Due", time_text(ev.due)),
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
