"""The parser: webhook bodies to events, on the documented samples and on every shape beyond."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from holmtray.core.events import Asset, Counts, Event, Kind, Severity, TicketInfo, dumps_compact
from holmtray.core.parsing.decode import MAX_DEPTH, PayloadError, decode_body
from holmtray.core.parsing.parser import LINK_MAX, TITLE_MAX, parse_event

HERE = Path(__file__).resolve()
BUNDLED_SAMPLES = HERE.parents[2] / "data" / "samples"
SAMPLE_NAMES = (
    "custom_placeholders.json",
    "finished_scan.json",
    "finished_scan_with_errors.json",
    "scheduled_scan.json",
    "ticket_closed_titlecase.json",
    "ticket_opened_nested.json",
)
PARSER_BUG_TITLE = "Unreadable event (parser error)"
_NO_TITLE = "Custom event (no title)"


def _shared_samples() -> Path | None:
    """``shared/samples`` next to one of this file's ancestors, when the checkout has one."""
    for parent in HERE.parents:
        candidate = parent / "shared" / "samples"
        if candidate.is_dir():
            return candidate
    return None


def _sample(name: str) -> dict[str, Any]:
    return decode_body((BUNDLED_SAMPLES / name).read_bytes())


def _assert_sane(event: Event, payload: dict[str, Any]) -> None:
    """What every event must satisfy, whatever arrived."""
    assert isinstance(event.title, str)
    assert event.title
    assert event.title != PARSER_BUG_TITLE
    assert len(event.title) <= TITLE_MAX
    assert event.title == " ".join(event.title.split()), "title is not one collapsed line"
    assert isinstance(event.severity, Severity)
    assert isinstance(event.kind, Kind)
    assert event.link is None or event.link.startswith(("http://", "https://"))
    assert event.link is None or len(event.link) <= LINK_MAX
    assert event.payload is payload
    for when in (event.started, event.finished, event.starts_at, event.due):
        assert when is None or when.utcoffset() == timedelta(0)
    dumps_compact(event.fields_dict())  # what the store writes must serialise


def _parse(payload: dict[str, Any]) -> Event:
    event = parse_event(payload)
    _assert_sane(event, payload)
    return event


def _ticket(**fields: Any) -> Event:
    return _parse({"ticket": fields})


def _scan(**fields: Any) -> Event:
    return _parse({"finished_scan": fields})


# --------------------------------------------------------------------------------------------
# The documented samples


def test_bundled_samples_are_all_present() -> None:
    assert sorted(p.name for p in BUNDLED_SAMPLES.glob("*.json")) == sorted(SAMPLE_NAMES)


def test_bundled_samples_match_the_shared_originals() -> None:
    shared = _shared_samples()
    if shared is None:
        pytest.skip("no shared/samples directory above this checkout")
    for name in SAMPLE_NAMES:
        assert (BUNDLED_SAMPLES / name).read_bytes() == (shared / name).read_bytes(), name


def test_sample_finished_scan() -> None:
    payload = _sample("finished_scan.json")
    ev = _parse(payload)
    assert ev.kind is Kind.FINISHED_SCAN
    assert ev.title == "Daily scan finished"
    assert ev.severity is Severity.CRITICAL
    assert ev.attention is False
    assert ev.counts == Counts(critical=1, high=3, medium=5, low=12)
    assert ev.scan_name == "Daily scan"
    assert ev.scan_type == "network"
    assert ev.scan_status == "Completed"
    assert ev.errors == ()
    assert ev.started == datetime(2024, 3, 13, 12, 2, tzinfo=UTC)
    assert ev.finished == datetime(2024, 3, 13, 12, 59, tzinfo=UTC)
    assert ev.duration == timedelta(minutes=57)
    assert ev.link == "https://sc.holmsecurity.com/scans/view/123"


def test_sample_finished_scan_with_errors_needs_attention() -> None:
    ev = _parse(_sample("finished_scan_with_errors.json"))
    assert ev.kind is Kind.FINISHED_SCAN
    assert ev.title == "Scan 'DMZ web apps' stopped with 2 errors"
    assert ev.severity is Severity.MEDIUM
    assert ev.attention is True
    assert ev.counts == Counts(critical=0, high=0, medium=2, low=1)
    assert ev.scan_type == "web application"
    assert ev.scan_status == "Stopped"
    assert ev.errors == (
        "Target https://shop.example.com unreachable",
        "Authentication failed for https://intranet.example.com",
    )
    assert ev.duration == timedelta(hours=2, minutes=41, seconds=7)
    assert ev.link == "https://sc.holmsecurity.com/scans/view/456"


def test_sample_scheduled_scan() -> None:
    ev = _parse(_sample("scheduled_scan.json"))
    assert ev.kind is Kind.SCHEDULED_SCAN
    assert ev.title == "Weekly external scan scheduled for 2024-03-15 22:00 UTC"
    assert ev.severity is Severity.INFO
    assert ev.attention is False
    assert ev.counts is None
    assert ev.scan_name == "Weekly external scan"
    assert ev.scan_type == "network"
    assert ev.starts_at == datetime(2024, 3, 15, 22, 0, tzinfo=UTC)
    assert ev.link == "https://sc.holmsecurity.com/scans/schedules/77"


def test_sample_ticket_opened_nested() -> None:
    ev = _parse(_sample("ticket_opened_nested.json"))
    assert ev.kind is Kind.TICKET
    assert ev.title == "Ticket #4711 opened: OpenSSH < 9.6 Terrapin prefix truncation on web-01"
    assert ev.severity is Severity.HIGH
    assert ev.attention is False
    assert ev.ticket == TicketInfo(number="4711", status="Open")
    assert ev.due == datetime(2024, 4, 13, tzinfo=UTC)
    assert ev.asset == Asset(
        name="web-01",
        hostname="web-01.corp.example",
        ipv4="10.20.0.15",
        ipv6=None,
        os="Ubuntu 22.04",
    )
    vuln = ev.vulnerability
    assert vuln.name == "OpenSSH < 9.6 Terrapin prefix truncation"
    assert vuln.cve == "CVE-2023-48795"
    assert vuln.cvss == 5.9
    assert vuln.summary == "The SSH transport protocol allows a MITM to truncate the handshake."
    assert vuln.solution == "Upgrade OpenSSH to 9.6 or later."
    assert ev.link == "https://sc.holmsecurity.com/tickets/4711"


def test_sample_ticket_closed_title_case() -> None:
    ev = _parse(_sample("ticket_closed_titlecase.json"))
    assert ev.kind is Kind.TICKET
    assert ev.title == "Ticket #4711 closed: OpenSSH < 9.6 Terrapin prefix truncation on web-01"
    assert ev.severity is Severity.HIGH
    assert ev.ticket == TicketInfo(number="4711", status="Closed")
    assert ev.ticket.is_closed
    assert ev.due == datetime(2024, 4, 13, tzinfo=UTC)
    assert ev.asset == Asset(
        name="web-01", hostname="web-01.corp.example", ipv4="10.20.0.15", os="Ubuntu 22.04"
    )
    assert ev.vulnerability.cve == "CVE-2023-48795"
    assert ev.vulnerability.cvss == 5.9
    # No ticket URL in this sample: the vulnerability's URL is the next best link.
    assert ev.link == "https://sc.holmsecurity.com/vulnerabilities/HID-2-1-5337040"


def test_sample_custom_placeholders() -> None:
    payload = _sample("custom_placeholders.json")
    ev = _parse(payload)
    assert ev.kind is Kind.CUSTOM
    assert ev.title == "New ticket 4712: Apache HTTP Server 2.4.x RCE on web-02"
    assert ev.severity is Severity.CRITICAL
    assert ev.attention is False
    assert ev.link == "https://sc.holmsecurity.com/tickets/4712"
    assert ev.counts is None


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_payload_is_the_decoded_object_itself(name: str) -> None:
    payload = _sample(name)
    before = json.dumps(payload, sort_keys=True)
    ev = parse_event(payload)
    assert ev.payload is payload
    assert json.dumps(payload, sort_keys=True) == before


# --------------------------------------------------------------------------------------------
# decode_body


def test_decode_body_returns_the_object() -> None:
    assert decode_body(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}


def test_decode_body_tolerates_a_utf8_bom() -> None:
    assert decode_body(b'\xef\xbb\xbf{"title": "x"}') == {"title": "x"}


