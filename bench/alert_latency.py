"""Alert latency: from a webhook's 2xx to its notification on the real notification daemon.

Needs a desktop: ``DISPLAY`` (Xvfb) and ``DBUS_SESSION_BUS_ADDRESS`` with dunst owning
``org.freedesktop.Notifications`` (``.ci/desktop.sh``'s ``desktop_start`` makes one). The tray
app runs as a subprocess (``python -m holmtray tray --verbose``, ``QT_QPA_PLATFORM=xcb``), so
it talks to dunst over the session bus exactly as it does on a user's desktop.

The end point is read off the bus: ``dbus-monitor`` watches every ``Notify`` call to the
daemon and the daemon's reply (the notification id), with the bus's own wall-clock stamps.
The reply is the moment dunst has taken the notification in (it draws it in the same turn of
its loop); the call's stamp is printed too. The start point is the bench's wall clock right
after it read the 2xx. Both are ``time.time()`` on one machine.

Trials (each waits for its notification, then ``dunstctl close-all`` clears the screen,
untimed):

- ``lone``: one ticket webhook, then ``--gap`` seconds of quiet, so that every trial is a lone
  event for the policy.
- ``burst``: ``--burst`` tickets posted at once over 16 connections; the figure is from the
  first 2xx of the burst to the first notification (the first event on its own, or the burst
  summary when the first batch already is a burst). The bench then waits for the burst to end
  (``burst_window_s`` of quiet and the final count shown) before the next trial.
- ``relay``: ``holmtray serve --relay`` (its own home; a read token from
  ``holmtray relay token add``) receives the webhook; the tray app subscribes with
  ``source.mode = "relay"`` on loopback; the figure is from the relay's 2xx to the tray's
  notification. Lone events, spaced as in ``lone``.

Settings, so that the policy's rules do not swallow trials: ``notifications.burst_window_s
= 1`` (its minimum: a gap of 1.3 s makes each trial a lone event) and
``notifications.max_per_minute = 60`` (its maximum; a trial every 1.3 s is at most 47 new
pop-ups a minute, a burst trial at most two). Everything else is the default.

Run: python bench/alert_latency.py [--trials 200] [--setups lone,burst,relay] [--tree DIR]
``--tree DIR`` runs the tray app (and the relay) from another copy of the package, e.g. the
commit before a change (``git archive COMMIT holmtray | tar -x -C DIR``).
Target: lone event p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _bodies import ticket
from _common import (
    PY,
    ROOT,
    Proc,
    env_with,
    machine,
    make_home,
    percentile,
    port_of,
    table,
    token_of,
    verdict,
)

TARGET_P99_MS = 100.0
READY_TRAY = re.compile(r"holmtray: tray app ready")
LIVE = re.compile(r"tray state: .*\(live\)")
LISTENING = re.compile(r"listening on http://")
POLICY = {"notifications.burst_window_s": 1.0, "notifications.max_per_minute": 60}


# ---- the bus ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """One ``Notify`` call from the tray app and dunst's reply to it (bus wall-clock)."""

    called: float
    answered: float
    summary: str


