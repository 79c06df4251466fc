"""Events for the history tests, made up or parsed from the samples, and stored in bulk.

Qt-free, so the core's tests (the export) and the event window's share them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from holmtray.core.events import Counts, Event, Kind, Severity, StoredEvent
from holmtray.core.history.codec import to_us
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


_VULNERABILITIES = (
    ("OpenSSH < 9.6 Terrapin prefix truncation", "CVE-2023-48795", 5.9),
    ("Apache HTTP Server 2.4.x mod_proxy SSRF", "CVE-2021-40438", 9.0),
    ("Microsoft Exchange ProxyShell RCE", "CVE-2021-34473", 9.8),
    ("OpenSSL 3.0 X.400 type confusion", "CVE-2023-0286", 7.4),
    ("Log4j JNDI lookup remote code execution", "CVE-2021-44228", 10.0),
    ("nginx resolver off-by-one heap write", "CVE-2021-23017", 7.7),
    ("PHP 8.1 FPM buffer underflow", "CVE-2022-31625", 8.1),
    ("TLS 1.0 and 1.1 still enabled", None, 3.7),
    ("Weak SSH MAC algorithms enabled", None, 2.6),
    ("Jenkins script console without auth", "CVE-2024-23897", 9.8),
)
_HOSTS = (
    ("web-01", "web-01.corp.example", "10.20.0.15"),
    ("web-02", "web-02.corp.example", "10.20.0.16"),
    ("db-main", "db-main.dc-east.corp.example", "10.8.1.20"),
    ("mail", "mail.corp.example", "10.20.0.25"),
    ("build", "jenkins.k8s.corp.example", "10.40.2.7"),
    ("fw-edge", None, "192.0.2.1"),
)
_SCANS = ("Daily perimeter", "Weekly internal servers", "PCI web apps", "DMZ web apps")


def triage_events(n: int, now: datetime) -> list[tuple[datetime, Event]]:
    """``n`` realistic events as Holm sends them, parsed, with receive times up to ``now``:
    tickets opened and closed on a handful of assets, finished scans with findings (some
    stopped, some without findings), scheduled scans and custom payloads; oldest first, spread
    over the last ten days so that "today", "yesterday" and older dates all show."""
    out: list[tuple[datetime, Event]] = []
    for i in range(n):
        when = now - timedelta(minutes=(n - i) * 233)
        stamp = when.strftime("%Y-%m-%d %H:%M")
        vname, cve, cvss = _VULNERABILITIES[i % len(_VULNERABILITIES)]
        name, hostname, ip = _HOSTS[i % len(_HOSTS)]
        body: dict[str, Any]
        if i % 10 in (0, 3, 5, 6, 8):
            status = "Closed" if i % 10 == 8 else "Open"
            asset = {"name": name, "hostname": hostname, "ipv4": ip, "owner": "ops@corp.example"}
            body = {
                "ticket": {
                    "number": 4700 + i,
                    "status": status,
                    "severity": ("High", "Critical", "Medium", "Low")[i % 4],
                    "due_date": (when + timedelta(days=(i % 5) * 7 - 10)).strftime("%Y-%m-%d"),
                    "teams": ["Platform"] if i % 2 else ["Security", "Web"],
                    "url": f"https://sc.holmsecurity.com/tickets/{4700 + i}",
                    "asset": {**asset, "tags": ["dmz"], "business_risk": "high"},
                    "vulnerability": {
                        "name": vname,
                        "cve_id": cve,
                        "cvss3": cvss,
                        "exploits": i % 3 == 0,
                        "patches": True,
                        "summary": f"{vname} affects {hostname or ip}.",
                        "solution": "Apply the vendor's update.",
                    },
                }
            }
        elif i % 10 in (1, 4, 9):
            scan = _SCANS[i % len(_SCANS)]
            stopped = i % 20 == 9
            counts = (i % 2, i % 4, (i * 3) % 11, (i * 7) % 23) if i % 10 != 4 else (0, 0, 0, 0)
            body = {
                "finished_scan": {
                    "name": scan,
                    "type": "network",
                    "status": "Stopped" if stopped else "Completed",
                    "started": stamp,
                    "finished": stamp,
                    "duration": "00:57",
                    "critical_cnt": counts[0],
                    "high_cnt": counts[1],
                    "medium_cnt": counts[2],
                    "low_cnt": counts[3],
                    "errors": "Target 10.0.0.1 unreachable" if stopped else "",
                    "link": f"https://sc.holmsecurity.com/scans/view/{300 + i}",
                }
            }
        elif i % 10 == 2:
            body = {
                "scheduled_scan": {
                    "name": _SCANS[i % len(_SCANS)],
                    "type": "network",
                    "starts_at": (when + timedelta(days=2)).strftime("%Y-%m-%dT22:00:00Z"),
                    "link": f"https://sc.holmsecurity.com/scans/schedules/{i}",
                }
            }
        else:
            body = {
                "subject": f"Agent offline on {hostname or ip}",
                "severity": "Medium",
                "asset": hostname or ip,
                "ticket_url": f"https://sc.holmsecurity.com/agents/{i}",
            }
        out.append((when, parse_event(body)))
    return out


def insert_at(store: Store, events: Sequence[tuple[datetime, Event]]) -> list[StoredEvent]:
    """Store each event at its own receive time (oldest first), as :func:`triage_events` gives."""
    items = [
        NewEvent(body=json.dumps(ev.payload, ensure_ascii=False), event=ev, received_at=when)
        for when, ev in events
    ]
    return [r.stored for r in store.insert_many(items) if r.stored is not None]


def million_rows(path: Path, n: int = 1_000_000) -> None:
    """``n`` events made by SQLite itself in one statement (about 20 s for a million): event
    ``i`` is titled ``event i``, of kind ``list(Kind)[i % 4]``, severity ``i % 5``, unread one
    in twenty, and on ``host<i % 5000>.example`` unless ``i % 3 == 0`` (no asset). Rows,
    indexes and the full-text index are as the store writes them; the fields JSON holds only
    what these events have."""
    Store.open(path).close()
    kind = (
        "CASE i % 4 WHEN 0 THEN 'finished_scan' WHEN 1 THEN 'scheduled_scan'"
        " WHEN 2 THEN 'ticket' ELSE 'custom' END"
    )
    word = (
        "CASE i % 5 WHEN 0 THEN 'info' WHEN 1 THEN 'low' WHEN 2 THEN 'medium'"
        " WHEN 3 THEN 'high' ELSE 'critical' END"
    )
    host = "CASE WHEN i % 3 = 0 THEN NULL ELSE 'host' || (i % 5000) || '.example' END"
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA synchronous = OFF")
        con.execute("BEGIN")
        con.execute(
            f"""
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)
            INSERT INTO events (received_at, kind, severity, attention, read, title, hostname,
                                fields, body, body_hash)
            SELECT {to_us(BASE_TIME)} + i * 1000000, {kind}, i % 5, 0, i % 20 != 0,
                   'event ' || i, {host},
                   json_object('kind', {kind}, 'title', 'event ' || i, 'severity', {word},
                               'asset', json_object('hostname', {host})),
                   '{{"n":' || i || '}}', 'hash' || i
            FROM n
            """,
            (n,),
        )
        con.execute("COMMIT")
    finally:
        con.close()