@pytest.mark.parametrize("body", [b"", b"   ", b"\r\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_empty_body_is_rejected_as_empty(body: bytes) -> None:
    with pytest.raises(PayloadError, match=r"^body is empty$"):
        decode_body(body)


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe{}", b'{"a": "\xc3"}', b'{"a": "\xed\xa0\x80"}', b'{"a": "\xc0\xaf"}'],
    ids=["utf16-bom", "truncated", "encoded-surrogate", "overlong"],
)
def test_invalid_utf8_is_rejected(body: bytes) -> None:
    with pytest.raises(PayloadError, match=r"^body is not valid UTF-8$"):
        decode_body(body)


def test_invalid_json_error_says_line_and_column() -> None:
    with pytest.raises(PayloadError) as info:
        decode_body(b'{\n  "a": 1,\n  "b": }')
    assert str(info.value).startswith("body is not valid JSON: ")
    assert "line 3, column 8" in str(info.value)


@pytest.mark.parametrize("body", [b"{", b'{"a": 1}{', b"{'a': 1}", b"<html></html>", b"a=1&b=2"])
def test_malformed_json_is_rejected(body: bytes) -> None:
    with pytest.raises(PayloadError, match=r"^body is not valid JSON: .* at line 1, column"):
        decode_body(body)


def test_error_messages_never_echo_the_body() -> None:
    secret = b"hunter2-very-secret-token"
    bodies = [
        b'{"password": "' + secret + b'", ',
        b'["' + secret + b'"]',
        b'{"' + secret + b'": NaN}',
        b'"' + secret + b'"',
        b'{"' + secret + b'": "\xff"}',
    ]
    for body in bodies:
        with pytest.raises(PayloadError) as info:
            decode_body(body)
        assert secret.decode() not in str(info.value)


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (b"[1, 2]", "array"),
        (b"[]", "array"),
        (b'"text"', "string"),
        (b"42", "number"),
        (b"-1.5e3", "number"),
        (b"null", "null"),
        (b"true", "boolean"),
        (b"false", "boolean"),
    ],
)
def test_json_that_is_not_an_object_is_rejected_naming_its_type(body: bytes, name: str) -> None:
    with pytest.raises(PayloadError, match=f"^expected a JSON object, got {name}$"):
        decode_body(body)


@pytest.mark.parametrize(
    "body",
    [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": [-Infinity]}', b"NaN"],
)
def test_nan_and_infinity_constants_are_rejected(body: bytes) -> None:
    with pytest.raises(PayloadError, match=r"^JSON contains .*(NaN|Infinity), which is not valid"):
        decode_body(body)


def test_overlong_integer_is_rejected_not_crashed_on() -> None:
    with pytest.raises(PayloadError, match="number too long"):
        decode_body(b'{"n": ' + b"9" * 10_000 + b"}")


def _nested_objects(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


def _nested_arrays(depth: int) -> bytes:
    return b'{"a":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize("make", [_nested_objects, _nested_arrays])
def test_nesting_of_exactly_max_depth_is_accepted(make: Any) -> None:
    assert isinstance(decode_body(make(MAX_DEPTH)), dict)


@pytest.mark.parametrize("make", [_nested_objects, _nested_arrays])
def test_nesting_one_deeper_than_max_depth_is_rejected(make: Any) -> None:
    with pytest.raises(PayloadError, match="nested too deeply"):
        decode_body(make(MAX_DEPTH + 1))


def test_max_depth_can_be_lowered_per_call() -> None:
    decode_body(_nested_objects(3), max_depth=3)
    with pytest.raises(PayloadError, match=r"limit: 2 levels"):
        decode_body(_nested_objects(3), max_depth=2)


@pytest.mark.parametrize(
    "body",
    [b"[" * (1 << 20), b'{"a":' * 200_000, b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}"],
    ids=["1MiB-of-brackets", "200k-open-objects", "5000-deep-closed"],
)
def test_hostile_nesting_is_a_payload_error_not_a_recursion_error(body: bytes) -> None:
    with pytest.raises(PayloadError, match="nested too deeply"):
        decode_body(body)


# --------------------------------------------------------------------------------------------
# Kinds and key normalisation


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("finished_scan", Kind.FINISHED_SCAN),
        ("Finished Scan", Kind.FINISHED_SCAN),
        ("finishedScan", Kind.FINISHED_SCAN),
        ("FinishedScan", Kind.FINISHED_SCAN),
        ("FINISHED_SCAN", Kind.FINISHED_SCAN),
        ("finished-scan", Kind.FINISHED_SCAN),
        (" finished_scan ", Kind.FINISHED_SCAN),
        ("scheduled_scan", Kind.SCHEDULED_SCAN),
        ("Scheduled Scan", Kind.SCHEDULED_SCAN),
        ("scheduledScan", Kind.SCHEDULED_SCAN),
        ("ticket", Kind.TICKET),
        ("Ticket", Kind.TICKET),
        ("TICKET", Kind.TICKET),
        ("tickets", Kind.CUSTOM),
        ("scan", Kind.CUSTOM),
    ],
)
def test_type_key_is_recognised_in_any_spelling(key: str, kind: Kind) -> None:
    assert _parse({key: {"name": "x"}}).kind is kind


@pytest.mark.parametrize("value", ["x", 1, None, True, [], [{"name": "x"}]])
@pytest.mark.parametrize("key", ["finished_scan", "scheduled_scan", "ticket"])
def test_type_key_whose_value_is_not_an_object_makes_a_custom_event(key: str, value: Any) -> None:
    ev = _parse({key: value, "title": "From my template"})
    assert ev.kind is Kind.CUSTOM
    assert ev.title == "From my template"


def test_empty_object_is_a_custom_event_without_title() -> None:
    ev = _parse({})
    assert ev.kind is Kind.CUSTOM
    assert ev.title == "Custom event (no title)"
    assert ev.severity is Severity.INFO
    assert ev.link is None


def test_unknown_shape_is_still_an_event() -> None:
    ev = _parse({"foo": [1, 2, {"bar": False}], "baz": None})
    assert ev.kind is Kind.CUSTOM
    assert ev.title == "Custom event (no title)"


@pytest.mark.parametrize(
    "ticket",
    [
        {"number": "1", "asset": {"ipv4": "10.0.0.1"}},
        {"number": "1", "asset": {"IPv4": "10.0.0.1"}},
        {"number": "1", "Asset": {"IPv4": "10.0.0.1"}},
        {"number": "1", "asset": {"ipV4": "10.0.0.1"}},
        {"number": "1", "asset": {"ip-address": "10.0.0.1"}},
        {"number": "1", "asset": {"IP Address": "10.0.0.1"}},
        {"number": "1", "asset": {"ipAddress": "10.0.0.1"}},
        {"number": "1", "assetIpv4": "10.0.0.1"},
        {"number": "1", "asset_ipv4": "10.0.0.1"},
        {"number": "1", "Asset IPv4": "10.0.0.1"},
        {"number": "1", "ipv4": "10.0.0.1"},
    ],
)
def test_asset_ip_is_found_under_any_key_spelling(ticket: dict[str, Any]) -> None:
    assert _parse({"ticket": ticket}).asset.ipv4 == "10.0.0.1"


@pytest.mark.parametrize("key", ["cve_id", "cveId", "CVE ID", "CVE-ID", "cve", "CVE", "cves"])
def test_cve_is_found_under_any_alias(key: str) -> None:
    assert _ticket(vulnerability={key: "CVE-2024-1"}).vulnerability.cve == "CVE-2024-1"


@pytest.mark.parametrize("key", ["number", "ticket_number", "Ticket Number", "ticketNumber", "id"])
def test_ticket_number_is_found_under_any_alias(key: str) -> None:
    assert _ticket(**{key: "4711"}).ticket.number == "4711"


def test_first_non_null_spelling_of_a_key_wins() -> None:
    ev = _ticket(asset={"name": None, "Name": "web-01"})
    assert ev.asset.name == "web-01"


# --------------------------------------------------------------------------------------------
# Tickets


def test_flat_ticket_with_prefixed_fields() -> None:
    ev = _ticket(
        ticket_number="12",
        status="Open",
        asset_name="db-1",
        asset_hostname="db-1.corp",
        asset_ipv4="10.0.0.5",
        asset_ipv6="fd00::5",
        asset_os="Debian 12",
        vulnerability_name="Weak TLS ciphers",
        vulnerability_cve_id="CVE-2016-2183",
        vulnerability_cvss3="7.5",
        vulnerability_summary="Sweet32.",
        vulnerability_solution="Disable 3DES.",
        url="https://sc.holmsecurity.com/tickets/12",
    )
    assert ev.title == "Ticket #12 opened: Weak TLS ciphers on db-1"
    assert ev.asset == Asset(
        name="db-1", hostname="db-1.corp", ipv4="10.0.0.5", ipv6="fd00::5", os="Debian 12"
    )
    assert ev.vulnerability.name == "Weak TLS ciphers"
    assert ev.vulnerability.cve == "CVE-2016-2183"
    assert ev.vulnerability.cvss == 7.5
    assert ev.vulnerability.summary == "Sweet32."
    assert ev.vulnerability.solution == "Disable 3DES."
    assert ev.severity is Severity.HIGH  # from CVSS, no severity given
    assert ev.link == "https://sc.holmsecurity.com/tickets/12"


