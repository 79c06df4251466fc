"""How an event reads as text in the event window: its columns, times, words and tooltips.

This module owns the table's columns (their numbers, headers and which sort key each one sorts
by) and the text each one shows for a stored event, the wording shared by the table, its model
and the detail pane (compact times for the list and full ones in the local zone and UTC,
durations, finding counts, status, closed tickets), and the tooltip markup. Pure functions of
an event and the time now: nothing here touches a widget or the store.

Tooltips need care: ``QToolTip`` guesses whether a string is rich text from its content, so
:func:`tooltip_html` returns rich text built by escaping, which shows the untrusted characters
literally.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from holmtray.core.events import Counts, Event, Kind, Severity, StoredEvent
from holmtray.core.history.query import SortKey
from holmtray.core.text import show_bidi_controls
from holmtray.core.triage import asset_label, attention_reason

COL_RECEIVED = 0
COL_KIND = 1
COL_SEVERITY = 2
COL_TITLE = 3
COL_ASSET = 4
COL_COUNTS = 5
COL_STATUS = 6

HEADERS = ("Received", "Kind", "Severity", "Title", "Asset", "Findings", "Status")

SORT_KEYS: dict[int, SortKey] = {
    COL_RECEIVED: SortKey.RECEIVED,
    COL_KIND: SortKey.KIND,
    COL_SEVERITY: SortKey.SEVERITY,
    COL_TITLE: SortKey.TITLE,
    COL_ASSET: SortKey.ASSET,
}
"""The columns a click on the header sorts by. Findings and Status are words made from the
payload, with no order an index could keep; the severity sorts what they would."""

FIRST_ASCENDING = frozenset({SortKey.KIND, SortKey.TITLE, SortKey.ASSET})
"""Keys whose first click sorts A to Z; the others start with the newest or the most severe."""

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


def compact_time(dt: datetime, now: datetime) -> str:
    """``"11:46"`` today, ``"Yesterday 17:02"``, ``"12 Nov"`` this year, ``"12 Nov 2023"``
    before (the local zone; a time ahead of ``now`` is dated like one in the past)."""
    local = dt.astimezone()
    days = (now.astimezone().date() - local.date()).days
    if days == 0:
        return f"{local:%H:%M}"
    if days == 1:
        return f"Yesterday {local:%H:%M}"
    if local.year == now.astimezone().year:
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b %Y}"


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


COUNT_LETTERS = (
    (Severity.CRITICAL, "C"),
    (Severity.HIGH, "H"),
    (Severity.MEDIUM, "M"),
    (Severity.LOW, "L"),
)


def count_chips(c: Counts) -> list[tuple[Severity, str]]:
    """``[(CRITICAL, "1 C"), (HIGH, "3 H")]``: the non-zero counts, most severe first."""
    values = {
        Severity.CRITICAL: c.critical,
        Severity.HIGH: c.high,
        Severity.MEDIUM: c.medium,
        Severity.LOW: c.low,
    }
    return [(sev, f"{values[sev]:,} {letter}") for sev, letter in COUNT_LETTERS if values[sev]]


NO_FINDINGS = "No findings"


def counts_text(ev: Event) -> str:
    """``1 C · 3 H · 5 M`` (zeros left out) for a scan that reported counts, else empty."""
    if ev.counts is None:
        return ""
    chips = count_chips(ev.counts)
    return " · ".join(text for _, text in chips) if chips else NO_FINDINGS


def is_closed_ticket(ev: Event) -> bool:
    return ev.kind is Kind.TICKET and ev.ticket.is_closed


def title_text(ev: Event, *, in_list: bool = False) -> str:
    """The title, saying "closed" for a closed ticket whose title does not already say it.

    ``in_list``: for the list, whose Asset column names the asset, a ticket title's closing
    " on web-01" (as the parser writes it) is left out, so the rest fits; the detail pane, the
    tooltip, notifications and exports keep the whole title.
    """
    title = ev.title
    if in_list and asset_label(ev) is not None:
        a = ev.asset
        for where in (a.name, a.hostname, a.ipv4, a.ipv6):
            suffix = f" on {where}"
            if where and title.endswith(suffix) and len(title) > len(suffix):
                title = title[: -len(suffix)]
                break
    if is_closed_ticket(ev) and "closed" not in title.lower():
        return f"{title} (closed)"
    return title


def status_text(ev: Event) -> str:
    """Scan status, ticket status, or "Scheduled"."""
    base = ev.scan_status or ev.ticket.status or ""
    if not base and ev.starts_at is not None:
        base = "Scheduled"
    if not base and ev.attention:
        return "Needs attention"
    return base


def tooltip_html(text: str) -> str:
    """``text`` as rich text that shows every character literally (see the module docstring)."""
    if len(text) > _TOOLTIP_MAX:
        text = text[:_TOOLTIP_MAX] + "…"
    body = html.escape(show_bidi_controls(text), quote=False).replace("\n", "<br>")
    return f"<qt>{body}</qt>"


def cell_text(s: StoredEvent, col: int, now: datetime) -> str:
    """What column ``col`` shows for ``s`` (plain text, straight from the payload)."""
    ev = s.event
    if col == COL_RECEIVED:
        return compact_time(s.received_at, now)
    if col == COL_KIND:
        return ev.kind.label
    if col == COL_SEVERITY:
        return ev.severity.label
    if col == COL_TITLE:
        return title_text(ev, in_list=True)
    if col == COL_ASSET:
        return asset_label(ev) or ""
    if col == COL_COUNTS:
        return counts_text(ev)
    return status_text(ev)


def _asset_tooltip(ev: Event) -> str:
    a = ev.asset
    rows = [
        (label, value)
        for label, value in (
            ("Host name", a.hostname),
            ("IPv4", a.ipv4),
            ("IPv6", a.ipv6),
            ("Name", a.name),
            ("OS", a.os),
        )
        if value
    ]
    if not rows:
        return asset_label(ev) or "No asset"
    return "\n".join(f"{label}: {value}" for label, value in rows)


def cell_tooltip(s: StoredEvent, col: int) -> str:
    """The plain text of column ``col``'s tooltip for ``s`` (:func:`tooltip_html` marks it up)."""
    ev = s.event
    if col == COL_RECEIVED:
        return f"Received {local_time(s.received_at)} local, {utc_time(s.received_at)}\n{UTC_NOTE}"
    if col == COL_SEVERITY:
        return ev.severity.label
    if col == COL_COUNTS:
        return ev.counts.describe(include_zero=True) if ev.counts is not None else ""
    if col == COL_KIND:
        return ev.kind.label
    if col == COL_ASSET:
        return _asset_tooltip(ev)
    if col == COL_STATUS:
        reason = attention_reason(ev)
        status = status_text(ev)
        if is_closed_ticket(ev):
            return f"{status}: this ticket is closed"
        return f"{status}\n{reason}" if reason and status != reason else (reason or status)
    return title_text(ev)
