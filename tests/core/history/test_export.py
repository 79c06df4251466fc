"""Export to CSV and JSON: formats, formula defusing, the filter, and no file left half-written."""

from __future__ import annotations

import csv
import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from holmtray.core.events import Severity
from holmtray.core.history.export import CSV_COLUMNS, ExportJob, export_events
from holmtray.core.history.query import EventQuery, SortKey
from holmtray.core.history.store import Store
from holmtray.core.parsing.parser import parse_event
from tests.stored_events import BASE_TIME, fill_fast, insert, make_event, sample, store_mixed

EVERYTHING = EventQuery(limit=None)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "events.db")
    yield s
    s.close()


def test_export_csv_round_trips_and_defuses_formulas(store: Store, tmp_path: Path) -> None:
    evil = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", 'plain, with "quotes"']
    stored = insert(store, [make_event(t, severity=Severity.HIGH) for t in evil])
    stored += insert(
        store, [parse_event(sample("ticket_opened_nested"))], start=BASE_TIME + timedelta(days=1)
    )
    path = tmp_path / "out.csv"
    assert export_events(store, EVERYTHING, path=path, fmt="csv") == 6
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]
    assert [int(r["id"]) for r in body] == [s.id for s in reversed(stored)]
    ticket = body[0]
    assert ticket["kind"] == "ticket"
    assert ticket["severity"] == "high"
    assert ticket["hostname"] == "web-01.corp.example"
    assert ticket["cve"] == "CVE-2023-48795"
    assert ticket["asset_name"] == "web-01"
    assert ticket["read"] == "false"
    assert ticket["received_at"].endswith("+00:00")
    exported_titles = [r["title"] for r in reversed(body[1:])]
    assert exported_titles == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2",
        "'@SUM(A1)",
        'plain, with "quotes"',
    ]
    assert not (tmp_path / "out.csv.part").exists()


def test_export_json_round_trips_the_current_filter(store: Store, tmp_path: Path) -> None:
    mixed = store_mixed(store)
    high_or_more = EventQuery(min_severity=Severity.HIGH, limit=None)
    path = tmp_path / "out.json"
    assert export_events(store, high_or_more, path=path, fmt="json") == 3
    data = json.loads(path.read_text(encoding="utf-8"))
    expected = [store.get(mixed[i].id) for i in (4, 3, 0)]
    assert data == [s.to_json() for s in expected if s is not None]


def test_export_of_nothing_is_valid(store: Store, tmp_path: Path) -> None:
    assert export_events(store, EVERYTHING, path=tmp_path / "empty.json", fmt="json") == 0
    assert json.loads((tmp_path / "empty.json").read_text(encoding="utf-8")) == []
    assert export_events(store, EVERYTHING, path=tmp_path / "empty.csv", fmt="csv") == 0
    assert (tmp_path / "empty.csv").read_text(encoding="utf-8-sig").strip() == ",".join(CSV_COLUMNS)


def test_an_export_that_fails_midway_leaves_no_file(tmp_path: Path) -> None:
    closed = Store.open(tmp_path / "closed.db")
    closed.close()  # every read now fails, after the job has opened its file
    path = tmp_path / "out.json"
    with pytest.raises(sqlite3.Error):
        export_events(closed, EVERYTHING, path=path, fmt="json")
    assert not path.exists()
    assert not (tmp_path / "out.json.part").exists()


def test_an_unknown_format_is_refused_before_any_file_is_made(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xml"):
        ExportJob(store=store, query=EVERYTHING, path=tmp_path / "out.xml", fmt="xml")
    assert not list(tmp_path.glob("out.xml*"))


def test_csv_has_every_normalised_field_a_scan_and_a_ticket_carry(
    store: Store, tmp_path: Path
) -> None:
    scan, ticket = insert(
        store,
        [
            parse_event(sample("finished_scan_with_errors")),
            parse_event(sample("ticket_opened_nested")),
        ],
    )
    path = tmp_path / "all.csv"
    export_events(store, EVERYTHING, path=path, fmt="csv")
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = {int(r["id"]): r for r in csv.DictReader(f)}
    s = rows[scan.id]
    assert (s["scan_name"], s["scan_type"], s["scan_status"]) == (
        "DMZ web apps",
        "web application",
        "Stopped",
    )
    assert (s["critical"], s["high"], s["medium"], s["low"]) == ("0", "0", "2", "1")
    assert s["duration_seconds"] == str(2 * 3600 + 41 * 60 + 7)
    assert s["errors"].split("\n") == [
        "Target https://shop.example.com unreachable",
        "Authentication failed for https://intranet.example.com",
    ]
    assert s["started"] == "2024-03-14T01:00:00+00:00"
    assert s["link"] == "https://sc.holmsecurity.com/scans/view/456"
    assert s["attention"] == "true"
    assert s["asset"] == s["cvss"] == s["due"] == ""
    t = rows[ticket.id]
    assert t["asset"] == "web-01.corp.example"
    assert (t["asset_name"], t["ipv4"], t["os"]) == ("web-01", "10.20.0.15", "Ubuntu 22.04")
    assert (t["cve"], t["cvss"]) == ("CVE-2023-48795", "5.9")
    assert t["vulnerability"] == "OpenSSH < 9.6 Terrapin prefix truncation"
    assert t["summary"].startswith("The SSH transport protocol")
    assert t["solution"] == "Upgrade OpenSSH to 9.6 or later."
    assert (t["ticket_number"], t["ticket_status"]) == ("4711", "Open")
    assert t["due"] == "2024-04-13T00:00:00+00:00"
    assert t["link"] == "https://sc.holmsecurity.com/tickets/4711"
    assert t["critical"] == t["duration_seconds"] == ""


def test_export_follows_the_sort_and_leaves_out_events_stored_after_it_began(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from holmtray.core.history import export as export_mod  # noqa: PLC0415

    monkeypatch.setattr(export_mod, "EXPORT_PAGE", 7)  # several pages, keyset-paged
    fill_fast(store, 40)  # severity i % 5
    by_severity = EventQuery(sort=SortKey.SEVERITY, limit=None)
    path = tmp_path / "sorted.json"
    job = ExportJob(store=store, query=by_severity, path=path, fmt="json")
    assert job.step()
    fill_fast(store, 10, start=40)  # arrive mid-export: not in it
    while job.step():
        pass
    job.finish()
    ids = [e["id"] for e in json.loads(path.read_text(encoding="utf-8"))]
    assert ids == store.query_ids(dataclasses.replace(by_severity, before_id=41))
    assert len(ids) == 40
    severities = [store.get(i).event.severity for i in ids]  # type: ignore[union-attr]
    assert severities == sorted(severities, reverse=True)