def test_camel_case_ticket() -> None:
    ev = _ticket(
        ticketNumber=99,
        ticketStatus="Closed",
        dueDate="2024-05-01T00:00:00Z",
        asset={"assetName": "fw-1", "hostName": "fw-1.corp", "ipV4": "10.1.1.1"},
        vulnerability={"vulnName": "ignored alias", "name": "SNMP public", "cvssV3": 5.3},
    )
    assert ev.title == "Ticket #99 closed: SNMP public on fw-1"
    assert ev.asset.hostname == "fw-1.corp"
    assert ev.asset.ipv4 == "10.1.1.1"
    assert ev.vulnerability.cvss == 5.3
    assert ev.due == datetime(2024, 5, 1, tzinfo=UTC)


def test_title_case_ticket_with_spaces_in_keys() -> None:
    ev = _parse(
        {
            "Ticket": {
                "Ticket Number": "7",
                "Status": "Open",
                "Asset": {"Name": "mail", "Operating System": "Windows"},
                "Vulnerability": {"Name": "SMBv1", "CVE ID": "CVE-2017-0144", "CVSS 3": "8.1"},
            }
        }
    )
    assert ev.title == "Ticket #7 opened: SMBv1 on mail"
    assert ev.asset.os == "Windows"
    assert ev.vulnerability.cve == "CVE-2017-0144"
    assert ev.vulnerability.cvss == 8.1


def test_asset_and_vulnerability_next_to_the_ticket_at_top_level() -> None:
    ev = _parse(
        {
            "ticket": {"number": 3, "status": "open"},
            "asset": {"name": "web-03", "ipv4": "10.0.0.3"},
            "vulnerability": {"name": "XSS", "severity": "medium", "url": "https://sc/v/1"},
        }
    )
    assert ev.title == "Ticket #3 opened: XSS on web-03"
    assert ev.asset.ipv4 == "10.0.0.3"
    assert ev.severity is Severity.MEDIUM
    assert ev.link == "https://sc/v/1"


def test_asset_given_as_a_bare_string_is_its_name() -> None:
    assert _ticket(asset="web-09", status="open").title == "Ticket opened on web-09"


def test_vulnerability_given_as_a_bare_string_is_its_name() -> None:
    assert _ticket(vulnerability="Open redirect").vulnerability.name == "Open redirect"


def test_cve_list_is_joined() -> None:
    ev = _ticket(vulnerability={"cves": ["CVE-1", " ", 3, "CVE-2"]})
    assert ev.vulnerability.cve == "CVE-1, CVE-2"


def test_integer_ticket_number_becomes_text() -> None:
    assert _ticket(number=4711).ticket.number == "4711"
    assert _ticket(number=4711.0).ticket.number == "4711"


@pytest.mark.parametrize(
    ("fields", "title"),
    [
        ({"number": 4711, "status": "Open"}, "Ticket #4711 opened"),
        ({"number": 4711, "status": "closed"}, "Ticket #4711 closed"),
        ({"number": 4711, "status": "Resolved"}, "Ticket #4711 closed"),
        ({"number": 4711, "status": "new"}, "Ticket #4711 opened"),
        ({"number": 4711, "status": "Reopened"}, "Ticket #4711 reopened"),
        ({"number": 12, "status": "In progress"}, "Ticket #12 (In progress)"),
        (
            {"number": 12, "status": "In progress", "asset_name": "db"},
            "Ticket #12 (In progress) on db",
        ),
        ({"number": "#12"}, "Ticket #12"),
        ({"status": "open", "asset_name": "web-01"}, "Ticket opened on web-01"),
        ({"status": "open", "vulnerability_name": "XSS"}, "Ticket opened: XSS"),
        ({"number": 5, "vulnerability_name": "XSS", "asset_name": "w"}, "Ticket #5: XSS on w"),
        ({"status": "open", "asset": {"hostname": "h.corp"}}, "Ticket opened on h.corp"),
        ({"status": "open", "asset": {"ipv4": "10.0.0.1"}}, "Ticket opened on 10.0.0.1"),
        ({}, "Ticket (no details)"),
        ({"number": None, "status": None}, "Ticket (no details)"),
    ],
)
def test_ticket_titles_drop_missing_pieces_gracefully(fields: dict[str, Any], title: str) -> None:
    assert _ticket(**fields).title == title


def test_ticket_without_status_gets_no_guessed_verb() -> None:
    assert _ticket(number=1, asset_name="a").title == "Ticket #1 on a"


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("critical", Severity.CRITICAL),
        ("High", Severity.HIGH),
        ("MEDIUM", Severity.MEDIUM),
        (" low ", Severity.LOW),
        ("info", Severity.INFO),
        ("informational", Severity.INFO),
        ("none", Severity.INFO),
        ("moderate", Severity.MEDIUM),
        (0, Severity.INFO),
        (1, Severity.LOW),
        (2, Severity.MEDIUM),
        (3, Severity.HIGH),
        (4, Severity.CRITICAL),
        ("4", Severity.CRITICAL),
        (" 2 ", Severity.MEDIUM),
        (3.0, Severity.HIGH),
    ],
)
def test_ticket_severity_words_and_integers(value: Any, severity: Severity) -> None:
    assert _ticket(severity=value).severity is severity


@pytest.mark.parametrize("value", [5, -1, "5", "urgent", True, [], {}, None, 2.5, "x" * 10_000])
def test_unreadable_ticket_severity_falls_back_to_the_vulnerability(value: Any) -> None:
    ev = _ticket(severity=value, vulnerability={"severity": "low", "cvss3": 9.9})
    assert ev.severity is Severity.LOW


def test_info_ticket_severity_is_not_overridden_by_cvss() -> None:
    assert _ticket(severity="info", vulnerability={"cvss3": 9.8}).severity is Severity.INFO
    assert _ticket(severity=0, vulnerability={"cvss3": 9.8}).severity is Severity.INFO


@pytest.mark.parametrize(
    ("cvss", "severity"),
    [
        (10, Severity.CRITICAL),
        (9.0, Severity.CRITICAL),
        (8.9, Severity.HIGH),
        (7.0, Severity.HIGH),
        (6.9, Severity.MEDIUM),
        (4.0, Severity.MEDIUM),
        (3.9, Severity.LOW),
        (0.1, Severity.LOW),
        (0, Severity.INFO),
        ("5.9", Severity.MEDIUM),
        ("5,9", Severity.MEDIUM),
        ("9.8 (CVSS:3.1/AV:N/AC:L)", Severity.CRITICAL),
        ({"baseScore": 7.2}, Severity.HIGH),
    ],
)
def test_severity_falls_back_to_cvss_bands(cvss: Any, severity: Severity) -> None:
    assert _ticket(vulnerability={"cvss3": cvss}).severity is severity


def test_cvss3_is_preferred_over_cvss2() -> None:
    ev = _ticket(vulnerability={"cvss2": 4.3, "cvss3": 5.9})
    assert ev.vulnerability.cvss == 5.9


def test_cvss2_is_used_when_cvss3_is_unreadable() -> None:
    ev = _ticket(vulnerability={"cvss3": "n/a", "cvss2": "4.3"})
    assert ev.vulnerability.cvss == 4.3
    assert ev.severity is Severity.MEDIUM


def test_cvss_of_zero_is_kept_not_treated_as_missing() -> None:
    ev = _ticket(vulnerability={"cvss3": 0, "cvss2": 7.5})
    assert ev.vulnerability.cvss == 0.0
    assert ev.severity is Severity.INFO


@pytest.mark.parametrize("cvss", [11, -1, "high", True, [], "nan", math.nan, math.inf])
def test_impossible_cvss_is_ignored(cvss: Any) -> None:
    ev = _ticket(vulnerability={"cvss3": cvss})
    assert ev.vulnerability.cvss is None
    assert ev.severity is Severity.INFO


def test_ticket_without_any_severity_is_info() -> None:
    assert _ticket(number=1).severity is Severity.INFO


def test_ticket_link_prefers_ticket_url_then_vulnerability_url_then_any_url() -> None:
    both = _ticket(url="https://sc/t/1", vulnerability={"url": "https://sc/v/1"})
    assert both.link == "https://sc/t/1"
    vuln_only = _ticket(vulnerability={"url": "https://sc/v/1"}, note="see https://other/x")
    assert vuln_only.link == "https://sc/v/1"
    anywhere = _ticket(number=1, note="see https://other/x.")
    assert anywhere.link == "https://other/x"


def test_ticket_link_with_a_dangerous_scheme_falls_back_to_the_next_candidate() -> None:
    ev = _ticket(url="javascript:alert(1)", vulnerability={"url": "https://sc/v/2"})
    assert ev.link == "https://sc/v/2"


def test_ticket_due_date_is_read() -> None:
    assert _ticket(due_date="2024-04-13").due == datetime(2024, 4, 13, tzinfo=UTC)
    assert _ticket(due_date="soon").due is None


