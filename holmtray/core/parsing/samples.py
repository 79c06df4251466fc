"""Realistic example bodies for ``send-test`` and the tray's "Send test event".

Each call stamps the current time into the body, so two tests a few seconds apart are two
events rather than one event and a duplicate.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from holmtray.core.clock import utc_now

KINDS = ("finished_scan", "scheduled_scan", "ticket", "custom")
CONSOLE = "https://sc.holmsecurity.com"


def sample_payload(kind: str = "finished_scan", *, now: datetime | None = None) -> dict[str, Any]:
    """A body in the shape Holm sends for ``kind``; ``ValueError`` for an unknown kind."""
    now = now or utc_now()
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    if kind == "finished_scan":
        started = now - timedelta(minutes=57)
        return {
            "finished_scan": {
                "name": "holmtray test scan",
                "type": "network",
                "status": "Completed",
                "started": started.strftime("%Y-%m-%d %H:%M:%S"),
                "finished": stamp,
                "duration": "00:57:00",
                "critical_cnt": 1,
                "high_cnt": 3,
                "medium_cnt": 5,
                "low_cnt": 12,
                "errors": "",
                "link": f"{CONSOLE}/scans/view/123",
            }
        }
    if kind == "scheduled_scan":
        return {
            "scheduled_scan": {
                "name": "holmtray test schedule",
                "type": "network",
                "starts_at": (now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
                "link": f"{CONSOLE}/scans/schedules/77",
            }
        }
    if kind == "ticket":
        return {
            "ticket": {
                "number": 4711,
                "status": "Open",
                "severity": "High",
                "due_date": (now + timedelta(days=30)).strftime("%Y-%m-%d"),
                "created": stamp,
                "url": f"{CONSOLE}/tickets/4711",
                "asset": {
                    "name": "web-01",
                    "hostname": "web-01.corp.example",
                    "ipv4": "10.20.0.15",
                    "os": "Ubuntu 22.04",
                },
                "vulnerability": {
                    "name": "OpenSSH < 9.6 Terrapin prefix truncation",
                    "cvss3": 5.9,
                    "cve_id": "CVE-2023-48795",
                },
            }
        }
    if kind == "custom":
        return {
            "subject": "holmtray test: custom payload",
            "severity": "Medium",
            "sent": stamp,
            "ticket_url": f"{CONSOLE}/tickets/4712",
        }
    raise ValueError(f"unknown kind {kind!r} (allowed: {', '.join(KINDS)})")


def sample_body(kind: str = "finished_scan", *, now: datetime | None = None) -> bytes:
    return json.dumps(sample_payload(kind, now=now)).encode("utf-8")