class BusWatch:
    """``Notify`` calls to the notification daemon and the daemon's replies, as they pass."""

    _CALL = re.compile(
        r"^method call time=(?P<t>[\d.]+) sender=(?P<s>\S+) -> .* "
        r"serial=(?P<n>\d+) .*member=Notify$"
    )
    _RETURN = re.compile(
        r"^method return time=(?P<t>[\d.]+) sender=\S+ -> destination=(?P<d>\S+) "
        r"serial=\d+ reply_serial=(?P<n>\d+)"
    )
    _STRING = re.compile(r'^\s+string "(?P<s>.*)"$')

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._calls: dict[tuple[str, str], tuple[float, list[str]]] = {}
        self.shown: list[Shown] = []
        rules = [
            "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            "type='method_return',sender='org.freedesktop.Notifications'",
        ]
        self._popen = subprocess.Popen(
            ["dbus-monitor", "--session", *rules],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._started = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._started.wait(15):
            raise RuntimeError("dbus-monitor did not start")

    def _read(self) -> None:
        assert self._popen.stdout is not None
        strings: list[str] | None = None
        for raw in self._popen.stdout:
            self._started.set()
            line = raw.rstrip("\n")
            if m := self._CALL.match(line):
                strings = []
                with self._cond:
                    self._calls[(m["s"], m["n"])] = (float(m["t"]), strings)
                continue
            if m := self._RETURN.match(line):
                strings = None
                with self._cond:
                    call = self._calls.pop((m["d"], m["n"]), None)
                    if call is not None:
                        args = call[1]
                        if args and args[0] == "holmtray":
                            summary = args[2] if len(args) > 2 else ""
                            self.shown.append(Shown(call[0], float(m["t"]), summary))
                            self._cond.notify_all()
                continue
            if strings is not None and (s := self._STRING.match(line)):
                strings.append(s["s"])  # app name, icon, summary, body...

    def first_after(self, t: float, timeout: float = 30) -> Shown | None:
        """The first notification the tray app got shown whose call came at or after ``t``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for s in self.shown:
                    if s.called >= t:
                        return s
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.2))

    def count_after(self, t: float) -> int:
        with self._cond:
            return sum(1 for s in self.shown if s.called >= t)

    def stop(self) -> None:
        self._popen.terminate()
        self._popen.wait(10)


def close_all() -> None:
    subprocess.run(["dunstctl", "close-all"], check=False, timeout=10)


def desktop_missing() -> str | None:
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "DISPLAY and DBUS_SESSION_BUS_ADDRESS must point at a desktop with dunst"
    r = subprocess.run(
        [
            "dbus-send",
            "--session",
            "--dest=org.freedesktop.DBus",
            "--type=method_call",
            "--print-reply",
            "/",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.Notifications",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    return None if "boolean true" in r.stdout else "no notification daemon on the session bus"


# ---- posting ----------------------------------------------------------------------------


class Poster:
    """Posts ticket webhooks to one hook URL; every body is unique."""

    def __init__(self, port: int, token: str, seed: str) -> None:
        self.port, self.path, self.seed = port, f"/hooks/{token}", seed
        self._n = 1
        self._lock = threading.Lock()
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self._local.conn = conn
        return conn

    def post(self) -> float:
        """Post one ticket; the wall-clock time right after its 2xx was read."""
        with self._lock:
            n, self._n = self._n, self._n + 2  # odd numbers: tickets
        body = json.dumps(ticket(n, self.seed)).encode()
        for attempt in (1, 2):
            conn = self._conn()
            try:
                conn.request("POST", self.path, body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                acked = time.time()
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
                continue
            if not 200 <= resp.status < 300:
                raise RuntimeError(f"webhook answered {resp.status}")
            return acked
        raise AssertionError("unreachable")


# ---- processes --------------------------------------------------------------------------


def tree_env(env: dict[str, str], tree: Path | None) -> dict[str, str]:
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def start_tray(home: Path, tree: Path | None) -> Proc:
    env = tree_env(env_with(home, QT_QPA_PLATFORM="xcb"), tree)
    proc = Proc([PY, "-m", "holmtray", "tray", "--verbose"], env, cwd=tree or ROOT)
    proc.wait_for(READY_TRAY, timeout=90)
    return proc


def start_relay(tree: Path | None) -> tuple[Proc, Path, str]:
    """`holmtray serve --relay`: (process, home, read token)."""
    home = make_home("alert-relay")
    env = tree_env(env_with(home), tree)
    token = subprocess.run(
        [PY, "-m", "holmtray", "relay", "token", "add", "bench"],
        env=env,
        cwd=tree or ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    proc = Proc([PY, "-m", "holmtray", "serve", "--relay", "--port", "0"], env, cwd=tree or ROOT)
    proc.wait_for(LISTENING)
    return proc, home, token


# ---- trials -----------------------------------------------------------------------------


Trial = tuple[float, Shown]
"""When the 2xx was read, and the notification it led to."""


def lone_trials(bus: BusWatch, poster: Poster, trials: int, gap: float) -> list[Trial]:
    out: list[Trial] = []
    for _ in range(trials):
        sent = time.time()
        acked = poster.post()
        shown = bus.first_after(sent)
        if shown is None:
            print("  a lone event was not shown within 30 s", file=sys.stderr)
        else:
            out.append((acked, shown))
        time.sleep(max(0.0, gap - (time.time() - sent)))
        close_all()
    return out


def burst_trials(
    bus: BusWatch, poster: Poster, trials: int, size: int, gap: float
) -> tuple[list[Trial], list[int]]:
    out: list[Trial] = []
    shown_per_burst: list[int] = []
    with ThreadPoolExecutor(max_workers=16) as pool:
        for _ in range(trials):
            sent = time.time()
            acks = list(pool.map(lambda _i: poster.post(), range(size)))
            shown = bus.first_after(sent)
            if shown is None:
                print("  a burst was not shown within 30 s", file=sys.stderr)
            else:
                out.append((min(acks), shown))
            # The burst ends after burst_window_s of quiet and its final count shown.
            time.sleep(max(0.0, gap + 1.0 - (time.time() - max(acks))))
            shown_per_burst.append(bus.count_after(sent))
            close_all()
    return out, shown_per_burst


def figures(name: str, done: list[Trial], trials: int, target: bool) -> list[Any]:
    ms = [(shown.answered - acked) * 1000 for acked, shown in done]
    app = [(shown.called - acked) * 1000 for acked, shown in done]
    daemon = [(shown.answered - shown.called) * 1000 for _, shown in done]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    return [
        name,
        f"{len(ms)}/{trials}",
        f"{p50:.1f}",
        f"{p99:.1f}",
        f"{max(ms):.1f}" if ms else "-",
        f"{percentile(app, 50):.1f} / {percentile(app, 99):.1f}",
        f"{percentile(daemon, 50):.1f} / {percentile(daemon, 99):.1f}",
        f"<= {TARGET_P99_MS:.0f} ms p99" if target else "-",
        verdict(p99 <= TARGET_P99_MS) if target else "-",
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--trials", type=int, default=200, help="trials per setup")
    p.add_argument("--gap", type=float, default=1.3, help="seconds from one trial to the next")
    p.add_argument("--burst", type=int, default=50, help="events in each burst trial")
    p.add_argument("--setups", default="lone,burst,relay", help="which of lone,burst,relay")
    p.add_argument("--tree", type=Path, help="run the package from this copy instead")
    p.add_argument("--label", default="", help="a name for this run in the table")
    args = p.parse_args()
    why = desktop_missing()
    if why:
        print(f"alert_latency: {why}", file=sys.stderr)
        return 2
    setups = args.setups.split(",")
    print(machine())
    tree = args.tree.resolve() if args.tree else None
    label = args.label or (f"tree {tree}" if tree else "this checkout")
    print(f"package: {label}; trials {args.trials}, gap {args.gap} s, burst {args.burst}")
    close_all()
    bus = BusWatch()
    rows: list[list[Any]] = []
    homes: list[Path] = []
    seed = str(os.getpid())
    try:
        if "lone" in setups or "burst" in setups:
            home = make_home("alert", **POLICY)
            homes.append(home)
            tray = start_tray(home, tree)
            try:
                poster = Poster(port_of(home), token_of(home), seed)
                poster.post()  # warm-up: the first event also opens the window's store
                time.sleep(args.gap)
                close_all()
                if "lone" in setups:
                    done = lone_trials(bus, poster, args.trials, args.gap)
                    rows.append(figures("lone event", done, args.trials, True))
                if "burst" in setups:
                    done, shown = burst_trials(bus, poster, args.trials, args.burst, args.gap)
                    name = f"first of a burst of {args.burst}"
                    rows.append(figures(name, done, args.trials, False))
                    print(f"notifications per burst: min {min(shown)}, max {max(shown)}")
            finally:
                tray.stop()
        if "relay" in setups:
            relay, relay_home, read_token = start_relay(tree)
            homes.append(relay_home)
            base = f"http://127.0.0.1:{port_of(relay_home)}"
            home = make_home(
                "alert-sub",
                **POLICY,
                **{
                    "source.mode": "relay",
                    "subscribe.urls": [base],
                    "subscribe.token": read_token,
                },
            )
            homes.append(home)
            tray = start_tray(home, tree)
            try:
                tray.wait_for(LIVE, timeout=60)
                poster = Poster(port_of(relay_home), token_of(relay_home), seed + "r")
                poster.post()
                time.sleep(args.gap)
                close_all()
                done = lone_trials(bus, poster, args.trials, args.gap)
                rows.append(figures("lone event via a relay", done, args.trials, True))
            finally:
                tray.stop()
                relay.stop()
    finally:
        bus.stop()
        for h in homes:
            shutil.rmtree(h, ignore_errors=True)
    print()
    print(
        table(
            [
                f"2xx -> shown by dunst ({label})",
                "trials",
                "p50 ms",
                "p99 ms",
                "max ms",
                "2xx -> Notify sent p50/p99",
                "dunst p50/p99",
                "target",
                "targets",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
