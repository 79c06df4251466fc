"""Soak: does the tray app's memory stay flat under a long stream of unique events?

Side by side, in the same run and under the same stream: the tray app with its event window
hidden, the tray app with it shown (both offscreen, Qt's own notifier, built as
``holmtray.ui.app.run()`` builds it) and ``holmtray serve`` (its real command, in-process);
and a relay (``holmtray serve --relay``) with a tray app subscribed to it on loopback
(``source.mode = "relay"``, window hidden, a read token from ``holmtray relay token add``).
Each is a child process with a sampler thread that records, every ``--sample`` seconds, its RSS,
the Python heap (``sys.getallocatedblocks()``; with ``--tracemalloc``, traced bytes too) and
the number of gc-tracked objects by type. A poster process (aiohttp) sends the same unique
bodies to every child that listens (the relay, not its subscriber), in one of two patterns:

- ``steady``: ``--rate`` events/s (default 150), paced every 100 ms;
- ``bursts``: ``--burst`` events (default 300) as fast as they are taken, then ``--quiet``
  seconds (default 60) of nothing, over and over.

Each pattern runs for ``--minutes`` with fresh children and homes. After a warm-up
(``--warmup`` seconds), the growth is the least-squares slope of each figure against the
events acknowledged so far, printed per 10,000 events (the poster's acknowledgements, joined to
the samples by time; the subscriber's are the relay's), over all samples after the warm-up
and over their second half. ``--tracemalloc`` also prints, per tray child, the source lines whose
traced memory grew most between the end of the warm-up and the end of the run (a diagnostic:
tracing costs memory and time of its own).

Run: python bench/soak.py [--minutes 10] [--patterns steady,bursts] [--rate 150]
     [--burst 300] [--quiet 60] [--warmup 60] [--sample 10] [--tracemalloc]
     [--setups tray-hidden,tray-shown,serve,relay,tray-relay] [--prefill N] [--keep]
     [--light-sampling]
     (--prefill N: the direct setups and the relay start on a history of N events; a
     subscribed tray app backfills its mirror from the relay first)
     python bench/soak.py --samples KEPT_FOLDER   (the figures of a kept run again)
Target (issue 17): after warm-up, tray RSS grows < 5 MB per 100,000 events at both rates,
window hidden and shown (and subscribed), and the Python heap is flat; ``serve`` alongside.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    OFFSCREEN_ENV,
    PY,
    env_with,
    machine,
    make_home,
    rss_mb,
    table,
    tray_in_process,
    verdict,
)

from holmtray.core.config.paths import Paths

SETUPS = ("tray-hidden", "tray-shown", "serve", "relay", "tray-relay")
RELAYED = "tray-relay"  # gets the events from "relay", not from the poster

TARGET_MB_PER_100K = 5.0
NATIVE_KEYS = ("anon_mb", "malloc_used_mb", "malloc_arena_mb", "sqlite_mb", "threads")
TOP_TYPES = 12


# ---- children: the measured processes ---------------------------------------------------


class Sampler:
    """Writes one JSON line per sample to ``out``: time, RSS, heap, objects by type."""

    def __init__(
        self,
        out: Path,
        every: float,
        *,
        trace: bool,
        warmup: float,
        trim: bool = False,
        light: bool = False,
    ) -> None:
        self._out = out.open("a", buffering=1)
        self._every = every
        self._trace = trace
        self._trim = trim
        self._light = light
        self._warmup = warmup
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._baseline: Any = None  # tracemalloc snapshot at the end of the warm-up
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)
        self.sizes: Callable[[], dict[str, int]] | None = None  # the app's own structures

    def start(self) -> None:
        self._thread.start()

    def _write(self, record: dict[str, Any]) -> None:
        self._out.write(json.dumps(record) + "\n")

    def sample(self) -> None:
        import tracemalloc  # noqa: PLC0415

        record: dict[str, Any] = {
            "t": time.monotonic(),
            "rss_mb": rss_mb(os.getpid()),
            "blocks": sys.getallocatedblocks(),
        }
        if self._light:
            # No walk over every object (a list of all of them, a counter of their types,
            # every 10 s): what the sampling itself allocates must not be what is measured.
            record.update(malloc_figures())
            self._write(record)
            return
        by_type = Counter(type(o).__name__ for o in gc.get_objects())
        record["objects"] = sum(by_type.values())
        record["types"] = dict(by_type.most_common(40))
        if self._trim:
            # Diagnostic: give malloc's free memory back to the system, then read RSS again.
            # What is left is held; what went was free memory malloc kept (fragmentation).
            import ctypes  # noqa: PLC0415

            ctypes.CDLL("libc.so.6").malloc_trim(0)
            record["rss_trimmed_mb"] = rss_mb(os.getpid())
        record.update(native_figures())
        if self.sizes is not None:
            record["sizes"] = self.sizes()
        if self._trace:
            record["traced_mb"] = tracemalloc.get_traced_memory()[0] / 1e6
            if self._baseline is None and time.monotonic() - self._started >= self._warmup:
                self._baseline = tracemalloc.take_snapshot()
        self._write(record)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.sample()

    def finish(self) -> None:
        """Stop sampling; with tracing, write the lines that grew most since the warm-up."""
        self._stop.set()
        self._thread.join(30)
        if self._trace and self._baseline is not None:
            import tracemalloc  # noqa: PLC0415

            diff = tracemalloc.take_snapshot().compare_to(self._baseline, "traceback")
            top = []
            for stat in diff[:15]:
                frames = [
                    f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in stat.traceback
                ]
                top.append(
                    {"kb": stat.size_diff / 1000, "count": stat.count_diff, "at": frames[-4:]}
                )
            self._write({"growth": top})
        self._out.close()


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def malloc_figures() -> dict[str, float]:
    """What malloc has handed out (all arenas, mmapped blocks included) and holds free, and
    the process's anonymous memory; allocates next to nothing. Linux with glibc >= 2.33."""
    out: dict[str, float] = {}
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        mi = libc.mallinfo2()
        out["malloc_used_mb"] = (mi.uordblks + mi.hblkhd) / 1e6
        out["malloc_free_mb"] = mi.fordblks / 1e6
        out["malloc_arena_mb"] = (mi.arena + mi.hblkhd) / 1e6
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                if line.startswith("Anonymous:"):
                    out["anon_mb"] = int(line.split()[1]) / 1e3
    except (OSError, AttributeError):
        pass
    return out


