"""Shared machinery for the benchmarks: temp homes, subprocesses, wrk, statistics, machine facts.

Benchmarks are scripts, not tests: they print figures and exit 0. Every figure is measured next
to a baseline in the same run and reported as a ratio to it, because the machines they run on
are small and noisy. Everything is loopback (127.0.0.1) and bounded in time.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from holmtray.core.config import file as settings_file  # noqa: E402
from holmtray.core.config.paths import Paths  # noqa: E402
from holmtray.core.config.schema import SCHEMA  # noqa: E402

PY = sys.executable
BENCH = Path(__file__).resolve().parent
READY_TRAY = re.compile(r"holmtray: tray app ready")
LISTENING = re.compile(r"listening on http://(?P<host>[^/\s]+):(?P<port>\d+)")

OFFSCREEN_ENV = {
    "QT_QPA_PLATFORM": "offscreen",
    # No session bus: the tray app falls back to Qt's own notifier (as on a bare X session).
    "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent",
}


# ---- temp homes and settings ------------------------------------------------------------


def temp_dir(prefix: str) -> Path:
    """A fresh folder on the real disk (not tmpfs: fsync must cost what it costs)."""
    return Path(tempfile.mkdtemp(prefix=f"holmtray-bench-{prefix}-"))


NO_LIMIT_KEYS = ("listener.rate_per_minute", "listener.max_connections_per_source")
"""Per-source throttles (0 = no limit) that a loopback load generator -- one source -- would hit."""


def bench_overrides() -> dict[str, Any]:
    """Settings every benchmark home gets: port 0, no welcome dialog, per-source limits off.

    Only keys the schema has are set, so this works before and after such limits exist.
    """
    values: dict[str, Any] = {"listener.port": 0, "ui.welcome_shown": True}
    known = {s.key for s in SCHEMA}
    values.update({key: 0 for key in NO_LIMIT_KEYS if key in known})
    return values


def make_home(prefix: str, **extra: Any) -> Path:
    """A HOLMTRAY_HOME with a config file holding :func:`bench_overrides` and ``extra``."""
    home = temp_dir(prefix)
    paths = Paths.under(home)
    base = settings_file.load_or_create(paths.config_file)
    values = bench_overrides()
    values.update(extra)
    settings_file.save(base.with_values(values), paths.config_file)
    return home


def token_of(home: Path) -> str:
    cfg = tomllib.loads(Paths.under(home).config_file.read_text())
    return str(cfg["listener"]["token"])


def port_of(home: Path) -> int:
    data = json.loads((Paths.under(home).data_dir / "listener.json").read_text())
    return int(data["port"])


def hook_url(home: Path) -> str:
    return f"http://127.0.0.1:{port_of(home)}/hooks/{token_of(home)}"


# ---- subprocesses -----------------------------------------------------------------------


def env_with(home: Path | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if home is not None:
        env["HOLMTRAY_HOME"] = str(home)
    env.update(extra)
    return env


class Proc:
    """A subprocess whose stderr is collected line by line; wait on lines, never on sleep."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: Path = ROOT) -> None:
        self.argv = list(argv)
        self.lines: list[str] = []
        self._stamps: list[float] = []
        self._cond = threading.Condition()
        self.started = time.monotonic()
        self.popen = subprocess.Popen(
            self.argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
        )
        self.pid = self.popen.pid
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            stamp = time.monotonic()
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._stamps.append(stamp)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(
        self, pattern: re.Pattern[str], timeout: float = 60
    ) -> tuple[re.Match[str], float]:
        """The first stderr line matching ``pattern`` and when it was read (monotonic)."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for i in range(seen, len(self.lines)):
                    m = pattern.search(self.lines[i])
                    if m:
                        return m, self._stamps[i]
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.popen.poll() is not None and not self._reader.is_alive()):
                    out = "\n".join(self.lines[-40:])
                    raise RuntimeError(f"{self.argv}: no line matching {pattern.pattern!r}:\n{out}")
                self._cond.wait(min(left, 0.2))

    def line_stamp(self, index: int) -> float:
        """When line ``index`` of stderr was read (monotonic)."""
        with self._cond:
            return self._stamps[index]

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM (a clean shutdown for holmtray), then wait; kill only if it hangs."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            rc = self.popen.wait(10)
        self._reader.join(5)
        return rc


def start_serve(home: Path, tree: Path | None = None) -> Proc:
    """``holmtray serve`` of this checkout, or of the copy of the package in ``tree``."""
    env = env_with(home)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    proc = Proc([PY, "-m", "holmtray", "serve", "--port", "0"], env, cwd=tree or ROOT)
    proc.wait_for(LISTENING)
    return proc


def start_tray(home: Path, *, verbose: bool = False, tree: Path | None = None) -> Proc:
    """The tray app of this checkout, or of the copy of the package in ``tree``."""
    args = [PY, "-m", "holmtray", "tray"] + (["--verbose"] if verbose else [])
    env = env_with(home, **OFFSCREEN_ENV)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    proc = Proc(args, env, cwd=tree or ROOT)
    proc.wait_for(READY_TRAY, timeout=90)
    return proc


def tray_in_process(home: Path, quit_event: Any) -> Any:
    """The tray app built in this process as ``holmtray.ui.app.run()`` builds it (logging, a
    QApplication that outlives its windows); the caller sets ``QT_QPA_PLATFORM`` first and
    runs ``await tray.start()`` on a qasync loop."""
    import logging  # noqa: PLC0415

    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from holmtray.core import logsetup  # noqa: PLC0415
    from holmtray.ui.app import TrayApp  # noqa: PLC0415

    paths = Paths.under(home)
    settings = settings_file.load(paths.config_file)
    logsetup.configure(
        secrets=(settings.text("listener.token"), settings.text("listener.password")),
        level=logging.INFO,
        log_file=paths.log_file,
    )
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    return TrayApp(settings=settings, paths=paths, quit_event=quit_event)


# ---- /proc ------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


def self_rss_mb() -> float:
    return rss_mb(os.getpid())


# ---- wrk --------------------------------------------------------------------------------


_SEEDS = itertools.count(1)


def run_wrk(
    url: str,
    *,
    duration_s: float,
    connections: int = 64,
    threads: int = 1,
    ids_file: Path | None = None,
) -> dict[str, Any]:
    """Run wrk with bench/post_unique.lua; the figures its done() printed."""
    env = dict(os.environ)
    env["BODY_SEED"] = f"{os.getpid() % 1000}{next(_SEEDS)}{time.time_ns() % 10**6:06d}"
    if ids_file is not None:
        env["IDS_FILE"] = str(ids_file)
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",  # wrk takes whole seconds
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(BENCH / "post_unique.lua"),
        url,
    ]
    r = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=duration_s + 60, check=False
    )
    for line in r.stdout.splitlines():
        if line.startswith("BENCH "):
            out: dict[str, Any] = json.loads(line[6:])
            out["errors"] = (
                out["non2xx"] + out["connect"] + out["read"] + out["write"] + out["timeout"]
            )
            out["eps"] = out["ok"] / (out["duration_us"] / 1e6)
            return out
    raise RuntimeError(f"wrk printed no result (rc {r.returncode}):\n{r.stdout}\n{r.stderr}")


# ---- statistics and printing ------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of ``values``."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return float(s[k])


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (it reads fine in a terminal too)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def machine() -> str:
    """One paragraph saying what the figures were measured on."""
    import sqlite3  # noqa: PLC0415

    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    wrk = "-"
    with contextlib.suppress(OSError):
        out = subprocess.run(
            ["wrk", "--version"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
        wrk = out.split("Copyright")[0].strip()
    pkgs = ", ".join(
        f"{d} {_version(d)}"
        for d in ("holmtray", "aiohttp", "PySide6_Essentials", "shiboken6", "qasync")
    )
    return (
        f"machine: {os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {pkgs}; SQLite {sqlite3.sqlite_version}; {wrk}"
    )
