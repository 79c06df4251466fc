"""Triage facts read from an event: the asset, attention, due dates, a ticket's payload extras.

Payloads are untrusted: every function must answer plain text or nothing for any shape.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from holmtray.core.events import Asset, Event, Kind, Severity
from holmtray.core.parsing.parser import parse_event
from holmtray.core.triage import (
    TEXT_MAX,
    asset_label,
    attention_reason,
    cvss_text,
    cvss_vector,
    due_text,
    payload_scalars,
    ticket_facts,
)
from tests.stored_events import sample


def custom(payload: dict[str, Any], **kw: Any) -> Event:
    return Event(kind=Kind.CUSTOM, title="t", severity=Severity.LOW, payload=payload, **kw)


@pytest.mark.parametrize(
    ("asset", "expected"),
    [
        (Asset(name="web-01", hostname="web-01.corp", ipv4="10.0.0.1"), "web-01.corp"),
        (Asset(name="web-01", ipv4="10.0.0.1", ipv6="fe80::1"), "10.0.0.1"),
        (Asset(name="web-01", ipv6="fe80::1"), "fe80::1"),
        (Asset(name="web-01"), "web-01"),
        (Asset(hostname="  ", name="web-01"), "web-01"),
        (Asset(), None),
    ],
)
def test_asset_label_is_the_host_name_else_the_ip_else_the_name(
    asset: Asset, expected: str | None
) -> None:
    ev = Event(kind=Kind.TICKET, title="t", severity=Severity.LOW, asset=asset)
    assert asset_label(ev) == expected


def test_a_custom_payload_names_its_asset_in_a_field() -> None:
    assert asset_label(parse_event(sample("custom_placeholders"))) == (
        "web-02.corp.example (10.20.0.16)"
    )
    assert asset_label(custom({"Host Name": "db-7"})) == "db-7"
    assert asset_label(custom({"ip": "192.0.2.4", "text": "x"})) == "192.0.2.4"
    # A field the parser did read wins; shapes that are no asset name are skipped.
    assert asset_label(custom({"asset": "x"}, asset=Asset(hostname="h"))) == "h"
    assert asset_label(custom({"asset": {"name": "nested"}, "host": True})) is None
    assert asset_label(custom({"asset": "a" * 10_000})) == "a" * (TEXT_MAX - 1) + "…"
    # Only custom payloads: a ticket's asset is what the parser found.
    ticket = Event(kind=Kind.TICKET, title="t", severity=Severity.LOW, payload={"asset": "x"})
    assert asset_label(ticket) is None


def test_attention_is_explained_and_absent_without_it() -> None:
    stopped = parse_event(sample("finished_scan_with_errors"))
    assert attention_reason(stopped) == (
        "Needs attention: the scan's status is “Stopped”, not Completed, and it reported 2 errors"
    )
    assert attention_reason(parse_event(sample("finished_scan"))) is None
    errors_only = Event(
        kind=Kind.FINISHED_SCAN,
        title="t",
        severity=Severity.LOW,
        attention=True,
        scan_status="Completed",
        errors=("boom",),
    )
    assert attention_reason(errors_only) == "Needs attention: the scan reported 1 error"


@pytest.fixture
def los_angeles() -> Iterator[None]:
    """A local zone west of UTC, where a date-only due date (midnight UTC) read as local time
    would fall on the day before."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/Los_Angeles"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.usefixtures("los_angeles")
def test_due_dates_read_as_a_date_and_how_far_off() -> None:
    due = datetime(2024, 4, 13, tzinfo=UTC)  # "due_date": "2024-04-13"
    noon = datetime(2024, 4, 16, 19, 0, tzinfo=UTC)  # 16 Apr, 12:00 in Los Angeles
    assert due_text(due, now=noon) == "13 Apr 2024 — overdue by 3 days"
    assert due_text(due, now=noon - timedelta(days=2)) == "13 Apr 2024 — overdue by 1 day"
    assert due_text(due, now=noon - timedelta(days=3)) == "13 Apr 2024 — due today"
    assert due_text(due, now=noon - timedelta(days=4)) == "13 Apr 2024 — in 1 day"
    assert due_text(due, now=noon - timedelta(days=9)) == "13 Apr 2024 — in 6 days"
    assert due_text(due, now=noon, closed=True) == "13 Apr 2024"


