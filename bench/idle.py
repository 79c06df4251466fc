"""Idle and start-up: the tray app with its window hidden, next to a bare PySide6 tray app.

Start-up: wall time from launching the process to the line saying its tray icon is shown
(the tray app with ``--verbose`` logs ``tray icon shown``; ``bare_tray.py`` prints its own),
both offscreen with no session bus, alternating, median of several runs. The tray app starts on
an existing home (config and database already made by a first start), as it does every day
after the first. Python's bytecode cache is on for both (a private ``PYTHONPYCACHEPREFIX``
filled by an unmeasured first start), as it is for an installed app, even where the
environment sets ``PYTHONDONTWRITEBYTECODE``; ``--no-bytecode-cache`` measures every module
compiled from source at each start instead. ``--compare-tree DIR`` adds the tray app run from
another copy of the package (e.g. the commit before a change), in the same rounds.

Two more start-up figures for the tray app, where its log has them: the GUI loop's first turn
after the icon (``event loop turned after the icon``: the icon line is printed before the loop
runs, and the bare app goes straight into its loop, while holmtray's first turn also builds
PySide6's Qt namespace for qasync), and ``--listener``: the first webhook answered 200 (stored),
posted from the bench every few milliseconds from the moment the process is launched.

Idle: the bare tray app and the tray app (empty history; and, when ``make_history.py`` has
made it, the tray app on the 1,000,000-event history) run side by side; after a settling
period their CPU time (``/proc/PID/stat`` utime + stime) is sampled over the same 60 s.
RSS is read at the end.

Run: python bench/idle.py [--seconds 60] [--starts 5] [--startup-only] [--compare-tree DIR]
     [--listener] [--no-bytecode-cache]
Targets: tray app CPU <= 0.5% over 60 s with the window hidden; idle RSS recorded; start-up
reported as a ratio to the bare tray app.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from _common import (
    OFFSCREEN_ENV,
    PY,
    READY_TRAY,
    ROOT,
    Proc,
    cpu_seconds,
    env_with,
    machine,
    make_home,
    median,
    rss_mb,
    start_tray,
    table,
    token_of,
    verdict,
)
from make_history import DEFAULT_HOME

from holmtray.core.config.paths import Paths
from holmtray.core.parsing.samples import sample_body

READY_BARE = re.compile(r"bare: tray ready")
# With --verbose the tray app logs the moment its icon is shown (before the store is opened).
ICON_SHOWN = re.compile(r"holmtray\.(ui\.)?app: tray icon shown")
LOOP_TURNED = re.compile(r"holmtray\.ui\.app: event loop turned after the icon")
TARGET_CPU_PCT = 0.5


def start_bare() -> Proc:
    proc = Proc([PY, str(Path(__file__).with_name("bare_tray.py"))], env_with(**OFFSCREEN_ENV))
    proc.wait_for(READY_BARE)
    return proc


def startup_ms(proc: Proc, ready: re.Pattern[str]) -> float:
    _, stamp = proc.wait_for(ready, timeout=120)
    return (stamp - proc.started) * 1000


def start_env(home: Path | None, cache: Path | None, tree: Path | None = None) -> dict[str, str]:
    """Offscreen, no session bus; bytecode cached under ``cache`` (None: never cached)."""
    env = env_with(home, **OFFSCREEN_ENV)
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def first_200(url: str, body: bytes, since: float, stop: threading.Event, out: list[float]) -> None:
    """POST ``body`` to ``url`` every 2 ms until one is answered 200; its ms since ``since``."""
    while not stop.is_set():
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                if r.status == 200:
                    out.append((time.monotonic() - since) * 1000)
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.002)


def tray_start(
    home: Path, cache: Path | None, tree: Path | None, listener: str | None = None
) -> dict[str, float]:
    """One start of the tray app, in ms from launch: ``icon``; ``turned`` (the loop's first
    turn after it) where logged; ``listener`` (first webhook stored) with ``listener`` = its
    URL. Then it is stopped."""
    argv = [PY, "-m", "holmtray", "tray", "--verbose"]
    stop, answered = threading.Event(), []
    tray = Proc(argv, start_env(home, cache, tree), cwd=tree or ROOT)
    poster = None
    if listener is not None:
        body = sample_body("ticket")
        poster = threading.Thread(
            target=first_200, args=(listener, body, tray.started, stop, answered), daemon=True
        )
        poster.start()
    times = {"icon": startup_ms(tray, ICON_SHOWN)}
    tray.wait_for(READY_TRAY, timeout=120)
    turned = [i for i, line in enumerate(tray.lines) if LOOP_TURNED.search(line)]
    if turned:
        times["turned"] = (tray.line_stamp(turned[0]) - tray.started) * 1000
    if poster is not None:
        poster.join(60)
        stop.set()
        if answered:
            times["listener"] = answered[0]
    tray.stop()
    return times


def bare_start(cache: Path | None) -> float:
    bare = Proc([PY, str(Path(__file__).with_name("bare_tray.py"))], start_env(None, cache))
    ms = startup_ms(bare, READY_BARE)
    bare.stop()
    return ms


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--seconds", type=float, default=60.0, help="idle sampling period")
    p.add_argument("--settle", type=float, default=10.0, help="seconds after start before sampling")
    p.add_argument("--starts", type=int, default=5, help="start-up runs of each")
    p.add_argument(
        "--history",
        type=Path,
        default=DEFAULT_HOME,
        help="a make_history.py home to idle on too (skipped if missing)",
    )
    p.add_argument("--startup-only", action="store_true", help="skip the idle measurement")
    p.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="start-up with every module compiled from source (PYTHONDONTWRITEBYTECODE)",
    )
    p.add_argument("--compare-tree", type=Path, help="also start the package in this copy")
    p.add_argument(
        "--listener",
        action="store_true",
        help="also time the first webhook stored after launch (a fixed port; adds events)",
    )
    args = p.parse_args()
    print(machine())

    # ---- start-up -----------------------------------------------------------------------
    port = free_port()
    home = make_home("idle", **({"listener.port": port} if args.listener else {}))
    cache_dir = None if args.no_bytecode_cache else Path(tempfile.mkdtemp(prefix="holmtray-pyc-"))
    tree = args.compare_tree.resolve() if args.compare_tree else None
    # First starts, unmeasured: create the database and fill the bytecode cache.
    bare_start(cache_dir)
    tray_start(home, cache_dir, None)
    if tree is not None:
        tray_start(home, cache_dir, tree)
    url = f"http://127.0.0.1:{port}/hooks/{token_of(home)}" if args.listener else None
    starts: dict[str, list[float]] = {"bare": [], "tray": [], "tray@tree": []}
    extra: dict[str, dict[str, list[float]]] = {"tray": {}, "tray@tree": {}}
    for _ in range(args.starts):
        starts["bare"].append(bare_start(cache_dir))
        for name, where in (("tray", None), ("tray@tree", tree)):
            if name == "tray@tree" and tree is None:
                continue
            times = tray_start(home, cache_dir, where, url)
            starts[name].append(times.pop("icon"))
            for key, ms in times.items():
                extra[name].setdefault(key, []).append(ms)
    cache_word = "no bytecode cache" if cache_dir is None else "bytecode cached"
    for name, values in starts.items():
        if values:
            print(f"start-up ms, {name}: " + ", ".join(f"{x:.0f}" for x in values))
    for name, more in extra.items():
        for key, values in more.items():
            print(f"start-up ms to {key}, {name}: " + ", ".join(f"{x:.0f}" for x in values))
    if args.startup_only:
        print()
        print(startup_table(starts, cache_word, tree, None))
        print()
        print(extra_table(starts, extra, tree))
        shutil.rmtree(home, ignore_errors=True)
        if cache_dir is not None:
            shutil.rmtree(cache_dir, ignore_errors=True)
        return 0

    # ---- idle ---------------------------------------------------------------------------
    procs: dict[str, Proc] = {"bare tray app": start_bare(), "tray app (empty)": start_tray(home)}
    history_db = Paths.under(args.history).database
    big_start: float | None = None
    if history_db.exists():
        big = Proc([PY, "-m", "holmtray", "tray", "--verbose"], start_env(args.history, cache_dir))
        big_start = startup_ms(big, ICON_SHOWN)
        big.wait_for(READY_TRAY, timeout=120)
        procs["tray app (1M events)"] = big
    else:
        print(f"no {history_db}: skipping the 1M-event idle run (python bench/make_history.py)")
    try:
        time.sleep(args.settle)
        before = {k: cpu_seconds(pr.pid) for k, pr in procs.items()}
        t0 = time.monotonic()
        time.sleep(args.seconds)
        elapsed = time.monotonic() - t0
        after = {k: cpu_seconds(pr.pid) for k, pr in procs.items()}
        rss = {k: rss_mb(pr.pid) for k, pr in procs.items()}
    finally:
        for pr in procs.values():
            pr.stop()
        shutil.rmtree(home, ignore_errors=True)
        if cache_dir is not None:
            shutil.rmtree(cache_dir, ignore_errors=True)

    rows = []
    bare_cpu = 100 * (after["bare tray app"] - before["bare tray app"]) / elapsed
    for name in procs:
        cpu = 100 * (after[name] - before[name]) / elapsed
        is_tray = name != "bare tray app"
        rows.append(
            [
                name,
                f"{cpu:.2f}%",
                f"{(cpu - bare_cpu):+.2f} pp" if is_tray else "baseline",
                f"<= {TARGET_CPU_PCT}%" if is_tray else "-",
                verdict(cpu <= TARGET_CPU_PCT) if is_tray else "-",
                f"{rss[name]:.0f}",
            ]
        )
    print()
    print(
        table(
            [
                f"idle, window hidden, {elapsed:.0f} s",
                "CPU",
                "vs bare",
                "target",
                "targets",
                "RSS MB",
            ],
            rows,
        )
    )
    print()
    print(startup_table(starts, cache_word, tree, big_start))
    return 0


def extra_table(
    starts: dict[str, list[float]], extra: dict[str, dict[str, list[float]]], tree: Path | None
) -> str:
    """The tray app's later start-up points (medians; "-" where that tree does not log it)."""
    sb = median(starts["bare"])
    rows = []
    for name, label in (("tray", "holmtray tray app"), ("tray@tree", f"tray app from {tree}")):
        if not starts[name]:
            continue
        row = [label]
        for key in ("turned", "listener"):
            values = extra[name].get(key)
            row.append(f"{median(values):.0f} ({median(values) / sb:.2f})" if values else "-")
        rows.append(row)
    return table(
        [
            "start-up, later points (median ms from launch; ratio to bare's icon)",
            "GUI loop's first turn after the icon",
            "first webhook stored",
        ],
        rows,
    )


def startup_table(
    starts: dict[str, list[float]], cache_word: str, tree: Path | None, big_start: float | None
) -> str:
    sb = median(starts["bare"])
    rows = [["bare PySide6 tray app", f"{sb:.0f}", "1.00"]]
    st = median(starts["tray"])
    rows.append(["holmtray tray app (existing home)", f"{st:.0f}", f"{st / sb:.2f}"])
    if starts["tray@tree"]:
        sc = median(starts["tray@tree"])
        rows.append([f"holmtray tray app from {tree}", f"{sc:.0f}", f"{sc / sb:.2f}"])
    if big_start is not None:
        rows.append(
            ["tray app on the 1M history (one start)", f"{big_start:.0f}", f"{big_start / sb:.2f}"]
        )
    return table(
        [f"start-up to tray icon shown (median; {cache_word})", "ms", "ratio to bare"], rows
    )


if __name__ == "__main__":
    sys.exit(main())
