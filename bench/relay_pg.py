"""Relays on PostgreSQL: ingest through one and through two relays as ratios to the SQLite
relay in the same run, and the latency from a webhook's 200 to a subscriber's receipt.

A PostgreSQL 15 server from Debian's packages is started for the run (``tests/pgcluster.py``:
initdb in a temporary folder, Unix socket only, default durability: ``fsync`` and
``synchronous_commit`` on, as the SQLite store's ``synchronous=FULL``). Four
``holmtray serve --relay`` processes run side by side: one on SQLite (the baseline), one on
its own PostgreSQL database, and two sharing a third database (the high-availability setup).

Ingest: ``wrk`` with ``post_unique.lua`` and 64 connections for ``--duration`` seconds, once
per setup and round (the order rotating between rounds): at the SQLite relay, at the single
PostgreSQL relay, and at the pair (two wrk processes of 32 connections each, one per relay,
at the same time; their events/s added). Reported: the medians, and the medians of the
per-round ratios to the SQLite relay.

Latency: ``--events`` webhooks posted one at a time (``--gap`` s apart) and one subscriber's
receipt timed (``relay_fanout.latency``: a child process reads the stream), for the SQLite
relay, the single PostgreSQL relay, and the pair with the webhooks posted to one relay and the
subscriber reading the other (the event reaches it through the database's notification and the
follower's read). p50 / p99 / max of receipt minus the 200's arrival at the poster.

Run: python bench/relay_pg.py [--rounds 3] [--duration 8] [--events 200] [--gap 0.03]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import threading
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
    table,
)
from relay_fanout import LISTENING, latency

from tests.pgcluster import running_cluster  # _common put the project on the path


def start(home: Path) -> Proc:
    proc = Proc([PY, "-m", "holmtray", "serve", "--relay", "--port", "0"], env_with(home))
    proc.wait_for(LISTENING, timeout=60)
    return proc


def read_token(home: Path) -> str:
    return subprocess.run(
        [PY, "-m", "holmtray", "relay", "token", "add", "bench"],
        env=env_with(home),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]


def base_of(hook: str) -> str:
    return hook.split("/hooks/", 1)[0]


def ingest(hooks: list[str], procs: list[Proc], duration: float) -> dict[str, float]:
    """wrk at every hook at once (64 connections in all): events/s added, errors, CPU."""
    results: list[dict[str, Any]] = [{} for _ in hooks]
    per = 64 // len(hooks)

    def one(k: int) -> None:
        results[k] = run_wrk(hooks[k], duration_s=duration, connections=per)

    cpu0 = sum(cpu_seconds(p.pid) for p in procs)
    threads = [threading.Thread(target=one, args=(k,)) for k in range(len(hooks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu0
    ok = sum(r["ok"] for r in results)
    return {
        "eps": sum(r["eps"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "p99_ms": max(r["p99_us"] for r in results) / 1000,
        "cpu_us": cpu / max(ok, 1) * 1e6,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--gap", type=float, default=0.03)
    args = ap.parse_args()
    print(machine(), file=sys.stderr)
    if shutil.which("wrk") is None:
        print("wrk is not installed", file=sys.stderr)
        return 1

    with running_cluster() as cluster:
        one_db = cluster.create_database("bench_one")
        pair_db = cluster.create_database("bench_pair")
        homes = {
            "sqlite": [make_home("sqlite")],
            "pg1": [make_home("pg1", **{"relay.store": one_db})],
            "pg2": [make_home("pg2a", **{"relay.store": pair_db})],
        }
        homes["pg2"].append(make_home("pg2b", **{"relay.store": pair_db}))
        tokens = {name: read_token(h[0]) for name, h in homes.items()}
        procs = {name: [start(h) for h in hs] for name, hs in homes.items()}
        try:
            hooks = {name: [hook_url(h) for h in hs] for name, hs in homes.items()}
            lat = {}
            for name, hs in hooks.items():
                sub_base = base_of(hs[-1])  # the pair: posted to the first, read from the second
                lat[name] = latency(1, sub_base, tokens[name], hs[0], args.events, args.gap)
                print(f"latency {name}: {lat[name]}", file=sys.stderr)
            rounds: list[dict[str, dict[str, float]]] = []
            names = list(hooks)
            for k in range(args.rounds):
                order = names[k % len(names) :] + names[: k % len(names)]
                got = {n: ingest(hooks[n], procs[n], args.duration) for n in order}
                rounds.append(got)
                print(f"ingest round {k + 1}: {got}", file=sys.stderr)
        finally:
            for ps in procs.values():
                for p in ps:
                    p.stop()

    labels = {
        "sqlite": "SQLite relay (baseline)",
        "pg1": "one relay on PostgreSQL",
        "pg2": "two relays on one PostgreSQL",
    }
    print("\n## Ingest (wrk, 64 connections in all; median of rounds)\n")
    print(
        table(
            ["setup", "events/s", "ratio to SQLite", "p99 ms", "CPU µs/event", "errors"],
            [
                [
                    labels[n],
                    f"{median(r[n]['eps'] for r in rounds):.0f}",
                    f"{median(r[n]['eps'] / r['sqlite']['eps'] for r in rounds):.2f}",
                    f"{median(r[n]['p99_ms'] for r in rounds):.1f}",
                    f"{median(r[n]['cpu_us'] for r in rounds):.0f}",
                    sum(r[n]["errors"] for r in rounds),
                ]
                for n in labels
            ],
        )
    )
    print("\n## Subscriber latency (ms after the webhook's 200; one event at a time)\n")
    print(
        table(
            ["setup", "samples", "p50", "p99", "max"],
            [
                [
                    labels[n] + (" (posted to one, read from the other)" if n == "pg2" else ""),
                    lat[n]["samples"],
                    f"{lat[n]['p50_200']:.1f}",
                    f"{lat[n]['p99_200']:.1f}",
                    f"{lat[n]['max_200']:.1f}",
                ]
                for n in labels
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