def test_placeholders_that_were_not_substituted_are_kept_as_text() -> None:
    ev = _ticket(
        number="{ticket.number}",
        status="{ticket.status}",
        asset={"name": "{asset.name}", "ipv4": "{asset.ipv4}"},
        due_date="{ticket.due_date}",
        url="{ticket.url}",
    )
    assert ev.title == "Ticket #{ticket.number} ({ticket.status}) on {asset.name}"
    assert ev.asset.ipv4 == "{asset.ipv4}"
    assert ev.due is None
    assert ev.link is None


# --------------------------------------------------------------------------------------------
# Finished scans


@pytest.mark.parametrize("status", ["Completed", "completed", " COMPLETED ", "Completed\n"])
def test_completed_scan_needs_no_attention(status: str) -> None:
    ev = _scan(name="Daily scan", status=status, critical_cnt=3)
    assert ev.attention is False
    assert ev.title == "Daily scan finished"
    assert ev.scan_status == status.strip()


@pytest.mark.parametrize(
    ("status", "title"),
    [
        ("Stopped", "Scan 'DMZ web apps' stopped"),
        ("FAILED", "Scan 'DMZ web apps' failed"),
        ("Aborted", "Scan 'DMZ web apps' aborted"),
        ("Timed out", "Scan 'DMZ web apps' timed out"),
        ("Partially completed", "Scan 'DMZ web apps' partially completed"),
        ("Error", "Scan 'DMZ web apps' ended (error)"),
        ("Running", "Scan 'DMZ web apps' ended (running)"),
        ("complete", "Scan 'DMZ web apps' ended (complete)"),
    ],
)
def test_scan_not_completed_needs_attention_and_says_how_it_ended(status: str, title: str) -> None:
    ev = _scan(name="DMZ web apps", status=status)
    assert ev.attention is True
    assert ev.title == title


def test_scan_not_completed_with_errors_counts_them() -> None:
    ev = _scan(name="DMZ web apps", status="Stopped", errors="a\n\nb")
    assert ev.title == "Scan 'DMZ web apps' stopped with 2 errors"


def test_completed_scan_with_errors_needs_attention() -> None:
    ev = _scan(name="Daily scan", status="Completed", errors="Host x unreachable")
    assert ev.attention is True
    assert ev.title == "Daily scan finished with 1 error"


@pytest.mark.parametrize("status", [None, "", "   ", [], {}, True])
def test_scan_without_status_needs_no_attention(status: Any) -> None:
    ev = _scan(name="Daily scan", status=status)
    assert ev.attention is False
    assert ev.scan_status is None
    assert ev.title == "Daily scan finished"


def test_scan_without_status_but_with_errors_needs_attention() -> None:
    assert _scan(name="Daily scan", errors="boom").attention is True


def test_missing_scan_name_reads_naturally() -> None:
    assert _scan(status="Completed").title == "Scan finished"
    assert _scan(status="Failed").title == "Scan failed"
    assert _scan(errors=["x", "y"]).title == "Scan finished with 2 errors"


def test_scan_name_without_the_word_scan_is_quoted() -> None:
    assert _scan(name="Weekly", status="Completed").title == "Scan 'Weekly' finished"


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ("", ()),
        ("   ", ()),
        (" \n\n \n", ()),
        ("one", ("one",)),
        ("  one  ", ("one",)),
        ("one\n\ntwo", ("one", "two")),
        ("one\r\n\r\ntwo", ("one", "two")),
        ("one\r\rtwo", ("one", "two")),
        ("one\n\n\n\ntwo\n\n", ("one", "two")),
        ("one\n  \t\ntwo", ("one", "two")),
        ("line 1\nline 2\n\ntwo", ("line 1\nline 2", "two")),
        (["a", " b ", "", " ", 3, None, ["c"], "d"], ("a", "b", "d")),
        ([], ()),
        (None, ()),
        (7, ()),
        ({"msg": "x"}, ()),
        (True, ()),
    ],
)
def test_errors_are_split_on_blank_lines_and_trimmed(
    errors: Any, expected: tuple[str, ...]
) -> None:
    ev = _scan(name="s", status="Completed", errors=errors)
    assert ev.errors == expected
    assert ev.attention is bool(expected)


@pytest.mark.parametrize(
    ("value", "count"),
    [
        (5, 5),
        ("5", 5),
        (" 3 ", 3),
        ("+4", 4),
        ("7.0", 7),
        (2.0, 2),
        (0, 0),
        (None, 0),
        (-3, 0),
        ("-3", 0),
        (2.5, 0),
        ("2.5", 0),
        (True, 0),
        ("many", 0),
        ([1], 0),
        ({"n": 1}, 0),
        (math.nan, 0),
        (math.inf, 0),
        ("٣", 0),  # a non-ASCII digit is not a count
        ("9" * 100, 0),
    ],
)
def test_counts_accept_numbers_and_numeric_strings_and_zero_garbage(value: Any, count: int) -> None:
    assert _scan(high_cnt=value).counts == Counts(high=count)


def test_missing_counts_are_zero_and_severity_is_info() -> None:
    ev = _scan(name="s", status="Completed")
    assert ev.counts == Counts()
    assert ev.severity is Severity.INFO


@pytest.mark.parametrize(
    ("counts", "severity"),
    [
        ({"critical_cnt": 1, "high_cnt": 3}, Severity.CRITICAL),
        ({"critical_cnt": 0, "high_cnt": 3}, Severity.HIGH),
        ({"medium_cnt": "2", "low_cnt": 1}, Severity.MEDIUM),
        ({"low_cnt": 12}, Severity.LOW),
        ({"critical_cnt": 0, "high_cnt": 0, "medium_cnt": 0, "low_cnt": 0}, Severity.INFO),
    ],
)
def test_scan_severity_is_the_highest_non_zero_count(
    counts: dict[str, Any], severity: Severity
) -> None:
    assert _scan(status="Completed", **counts).severity is severity


def test_failed_scan_keeps_the_count_severity() -> None:
    assert _scan(status="Failed", low_cnt=1).severity is Severity.LOW


def test_count_aliases_and_nested_counts_are_read() -> None:
    assert _scan(criticalCount=2).counts == Counts(critical=2)
    assert _scan(counts={"High": "4", "low": 1}).counts == Counts(high=4, low=1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-13 12:02", datetime(2024, 3, 13, 12, 2, tzinfo=UTC)),
        ("2024-03-13 12:02:30", datetime(2024, 3, 13, 12, 2, 30, tzinfo=UTC)),
        ("2024-03-13T12:02:30", datetime(2024, 3, 13, 12, 2, 30, tzinfo=UTC)),
        ("2024-03-13T12:02:30Z", datetime(2024, 3, 13, 12, 2, 30, tzinfo=UTC)),
        ("2024-03-13T12:02:30z", datetime(2024, 3, 13, 12, 2, 30, tzinfo=UTC)),
        ("2024-03-13T12:02:30.250Z", datetime(2024, 3, 13, 12, 2, 30, 250_000, tzinfo=UTC)),
        ("2024-03-13T14:02:30+02:00", datetime(2024, 3, 13, 12, 2, 30, tzinfo=UTC)),
        ("2024-03-13T07:02:30-05:00", datetime(2024, 3, 13, 12, 2, 30, tzinfo=UTC)),
        ("2024-03-13 12:02 UTC", datetime(2024, 3, 13, 12, 2, tzinfo=UTC)),
        ("  2024-03-13 12:02  ", datetime(2024, 3, 13, 12, 2, tzinfo=UTC)),
        ("2024-04-13", datetime(2024, 4, 13, tzinfo=UTC)),
        (1710331350, datetime(2024, 3, 13, 12, 2, 30, tzinfo=UTC)),
        (1710331350.0, datetime(2024, 3, 13, 12, 2, 30, tzinfo=UTC)),
        (1710331350000, datetime(2024, 3, 13, 12, 2, 30, tzinfo=UTC)),
        ("1710331350", datetime(2024, 3, 13, 12, 2, 30, tzinfo=UTC)),
        (42, None),
        (True, None),
        ("yesterday", None),
        ("2024-13-45 99:99", None),
        ("0001-01-01T00:00:00+01:00", None),
        ("", None),
        (None, None),
        ([], None),
        ({}, None),
        ("2024-03-13" * 1000, None),
    ],
)
def test_timestamps_become_aware_utc_datetimes(value: Any, expected: datetime | None) -> None:
    ev = _scan(started=value)
    assert ev.started == expected
    if expected is not None:
        assert ev.started is not None
        assert ev.started.tzinfo is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("00:57", timedelta(minutes=57)),
        ("02:41:07", timedelta(hours=2, minutes=41, seconds=7)),
        ("2:05", timedelta(hours=2, minutes=5)),
        ("30:00", timedelta(hours=30)),
        (" 00:57 ", timedelta(minutes=57)),
        ("1 day, 02:00:00", timedelta(days=1, hours=2)),
        ("3 days, 0:00:01", timedelta(days=3, seconds=1)),
        ("00:00:01.5", timedelta(seconds=1, microseconds=500_000)),
        ("00:60", None),
        ("00:00:60", None),
        ("1:2:3:4", None),
        ("57 minutes", None),
        ("", None),
        (3420, None),
        (None, None),
        (["00:57"], None),
    ],
)
def test_durations_read_hh_mm_and_hh_mm_ss(value: Any, expected: timedelta | None) -> None:
    assert _scan(duration=value).duration == expected