def native_figures() -> dict[str, float]:
    """Where native memory is: :func:`malloc_figures`, SQLite's own allocations (all
    connections of the process) and the process's threads. Linux with glibc >= 2.33; {}
    elsewhere."""
    out = malloc_figures()
    try:
        sqlite = ctypes.CDLL("libsqlite3.so.0")
        sqlite.sqlite3_memory_used.restype = ctypes.c_int64
        out["sqlite_mb"] = sqlite.sqlite3_memory_used() / 1e6
        out["threads"] = len(os.listdir("/proc/self/task"))
        out.update(connection_figures(sqlite))
    except (OSError, AttributeError):
        pass
    return out


def connection_figures(sqlite: ctypes.CDLL) -> dict[str, float]:
    """Each open SQLite connection's page cache, schema and statements (MB), keyed by its
    file's name and ``ro``/``rw``: found among the gc-tracked objects, the ``sqlite3 *`` read
    from the connection object (CPython 3.11's layout: first field after the object head)."""
    import sqlite3  # noqa: PLC0415

    status = sqlite.sqlite3_db_status
    status.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
    ]
    sqlite.sqlite3_db_filename.restype = ctypes.c_char_p
    sqlite.sqlite3_db_filename.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    sqlite.sqlite3_db_readonly.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    out: dict[str, float] = {}
    for obj in gc.get_objects():
        if not isinstance(obj, sqlite3.Connection):
            continue
        db = ctypes.c_void_p.from_address(id(obj) + 16).value
        if not db:
            continue  # closed
        name = Path((sqlite.sqlite3_db_filename(db, b"main") or b"").decode()).name or "memory"
        mode = "ro" if sqlite.sqlite3_db_readonly(db, b"main") == 1 else "rw"
        for op, what in ((1, "cache"), (2, "schema"), (3, "stmt")):
            cur, high = ctypes.c_int(), ctypes.c_int()
            status(db, op, ctypes.byref(cur), ctypes.byref(high), 0)
            key = f"db.{name}.{mode}.{what}_mb"
            out[key] = out.get(key, 0.0) + cur.value / 1e6
    return out