def test_a_tickets_payload_gives_its_triage_facts() -> None:
    facts = dict(ticket_facts(parse_event(sample("ticket_opened_nested"))))
    assert facts == {
        "Exploit": "Yes — a public exploit exists",
        "Ransomware": "No",
        "Patch": "Available",
        "Business risk": "High",
        "Owner": "ops@example.com",
        "Teams": "Platform",
        "Tags": "dmz, linux",
    }
    assert ticket_facts(parse_event(sample("ticket_closed_titlecase"))) == []
    assert ticket_facts(parse_event(sample("finished_scan"))) == []


def test_triage_facts_in_other_spellings_and_shapes() -> None:
    body = {
        "Ticket": {
            "Number": 9,
            "Owner": {"Full Name": "Ada Lovelace", "email": "ada@example.com"},
            "Team": "Blue",
            "Vulnerability Exploits": 3,
            "vulnerabilityPatches": "no",
            "Asset Business Risk": "Critical asset",
            "Asset Tags": "pci, prod",
            "Vulnerability": [{"CVSS3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        }
    }
    ev = Event(kind=Kind.TICKET, title="t", severity=Severity.HIGH, payload=body)
    assert dict(ticket_facts(ev)) == {
        "Exploit": "Yes — a public exploit exists",
        "Patch": "None available",
        "Business risk": "Critical asset",
        "Owner": "Ada Lovelace",
        "Teams": "Blue",
        "Tags": "pci, prod",
    }
    assert cvss_vector(ev) == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def test_cvss_reads_with_its_vector() -> None:
    ticket = parse_event(sample("ticket_opened_nested"))
    assert cvss_text(ticket) == "5.9"
    payload = json.loads(json.dumps(ticket.payload))
    payload["ticket"]["vulnerability"]["cvss3_vector"] = (
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N"
    )
    with_vector = parse_event(payload)
    assert cvss_text(with_vector) == "5.9 — CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N"
    payload["ticket"]["vulnerability"]["cvss3_vector"] = "<b>not a vector</b>"
    assert cvss_text(parse_event(payload)) == "5.9"


HOSTILE: list[Any] = [
    None,
    [],
    "x",
    123,
    {"ticket": None},
    {"ticket": []},
    {"ticket": "web-01"},
    {"ticket": {"asset": ["a", {"tags": [[], {}, None, True, 1e400, "t" * 5000]}]}},
    {"ticket": {str(i): i for i in range(5000)}},
    {"ticket": {"owner": {"name": {"deeper": 1}}, "teams": [{"x": 1}], "exploits": {"a": 1}}},
    {"ticket": {"vulnerability": {"cvss3_vector": "AV:" * 10_000}}},
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_any_payload_shape_gives_plain_text_or_nothing(payload: Any) -> None:
    for kind in (Kind.TICKET, Kind.CUSTOM):
        ev = Event(
            kind=kind,
            title="t",
            severity=Severity.LOW,
            payload=payload if isinstance(payload, dict) else {"v": payload},
        )
        values = [
            *(v for _, v in ticket_facts(ev)),
            *(v for _, v in payload_scalars(ev.payload)),
            asset_label(ev) or "",
            cvss_text(ev) or "",
        ]
        assert all(isinstance(v, str) and len(v) <= TEXT_MAX for v in values)


def test_a_custom_payloads_top_level_scalars_are_labelled_rows() -> None:
    payload = {
        "subject": "Disk full",
        "host_name": "db-7",
        "count": 3,
        "ok": False,
        "ratio": 0.5,
        "nested": {"x": 1},
        "list": [1, 2],
        "empty": "  ",
        "none": None,
        "multi\nline": "a\n\nb",
    }
    assert payload_scalars(payload) == [
        ("Subject", "Disk full"),
        ("Host name", "db-7"),
        ("Count", "3"),
        ("Ok", "No"),
        ("Ratio", "0.5"),
        ("Multi line", "a b"),
    ]
    many = {f"k{i}": i for i in range(500)}
    assert len(payload_scalars(many)) == 60
