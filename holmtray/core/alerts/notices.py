"""What a desktop notification says about an event: summary, body, urgency, link.

Pure functions of a stored event; no Qt and no notification backend here. Texts are plain:
each backend escapes them for its own renderer (dunst, for one, renders markup in bodies).
Bidirectional-override characters from the payload are shown as visible ``[U+202E]`` marks so
a payload cannot reorder what the analyst reads.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from holmtray.core.alerts.ids import IdRuns
from holmtray.core.events import Kind, Severity, StoredEvent
from holmtray.core.text import duration_words, show_bidi_controls

SUMMARY_MAX = 120
BODY_MAX = 400
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


class Urgency(enum.Enum):
    LOW = "low"
    NORMAL = "normal"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification, in plain text."""

    event_id: int | None
    summary: str
    body: str
    urgency: Urgency
    link: str | None
    # Notifications with the same key replace each other where the backend supports it.
    replace_key: str | None = None
    # A summary's events (its click shows them); None for a notification about one event.
    event_ids: IdRuns | None = None


def visible(text: str, limit: int) -> str:
    """Payload text made safe to display: bidi controls shown, control characters removed."""
    text = show_bidi_controls(text)
    text = _CONTROL.sub("", text)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def urgency_for(severity: Severity, attention: bool) -> Urgency:
    if severity is Severity.CRITICAL:
        return Urgency.CRITICAL
    if attention or severity >= Severity.MEDIUM:
        return Urgency.NORMAL
    return Urgency.LOW


def _finished_scan(e: StoredEvent) -> tuple[str, str]:
    ev = e.event
    counts = ev.counts
    if ev.attention:
        summary = ev.title
        lines = [
            f"{counts.describe()} so far" if counts and counts.total else "No findings reported"
        ]
        lines += [f"• {err}" for err in ev.errors[:3]]
        if len(ev.errors) > 3:
            lines.append(f"… and {len(ev.errors) - 3} more")
        return summary, "\n".join(lines)
    serious = ""
    if counts is not None:
        # The summary names medium and worse; a scan with only low findings says those.
        worst = counts.highest()
        serious = counts.describe(down_to=Severity.MEDIUM if worst >= Severity.MEDIUM else worst)
    summary = f"{ev.title} — {serious}" if serious else ev.title
    details = []
    if counts is not None and counts.total:
        details.append(f"Findings: {counts.describe(include_zero=True)}")
    if ev.scan_type:
        details.append(f"Type: {ev.scan_type}")
    if ev.duration is not None:
        details.append(f"Duration: {duration_words(ev.duration)}")
    return summary, "\n".join(details)


def _ticket(e: StoredEvent) -> tuple[str, str]:
    ev = e.event
    summary = f"{ev.title} ({ev.severity.label})"
    v, a = ev.vulnerability, ev.asset
    details = []
    ids = [x for x in (v.cve, f"CVSS {v.cvss:g}" if v.cvss is not None else None) if x]
    if ids:
        details.append(" · ".join(ids))
    where = [x for x in (a.hostname, a.ipv4 or a.ipv6) if x]
    if where:
        details.append("Asset: " + " · ".join(where))
    if ev.due is not None:
        details.append(f"Due {ev.due:%Y-%m-%d}")
    return summary, "\n".join(details)


def _scheduled(e: StoredEvent) -> tuple[str, str]:
    ev = e.event
    body = f"Type: {ev.scan_type}" if ev.scan_type else ""
    return ev.title, body


def _custom(e: StoredEvent) -> tuple[str, str]:
    ev = e.event
    body = f"Severity: {ev.severity.label}" if ev.severity > Severity.INFO else ""
    return ev.title, body


def replace_key(e: StoredEvent) -> str | None:
    """Same ticket or same scan → same key, so a later notice replaces the earlier one."""
    ev = e.event
    if ev.kind is Kind.TICKET and ev.ticket.number:
        return f"ticket:{ev.ticket.number}"
    if ev.kind in (Kind.FINISHED_SCAN, Kind.SCHEDULED_SCAN) and ev.scan_name:
        return f"scan:{ev.scan_name}"
    return None


def notice_for(e: StoredEvent) -> Notice:
    """The notification for one stored event."""
    builder = {
        Kind.FINISHED_SCAN: _finished_scan,
        Kind.TICKET: _ticket,
        Kind.SCHEDULED_SCAN: _scheduled,
        Kind.CUSTOM: _custom,
    }[e.event.kind]
    summary, body = builder(e)
    return Notice(
        event_id=e.id,
        summary=visible(summary, SUMMARY_MAX),
        body=visible(body, BODY_MAX),
        urgency=urgency_for(e.event.severity, e.event.attention),
        link=e.event.link,
        replace_key=replace_key(e),
    )
