"""Make a HOLMTRAY_HOME whose database holds N realistic events (default 1,000,000).

A mix like a busy Security Center's: tickets (55%) on 20,000 assets with 150 vulnerabilities
(real-looking names and CVEs), finished scans (30%) of 200 schedules with findings counts,
scheduled scans (10%) and custom events (5%); spread over the last 60 days, oldest first, 95%
of them read. Each body is built as JSON, parsed by holmtray's own parser and made into a row
by holmtray's own row codec (``codec.row_values``); rows go in with ``executemany``, 5,000 per
transaction, through the store's INSERT (so the rows, the full-text index and every index are
exactly what the app writes; only the per-row duplicate lookup is skipped, as every body is
unique). Generation runs in worker processes; the store is written by
one. Deterministic for a given ``--seed``.

The home's config sets ``storage.retention_count = 0`` and ``storage.retention_days = 0``: the
defaults (100,000 events, 90 days) would prune the history as soon as the app opened it.

Run: python bench/make_history.py [--events 1000000] [--home /tmp/holmtray-bench-history]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from holmtray.core.config import file as settings_file
from holmtray.core.config.paths import Paths
from holmtray.core.history.codec import INSERT_SQL, row_values
from holmtray.core.history.store import Store
from holmtray.core.parsing.decode import decode_body
from holmtray.core.parsing.parser import parse_event

DEFAULT_HOME = Path("/tmp/holmtray-bench-history")
BATCH = 5000
CONSOLE = "https://sc.holmsecurity.com"
SITES = ("hq", "dmz", "dc-east", "dc-west", "cloud", "office", "lab", "k8s")
PRODUCTS = (
    "OpenSSH",
    "Apache HTTP Server",
    "nginx",
    "OpenSSL",
    "Microsoft Exchange",
    "Log4j",
    "Windows SMB",
    "PHP",
    "MySQL",
    "PostgreSQL",
    "Samba",
    "Jenkins",
    "Confluence",
    "WordPress",
    "Apache Tomcat",
)
ISSUES = (
    "remote code execution",
    "denial of service",
    "information disclosure",
    "privilege escalation",
    "authentication bypass",
    "SQL injection",
    "cross-site scripting",
    "buffer overflow",
    "outdated version",
    "weak cipher suites",
)
SCAN_KINDS = ("Daily", "Weekly", "Monthly", "PCI", "Ad hoc")
SCAN_SCOPES = ("network", "web apps", "external perimeter", "internal servers", "workstations")
CUSTOM_TITLES = (
    "Agent offline on {host}",
    "License usage at {n}%",
    "Phishing simulation finished: {n} clicks",
    "New asset discovered: {host}",
    "Cloud connector sync failed",
)

# The term history.py searches for as "rare": one asset's name (a few dozen events).
RARE_HOST_INDEX = 12345
RARE_TERM = f"srv{RARE_HOST_INDEX:05d}"
COMMON_TERM = "scan"


def host(i: int) -> tuple[str, str, str]:
    site = SITES[i % len(SITES)]
    name = f"srv{i:05d}"
    return name, f"{name}.{site}.corp.example", f"10.{i % 8}.{i // 256 % 256}.{i % 256}"


def vulns(rng: random.Random) -> list[tuple[str, str, float]]:
    out = []
    for p in PRODUCTS:
        for issue in ISSUES:
            cve = f"CVE-20{rng.randint(15, 24)}-{rng.randint(1000, 49999)}"
            out.append((f"{p} {issue}", cve, round(rng.uniform(2.0, 10.0), 1)))
    return out


def payload(n: int, rng: random.Random, when: datetime, vuln_table: list[Any]) -> dict[str, Any]:
    r = rng.random()
    stamp = when.strftime("%Y-%m-%d %H:%M")
    if r < 0.55:
        name, hostname, ip = host(rng.randrange(20_000))
        vname, cve, cvss = vuln_table[rng.randrange(len(vuln_table))]
        status = rng.choices(("Open", "Closed", "Reopened"), (6, 3, 1))[0]
        return {
            "ticket": {
                "number": 100_000 + n,
                "status": status,
                "severity": rng.choice(("Low", "Medium", "High", "Critical")),
                "due_date": (when + timedelta(days=30)).strftime("%Y-%m-%d"),
                "url": f"{CONSOLE}/tickets/{100_000 + n}",
                "asset": {"name": name, "hostname": hostname, "ipv4": ip, "os": "Ubuntu 22.04"},
                "vulnerability": {
                    "name": vname,
                    "summary": f"{vname} affects {hostname}.",
                    "solution": "Apply the vendor's update.",
                    "cvss3": cvss,
                    "cve_id": cve,
                },
            }
        }
    if r < 0.85:
        sched = rng.randrange(200)
        name = f"{SCAN_KINDS[sched % 5]} {SCAN_SCOPES[sched // 5 % 5]} scan {SITES[sched % 8]}"
        status = rng.choices(("Completed", "Stopped", "Failed"), (18, 1, 1))[0]
        return {
            "finished_scan": {
                "name": name,
                "type": "network",
                "status": status,
                "started": (when - timedelta(minutes=57)).strftime("%Y-%m-%d %H:%M"),
                "finished": stamp,
                "duration": "00:57",
                "critical_cnt": rng.choice((0, 0, 0, 1, 2)),
                "high_cnt": rng.randrange(10),
                "medium_cnt": rng.randrange(30),
                "low_cnt": rng.randrange(80),
                "errors": "" if status == "Completed" else "Host unreachable",
                "link": f"{CONSOLE}/scans/view/{sched}/{n}",
            }
        }
    if r < 0.95:
        sched = rng.randrange(200)
        return {
            "scheduled_scan": {
                "name": f"{SCAN_KINDS[sched % 5]} {SCAN_SCOPES[sched // 5 % 5]} scan",
                "type": "network",
                "starts_at": (when + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
                "link": f"{CONSOLE}/scans/schedules/{sched}",
            }
        }
    name, _, _ = host(rng.randrange(20_000))
    title = rng.choice(CUSTOM_TITLES).format(host=name, n=rng.randrange(100))
    return {"title": title, "severity": rng.choice(("info", "low", "high")), "id": n}


def _rows(args: tuple[int, int, int, int, float, float]) -> list[tuple[Any, ...]]:
    """The rows of events ``start`` .. ``stop``, as the store writes them (in a worker)."""
    start, stop, total, seed, t0, t1 = args
    rng = random.Random(seed * 1_000_003 + start)
    table = vulns(random.Random(seed))
    out = []
    for n in range(start, stop):
        when = datetime.fromtimestamp(t0 + (t1 - t0) * n / total, UTC)
        body = json.dumps(payload(n, rng, when, table))
        event = parse_event(decode_body(body.encode()))
        read = n % 20 != 0  # 95% read
        out.append(row_values(None, event, body, when, read))
    return out


def make(home: Path, events: int, seed: int) -> Path:
    paths = Paths.under(home)
    base = settings_file.load_or_create(paths.config_file)
    settings_file.save(
        base.with_values(
            {
                "storage.retention_count": 0,
                "storage.retention_days": 0,
                "listener.port": 0,
                "ui.welcome_shown": True,
            }
        ),
        paths.config_file,
    )
    db = paths.database
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store.open(db)
    now = datetime.now(UTC).timestamp()
    t0, t1 = now - 60 * 86400, now - 60
    jobs = [(s, min(s + BATCH, events), events, seed, t0, t1) for s in range(0, events, BATCH)]
    started = time.monotonic()
    done = 0
    conn = store._conn
    with multiprocessing.get_context("fork").Pool(max(1, multiprocessing.cpu_count())) as pool:
        for chunk in pool.imap(_rows, jobs):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT_SQL, chunk)
            conn.execute("COMMIT")
            done += len(chunk)
            if done % 100_000 == 0 or done == events:
                rate = done / (time.monotonic() - started)
                print(f"  {done:>9,} events  ({rate:,.0f}/s)", flush=True)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()  # runs PRAGMA optimize, as the app does on close
    return db


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--home", type=Path, default=DEFAULT_HOME)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    started = time.monotonic()
    print(f"making {args.events:,} events in {args.home} ...", flush=True)
    db = make(args.home, args.events, args.seed)
    size = sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())
    print(
        f"done: {db} ({size / 1e9:.2f} GB) in {time.monotonic() - started:.0f} s; "
        f"search terms: rare {RARE_TERM!r}, common {COMMON_TERM!r}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
