"""Notification texts: what a pop-up says about each kind of event, in plain text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from holmtray.core.alerts.notices import Urgency, notice_for, replace_key
from holmtray.core.events import Counts, Event, Kind, Severity, StoredEvent
from holmtray.core.parsing.decode import decode_body
from holmtray.core.parsing.parser import parse_event
from tests.conftest import SAMPLES


def _stored(event: Event, event_id: int = 1) -> StoredEvent:
    return StoredEvent(event_id, datetime(2024, 3, 13, 12, 0, tzinfo=UTC), False, event, "{}")


def _sample(name: str) -> StoredEvent:
    return _stored(parse_event(decode_body((SAMPLES / name).read_bytes())))


def _scan(counts: Counts) -> StoredEvent:
    return _stored(
        Event(
            Kind.FINISHED_SCAN,
            "Daily scan finished",
            counts.highest(),
            counts=counts,
            scan_name="Daily scan",
            scan_status="Completed",
        )
    )


@pytest.mark.parametrize(
    ("counts", "summary"),
    [
        (Counts(1, 3, 5, 12), "Daily scan finished — 1 critical, 3 high, 5 medium"),
        (Counts(0, 0, 2, 7), "Daily scan finished — 2 medium"),
        (Counts(0, 0, 0, 12), "Daily scan finished — 12 low"),
        (Counts(), "Daily scan finished — no findings"),
    ],
)
def test_finished_scan_summary_names_medium_and_worse_else_what_there_is(
    counts: Counts, summary: str
) -> None:
    assert notice_for(_scan(counts)).summary == summary


def test_finished_scan_body_lists_every_level_and_urgency_follows_severity() -> None:
    n = notice_for(_sample("finished_scan.json"))
    assert "Findings: 1 critical, 3 high, 5 medium, 12 low" in n.body
    assert n.urgency is Urgency.CRITICAL
    assert n.link == "https://sc.holmsecurity.com/scans/view/123"


def test_a_stopped_scan_with_errors_lists_them() -> None:
    n = notice_for(_sample("finished_scan_with_errors.json"))
    assert n.summary == "Scan 'DMZ web apps' stopped with 2 errors"
    assert "• Target https://shop.example.com unreachable" in n.body
    assert n.urgency is Urgency.NORMAL


def test_ticket_summary_carries_the_severity_and_the_body_the_identifiers() -> None:
    n = notice_for(_sample("ticket_opened_nested.json"))
    assert n.summary == (
        "Ticket #4711 opened: OpenSSH < 9.6 Terrapin prefix truncation on web-01 (High)"
    )
    assert "CVE-2023-48795 · CVSS 5.9" in n.body
    assert n.replace_key == "ticket:4711"
    assert replace_key(_sample("ticket_closed_titlecase.json")) == "ticket:4711"


def test_bidi_controls_become_visible_marks() -> None:
    e = Event(Kind.CUSTOM, "\u202eevil", Severity.LOW)
    n = notice_for(_stored(e))
    assert "\u202e" not in n.summary
    assert n.summary == "[U+202E]evil"
    assert n.urgency is Urgency.LOW
