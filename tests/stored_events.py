"""Events for the history tests, made up or parsed from the samples, and stored in bulk.

Qt-free, so the core's tests (the export) and the event window's share them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from holmtray.core.events import Counts, Event, Kind, Severity, StoredEvent
from holmtray.core.history.store import NewEvent, Store
from holmtray.core.parsing.parser import parse_event

SAMPLES = Path(__file__).parent / "data" / "samples"
BASE_TIME = datetime(2024, 3, 13, 12, 0, tzinfo=UTC)

HOSTILE_TITLES = (
    "<b>bold</b>",
    "<img src=x onerror=alert(1)>",
    "Tom &amp; Jerry",
    "evil \u202egnp.exe",
    "x" * 10_000,
)


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def make_event(
    title: str,
    *,
    kind: Kind = Kind.CUSTOM,
    severity: Severity = Severity.LOW,
    attention: bool = False,
    counts: Counts | None = None,
    link: str | None = "https://sc.holmsecurity.com/x",
    **extra: Any,
) -> Event:
    return Event(
        kind=kind,
        title=title,
        severity=severity,
        attention=attention,
        counts=counts,
        link=link,
        payload={"title": title, **{k: str(v) for k, v in extra.items()}},
        **extra,
    )


def insert(
    store: Store, events: Sequence[Event], *, start: datetime = BASE_TIME, step_s: float = 60
) -> list[StoredEvent]:
    """Store ``events`` oldest first; each body is made unique so none is a duplicate."""
    items = []
    for i, ev in enumerate(events):
        body = json.dumps({**ev.payload, "_n": i, "_t": start.isoformat()}, ensure_ascii=False)
        items.append(
            NewEvent(body=body, event=ev, received_at=start + timedelta(seconds=i * step_s))
        )
    results = store.insert_many(items)
    stored = [r.stored for r in results if r.stored is not None]
    assert len(stored) == len(events)
    return stored


def varied_events() -> list[Event]:
    """About 30 events: every kind and severity, samples, an attention scan, hostile titles."""
    events = [parse_event(sample(p.stem)) for p in sorted(SAMPLES.glob("*.json"))]
    for i in range(18):
        sev = Severity(i % 5)
        kind = list(Kind)[i % 4]
        counts = (
            Counts(critical=i % 2, high=i % 4, medium=i, low=2 * i)
            if kind is Kind.FINISHED_SCAN
            else None
        )
        events.append(
            make_event(
                f"{kind.label} number {i} on host-{i:02d}.corp.example",
                kind=kind,
                severity=sev,
                counts=counts,
                scan_status="Completed" if kind is Kind.FINISHED_SCAN else None,
            )
        )
    events.append(
        make_event(
            "Scan 'Perimeter' stopped with 2 errors",
            kind=Kind.FINISHED_SCAN,
            severity=Severity.HIGH,
            attention=True,
            counts=Counts(0, 2, 4, 9),
            scan_name="Perimeter",
            scan_status="Stopped",
            errors=("Target 10.0.0.1 unreachable", "Authentication failed for 10.0.0.2"),
        )
    )
    events.extend(make_event(t, severity=Severity.MEDIUM) for t in HOSTILE_TITLES)
    return events


def fill_fast(store: Store, n: int, start: int = 0) -> list[StoredEvent]:
    """``n`` made-up events in one ``insert_many`` batch: event ``i`` is titled ``event i``,
    of kind ``list(Kind)[i % 4]`` and severity ``i % 5`` (in an empty store its id is i + 1)."""
    kinds = list(Kind)
    items = [
        NewEvent(
            body=f'{{"n":{i}}}',
            event=Event(
                kind=kinds[i % 4],
                title=f"event {i}",
                severity=Severity(i % 5),
                payload={"n": i},
            ),
            received_at=BASE_TIME + timedelta(seconds=i),
        )
        for i in range(start, start + n)
    ]
    return [r.stored for r in store.insert_many(items) if r.stored is not None]


def fast_big_store(path: Path, n: int) -> Store:
    """A store with ``n`` made-up events inserted in one transaction."""
    s = Store.open(path)
    fill_fast(s, n)
    return s


def store_mixed(store: Store) -> list[StoredEvent]:
    """Six events of every kind, the first and third read: the samples and a quiet note."""
    stored = insert(
        store,
        [
            parse_event(sample("finished_scan")),  # critical, finished scan
            parse_event(sample("finished_scan_with_errors")),  # medium, attention
            parse_event(sample("scheduled_scan")),  # info
            parse_event(sample("ticket_opened_nested")),  # high, web-01, CVE-2023-48795
            parse_event(sample("custom_placeholders")),  # critical, custom
            make_event("quiet note", severity=Severity.LOW),
        ],
    )
    store.set_read([stored[0].id, stored[2].id])
    return stored
