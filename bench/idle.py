"""Idle and start-up: the tray app with its window hidden, next to a bare PySide6 tray app.

Start-up: wall time from launching the process to its ready line on stderr (the tray app
prints ``holmtray: tray app ready`` once its icon is shown; ``bare_tray.py`` prints its own),
both offscreen with no session bus, alternating, median of several runs. The tray app starts on
an existing home (config and database already made by a first start), as it does every day
after the first.

Idle: the bare tray app and the tray app (empty history; and, when ``make_history.py`` has
made it, the tray app on the 1,000,000-event history) run side by side; after a settling
period their CPU time (``/proc/PID/stat`` utime + stime) is sampled over the same 60 s.
RSS is read at the end.

Run: python bench/idle.py [--seconds 60] [--starts 5]
Targets: tray app CPU <= 0.5% over 60 s with the window hidden; idle RSS recorded; start-up
reported as a ratio to the bare tray app.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from pathlib import Path

from _common import (
    OFFSCREEN_ENV,
    PY,
    READY_TRAY,
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
ICON_SHOWN = re.compile(r"holmtray\.app: tray icon shown")
TARGET_CPU_PCT = 0.5


def start_bare() -> Proc:
    proc = Proc([PY, str(Path(__file__).with_name("bare_tray.py"))], env_with(**OFFSCREEN_ENV))
    proc.wait_for(READY_BARE)
    return proc


def startup_ms(proc: Proc, ready: re.Pattern[str]) -> float:
    _, stamp = proc.wait_for(ready, timeout=120)
    return (stamp - proc.started) * 1000


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
    args = p.parse_args()
    print(machine())

    # ---- start-up -----------------------------------------------------------------------
    home = make_home("idle")
    start_tray(home).stop()  # first start: creates the database; later starts are measured
    starts: dict[str, list[float]] = {"bare": [], "tray": []}
    for _ in range(args.starts):
        bare = Proc([PY, str(Path(__file__).with_name("bare_tray.py"))], env_with(**OFFSCREEN_ENV))
        starts["bare"].append(startup_ms(bare, READY_BARE))
        bare.stop()
        tray = Proc([PY, "-m", "holmtray", "tray", "--verbose"], env_with(home, **OFFSCREEN_ENV))
        starts["tray"].append(startup_ms(tray, ICON_SHOWN))
        tray.wait_for(READY_TRAY, timeout=120)
        tray.stop()
    print("start-up ms, bare: " + ", ".join(f"{x:.0f}" for x in starts["bare"]))
    print("start-up ms, tray: " + ", ".join(f"{x:.0f}" for x in starts["tray"]))

    # ---- idle ---------------------------------------------------------------------------
    procs: dict[str, Proc] = {"bare tray app": start_bare(), "tray app (empty)": start_tray(home)}
    history_db = Paths.under(args.history).database
    big_start: float | None = None
    if history_db.exists():
        big = Proc(
            [PY, "-m", "holmtray", "tray", "--verbose"], env_with(args.history, **OFFSCREEN_ENV)
        )
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
    sb, st = median(starts["bare"]), median(starts["tray"])
    print()
    print(
        table(
            ["start-up to tray icon shown (median)", "ms", "ratio to bare"],
            [
                ["bare PySide6 tray app", f"{sb:.0f}", "1.00"],
                ["holmtray tray app (existing home)", f"{st:.0f}", f"{st / sb:.2f}"],
            ]
            + (
                [
                    [
                        "tray app on the 1M history (one start)",
                        f"{big_start:.0f}",
                        f"{big_start / sb:.2f}",
                    ]
                ]
                if big_start is not None
                else []
            ),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