def child_tray(home: Path, *, shown: bool, sampler: Sampler) -> None:
    """The tray app; in relay mode (its settings say so) ready once its subscription is live."""
    import qasync  # noqa: PLC0415
    from PySide6.QtCore import QTimer  # noqa: PLC0415

    from holmtray.core.subscribe.source import Live  # noqa: PLC0415

    quit_event = asyncio.Event()
    tray = tray_in_process(home, quit_event)
    settings = tray.settings
    signal.signal(signal.SIGTERM, lambda *_: quit_event.set())
    wake = QTimer(interval=200)  # lets Python run the signal handler while Qt waits
    wake.timeout.connect(lambda: None)
    wake.start()

    async def main() -> None:
        await tray.start()
        if shown:
            tray.show_window()
        receiver = tray.receiver
        if settings.text("source.mode") == "relay":
            url = "-"  # the poster posts to the relay; this app gets them from its stream
            for _ in range(6000):  # a prefilled relay's backfill takes a while
                if isinstance(receiver.state, Live):
                    break
                await asyncio.sleep(0.1)
            assert isinstance(receiver.state, Live), receiver.state
        else:
            ep = receiver.endpoint
            assert ep is not None, receiver.error
            url = f"{ep.local_url()}/hooks/{settings.text('listener.token')}"
        window = tray.window
        assert window is not None

        def sizes() -> dict[str, int]:
            # Read from the sampler's thread: lengths only, each read atomic under the GIL.
            out = {f"policy.{k}": v for k, v in tray.policy.footprint().items()}
            out["window.rows"] = window.model.rowCount()
            out["app.tasks"] = len(tray._tasks)
            out["receiver.buffered"] = len(receiver._buffer._entries)  # waiting for the GUI
            return out

        sampler.sizes = sizes
        print(f"SOAK-READY {url}", flush=True)
        sampler.start()
        await quit_event.wait()

    try:
        qasync.run(main())
    finally:
        sampler.sample()
        sampler.finish()
        tray.shutdown()


def child_serve(home: Path, sampler: Sampler, *, relay: bool) -> None:
    """``holmtray serve --port 0`` (its own code path; ``--relay`` too for the relay), with the
    sampler beside it."""
    from holmtray import cli  # noqa: PLC0415

    os.environ["HOLMTRAY_HOME"] = str(home)
    real_print = print

    def started(*args: Any, **kwargs: Any) -> None:
        real_print(*args, **kwargs)
        text = " ".join(str(a) for a in args)
        if "listening on" in text:
            from _common import hook_url  # noqa: PLC0415

            real_print(f"SOAK-READY {hook_url(home)}", flush=True)
            sampler.start()

    cli.print = started  # type: ignore[attr-defined]
    try:
        cli.main(["serve", "--port", "0", *(["--relay"] if relay else [])])
    finally:
        sampler.sample()
        sampler.finish()


def child(args: argparse.Namespace) -> int:
    if args.tracemalloc:
        import tracemalloc  # noqa: PLC0415

        tracemalloc.start(8)
    sampler = Sampler(
        args.out,
        args.sample,
        trace=args.tracemalloc,
        warmup=args.warmup,
        trim=args.malloc_trim,
        light=args.light_sampling,
    )
    if args.child in ("serve", "relay"):
        child_serve(args.home, sampler, relay=args.child == "relay")
    else:
        os.environ.update(OFFSCREEN_ENV)
        child_tray(args.home, shown=args.child == "tray-shown", sampler=sampler)
    return 0


# ---- the poster -------------------------------------------------------------------------


