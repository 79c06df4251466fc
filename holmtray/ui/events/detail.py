"""The detail pane: what an analyst needs to triage the selected event, and its raw payload.

This module owns the lower half of the event window: :func:`detail_fields` lists an event's
normalised fields by section (Asset, Vulnerability, Ticket, Scan, Event), :func:`extra_fields`
what the payload carries beyond them (a ticket's triage facts -- due date, exploit, patch,
business risk, owner, teams, tags -- and every top-level field of a custom payload), and
:class:`DetailPane` shows them in columns of plain-text labels, hiding the fields and sections
an event does not have. The raw JSON is behind the *Raw JSON* toggle (its state is saved with
the window's layout). A newly shown event always starts at the top. Its "Open" and "Copy link"
buttons are wired up by the window.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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

from holmtray.core.clock import utc_now
from holmtray.core.events import Event, Kind, Severity, StoredEvent
from holmtray.core.text import show_bidi_controls
from holmtray.core.triage import (
    ALARMING,
    attention_reason,
    cvss_text,
    due_text,
    payload_scalars,
    ticket_facts,
)
from holmtray.ui.events.display import (
    UTC_NOTE,
    duration_text,
    is_closed_ticket,
    local_time,
    status_text,
    time_text,
    title_text,
)

Rows = list[tuple[str, str | None]]
ALARM_STYLE = "color: #b91c1c; font-weight: bold;"
"""An overdue date, a public exploit: what should make a ticket jump the queue."""


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def detail_fields(s: StoredEvent) -> list[tuple[str, Rows]]:
    """Every normalised field of ``s`` as (section, [(label, text or None)]) for display."""
    ev = s.event
    counts = ev.counts.describe(include_zero=True) if ev.counts is not None else None
    return [
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
                ("CVSS", cvss_text(ev)),
                ("Summary", _text(ev.vulnerability.summary)),
                ("Solution", _text(ev.vulnerability.solution)),
            ],
        ),
        (
            "Ticket",
            [
                ("Number", _text(ev.ticket.number)),
                ("Status", _text(ev.ticket.status)),
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
            "Event",
            [
                ("Received", time_text(s.received_at)),
                ("Kind", ev.kind.label),
                ("Severity", ev.severity.label),
                # Only when it applies, and then why: "Attention: No" told nobody anything.
                ("Attention", attention_reason(ev)),
                ("Read", "Yes" if s.read else "No"),
                ("Link", _text(ev.link)),
                ("Event id", str(s.id)),
            ],
        ),
    ]


def extra_fields(s: StoredEvent, now: datetime) -> list[tuple[str, list[tuple[str, str]]]]:
    """What the payload carries beyond the normalised fields, as (section, [(label, text)]).

    ``Triage`` for a ticket (its due date first), ``Fields`` for a custom payload (every
    top-level scalar: the user's template decides what matters).
    """
    ev = s.event
    out: list[tuple[str, list[tuple[str, str]]]] = []
    triage: list[tuple[str, str]] = []
    if ev.due is not None:
        triage.append(("Due", due_text(ev.due, now=now, closed=is_closed_ticket(ev))))
    triage.extend(ticket_facts(ev))
    if triage:
        out.append(("Triage", triage))
    if ev.kind is Kind.CUSTOM:
        scalars = payload_scalars(ev.payload)
        if scalars:
            out.append(("Fields", scalars))
    return out


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


def _caption(text: str) -> QLabel:
    caption = QLabel(text)
    caption.setTextFormat(Qt.TextFormat.PlainText)
    caption.setEnabled(False)  # the palette's muted colour, in any theme
    return caption


def _heading(text: str) -> QLabel:
    heading = QLabel(text)
    font = QFont(heading.font())
    font.setBold(True)
    heading.setFont(font)
    heading.setContentsMargins(0, 6, 0, 2)
    return heading


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
_WRAPPED = frozenset(
    {
        ("Vulnerability", "Name"),
        ("Vulnerability", "Summary"),
        ("Vulnerability", "Solution"),
        ("Scan", "Name"),
        ("Scan", "Errors"),
        ("Event", "Attention"),
    }
)
"""The fields whose text runs long; the others are a line (wrapping costs a layout pass that
measures every label's height: half the time of showing an event)."""
_EXTRA_SECTIONS = ("Triage", "Fields")
"""Sections whose rows depend on the payload: rebuilt for every event."""
_DETAIL_COLUMNS = (("Triage", "Ticket", "Scan"), ("Vulnerability", "Fields"), ("Asset", "Event"))


class DetailPane(QWidget):
    """The selected event's fields (plain text) and, behind a toggle, its raw payload."""

    def __init__(
        self, parent: QWidget | None = None, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(parent)
        self._event: StoredEvent | None = None
        self._clock = clock

        self.title = _plain_label()
        title_font = QFont(self.title.font())
        title_font.setBold(True)
        title_font.setPointSizeF(title_font.pointSizeF() * 1.15)
        self.title.setFont(title_font)
        self.meta = _plain_label()
        self.open_button = QPushButton("Open in Security Center")
        self.copy_button = QPushButton("Copy link")
        self.raw_toggle = QPushButton("Raw JSON")
        self.raw_toggle.setCheckable(True)
        self.raw_toggle.setObjectName("rawToggle")
        self.raw_toggle.setToolTip("Show the payload exactly as it arrived")

        # Columns of sections, so a short pane shows the fields that differ by kind at once.
        self._values: dict[tuple[str, str], QLabel] = {}
        self._extra_rows: dict[str, list[QLabel]] = {s: [] for s in _EXTRA_SECTIONS}
        self._section_heading: dict[str, QLabel] = {}
        self._section_form: dict[str, QFormLayout] = {}
        self._field_form: dict[QWidget, QFormLayout] = {}  # every row's value (or heading)
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
                heading = _heading(section)
                form.addRow(heading)
                self._field_form[heading] = form
                self._section_heading[section] = heading
                self._section_form[section] = form
                for name in _SECTION_FIELDS.get(section, ()):
                    value = _plain_label(wrap=(section, name) in _WRAPPED)
                    form.addRow(_caption(name), value)
                    self._values[(section, name)] = value
                    self._field_form[value] = form
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
        fields_layout.setContentsMargins(10, 4, 10, 8)
        fields_layout.setSpacing(4)
        fields_layout.addWidget(self.title)
        fields_layout.addWidget(self.meta)
        fields_layout.addLayout(columns_row)
        fields_layout.addSpacing(6)
        fields_layout.addWidget(self.note)
        fields_layout.addStretch(1)

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
        buttons.addWidget(self.raw_toggle)

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
        raw_caption = QLabel("Raw payload (JSON), exactly as received")
        raw_caption.setEnabled(False)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 6, 6, 6)
        right_layout.setSpacing(4)
        right_layout.addWidget(raw_caption)
        right_layout.addWidget(self.raw, 1)
        self.raw_panel = right

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
        self.raw_toggle.toggled.connect(self.raw_panel.setVisible)
        self.raw_panel.setVisible(False)
        self._row_shown: dict[QWidget, bool] = {}
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
        self.raw_toggle.setEnabled(has)
        if s is None:
            self.title.clear()
            self.meta.clear()
            self.raw.clear()
            return
        ev = s.event
        another = previous is None or previous.id != s.id
        self.title.setText(show_bidi_controls(title_text(ev)))
        meta = [ev.kind.label, ev.severity.label]
        status = status_text(ev)
        if status:
            meta.append(status)
        if ev.attention and status != "Needs attention":
            meta.append("needs attention")
        meta.append(f"received {local_time(s.received_at)}")
        meta.append("unread" if not s.read else "read")
        self.meta.setText("  ·  ".join(meta))
        wanted: dict[QWidget, bool] = {}
        shown: set[str] = set()
        for section, rows in detail_fields(s):
            for name, text in rows:
                label = self._values[(section, name)]
                label.setText(show_bidi_controls(text or ""))
                wanted[label] = text is not None
                if text is not None:
                    shown.add(section)
        if another:
            self._set_extra_rows(s)
        shown.update(sec for sec, rows in self._extra_rows.items() if rows)
        for section, heading in self._section_heading.items():
            wanted[heading] = section in shown
        for column, sections in self._columns:
            self._show_rows(column, sections, wanted, any(sec in shown for sec in sections))
        if another:
            # Only for another event: the read flag changing a second after selection must not
            # throw the reader back to the top of the JSON. A new event starts at its title.
            self.raw.setPlainText(json.dumps(s.event.payload, indent=2, ensure_ascii=False))
            self.scroll_area.verticalScrollBar().setValue(0)

    def _set_row_visible(self, form: QFormLayout, field: QWidget, visible: bool) -> None:
        # Only on a change: QFormLayout re-lays out the form on every call (35 a selection).
        if self._row_shown.get(field) is not visible:
            form.setRowVisible(field, visible)
            self._row_shown[field] = visible

    def _show_rows(
        self,
        column: QWidget,
        sections: tuple[str, ...],
        wanted: dict[QWidget, bool],
        column_shown: bool,
    ) -> None:
        """Show the rows of ``column`` that are ``wanted``, the column if ``column_shown``."""
        form = self._section_form[sections[0]]
        changes = [
            (field, on)
            for field, on in wanted.items()
            if self._row_shown.get(field) is not on and self._field_form.get(field) is form
        ]
        for field, on in changes:
            self._set_row_visible(form, field, on)
        if column.isVisibleTo(self) != column_shown:
            column.setVisible(column_shown)

    def _set_extra_rows(self, s: StoredEvent) -> None:
        """Rebuild the Triage and Fields sections for ``s`` (their rows vary by payload)."""
        extra = dict(extra_fields(s, self._clock()))
        for section in _EXTRA_SECTIONS:
            form = self._section_form[section]
            for widget in self._extra_rows[section]:
                self._row_shown.pop(widget, None)
                self._field_form.pop(widget, None)
                form.removeRow(widget)
            self._extra_rows[section] = []
            for key in [k for k in self._values if k[0] == section]:
                del self._values[key]
            position = form.getWidgetPosition(self._section_heading[section])
            assert isinstance(position, tuple)  # (row, role): typed "object" in the stubs
            heading_row = int(position[0])
            for offset, (name, text) in enumerate(extra.get(section, []), start=1):
                value = _plain_label()
                value.setText(show_bidi_controls(text))
                if text in ALARMING or (name == "Due" and "overdue" in text):
                    value.setStyleSheet(ALARM_STYLE)
                form.insertRow(heading_row + offset, _caption(name), value)
                self._field_form[value] = form
                self._row_shown.pop(value, None)
                self._set_row_visible(form, value, True)  # at once, not on the next event loop
                self._values[(section, name)] = value
                self._extra_rows[section].append(value)

    def value_label(self, section: str, name: str) -> QLabel:
        return self._values[(section, name)]

    def extra_rows(self, section: str) -> list[tuple[str, str]]:
        """The (label, text) rows :meth:`set_event` put in a payload-made section."""
        form = self._section_form[section]
        rows = []
        for value in self._extra_rows[section]:
            caption = form.labelForField(value)
            name = caption.text() if isinstance(caption, QLabel) else ""
            rows.append((name, value.text()))
        return rows