def test_scan_link_with_a_dangerous_scheme_is_dropped_not_replaced_by_an_error_url() -> None:
    ev = _scan(status="Failed", errors="Target https://shop.example.com down", link="file:///x")
    assert ev.link is None


# --------------------------------------------------------------------------------------------
# Scheduled scans


def test_scheduled_scan_with_offset_is_shown_in_utc() -> None:
    ev = _parse({"scheduled_scan": {"name": "Nightly scan", "starts_at": "2024-03-15T23:00+01:00"}})
    assert ev.title == "Nightly scan scheduled for 2024-03-15 22:00 UTC"
    assert ev.starts_at == datetime(2024, 3, 15, 22, 0, tzinfo=UTC)


def test_scheduled_scan_without_a_time_just_says_scheduled() -> None:
    assert _parse({"scheduled_scan": {"name": "Weekly scan"}}).title == "Weekly scan scheduled"
    assert _parse({"scheduled_scan": {"starts_at": "later"}}).title == "Scan scheduled"


def test_scheduled_scan_is_info_and_never_needs_attention() -> None:
    ev = _parse({"scheduled_scan": {"name": "x", "status": "Failed", "critical_cnt": 9}})
    assert ev.severity is Severity.INFO
    assert ev.attention is False


# --------------------------------------------------------------------------------------------
# Custom payloads


def test_custom_title_prefers_the_better_key_at_the_same_depth() -> None:
    assert _parse({"text": "second", "title": "first"}).title == "first"
    assert _parse({"message": "m", "subject": "s"}).title == "s"


def test_custom_title_prefers_a_shallower_key() -> None:
    assert _parse({"name": "top", "details": {"title": "deep"}}).title == "top"


def test_custom_title_skips_blank_and_non_string_candidates() -> None:
    assert _parse({"title": "  ", "subject": 5, "text": "real"}).title == "real"


def test_slack_text_body() -> None:
    ev = _parse({"text": "New ticket on web-02 <https://sc.holmsecurity.com/t/1|open>"})
    assert ev.title == "New ticket on web-02 <https://sc.holmsecurity.com/t/1|open>"
    assert ev.link == "https://sc.holmsecurity.com/t/1"


def test_slack_attachment_title_and_fields_severity() -> None:
    ev = _parse(
        {
            "attachments": [
                {
                    "color": "#ff0000",
                    "title": "Ticket 4712 opened",
                    "title_link": "https://sc.holmsecurity.com/tickets/4712",
                    "fields": [{"title": "Priority", "value": "Critical", "short": True}],
                }
            ]
        }
    )
    assert ev.title == "Ticket 4712 opened"
    assert ev.link == "https://sc.holmsecurity.com/tickets/4712"
    assert ev.severity is Severity.CRITICAL


def test_slack_blocks_body() -> None:
    ev = _parse(
        {
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "Scan finished"}},
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": "See <https://x.example/y|here>"},
                },
            ]
        }
    )
    assert ev.title == "Scan finished"
    assert ev.link == "https://x.example/y"


def test_teams_message_card() -> None:
    ev = _parse(
        {
            "@type": "MessageCard",
            "themeColor": "FF0000",
            "sections": [
                {
                    "activityTitle": "Ticket 4712: Apache RCE on web-02",
                    "facts": [{"name": "Severity", "value": "High"}],
                }
            ],
            "potentialAction": [
                {"@type": "OpenUri", "targets": [{"os": "default", "uri": "https://sc/t/4712"}]}
            ],
        }
    )
    assert ev.title == "Ticket 4712: Apache RCE on web-02"
    assert ev.severity is Severity.HIGH
    assert ev.link == "https://sc/t/4712"


def test_teams_adaptive_card() -> None:
    ev = _parse(
        {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "type": "AdaptiveCard",
                        "body": [{"type": "TextBlock", "text": "Critical finding on db-1"}],
                    },
                }
            ],
        }
    )
    assert ev.title == "Critical finding on db-1"


@pytest.mark.parametrize(
    ("payload", "severity"),
    [
        ({"severity": "High"}, Severity.HIGH),
        ({"severity": 3}, Severity.HIGH),
        ({"severity": "4"}, Severity.CRITICAL),
        ({"priority": "low"}, Severity.LOW),
        ({"level": "CRITICAL"}, Severity.CRITICAL),
        ({"risk": "medium"}, Severity.MEDIUM),
        ({"alert": {"severity": "low"}}, Severity.LOW),
        ({"priority": "low", "severity": "high"}, Severity.HIGH),
        ({"priority": 1}, Severity.INFO),  # P1 is not "low": numbers count only under severity
        ({"level": 4}, Severity.INFO),
        ({"severity": "{ticket.severity}"}, Severity.INFO),
        ({"severity": "urgent"}, Severity.INFO),
        ({"severity": None}, Severity.INFO),
        ({"severity": ["high"]}, Severity.INFO),
    ],
)
def test_custom_severity_comes_from_severity_like_keys(
    payload: dict[str, Any], severity: Severity
) -> None:
    assert _parse(payload).severity is severity


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("see https://x.example/y.", "https://x.example/y"),
        ("see https://x.example/y, then", "https://x.example/y"),
        ("(https://x.example/y)", "https://x.example/y"),
        ("[https://x.example/y]", "https://x.example/y"),
        ("'https://x.example/y'", "https://x.example/y"),
        ('"https://x.example/y"', "https://x.example/y"),
        ("<https://x.example/y>", "https://x.example/y"),
        ("<https://x.example/y|here>", "https://x.example/y"),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)"),
        ("HTTPS://X.example/Path", "https://X.example/Path"),
        ("http://10.0.0.1:8080/a?b=c#d", "http://10.0.0.1:8080/a?b=c#d"),
        ("https:// no host", None),
        ("https://", None),
        ("ftp://x.example/y", None),
        ("javascript:alert('https')", None),
        ("no link at all", None),
    ],
)
def test_custom_link_is_the_first_http_url_inside_any_text(text: str, link: str | None) -> None:
    assert _parse({"note": text}).link == link


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "file:///etc/passwd",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "//evil.example/x",
    ],
)
def test_non_http_links_are_ignored_and_the_next_candidate_used(bad: str) -> None:
    ev = _parse({"link": bad, "more": {"url": "https://good.example/x"}})
    assert ev.link == "https://good.example/x"


def test_link_whitespace_is_stripped() -> None:
    assert _ticket(url="  https://sc/t/1 \n").link == "https://sc/t/1"
    assert _scan(link="\thttps://sc/s/1 ").link == "https://sc/s/1"


def test_link_longer_than_the_cap_is_dropped() -> None:
    long_url = "https://x.example/" + "a" * LINK_MAX
    assert _scan(link=long_url).link is None
    assert _ticket(url=long_url).link is None
    assert _parse({"text": f"go {long_url} now"}).link is None
    ok = "https://x.example/" + "a" * (LINK_MAX - len("https://x.example/"))
    assert _scan(link=ok).link == ok


def test_link_with_bidi_override_is_cut_at_the_control_character() -> None:
    assert _parse({"text": "https://x.example/\u202eexe.txt"}).link == "https://x.example/"


def test_first_url_is_searched_breadth_first() -> None:
    payload = {"deep": {"deeper": {"x": "https://deep.example/"}}, "top": "https://top.example/"}
    assert _parse(payload).link == "https://top.example/"


# --------------------------------------------------------------------------------------------
# Custom payloads shaped like chat cards (Teams, Adaptive Cards, Slack, Discord)

CARDS = HERE.parents[2] / "data" / "cards"
WEB_02 = Asset(hostname="web-02.corp.example", ipv4="10.20.0.16")
SC_TICKET = "https://sc.holmsecurity.com/tickets/4712"


def _card(name: str) -> dict[str, Any]:
    return decode_body((CARDS / name).read_bytes())