async def post_all(
    urls: list[str], pattern: str, seconds: float, rate: float, burst: int, quiet: float, log: Path
) -> None:
    """Post the same unique bodies to every URL in ``pattern``; log acks once a second."""
    import aiohttp  # noqa: PLC0415
    from _bodies import body  # noqa: PLC0415

    seed = str(time.time_ns() % 10**9)
    ok = [0] * len(urls)
    errors = [0] * len(urls)
    sem = [asyncio.Semaphore(32) for _ in urls]
    headers = {"Content-Type": "application/json"}
    pending: set[asyncio.Task[None]] = set()

    async def one(session: aiohttp.ClientSession, i: int, data: bytes) -> None:
        async with sem[i]:
            try:
                async with session.post(urls[i], data=data, headers=headers) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        ok[i] += 1
                    else:
                        errors[i] += 1
            except (aiohttp.ClientError, OSError, TimeoutError):
                errors[i] += 1

    def send(session: aiohttp.ClientSession, n: int) -> None:
        data = body(n, seed)
        for i in range(len(urls)):
            task = asyncio.ensure_future(one(session, i, data))
            pending.add(task)
            task.add_done_callback(pending.discard)

    with log.open("a", buffering=1) as out:

        async def report() -> None:
            while True:
                out.write(json.dumps({"t": time.monotonic(), "ok": ok, "errors": errors}) + "\n")
                await asyncio.sleep(1.0)

        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            reporter = asyncio.ensure_future(report())
            start = time.monotonic()
            n = 0
            if pattern == "steady":
                step = 0.1
                tick = 0
                while time.monotonic() - start < seconds:
                    tick += 1
                    due = int(rate * step * tick)
                    while n < due:
                        send(session, n)
                        n += 1
                    await asyncio.sleep(max(0.0, start + tick * step - time.monotonic()))
            else:
                while time.monotonic() - start < seconds:
                    for _ in range(burst):
                        send(session, n)
                        n += 1
                    while pending:
                        await asyncio.sleep(0.05)
                    left = seconds - (time.monotonic() - start)
                    await asyncio.sleep(max(0.0, min(quiet, left)))
            while pending:
                await asyncio.sleep(0.05)
            reporter.cancel()
            out.write(json.dumps({"t": time.monotonic(), "ok": ok, "errors": errors}) + "\n")


# ---- the parent: one pattern, then the figures ------------------------------------------


def start_child(
    setup: str,
    args: argparse.Namespace,
    folder: Path,
    homes: list[Path],
    history: Path | None = None,
    **settings: Any,
) -> tuple[subprocess.Popen[str], Path, str]:
    home = make_home(f"soak-{setup}", **settings)
    if history is not None:  # a copy of the prefilled database; the home keeps its settings
        target = Paths.under(home).database
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(history, target)
    homes.append(home)
    out = folder / f"{setup}.jsonl"
    argv = [
        PY,
        __file__,
        "--child",
        setup,
        "--home",
        str(home),
        "--out",
        str(out),
        "--sample",
        str(args.sample),
        "--warmup",
        str(args.warmup),
    ]
    argv += ["--tracemalloc"] if args.tracemalloc else []
    argv += ["--malloc-trim"] if args.malloc_trim else []
    argv += ["--light-sampling"] if args.light_sampling else []
    err = folder / f"{setup}.stderr"
    with err.open("w") as errors:
        proc = subprocess.Popen(
            argv,
            env=env_with(home),
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=Path(__file__).resolve().parent,
        )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("SOAK-READY "):
            return proc, out, line.split(None, 1)[1].strip()
    tail = err.read_text()[-3000:]
    raise RuntimeError(f"{setup}: the child ended before it was ready (rc {proc.wait()}):\n{tail}")


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys against xs (0 if xs do not vary)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def acked_at(log: list[dict[str, Any]], i: int, t: float) -> int:
    """Events acknowledged to setup ``i`` by time ``t`` (the last report at or before it)."""
    best = 0
    for rec in log:
        if rec["t"] <= t:
            best = rec["ok"][i]
        else:
            break
    return best


