"""Export to CSV and JSON: formats, formula defusing, the filter, and no file left half-written."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from holmtray.core.events import Severity
from holmtray.core.history.export import CSV_COLUMNS, ExportJob, export_events
from holmtray.core.history.query import EventQuery
from holmtray.core.history.store import Store
from holmtray.core.parsing.parser import parse_event
from tests.stored_events import BASE_TIME, insert, make_event, sample, store_mixed

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
