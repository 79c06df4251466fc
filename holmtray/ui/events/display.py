"""How an event reads as text in the event window: its columns, times, words and tooltips.

This module owns the table's columns (their numbers and headers) and the text each one shows
for a stored event, the wording shared by the table, its model and the detail pane (times in
the local zone and UTC, durations, severity, finding counts, status), and the tooltip markup.
Pure functions of an event: nothing here touches a widget or the store.

Tooltips need care: ``QToolTip`` guesses whether a string is rich text from its content, so
:func:`tooltip_html` returns rich text built by escaping, which shows the untrusted characters
literally.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from holmtray.core.events import Event, StoredEvent
from holmtray.core.text import show_bidi_controls

COL_RECEIVED = 0
COL_KIND = 1
COL_SEVERITY = 2
COL_TITLE = 3
COL_COUNTS = 4
COL_STATUS = 5

HEADERS = ("Received", "Kind", "Severity", "Title", "Counts", "Status")

UTC_NOTE = "Times without a zone in the payload are taken as UTC."

_TOOLTIP_MAX = 1000
"""Longest untrusted text put into a tooltip; the detail pane shows the rest."""


def local_time(dt: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in the local zone."""
    return dt.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def utc_time(dt: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS UTC``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def time_text(dt: datetime | None) -> str | None:
    """Local time with UTC in brackets, or UTC alone where the local zone is UTC."""
    if dt is None:
        return None
    local, utc = local_time(dt), utc_time(dt)
    return utc if dt.astimezone().utcoffset() == timedelta(0) else f"{local}  ({utc})"


def duration_text(d: timedelta | None) -> str | None:
    """``H:MM:SS``, with ``N d`` in front from a day on."""
    if d is None:
        return None
    total = int(d.total_seconds())
    days, rest = divmod(total, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    clock = f"{h}:{m:02d}:{sec:02d}"
    return f"{days} d {clock}" if days else clock


def severity_text(ev: Event) -> str:
    """The severity word, with `` !`` when the event needs attention."""
    return f"{ev.severity.label} !" if ev.attention else ev.severity.label


def counts_text(ev: Event) -> str:
    """``1C 3H 5M 12L`` for a scan that reported counts, else empty."""
    c = ev.counts
    if c is None:
        return ""
    return f"{c.critical}C {c.high}H {c.medium}M {c.low}L"


def status_text(ev: Event) -> str:
    """Scan status, ticket status, or "Scheduled"; attention is added to whichever applies."""
    base = ev.scan_status or ev.ticket.status or ""
    if not base and ev.starts_at is not None:
        base = "Scheduled"
    if ev.attention:
        return f"{base} — needs attention" if base else "Needs attention"
    return base


def tooltip_html(text: str) -> str:
    """``text`` as rich text that shows every character literally (see the module docstring)."""
    if len(text) > _TOOLTIP_MAX:
        text = text[:_TOOLTIP_MAX] + "…"
    body = html.escape(show_bidi_controls(text), quote=False).replace("\n", "<br>")
    return f"<qt>{body}</qt>"


def cell_text(s: StoredEvent, col: int) -> str:
    """What column ``col`` shows for ``s`` (plain text, straight from the payload)."""
    ev = s.event
    if col == COL_RECEIVED:
        return local_time(s.received_at)
    if col == COL_KIND:
        return ev.kind.label
    if col == COL_SEVERITY:
        return severity_text(ev)
    if col == COL_TITLE:
        return ev.title
    if col == COL_COUNTS:
        return counts_text(ev)
    return status_text(ev)


def cell_tooltip(s: StoredEvent, col: int) -> str:
    """The plain text of column ``col``'s tooltip for ``s`` (:func:`tooltip_html` marks it up)."""
    ev = s.event
    if col == COL_RECEIVED:
        return f"Received {local_time(s.received_at)} local, {utc_time(s.received_at)}\n{UTC_NOTE}"
    if col == COL_SEVERITY:
        return ev.severity.label + (" — needs attention" if ev.attention else "")
    if col == COL_COUNTS:
        return ev.counts.describe(include_zero=True) if ev.counts is not None else ""
    if col == COL_KIND:
        return ev.kind.label
    if col == COL_STATUS:
        return status_text(ev)
    return ev.title