def analyse(
    setup: str, i: int, samples: list[dict[str, Any]], log: list[dict[str, Any]], warmup: float
) -> dict[str, Any]:
    rows = [s for s in samples if "t" in s]
    t0 = rows[0]["t"] if rows else 0.0
    after = [s for s in rows if s["t"] - t0 >= warmup] or rows[-2:]
    events = [float(acked_at(log, i, s["t"])) for s in after]
    half = len(after) // 2
    per10k = 10_000.0
    grew_types = Counter[str]()
    if len(after) >= 2 and "types" in after[0]:
        first, last = after[0]["types"], after[-1]["types"]
        for name in set(first) | set(last):
            grew_types[name] = last.get(name, 0) - first.get(name, 0)
    out: dict[str, Any] = {
        "setup": setup,
        "samples": len(after),
        "events": int(events[-1] - events[0]) if events else 0,
        "total": acked_at(log, i, float("inf")),
        "rss_first": after[0]["rss_mb"] if after else float("nan"),
        "rss_last": after[-1]["rss_mb"] if after else float("nan"),
        "rss_per10k": per10k * slope(events, [s["rss_mb"] for s in after]),
        # The second half alone: a figure that is still settling shows up as a smaller slope.
        "rss_late_per10k": per10k * slope(events[half:], [s["rss_mb"] for s in after[half:]]),
        "blocks_per10k": per10k * slope(events, [float(s["blocks"]) for s in after]),
        "objects_per10k": per10k * slope(events, [float(s.get("objects", 0)) for s in after])
        if after and "objects" in after[0]
        else float("nan"),
        "types": [f"{k} {v:+d}" for k, v in grew_types.most_common(4) if v > 0],
        "growth": next((s["growth"] for s in samples if "growth" in s), None),
        "sizes": _largest_sizes(rows),
    }
    if after and "rss_trimmed_mb" in after[0]:
        trimmed = [s["rss_trimmed_mb"] for s in after]
        out["trimmed_per10k"] = per10k * slope(events, trimmed)
        out["trimmed_late_per10k"] = per10k * slope(events[half:], trimmed[half:])
    for key in NATIVE_KEYS:
        if after and key in after[0]:
            out[f"{key}_per10k"] = per10k * slope(events, [float(s[key]) for s in after])
            out[f"{key}_span"] = (after[0][key], after[-1][key])
    if after and "traced_mb" in after[0]:
        out["traced_per10k"] = per10k * slope(events, [s["traced_mb"] for s in after])
    return out


def _largest_sizes(rows: list[dict[str, Any]]) -> dict[str, int]:
    """The largest each of the app's structures got over the whole run."""
    out: dict[str, int] = {}
    for s in rows:
        for k, v in s.get("sizes", {}).items():
            out[k] = max(out.get(k, 0), v)
    return out


def prefill(folder: Path, events: int) -> Path:
    """A database of ``events`` realistic events (``make_history.py``'s: 60 days, 95% read) for
    the direct setups and the relay to start from, as an app that has run for months has; their
    homes keep the default retention (100,000 events), so a full history is pruned as new
    events come. A subscribed tray app starts on an empty mirror and backfills it from the
    relay before it counts as ready (all unread: the mirror keeps no read flags of the relay)."""
    from make_history import make  # noqa: PLC0415

    print(f"  prefilling a history of {events:,} events", flush=True)
    return make(folder / "history", events, seed=17)