CARD_TABLE = [
    pytest.param(
        "teams_message_card.json",
        SC_TICKET,  # potentialAction OpenUri target; not @context, the image or HttpPOST
        "New ticket 4712: Apache HTTP Server 2.4.x RCE",
        Asset(name="web-02", hostname="web-02.corp.example", ipv4="10.20.0.16"),
        Severity.CRITICAL,
        id="teams-message-card",
    ),
    pytest.param(
        "teams_workflows_adaptive_card.json",
        SC_TICKET,  # Action.OpenUrl; not $schema or the Image element
        "Ticket 4712 opened",  # the heading TextBlock, not a button or fact label
        WEB_02,
        Severity.HIGH,  # the Severity fact outranks the CVSS fact
        id="adaptive-card-in-teams-workflows-message",
    ),
    pytest.param(
        "adaptive_card_select_action.json",
        "https://sc.holmsecurity.com/scans/view/88231",  # selectAction beats the text link
        "Weekly external scan finished",  # bold TextBlock in a Container, not a shallower one
        Asset(name="DMZ web servers"),
        Severity.MEDIUM,  # "**Medium**"
        id="adaptive-card-select-action",
    ),
    pytest.param(
        "slack_blocks.json",
        SC_TICKET,  # the button's url; not the advisory in the text or the accessory image
        "Ticket 4712 opened: Apache HTTP Server 2.4.x RCE on web-02",
        WEB_02,  # from "*Host:*\nweb-02.corp.example" and "*IP:*\n10.20.0.16"
        Severity.HIGH,  # "*Severity:*\n:red_circle: High"
        id="slack-blocks",
    ),
    pytest.param(
        "slack_attachments.json",
        SC_TICKET,  # title_link; not icon_url, author_icon, thumb_url or footer_icon
        "Ticket 4712: Apache HTTP Server 2.4.x RCE",
        Asset(name="web-02", ipv6="2001:db8::16"),
        Severity.CRITICAL,  # the Priority field
        id="slack-attachments",
    ),
    pytest.param(
        "discord_embeds.json",
        # The embed's url outranks even a Security Center host link (author.url) elsewhere.
        "https://jira.corp.example/browse/VULN-4712",
        "Ticket 4712 opened: Apache HTTP Server 2.4.x RCE",
        WEB_02,
        Severity.HIGH,  # the Risk field
        id="discord-embeds",
    ),
    pytest.param(
        "message_card_metadata_and_image_only.json",
        None,  # its only http URLs are @context and the activity image
        "Weekly scan finished",
        Asset(),
        Severity.HIGH,
        id="only-metadata-and-image-urls",
    ),
    pytest.param(
        "message_card_schema_and_security_center_text.json",
        SC_TICKET,  # after a schema URL, @id and a generic link in the same text
        "Ticket 4712 closed",
        Asset(hostname="web-02"),
        Severity.LOW,
        id="schema-url-and-security-center-link",
    ),
]


@pytest.mark.parametrize(("name", "link", "title", "asset", "severity"), CARD_TABLE)
def test_chat_cards(
    name: str, link: str | None, title: str, asset: Asset, severity: Severity
) -> None:
    ev = _parse(_card(name))
    assert ev.kind is Kind.CUSTOM
    assert ev.link == link
    assert ev.title == title
    assert ev.asset == asset
    assert ev.severity is severity


def test_every_card_file_is_in_the_table() -> None:
    assert {p.name for p in CARDS.glob("*.json")} == {p.values[0] for p in CARD_TABLE}


@pytest.mark.parametrize(
    "key",
    ["@context", "@id", "@type", "$schema", "@vocab"],
)
def test_json_ld_and_schema_keys_never_give_the_link(key: str) -> None:
    assert _parse({key: "https://sc.holmsecurity.com/x", "text": "no link"}).link is None


def test_schema_hosts_are_not_links_even_in_text() -> None:
    ev = _parse({"text": "see http://schema.org/Thing and https://schema.org/x"})
    assert ev.link is None
    ev = _parse({"text": "types: https://schema.org/Event, https://x.example/page"})
    assert ev.link == "https://x.example/page"


@pytest.mark.parametrize(
    "key",
    [
        "activityImage",
        "iconUrl",
        "icon_url",
        "thumb_url",
        "image_url",
        "image",
        "footer_icon",
        "author_icon",
        "avatar_url",
        "logo",
        "backgroundImage",
        "thumbnail",
    ],
)
def test_picture_keys_never_give_the_link(key: str) -> None:
    payload = {key: "https://sc.holmsecurity.com/x", "note": "https://other.example/page"}
    assert _parse(payload).link == "https://other.example/page"
    assert _parse({key: {"url": "https://sc.holmsecurity.com/x"}}).link is None


@pytest.mark.parametrize("ext", [".png", ".JPG", ".jpeg", ".gif", ".svg", ".webp", ".ico"])
def test_picture_urls_are_skipped_inside_text(ext: str) -> None:
    ev = _parse({"text": f"logo https://x.example/a/logo{ext}?v=2 then https://x.example/page"})
    assert ev.link == "https://x.example/page"
    assert _parse({"text": f"https://sc.holmsecurity.com/logo{ext}"}).link is None


def test_picture_elements_by_type_are_skipped() -> None:
    adaptive = {"body": [{"type": "Image", "url": "https://cdn.example/hero"}], "text": "x"}
    assert _parse(adaptive).link is None
    slack = {"blocks": [{"type": "image", "image_url": "https://cdn.example/i", "title": "t"}]}
    assert _parse(slack).link is None


def test_security_center_link_outranks_an_earlier_generic_one() -> None:
    ev = _parse({"text": "https://first.example/ then https://sc.holmsecurity.com/t/1"})
    assert ev.link == "https://sc.holmsecurity.com/t/1"
    deep = {"a": "https://first.example/", "b": {"c": {"d": "https://holmsecurity.com/t/2"}}}
    assert _parse(deep).link == "https://holmsecurity.com/t/2"


@pytest.mark.parametrize(
    "lookalike",
    [
        "https://holmsecurity.com.evil.example/x",
        "https://notholmsecurity.com/x",
        "https://evil.example/sc.holmsecurity.com/x",
        "https://sc.holmsecurity.com@evil.example/x",
    ],
)
def test_only_holmsecurity_com_hosts_rank_as_security_center(lookalike: str) -> None:
    assert _parse({"text": f"https://first.example/ {lookalike}"}).link == "https://first.example/"


def test_action_target_outranks_a_security_center_link() -> None:
    payload = {
        "text": "see https://sc.holmsecurity.com/t/1",
        "actions": [
            {"type": "Action.OpenUrl", "title": "Open", "url": "https://tracker.example/1"}
        ],
    }
    assert _parse(payload).link == "https://tracker.example/1"


@pytest.mark.parametrize(
    "actions",
    [
        {"potentialAction": [{"@type": "OpenUri", "targets": [{"uri": "https://t.example/1"}]}]},
        {"potentialAction": [{"@type": "ViewAction", "target": ["https://t.example/1"]}]},
        {"body": [{"type": "Container", "selectAction": {"url": "https://t.example/1"}}]},
        {
            "blocks": [
                {"type": "section", "accessory": {"type": "button", "url": "https://t.example/1"}}
            ]
        },
        {
            "blocks": [
                {"type": "actions", "elements": [{"type": "button", "url": "https://t.example/1"}]}
            ]
        },
        {"attachments": [{"actions": [{"type": "button", "url": "https://t.example/1"}]}]},
        {"attachments": [{"title_link": "https://t.example/1"}]},
        {"embeds": [{"title": "t", "url": "https://t.example/1"}]},
        {"components": [{"type": 1, "components": [{"type": 2, "url": "https://t.example/1"}]}]},
        {"buttons": [{"text": "Open", "onClick": {"openLink": {"url": "https://t.example/1"}}}]},
    ],
)
def test_every_kind_of_action_target_is_found(actions: dict[str, Any]) -> None:
    payload = {"text": "first https://sc.holmsecurity.com/generic", **actions}
    assert _parse(payload).link == "https://t.example/1"


@pytest.mark.parametrize(
    "action",
    [
        {"@type": "HttpPOST", "name": "Ack", "target": "https://api.example/ack"},
        {"type": "Action.Submit", "title": "Ack", "url": "https://api.example/ack"},
        {"type": "Action.Execute", "verb": "ack", "url": "https://api.example/ack"},
    ],
)
def test_actions_that_post_to_an_api_are_not_links(action: dict[str, Any]) -> None:
    assert _parse({"title": "t", "potentialAction": [action]}).link is None


def test_unusable_action_target_falls_back_to_the_next_candidate() -> None:
    payload = {
        "potentialAction": [
            {"@type": "OpenUri", "targets": [{"uri": "javascript:alert(1)"}]},
            {"@type": "OpenUri", "targets": [{"uri": "https://sc.holmsecurity.com/logo.png"}]},
        ],
        "text": "https://other.example/ and https://sc.holmsecurity.com/t/1",
    }
    assert _parse(payload).link == "https://sc.holmsecurity.com/t/1"


