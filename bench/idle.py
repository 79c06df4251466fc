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

Idle: the bare tray app and the tray app (empty history; and, when ``make_history.py`` has
made it, the tray app on the 1,000,000-event history) run side by side; after a settling
period their CPU time (``/proc/PID/stat`` utime + stime) is sampled over the same 60 s.
RSS is read at the end.

Run: python bench/idle.py [--seconds 60] [--starts 5] [--startup-only] [--compare-tree DIR]
Targets: tray app CPU <= 0.5% over 60 s with the window hidden; idle RSS recorded; start-up
reported as a ratio to the bare tray app.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
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
    verdict,
)
from make_history import DEFAULT_HOME

from holmtray.core.config.paths import Paths

READY_BARE = re.compile(r"bare: tray ready")
# With --verbose the tray app logs the moment its icon is shown (before the store is opened).
ICON_SHOWN = re.compile(r"holmtray\.(ui\.)?app: tray icon shown")
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


def tray_start(home: Path, cache: Path | None, tree: Path | None) -> float:
    """One start of the tray app to its icon, in ms (then it is stopped)."""
    argv = [PY, "-m", "holmtray", "tray", "--verbose"]
    tray = Proc(argv, start_env(home, cache, tree), cwd=tree or ROOT)
    ms = startup_ms(tray, ICON_SHOWN)
    tray.wait_for(READY_TRAY, timeout=120)
    tray.stop()
    return ms


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
    args = p.parse_args()
    print(machine())

    # ---- start-up -----------------------------------------------------------------------
    home = make_home("idle")
    cache_dir = None if args.no_bytecode_cache else Path(tempfile.mkdtemp(prefix="holmtray-pyc-"))
    tree = args.compare_tree.resolve() if args.compare_tree else None
    # First starts, unmeasured: create the database and fill the bytecode cache.
    bare_start(cache_dir)
    tray_start(home, cache_dir, None)
    if tree is not None:
        tray_start(home, cache_dir, tree)
    starts: dict[str, list[float]] = {"bare": [], "tray": [], "tray@tree": []}
    for _ in range(args.starts):
        starts["bare"].append(bare_start(cache_dir))
        starts["tray"].append(tray_start(home, cache_dir, None))
        if tree is not None:
            starts["tray@tree"].append(tray_start(home, cache_dir, tree))
    cache_word = "no bytecode cache" if cache_dir is None else "bytecode cached"
    for name, values in starts.items():
        if values:
            print(f"start-up ms, {name}: " + ", ".join(f"{x:.0f}" for x in values))
    if args.startup_only:
        print()
        print(startup_table(starts, cache_word, tree, None))
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
