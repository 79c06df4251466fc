"""A real webhook's latency while one source attacks ``holmtray serve``.

For each attack, a fresh ``holmtray serve`` (bench home: defaults, port 0); a separate process
attacks it from 127.0.0.1 with ``--concurrency`` connections for ``--duration`` seconds, each
sending one hostile request and reading the answer; meanwhile this process posts a real,
unique webhook from 127.0.0.2 every 0.25 s on a fresh connection (as python-requests does)
and times each from connecting to the whole answer. The baseline is the same webhooks with no
attack, measured in the same run. Attacks (the round-two attack run's inputs):

- ``bomb-no-token``: 1 MB of gzip that inflates to 1 GiB of zeros, POSTed to a wrong token;
- ``bomb-token``: the same to the right URL;
- ``cheap-gzip``: 1 MiB of ``[{},{},...]`` gzipped to 1 KB, to the right URL;
- ``cheap-plain``: the same 1 MiB uncompressed (costly to decode, then refused: not an object);
- ``cheap-object``: 1 MiB of ``{"a":[{},{},...]}`` uncompressed (decoded, parsed, stored).

Reported per attack: the webhook's p50 and max latency (and p50 as a ratio to the baseline's),
how many webhooks got 200, the attack's answers, and serve's peak RSS. ``--compare-tree DIR``
runs every attack against another copy of the package too (e.g. ``git archive COMMIT holmtray
| tar -x -C DIR``), side by side.

Run: python bench/attack.py [--duration 10] [--concurrency 40] [--compare-tree DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import multiprocessing
import re
import shutil
import time
from pathlib import Path
from typing import Any

from _common import machine, make_home, percentile, port_of, start_serve, table, token_of

from tests.attacks import MIB, cheap_to_send, gzip_bomb, gzipped

ATTACKER, SENDER = "127.0.0.1", "127.0.0.2"
STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
WEBHOOK_EVERY_S = 0.25


def attack_request(kind: str, token: str) -> bytes:
    path, encoding = f"/hooks/{token}", True
    if kind == "bomb-no-token":
        path, body = "/hooks/not-the-token-0123456789abcdefghij", gzip_bomb()
    elif kind == "bomb-token":
        body = gzip_bomb()
    elif kind == "cheap-gzip":
        body = gzipped(cheap_to_send(MIB, wrapped=False))
    else:
        body, encoding = cheap_to_send(MIB, wrapped=kind == "cheap-object"), False
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    if encoding:
        head += "Content-Encoding: gzip\r\n"
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


async def _one(port: int, raw: bytes, source: str, timeout: float) -> tuple[str, float]:
    """Send ``raw`` on a fresh connection; (status or what went wrong, seconds taken)."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
            try:
                writer.write(raw)
                with contextlib.suppress(ConnectionError):  # refused early: read its answer
                    await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                while head.startswith(b"HTTP/1.1 100 "):
                    head = await reader.readuntil(b"\r\n\r\n")
            finally:
                writer.close()
    except TimeoutError:
        return "timeout", time.monotonic() - started
    except (ConnectionError, asyncio.IncompleteReadError):
        return "reset", time.monotonic() - started
    m = STATUS.match(head)
    return (m[1].decode() if m else "garbled"), time.monotonic() - started


def _attack_process(port: int, raw: bytes, concurrency: int, seconds: float, out: Any) -> None:
    async def run() -> collections.Counter[str]:
        counts: collections.Counter[str] = collections.Counter()
        stop = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < stop:
                status, _ = await _one(port, raw, ATTACKER, 30.0)
                counts[status] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return counts

    out.put(dict(asyncio.run(run())))


async def _webhooks(port: int, token: str, seconds: float) -> list[tuple[str, float]]:
    results: list[tuple[str, float]] = []
    stop = time.monotonic() + seconds
    n = 0
    while time.monotonic() < stop:
        n += 1
        body = json.dumps(
            {"finished_scan": {"name": f"scan {n} {time.time_ns()}", "status": "Completed"}}
        ).encode()
        raw = (
            f"POST /hooks/{token} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"User-Agent: python-requests/2.8.1\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode() + body
        results.append(await _one(port, raw, SENDER, 60.0))
        await asyncio.sleep(WEBHOOK_EVERY_S)
    return results


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one(kind: str, tree: Path | None, seconds: float, concurrency: int) -> dict[str, Any]:
    home = make_home("attack")
    proc = start_serve(home, tree)
    try:
        port, token = port_of(home), token_of(home)
        counts: dict[str, int] = {}
        if kind == "none":
            hooks = asyncio.run(_webhooks(port, token, seconds))
        else:
            ctx = multiprocessing.get_context("spawn")
            queue = ctx.Queue()
            raw = attack_request(kind, token)
            attacker = ctx.Process(
                target=_attack_process, args=(port, raw, concurrency, seconds + 1.0, queue)
            )
            attacker.start()
            time.sleep(1.0)  # the attack is under way before the first webhook
            hooks = asyncio.run(_webhooks(port, token, seconds))
            counts = queue.get(timeout=120)
            attacker.join(30)
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.stop()
        shutil.rmtree(home, ignore_errors=True)
    latencies = [t for status, t in hooks if status == "200"]
    return {
        "ok": len(latencies),
        "sent": len(hooks),
        "p50": percentile(latencies, 50) if latencies else float("nan"),
        "max": max((t for _, t in hooks), default=float("nan")),
        "attack": counts,
        "rss": rss,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=40)
    ap.add_argument(
        "--attacks", default="bomb-no-token,bomb-token,cheap-gzip,cheap-plain,cheap-object"
    )
    ap.add_argument("--compare-tree", type=Path)
    args = ap.parse_args()
    trees: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.compare_tree is not None:
        trees.append((f"tree {args.compare_tree}", args.compare_tree.resolve()))
    print(machine())
    print(
        f"attack: {args.concurrency} connections from {ATTACKER} for {args.duration:g} s; "
        f"a webhook from {SENDER} every {WEBHOOK_EVERY_S:g} s"
    )
    rows = []
    for label, tree in trees:
        base = one("none", tree, args.duration, args.concurrency)
        rows.append(_row(label, "none (baseline)", base, base))
        for kind in [k for k in args.attacks.split(",") if k]:
            res = one(kind, tree, args.duration, args.concurrency)
            rows.append(_row(label, kind, res, base))
            print(rows[-1], flush=True)
    print()
    print(
        table(
            ["server", "attack", "webhooks 200", "p50 ms", "p50 vs baseline", "max ms",
             "attack answers", "serve peak RSS MB"],
            rows,
        )
    )  # fmt: skip


def _row(label: str, kind: str, res: dict[str, Any], base: dict[str, Any]) -> list[str]:
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(res["attack"].items())) or "-"
    return [
        label,
        kind,
        f"{res['ok']}/{res['sent']}",
        f"{res['p50'] * 1000:.1f}",
        f"{res['p50'] / base['p50']:.2f}x",
        f"{res['max'] * 1000:.0f}",
        answers,
        f"{res['rss']:.0f}",
    ]


if __name__ == "__main__":
    main()