def test_an_embeds_own_url_is_its_target_not_its_authors() -> None:
    embed = {"author": {"name": "a", "url": "https://author.example/"}, "description": "d"}
    assert _parse({"embeds": [embed]}).link == "https://author.example/"
    embed["url"] = "https://t.example/1"
    assert _parse({"embeds": [embed]}).link == "https://t.example/1"


def test_button_labels_are_not_titles() -> None:
    payload = {
        "sections": [{"text": "Scan finished"}],
        "potentialAction": [
            {"@type": "OpenUri", "name": "Open in SC", "targets": [{"uri": "https://t.example/"}]}
        ],
    }
    assert _parse(payload).title == "Scan finished"


def test_fact_names_are_not_titles() -> None:
    payload = {
        "body": [
            {"type": "Container", "items": [{"type": "TextBlock", "text": "Heading"}]},
            {"type": "FactSet", "facts": [{"title": "Severity", "value": "High"}]},
        ]
    }
    assert _parse(payload).title == "Heading"
    assert _parse({"fields": [{"title": "Severity", "value": "High"}]}).title == _NO_TITLE


def test_name_value_objects_outside_facts_lists_keep_their_titles() -> None:
    assert _parse({"name": "x", "value": 3}).title == "x"
    assert _parse({"alert": {"name": "Disk full", "value": 95}}).title == "Disk full"


def test_adaptive_card_heading_is_found_in_reading_order() -> None:
    card = {
        "type": "AdaptiveCard",
        "body": [
            {"type": "TextBlock", "text": "Shallow detail"},
            {"type": "TextBlock", "text": "Bold line", "weight": "Bolder"},
            {
                "type": "ColumnSet",
                "columns": [{"items": [{"type": "TextBlock", "text": "Real", "style": "heading"}]}],
            },
        ],
    }
    assert _parse(card).title == "Real"
    del card["body"][2]
    assert _parse(card).title == "Bold line"
    del card["body"][1]
    assert _parse(card).title == "Shallow detail"
    assert _parse({"type": "AdaptiveCard", "title": "Own title", "body": []}).title == "Own title"


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("High", Severity.HIGH),
        ("**High**", Severity.HIGH),
        (":red_circle: High", Severity.HIGH),
        ("🔴 High", Severity.HIGH),
        ("High (CVSS 8.1)", Severity.HIGH),
        ("critical", Severity.CRITICAL),
        (3, Severity.HIGH),
        ("4", Severity.CRITICAL),
        ("{ticket.severity}", Severity.INFO),
        ("urgent", Severity.INFO),
        ("", Severity.INFO),
        (None, Severity.INFO),
    ],
)
def test_severity_fact_values(value: Any, severity: Severity) -> None:
    facts = [{"name": "Severity", "value": value}]
    assert _parse({"sections": [{"facts": facts}]}).severity is severity


@pytest.mark.parametrize(
    ("facts", "severity"),
    [
        ([{"name": "Severity:", "value": "Low"}], Severity.LOW),
        ([{"name": "*Risk*", "value": "Medium"}], Severity.MEDIUM),
        ([{"title": "PRIORITY", "value": "High"}], Severity.HIGH),
        ([{"title": "Priority", "value": "1"}], Severity.INFO),  # P1 is not a severity
        ([{"name": "CVSS", "value": "9.8"}], Severity.CRITICAL),
        ([{"name": "CVSS score", "value": "7.5 (AV:N/AC:L)"}], Severity.HIGH),
        ([{"name": "CVSS", "value": "9.8"}, {"name": "Severity", "value": "Low"}], Severity.LOW),
        (
            [{"name": "Priority", "value": "Low"}, {"name": "Severity", "value": "High"}],
            Severity.HIGH,
        ),
    ],
)
def test_severity_fact_labels(facts: list[dict[str, Any]], severity: Severity) -> None:
    assert _parse({"title": "t", "facts": facts}).severity is severity


@pytest.mark.parametrize(
    "text",
    [
        "*Severity:* High",
        "*Severity*: High",
        "Severity:\nHigh",
        "_Severity_: *High*",
        "*Severity:*\n:fire: High",
    ],
)
def test_slack_field_texts(text: str) -> None:
    blocks = [{"type": "section", "fields": [{"type": "mrkdwn", "text": text}]}]
    assert _parse({"blocks": blocks}).severity is Severity.HIGH
    assert _parse({"fields": [text]}).severity is Severity.HIGH


@pytest.mark.parametrize(
    ("label", "value", "asset"),
    [
        ("Asset", "web-02", Asset(name="web-02")),
        ("Asset name", "`web-02`", Asset(name="web-02")),
        ("Server", "**web-02**", Asset(name="web-02")),
        ("Host", "web-02.corp", Asset(hostname="web-02.corp")),
        ("Hostname:", "web-02.corp", Asset(hostname="web-02.corp")),
        ("Host name", "web-02.corp", Asset(hostname="web-02.corp")),
        ("FQDN", "web-02.corp", Asset(hostname="web-02.corp")),
        ("IP", "10.0.0.5", Asset(ipv4="10.0.0.5")),
        ("IP address", "10.0.0.5", Asset(ipv4="10.0.0.5")),
        ("IPv4", "10.0.0.5", Asset(ipv4="10.0.0.5")),
        ("IP", "2001:db8::5", Asset(ipv6="2001:db8::5")),
        ("IPv6", "2001:db8::5", Asset(ipv6="2001:db8::5")),
        ("IP", 5, Asset(ipv4="5")),
        ("Host", "", Asset()),
        ("Host", ["web-02"], Asset()),
        ("Owner", "alice", Asset()),
    ],
)
def test_asset_facts(label: str, value: Any, asset: Asset) -> None:
    assert _parse({"title": "t", "facts": [{"name": label, "value": value}]}).asset == asset


def test_asset_from_keys_of_a_custom_payload() -> None:
    ev = _parse({"subject": "s", "hostname": "web-01", "ip": "10.0.0.1", "asset": "Web 01"})
    assert ev.asset == Asset(name="Web 01", hostname="web-01", ipv4="10.0.0.1")
    # "host" is too vague as a key of an unknown payload (a sender's server?); as a label not.
    assert _parse({"title": "t", "host": "api.example"}).asset == Asset()


def test_asset_comes_from_the_shallowest_level_that_names_one() -> None:
    payload = {
        "hostname": "top",
        "sections": [
            {"facts": [{"name": "Hostname", "value": "deep"}, {"name": "IP", "value": "1.2.3.4"}]}
        ],
    }
    assert _parse(payload).asset == Asset(hostname="top")


def test_sample_custom_placeholders_names_its_asset() -> None:
    ev = _parse(_sample("custom_placeholders.json"))
    assert ev.asset == Asset(name="web-02.corp.example (10.20.0.16)")


def test_ticket_fallback_link_skips_pictures_and_metadata() -> None:
    ev = _ticket(number=1, note="badge https://x.example/b.png, ticket https://other.example/x")
    assert ev.link == "https://other.example/x"
    assert _ticket(number=1, **{"@context": "https://schema.org"}).link is None


def test_many_urls_do_not_hang_the_link_search() -> None:
    # Fewer items than the walk looks at, more URLs than it weighs: it stops weighing them.
    payload: dict[str, Any] = {"links": [f"https://x{i}.example/" for i in range(5000)]}
    payload["z"] = {"actions": [{"type": "Action.OpenUrl", "url": "https://late.example/"}]}
    assert _parse(payload).link == "https://x0.example/"
    assert (
        _parse({"links": payload["links"][:10], "z": payload["z"]}).link == "https://late.example/"
    )


def test_many_adaptive_cards_sharing_a_huge_body_do_not_hang() -> None:
    body: list[Any] = [{"type": "Container", "items": [{"type": "Column"}] * 1000}] * 1000
    payload = {"attachments": [{"content": {"type": "AdaptiveCard", "body": body}}] * 1000}
    assert _parse(payload).title == _NO_TITLE


def test_cyclic_card_does_not_loop_forever() -> None:
    card: dict[str, Any] = {"type": "AdaptiveCard", "body": []}
    card["body"].append(card)
    card["body"].append({"type": "TextBlock", "text": "after the cycle"})
    card["actions"] = [{"type": "Action.OpenUrl", "url": "https://t.example/"}]
    ev = _parse(card)
    assert ev.title == "after the cycle"
    assert ev.link == "https://t.example/"


# --------------------------------------------------------------------------------------------
# Hostile and odd input


@pytest.mark.parametrize(
    "markup",
    [
        "<b>bold</b> & friends",
        "<img src=x onerror=alert(1)>",
        '<a href="https://evil.example/">click</a>',
        "&lt;already escaped&gt; &amp;",
        "<script>alert('x')</script>",
    ],
)
def test_markup_is_kept_verbatim_escaping_is_the_uis_job(markup: str) -> None:
    assert _parse({"title": markup}).title == markup
    ev = _ticket(status="open", asset={"name": markup, "os": markup})
    assert ev.asset.name == markup
    assert ev.asset.os == markup
    assert ev.title == f"Ticket opened on {markup}"


