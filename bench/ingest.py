"""Ingest: durable webhooks/s of `holmtray serve` and the tray app next to a bare aiohttp handler.

Each setup runs as its own process (fresh HOLMTRAY_HOME, port 0) under
``wrk -t1 -c64 -d10s`` (keep-alive) with ``bench/post_unique.lua``, which posts a different
realistic finished_scan/ticket body on every request. The setups are interleaved, round after
round (the order rotates), and the medians are reported; each round's ratio to the bare handler
is taken within the round, so slow minutes of the machine hit both sides.

After each holmtray run the process is stopped (SIGTERM, a clean shutdown) and the database is
checked: every id a 2xx answered is a row, the rows beyond those were in flight when wrk
stopped (at most 64 per wrk run), and SQLite's and the full-text index's integrity checks pass.

Run: python bench/ingest.py [--rounds 3] [--duration 10] [--warmup 2]
Targets: headless >= 0.80 of bare, tray >= 0.70 of bare, p99 <= 25 ms, 0 errors, 0 lost.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    PY,
    Proc,
    cpu_seconds,
    env_with,
    hook_url,
    machine,
    make_home,
    median,
    run_wrk,
    start_serve,
    start_tray,
    table,
    temp_dir,
    verdict,
)

from holmtray.core.config.paths import Paths
from holmtray.core.history.store import Store

SETUPS = ("bare", "serve", "tray")
DIAGNOSTIC = {
    "listener": ["listener_only.py"],
    "store-only": ["store_only.py"],
    "store-min": ["store_only.py", "--no-search"],
    "durable-min": ["store_only.py", "--minimal"],
}
"""Extra setups that split the gap: holmtray's listener without a store; the bare handler with
holmtray's durable store but no listener checks or parser; the same store without its
full-text triggers and sorting indexes; the bare handler with the leanest durable group commit
(one table, no holmtray code)."""
TARGET_RATIO = {"serve": 0.80, "tray": 0.70}
TARGET_P99_MS = 25.0


def start(setup: str, tree: Path | None) -> tuple[Proc, str, Path]:
    if setup == "bare":
        folder = temp_dir("bare")
        proc = Proc([PY, str(Path(__file__).with_name("bare_server.py"))], env_with())
        m, _ = proc.wait_for(re.compile(r"listening on (http://\S+)"))
        return proc, f"{m[1]}/hooks/bench", folder
    home = make_home(setup)
    if setup in DIAGNOSTIC:
        script, *options = DIAGNOSTIC[setup]
        proc = Proc([PY, str(Path(__file__).with_name(script)), str(home), *options], env_with())
        m, _ = proc.wait_for(re.compile(r"listening on (http://\S+)"))
        return proc, m[1], home
    if setup == "serve@tree":
        proc = start_serve(home, tree)
    elif setup == "tray@tree":
        proc = start_tray(home, tree=tree)
    else:
        proc = start_serve(home) if setup == "serve" else start_tray(home)
    return proc, hook_url(home), home


def verify(home: Path, id_files: list[Path], *, holmtray_schema: bool = True) -> dict[str, Any]:
    """Every acknowledged id is a row; rows, extra rows (in flight at the end), integrity
    (holmtray's checks, FTS included; SQLite's own for a database of another schema)."""
    acked: list[int] = []
    for f in id_files:
        acked.extend(int(x) for x in f.read_text().split())
    db = Paths.under(home).database
    conn = sqlite3.connect(db)
    try:
        conn.execute("CREATE TEMP TABLE acked (id INTEGER PRIMARY KEY)")
        conn.executemany("INSERT OR IGNORE INTO acked VALUES (?)", ((i,) for i in acked))
        (distinct,) = conn.execute("SELECT count(*) FROM acked").fetchone()
        (missing,) = conn.execute(
            "SELECT count(*) FROM acked LEFT JOIN events AS e USING (id) WHERE e.id IS NULL"
        ).fetchone()
        (rows,) = conn.execute("SELECT count(*) FROM events").fetchone()
        if not holmtray_schema:
            (integrity,) = conn.execute("PRAGMA integrity_check").fetchone()
    finally:
        conn.close()
    if holmtray_schema:
        store = Store.open(db)
        try:
            integrity = store.integrity_check()
        finally:
            store.close()
    return {
        "acked": len(acked),
        "distinct": distinct,
        "missing": missing,
        "rows": rows,
        "extra": rows - len(acked),
        "integrity": integrity,
    }


def one_run(setup: str, duration: float, warmup: float, tree: Path | None) -> dict[str, Any]:
    proc, url, home = start(setup, tree)
    id_files = [home / "ids-warmup.txt", home / "ids.txt"]
    try:
        if warmup > 0:
            run_wrk(url, duration_s=warmup, ids_file=id_files[0])
        else:
            id_files[0].write_text("")
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        res = run_wrk(url, duration_s=duration, ids_file=id_files[1])
        cpu = cpu_seconds(proc.pid) - cpu0
        res["cpu_pct"] = 100 * cpu / (time.monotonic() - t0)
        res["cpu_us_per_event"] = 1e6 * cpu / max(res["ok"], 1)
    finally:
        res_rc = proc.stop()
    res["rc"] = res_rc
    if setup not in ("bare", "listener"):
        res.update(verify(home, id_files, holmtray_schema=setup != "durable-min"))
        res["lost"] = res["missing"]
    else:
        res["lost"] = 0
    shutil.rmtree(home, ignore_errors=True)
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=10.0, help="seconds of load per run")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each run")
    p.add_argument(
        "--setups",
        default=",".join(SETUPS),
        help="comma-separated; add any of "
        + ", ".join(DIAGNOSTIC)
        + " (DIAGNOSTIC in this file says what each is) to split the gap",
    )
    p.add_argument(
        "--compare-tree",
        type=Path,
        help="a folder holding another copy of the holmtray package: adds 'serve@tree', "
        "its `holmtray serve`, to compare two versions side by side (name 'tray@tree' in "
        "--setups to add its tray app too)",
    )
    args = p.parse_args()
    setups = [s for s in args.setups.split(",") if s]
    tree = args.compare_tree.resolve() if args.compare_tree is not None else None
    if tree is not None and "serve@tree" not in setups:
        setups.append("serve@tree")
    if tree is None and any(s.endswith("@tree") for s in setups):
        p.error("an @tree setup needs --compare-tree")
    if "bare" not in setups:
        setups.insert(0, "bare")

    print(machine())
    print(
        f"load: wrk -t1 -c64 -d{args.duration:g}s --latency -s bench/post_unique.lua "
        f"(after {args.warmup:g} s of warm-up), {args.rounds} rounds, order rotating"
    )
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in setups}
    ratios: dict[str, list[float]] = {s: [] for s in setups}
    for r in range(args.rounds):
        order = setups[r % len(setups) :] + setups[: r % len(setups)]
        round_eps: dict[str, float] = {}
        for setup in order:
            res = one_run(setup, args.duration, args.warmup, tree)
            results[setup].append(res)
            round_eps[setup] = res["eps"]
            extra = ""
            if "rows" in res:
                extra = (
                    f" rows={res['rows']} acked(total)={res['acked']} missing={res['missing']}"
                    f" in-flight-extra={res['extra']} integrity={res['integrity']}"
                )
            print(
                f"round {r + 1} {setup:5}: {res['eps']:8.0f} ev/s  p50 {res['p50_us'] / 1000:5.1f}"
                f" ms  p99 {res['p99_us'] / 1000:5.1f} ms  max {res['max_us'] / 1000:6.1f} ms"
                f"  errors {res['errors']}  cpu {res['cpu_pct']:3.0f}%"
                f" ({res['cpu_us_per_event']:.0f} us/event)  rc {res['rc']}{extra}",
                flush=True,
            )
        for setup in setups:
            ratios[setup].append(round_eps[setup] / round_eps["bare"])

    rows = []
    for setup in setups:
        rs = results[setup]
        eps = median(x["eps"] for x in rs)
        ratio = median(ratios[setup])
        p50 = median(x["p50_us"] for x in rs) / 1000
        p99 = median(x["p99_us"] for x in rs) / 1000
        worst_p99 = max(x["p99_us"] for x in rs) / 1000
        errors = sum(x["errors"] for x in rs)
        lost = sum(x["lost"] for x in rs)
        bad_integrity = [x["integrity"] for x in rs if x.get("integrity", "ok") != "ok"]
        if setup == "bare":
            met = "baseline"
        elif setup not in TARGET_RATIO:
            met = "diagnostic"
        else:
            ok = (
                ratio >= TARGET_RATIO[setup]
                and p99 <= TARGET_P99_MS
                and errors == 0
                and lost == 0
                and not bad_integrity
            )
            met = verdict(ok)
        target = f">= {TARGET_RATIO[setup]:.2f}" if setup in TARGET_RATIO else "-"
        rows.append(
            [
                setup,
                f"{eps:,.0f}",
                f"{ratio:.2f}",
                target,
                f"{p50:.1f}",
                f"{p99:.1f} (worst {worst_p99:.1f})",
                errors,
                lost,
                "ok" if not bad_integrity else "FAILED",
                f"{median(x['cpu_pct'] for x in rs):.0f}%",
                f"{median(x['cpu_us_per_event'] for x in rs):.0f}",
                met,
            ]
        )
    print()
    print(
        table(
            [
                "setup",
                "acked ev/s (median)",
                "ratio to bare (median of rounds)",
                "target",
                "p50 ms",
                "p99 ms",
                "errors",
                "lost",
                "integrity",
                "server CPU",
                "CPU us/event",
                "targets",
            ],
            rows,
        )
    )
    print(
        f"p99 target <= {TARGET_P99_MS:g} ms; errors = non-2xx + socket errors; "
        "lost = acknowledged ids not in the database"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