def relay_settings(relay_home: Path, relay_hook: str) -> dict[str, Any]:
    """Settings of a tray app subscribed to the relay at ``relay_hook``: a fresh read token."""
    made = subprocess.run(
        [PY, "-m", "holmtray", "relay", "token", "add", "soak"],
        env=env_with(relay_home),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    base = relay_hook.split("/hooks/", 1)[0]
    return {
        "source.mode": "relay",
        "subscribe.urls": [base],
        "subscribe.token": made.stdout.strip().splitlines()[-1],
    }


def analyse_folder(
    folder: Path, pattern: str, setups: list[str], warmup: float
) -> list[dict[str, Any]]:
    """The figures of one pattern's run from its sample files (``--samples`` reads kept ones)."""
    posted = [json.loads(x) for x in (folder / "poster.jsonl").read_text().splitlines()]
    names = [s for s in setups if s != RELAYED]  # the poster's columns, in order
    results = []
    for setup in setups:
        # A subscribed tray app gets what the relay acknowledged (within milliseconds, live).
        i = names.index("relay" if setup == RELAYED else setup)
        lines = (folder / f"{setup}.jsonl").read_text().splitlines()
        samples = [json.loads(x) for x in lines if x.strip()]
        res = analyse(setup, i, samples, posted, warmup)
        res["pattern"] = pattern
        res["errors"] = posted[-1]["errors"][i]
        results.append(res)
    return results


def run_pattern(pattern: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    folder = Path(make_home(f"soak-{pattern}"))
    meta = {"pattern": pattern, "setups": args.setups, "argv": sys.argv[1:]}
    (folder / "run.json").write_text(json.dumps(meta))
    homes: list[Path] = []
    children: list[tuple[str, subprocess.Popen[str], Path, str]] = []
    history = prefill(folder, args.prefill) if args.prefill else None
    try:
        for setup in args.setups:
            extra: dict[str, Any] = {}
            if setup == RELAYED:
                relay = next(c for c in children if c[0] == "relay")
                extra = relay_settings(homes[children.index(relay)], relay[3])
            # The relay gets the history too: its subscriber backfills all of it into a new
            # mirror before it is ready, so both start as apps that have run for months.
            filled = history if setup in ("tray-hidden", "tray-shown", "serve", "relay") else None
            proc, out, url = start_child(setup, args, folder, homes, filled, **extra)
            children.append((setup, proc, out, url))
        posted_to = [c for c in children if c[0] != RELAYED]
        log = folder / "poster.jsonl"
        asyncio.run(
            post_all(
                [url for *_, url in posted_to],
                pattern,
                args.minutes * 60,
                args.rate,
                args.burst,
                args.quiet,
                log,
            )
        )
        time.sleep(args.sample + 1)  # one more sample after the last event
    finally:
        for _, proc, _, _ in children:
            proc.send_signal(signal.SIGTERM)
        for _, proc, _, _ in children:
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
    results = analyse_folder(folder, pattern, [c[0] for c in children], args.warmup)
    if args.keep:
        print(f"  samples kept in {folder}")
    else:
        for path in [folder, *homes]:
            shutil.rmtree(path, ignore_errors=True)
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--minutes", type=float, default=10.0, help="length of each pattern's run")
    p.add_argument("--patterns", default="steady,bursts", help="steady, bursts or both")
    p.add_argument("--setups", default=",".join(SETUPS), help=f"any of {', '.join(SETUPS)}")
    p.add_argument("--rate", type=float, default=150.0, help="events/s of the steady pattern")
    p.add_argument("--burst", type=int, default=300, help="events per burst")
    p.add_argument("--quiet", type=float, default=60.0, help="seconds between bursts")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds before growth is measured")
    p.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--tracemalloc", action="store_true", help="diagnostic: trace allocations")
    p.add_argument(
        "--prefill",
        type=int,
        default=0,
        help="start the direct setups and the relay on a history of this many events",
    )
    p.add_argument(
        "--malloc-trim",
        action="store_true",
        help="diagnostic: also RSS after malloc_trim(0) each sample (what malloc only kept)",
    )
    p.add_argument(
        "--light-sampling",
        action="store_true",
        help="sample RSS, heap blocks and malloc only: no walk over every object (no types, "
        "object counts, SQLite connection figures or app structure sizes)",
    )
    p.add_argument("--keep", action="store_true", help="keep the sample files")
    p.add_argument(
        "--samples", type=Path, action="append", help="print the figures of kept sample files"
    )
    p.add_argument("--child", choices=SETUPS, help=argparse.SUPPRESS)
    p.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)
    args.setups = [s for s in args.setups.split(",") if s]
    if RELAYED in args.setups:  # its relay first (sampled too), then the subscriber
        args.setups = [s for s in args.setups if s not in ("relay", RELAYED)]
        args.setups += ["relay", RELAYED]

    results: list[dict[str, Any]] = []
    for folder in args.samples or []:
        meta = (
            json.loads((folder / "run.json").read_text()) if (folder / "run.json").exists() else {}
        )
        pattern = meta.get("pattern", args.patterns)
        print(f"{folder}: {pattern}, {' '.join(meta.get('argv', [])) or 'argv not kept'}")
        results.extend(
            analyse_folder(folder, pattern, meta.get("setups", args.setups), args.warmup)
        )
    if args.samples:
        print(report(results))
        return 0

    print(machine())
    for pattern in [x for x in args.patterns.split(",") if x]:
        what = (
            f"{args.rate:g} events/s"
            if pattern == "steady"
            else f"bursts of {args.burst}, {args.quiet:g} s apart"
        )
        print(f"{pattern}: {what} for {args.minutes:g} min to {', '.join(args.setups)}", flush=True)
        results.extend(run_pattern(pattern, args))
        for r in results[-len(args.setups) :]:
            print(
                f"  {r['setup']}: {r['total']} events, {r['errors']} errors; "
                f"growing types {', '.join(r['types']) or '-'}",
                flush=True,
            )
            if r["sizes"]:
                largest = ", ".join(f"{k} {v:,}" for k, v in sorted(r["sizes"].items()) if v)
                print(f"    largest over the run: {largest}")
            for g in r["growth"] or []:
                where = " <- ".join(reversed(g["at"]))
                print(f"    {g['kb']:+9.0f} kB {g['count']:+7d} blocks  {where}")

    print()
    print(report(results))
    return 0


def report(results: list[dict[str, Any]]) -> str:
    """The figures as one Markdown table."""
    rows = []
    for r in results:
        is_tray = r["setup"].startswith("tray")
        per100k = 10 * r["rss_per10k"]
        rows.append(
            [
                r["pattern"],
                r["setup"],
                f"{r['total']:,}",
                f"{r['events']:,}",
                f"{r['rss_first']:.0f} → {r['rss_last']:.0f}",
                f"{r['rss_per10k']:+.2f}",
                f"{r['rss_late_per10k']:+.2f}",
                f"{r['blocks_per10k']:+,.0f}",
                f"{r['objects_per10k']:+,.0f}"
                if not math.isnan(r["objects_per10k"])
                else "-",  # not sampled (--light-sampling)
                (f"{r['traced_per10k']:+.2f}" if "traced_per10k" in r else "-"),
                (verdict(per100k < TARGET_MB_PER_100K) if r["events"] else "too short")
                if is_tray
                else "-",
            ]
        )
    trimmed = [
        [
            r["pattern"],
            r["setup"],
            f"{r['trimmed_per10k']:+.2f}",
            f"{r['trimmed_late_per10k']:+.2f}",
        ]
        for r in results
        if "trimmed_per10k" in r
    ]
    native = [
        [r["pattern"], r["setup"]]
        + [
            f"{r[key + '_span'][0]:.1f} → {r[key + '_span'][1]:.1f} ({r[key + '_per10k']:+.2f})"
            for key in NATIVE_KEYS
        ]
        for r in results
        if all(key + "_span" in r for key in NATIVE_KEYS)
    ]
    if native:
        trimmed_note = "\n\nNative memory after warm-up, first → last (slope per 10k events):\n"
        trimmed_note += table(["pattern", "setup", *NATIVE_KEYS], native)
    else:
        trimmed_note = ""
    extra = (
        "\n\nRSS after malloc_trim(0):\n"
        + table(["pattern", "setup", "RSS MB /10k", "2nd half"], trimmed)
        if trimmed
        else ""
    )
    return (
        table(
            [
                "pattern",
                "setup",
                "events",
                "after warm-up",
                "RSS MB",
                "RSS MB /10k",
                "2nd half",
                "heap blocks /10k",
                "gc objects /10k",
                "traced MB /10k",
                f"< {TARGET_MB_PER_100K:g} MB /100k",
            ],
            rows,
        )
        + extra
        + trimmed_note
    )


if __name__ == "__main__":
    sys.exit(main())