def test_bidi_controls_are_removed_from_titles_only() -> None:
    name = "invoice\u202egpj.exe"
    ev = _ticket(status="open", asset={"name": name})
    assert ev.title == "Ticket opened on invoicegpj.exe"
    assert ev.asset.name == name


def test_right_to_left_text_and_emoji_survive() -> None:
    text = "מחשב-01 خادم 🔥 サーバー"
    assert _parse({"title": text}).title == text
    assert _ticket(asset={"name": text}).asset.name == text


def test_titles_are_one_line_without_control_characters() -> None:
    ev = _parse({"title": "  first\r\nsecond\tthird\x00\x07\x1b[31m  \u2028 fourth\x85 "})
    assert ev.title == "first second third[31m fourth"


def test_lone_surrogates_in_titles_become_replacement_characters() -> None:
    ev = _parse(decode_body(b'{"title": "a\\ud800b"}'))
    assert ev.title == "a\ufffdb"
    ev.title.encode("utf-8")


def test_long_titles_are_capped_with_an_ellipsis() -> None:
    ev = _parse({"title": "word " * 100})
    assert len(ev.title) == TITLE_MAX
    assert ev.title.endswith("…")


def test_long_names_in_composed_titles_leave_room_for_the_rest() -> None:
    ev = _scan(name="N" * 500, status="Failed", errors="e")
    assert len(ev.title) <= TITLE_MAX
    assert ev.title.endswith("failed with 1 error")


def test_one_mib_strings_everywhere_are_handled_quickly() -> None:
    big = "A" * (1 << 20)
    payloads: list[dict[str, Any]] = [
        {"title": big, "text": "https://" + big},
        {"finished_scan": {"name": big, "status": big, "errors": big, "link": big, "started": big}},
        {"ticket": {"number": big, "status": big, "asset": {"name": big}, "url": big}},
        {"ticket": {"vulnerability": {"cvss3": big, "cve_id": big}}, "x": "\n\n" * (1 << 19)},
        {"text": "h" * (1 << 20)},
        {"text": "http://" * (1 << 17)},
        {"text": ")" * (1 << 20)},
        {"finished_scan": {"errors": "a\n\n" * (1 << 18)}},
    ]
    start = time.perf_counter()
    for payload in payloads:
        ev = _parse(payload)
        assert len(ev.title) <= TITLE_MAX
    assert time.perf_counter() - start < 5.0


def test_huge_url_in_a_string_is_not_a_link() -> None:
    assert _parse({"text": "https://x.example/" + "a" * (1 << 20)}).link is None


def test_many_keys_do_not_hang_the_parser() -> None:
    payload: dict[str, Any] = {f"key{i}": i for i in range(200_000)}
    payload["title"] = "late title"
    start = time.perf_counter()
    _parse(payload)
    assert time.perf_counter() - start < 5.0


def test_deeply_nested_dict_built_in_python_does_not_recurse() -> None:
    payload: dict[str, Any] = {}
    node = payload
    for _ in range(100_000):
        child: dict[str, Any] = {}
        node["a"] = child
        node = child
    node["title"] = "bottom"
    assert _parse(payload).kind is Kind.CUSTOM


def test_cyclic_dict_does_not_loop_forever() -> None:
    payload: dict[str, Any] = {"title": "cycle"}
    payload["self"] = payload
    payload["list"] = [payload]
    ticket: dict[str, Any] = {"number": 1}
    ticket["asset"] = ticket
    assert _parse(payload).title == "cycle"
    assert _parse({"ticket": ticket}).ticket.number == "1"


def test_non_string_keys_are_ignored() -> None:
    ev = _parse({1: "x", None: "y", ("t",): "z", "title": "ok"})  # type: ignore[dict-item]
    assert ev.title == "ok"


WRONG_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    math.nan,
    math.inf,
    10**30,
    "",
    " ",
    "x" * 5000,
    "\u202e\x00",
    [],
    ["a", 1, None],
    {},
    {"a": {"b": []}},
]


def _leaf_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        paths = [prefix] if prefix else []
        for key, value in node.items():
            paths += _leaf_paths(value, (*prefix, key))
        return paths
    if isinstance(node, list):
        paths = [prefix]
        for i, value in enumerate(node):
            paths += _leaf_paths(value, (*prefix, i))
        return paths
    return [prefix]


def _replaced(payload: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(payload))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_wrong_types_at_every_field_of_every_sample_never_crash(name: str) -> None:
    sample = _sample(name)
    for path in _leaf_paths(sample):
        for value in WRONG_VALUES:
            _parse(_replaced(sample, path, value))


def test_wrong_types_keep_the_readable_fields() -> None:
    ev = _ticket(
        number=["4711"],
        status={"value": "open"},
        severity=True,
        asset={"name": ["web-01"], "hostname": "h.corp", "ipv4": 10},
        vulnerability=[{"name": "From the first object", "cvss3": "7.1"}],
        due_date=False,
        url=["https://x"],
    )
    assert ev.ticket.number is None
    assert ev.ticket.status is None
    assert ev.asset.name is None
    assert ev.asset.hostname == "h.corp"
    assert ev.asset.ipv4 == "10"
    assert ev.vulnerability.name == "From the first object"
    assert ev.severity is Severity.HIGH
    assert ev.due is None
    assert ev.link == "https://x"  # found by the any-URL search, inside the list
    assert ev.title == "Ticket: From the first object on h.corp"


def test_parser_bugs_are_not_logged_for_hostile_input(caplog: pytest.LogCaptureFixture) -> None:
    for value in WRONG_VALUES:
        parse_event({"ticket": {"asset": value, "vulnerability": value, "number": value}})
        parse_event({"finished_scan": {"errors": value, "status": value, "name": value}})
    assert "parser bug" not in caplog.text


def test_typical_body_parses_well_under_a_millisecond() -> None:
    payload = _sample("ticket_opened_nested.json")
    parse_event(payload)
    runs = 500
    start = time.perf_counter()
    for _ in range(runs):
        parse_event(payload)
    per_event = (time.perf_counter() - start) / runs
    assert per_event < 0.001  # typically ~0.05 ms; generous against slow CI machines


# --------------------------------------------------------------------------------------------
# Properties

_INTERESTING_KEYS = st.sampled_from(
    [
        "finished_scan",
        "scheduled_scan",
        "ticket",
        "Ticket",
        "asset",
        "Asset",
        "vulnerability",
        "name",
        "Name",
        "status",
        "errors",
        "critical_cnt",
        "high_cnt",
        "severity",
        "priority",
        "cvss3",
        "cvss2",
        "CVE ID",
        "cves",
        "number",
        "url",
        "link",
        "title",
        "text",
        "started",
        "starts_at",
        "duration",
        "due_date",
        "ipv4",
        "hostname",
        "@context",
        "type",
        "potentialAction",
        "targets",
        "uri",
        "actions",
        "facts",
        "fields",
        "value",
        "embeds",
        "title_link",
        "icon_url",
    ]
)
_KEYS = st.one_of(_INTERESTING_KEYS, st.text(max_size=12))
_STRINGS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "Completed",
            "Stopped",
            "open",
            "Closed",
            "High",
            "4",
            "5.9",
            "2024-03-13 12:02",
            "2024-03-15T22:00:00Z",
            "00:57",
            "a\n\nb",
            "https://sc.holmsecurity.com/x",
            "https://x.example/logo.png",
            "AdaptiveCard",
            "Action.OpenUrl",
            "*Host:* web-02",
            "see <https://a.example/b|here>.",
            "javascript:alert(1)",
            "{asset.name}",
            "\u202eevil",
        ]
    ),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    _STRINGS,
)
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_KEYS, children, max_size=5)
    ),
    max_leaves=25,
)
_OBJECTS = st.one_of(
    st.dictionaries(_KEYS, _JSON, max_size=6),
    st.builds(
        lambda kind, body: {kind: body},
        st.sampled_from(["finished_scan", "scheduled_scan", "ticket", "Finished Scan"]),
        st.dictionaries(_KEYS, _JSON, max_size=10),
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OBJECTS)
def test_any_json_object_parses_into_a_sane_event(payload: dict[str, Any]) -> None:
    _parse(payload)


@settings(max_examples=200, deadline=None)
@given(_OBJECTS)
def test_any_finite_json_object_survives_decode_body_unchanged(payload: dict[str, Any]) -> None:
    assume(_finite(payload))
    decoded = decode_body(json.dumps(payload).encode())
    assert decoded == payload
    _parse(decoded)


def _finite(node: Any) -> bool:
    if isinstance(node, float):
        return math.isfinite(node)
    if isinstance(node, dict):
        return all(_finite(v) for v in node.values())
    if isinstance(node, list):
        return all(_finite(v) for v in node)
    return True
