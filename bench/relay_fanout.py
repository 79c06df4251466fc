"""Relay fan-out: latency from a webhook's 200 to receipt by 1, 10 and 100 subscribers, and the
ingest rate of `holmtray serve --relay` with 100 streams open as a ratio to none.

One `holmtray serve --relay` (fresh HOLMTRAY_HOME, port 0, a read token made with
`holmtray relay token add`). Subscribers run in child processes (`_relay_subscribers.py`, at
most 25 streams each) so that reading them does not share a GIL with the poster.

Latency: for each subscriber count, ``--events`` webhooks are posted one at a time
(``--gap`` seconds apart, so each is fanned out on its own and nothing queues), and every
stream's receipt of every event is timed with ``time.monotonic()`` (CLOCK_MONOTONIC is
system-wide on Linux, so the poster's and the subscribers' stamps compare). Reported: p50 / p99
/ max of receipt minus the 200's arrival at the poster (negative when the frame arrives first:
the relay hands the event to the streams right after the commit, before the 200 is written),
and of receipt minus the POST being sent.

Ingest: `wrk -t1 -c64` with `post_unique.lua` for ``--duration`` seconds, with no stream open
and with 100 streams open whose clients read every frame (as tray apps do), interleaved for
``--rounds`` rounds; the ratio is taken within each round, the medians reported, plus the
relay's CPU per acknowledged event and how many of the 100 streams were still open at the end
(a stream that falls ``relay.queue_size`` frames behind is cut). The subscriber processes share
the machine's two cores with the relay and wrk, so the ratio includes their CPU.

Run: python bench/relay_fanout.py [--events 200] [--gap 0.03] [--rounds 3] [--duration 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
    PY,
    Proc,
    cpu_seconds,
    env_with,
    hook_url,
    machine,
    make_home,
    median,
    percentile,
    port_of,
    run_wrk,
    table,
)

PER_PROC = 25
READY = re.compile(r"^ready$")
DONE = re.compile(r"^done$")
LISTENING = re.compile(r"listening on http://")


def start_relay() -> tuple[Proc, Path, str, str]:
    """`holmtray serve --relay`: (process, home, base URL, read token)."""
    home = make_home("relay", **{"relay.max_subscribers": 1000})
    token = subprocess.run(
        [PY, "-m", "holmtray", "relay", "token", "add", "bench"],
        env=env_with(home),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    proc = Proc([PY, "-m", "holmtray", "serve", "--relay", "--port", "0"], env_with(home))
    proc.wait_for(LISTENING)
    return proc, home, f"http://127.0.0.1:{port_of(home)}", token


def start_subscribers(base: str, token: str, n: int, count: int) -> list[tuple[Proc, Path]]:
    procs = []
    out_dir = Path(tempfile.mkdtemp(prefix="holmtray-bench-subs-"))
    for k in range(math.ceil(n / PER_PROC)):
        size = min(PER_PROC, n - k * PER_PROC)
        out = out_dir / f"sub{k}.json"
        env = env_with(HOLMTRAY_RELAY_TOKEN=token)
        argv = [PY, str(Path(__file__).with_name("_relay_subscribers.py")), base, str(size)]
        procs.append((Proc([*argv, str(count), str(out)], env), out))
    for proc, _ in procs:
        proc.wait_for(READY, timeout=120)
    return procs


def finish_subscribers(procs: list[tuple[Proc, Path]], *, stop: bool) -> list[dict[str, Any]]:
    results = []
    for proc, out in procs:
        if stop:
            proc.stop(60)
        else:
            proc.wait_for(DONE, timeout=300)
            proc.stop(60)
        results.append(json.loads(out.read_text()))
    return results


async def post_one_by_one(hook: str, events: int, gap: float) -> dict[int, tuple[float, float]]:
    """id -> (time the POST was sent, time its 200 arrived)."""
    acked: dict[int, tuple[float, float]] = {}
    async with aiohttp.ClientSession() as s:
        for n in range(events):
            body = json.dumps({"subject": f"fan-out {time.time_ns()} {n}", "severity": "low"})
            sent = time.monotonic()
            async with s.post(hook, data=body) as r:
                answer = await r.json()
                got = time.monotonic()
            assert r.status == 200, answer
            acked[int(answer["id"])] = (sent, got)
            await asyncio.sleep(gap)
    return acked


def latency(n: int, base: str, token: str, hook: str, events: int, gap: float) -> dict[str, Any]:
    procs = start_subscribers(base, token, n, events)
    acked = asyncio.run(post_one_by_one(hook, events, gap))
    results = finish_subscribers(procs, stop=False)
    after_200: list[float] = []
    after_send: list[float] = []
    streams = 0
    for result in results:
        for frames in result["frames"]:
            streams += 1
            ids = [i for i, _ in frames]
            assert ids == sorted(acked), "a stream missed or reordered events"
            for i, t in frames:
                sent, got = acked[i]
                after_200.append((t - got) * 1000)
                after_send.append((t - sent) * 1000)
    assert streams == n
    return {
        "subscribers": n,
        "samples": len(after_200),
        "p50_200": percentile(after_200, 50),
        "p99_200": percentile(after_200, 99),
        "max_200": max(after_200),
        "p50_send": percentile(after_send, 50),
        "p99_send": percentile(after_send, 99),
    }


def status(base: str, token: str) -> dict[str, Any]:
    async def get() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"{base}/v1/status", headers={"Authorization": f"Bearer {token}"}) as r,
        ):
            return dict(await r.json())

    return asyncio.run(get())


def ingest_round(
    relay: Proc, base: str, token: str, hook: str, streams: int, duration: float
) -> dict[str, Any]:
    procs = start_subscribers(base, token, streams, 0) if streams else []
    cpu0 = cpu_seconds(relay.pid)
    out = run_wrk(hook, duration_s=duration)
    cpu = cpu_seconds(relay.pid) - cpu0
    open_at_end = int(status(base, token)["subscribers"])
    results = finish_subscribers(procs, stop=True)
    return {
        "eps": out["eps"],
        "errors": out["errors"],
        "p99_ms": out["p99_us"] / 1000,
        "cpu_us": cpu / max(out["ok"], 1) * 1e6,
        "open": open_at_end,
        "ended": sum(r["ended"] for r in results),
        "mb": sum(r["bytes"] for r in results) / 1e6,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--gap", type=float, default=0.03)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--streams", type=int, default=100)
    args = ap.parse_args()
    print(machine(), file=sys.stderr)

    relay, home, base, token = start_relay()
    hook = hook_url(home)
    try:
        rows = []
        for n in (1, 10, 100):
            r = latency(n, base, token, hook, args.events, args.gap)
            rows.append(r)
            print(f"fan-out to {n}: {r}", file=sys.stderr)
        rounds: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for k in range(args.rounds):
            order = (0, args.streams) if k % 2 == 0 else (args.streams, 0)
            got = {s: ingest_round(relay, base, token, hook, s, args.duration) for s in order}
            rounds.append((got[0], got[args.streams]))
            print(f"ingest round {k + 1}: {got}", file=sys.stderr)
    finally:
        relay.stop()

    print("\n## Fan-out latency (ms), one event at a time\n")
    print(
        table(
            [
                "subscribers",
                "samples",
                "p50 after 200",
                "p99 after 200",
                "max after 200",
                "p50 after send",
                "p99 after send",
            ],
            [
                [
                    r["subscribers"],
                    r["samples"],
                    f"{r['p50_200']:.1f}",
                    f"{r['p99_200']:.1f}",
                    f"{r['max_200']:.1f}",
                    f"{r['p50_send']:.1f}",
                    f"{r['p99_send']:.1f}",
                ]
                for r in rows
            ],
        )
    )
    print(f"\n## Ingest with {args.streams} reading streams vs none (wrk -c64, median of rounds)\n")
    ratio = median(b["eps"] / a["eps"] for a, b in rounds)
    print(
        table(
            ["setup", "events/s", "p99 ms", "CPU µs/event", "errors", "streams open at end"],
            [
                [
                    "no stream",
                    f"{median(a['eps'] for a, _ in rounds):.0f}",
                    f"{median(a['p99_ms'] for a, _ in rounds):.1f}",
                    f"{median(a['cpu_us'] for a, _ in rounds):.0f}",
                    sum(a["errors"] for a, _ in rounds),
                    "-",
                ],
                [
                    f"{args.streams} streams",
                    f"{median(b['eps'] for _, b in rounds):.0f}",
                    f"{median(b['p99_ms'] for _, b in rounds):.1f}",
                    f"{median(b['cpu_us'] for _, b in rounds):.0f}",
                    sum(b["errors"] for _, b in rounds),
                    ", ".join(str(b["open"]) for _, b in rounds),
                ],
            ],
        )
    )
    print(f"\nratio (median of per-round ratios): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
