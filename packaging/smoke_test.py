"""Smoke test of a built holmtray bundle (PyInstaller one-folder app), Linux and macOS.

    python3 packaging/smoke_test.py [--desktop] DIST_DIR

DIST_DIR is ``dist/holmtray`` (or ``dist/holmtray.app``). Standard library only, so any
Python 3.11+ runs it, outside the build environment. It checks, each with a private
``HOLMTRAY_HOME``:

1. ``holmtray --version`` prints the version in ``holmtray/__init__.py``;
2. on Linux, the bundle holds the Qt plugins the app needs (platforms xcb/wayland/offscreen,
   svg image format and icon engine, a platform theme) and none of them misses a library;
3. ``holmtray serve --port 0`` answers ``GET /healthz`` and a webhook POST (the port from its
   "listening on" line, the token from its config file), ``send-test`` reaches it, ``events``
   lists what was stored, and SIGTERM stops it with exit code 0;
4. the tray app starts offscreen without a session bus (Qt's fallback notifier), stores a
   ``send-test`` event and stops on SIGTERM with exit code 0;
5. with ``--desktop`` (needs ``DISPLAY`` and ``DBUS_SESSION_BUS_ADDRESS`` with a notification
   daemon, as .ci/run provides): the same on the real X display (xcb), and the native D-Bus
   notifier must be the one chosen.

Exit code 0 when every check passed, 1 otherwise, 2 on bad usage.
"""

# ruff: noqa: S310, S603, S607 - runs the bundle (and ldd), talks HTTP to it on 127.0.0.1
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LISTENING = re.compile(
    r"holmtray: listening on (?P<base>http://[^/\s]+:(?P<port>\d+))/hooks/<token>"
)
READY = re.compile(r"holmtray: tray app ready")
TIMEOUT = 60.0
SAMPLE = {
    "ticket": {
        "number": 4711,
        "status": "Open",
        "severity": "high",
        "asset": {"name": "smoke-test-host"},
        "vulnerability": {"name": "Smoke test finding"},
    }
}
# Plugins (relative to PySide6/Qt/plugins) the app loads; all come from PyInstaller's hooks.
LINUX_PLUGINS = (
    "platforms/libqxcb.so",
    "platforms/libqoffscreen.so",
    "platforms/libqwayland.so",
    "imageformats/libqsvg.so",
    "iconengines/libqsvgicon.so",
)
# Of those, the ones whose libraries must all resolve here. The Wayland plugin is left out:
# it links the host's libwayland-client, which the bundle never carries (like libGL).
LINKED_PLUGINS = tuple(p for p in LINUX_PLUGINS if "wayland" not in p)


class SmokeError(Exception):
    """A check failed; the message says which and what was seen."""


def expected_version() -> str:
    text = (ROOT / "holmtray" / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if not m:
        raise SmokeError("no __version__ in holmtray/__init__.py")
    return m.group(1)


def find_executable(dist: Path) -> Path:
    candidates = [dist / "holmtray", dist / "Contents" / "MacOS" / "holmtray"]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    raise SmokeError(
        f"no holmtray executable in {dist} (looked for {', '.join(map(str, candidates))})"
    )


class Running:
    """A bundle process whose stderr is collected line by line in the background."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.popen = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines[-60:])

    def wait_for(self, pattern: re.Pattern[str], timeout: float = TIMEOUT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    m = pattern.search(line)
                    if m:
                        return m
                if self.popen.poll() is not None and not self._reader.is_alive():
                    raise SmokeError(
                        f"exited with {self.popen.returncode} before printing "
                        f"{pattern.pattern!r}:\n{self.output()}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SmokeError(f"no {pattern.pattern!r} in {timeout:.0f} s:\n{self.output()}")
                self._cond.wait(min(left, 0.5))

    def terminate(self, timeout: float = TIMEOUT) -> int:
        """SIGTERM, then the exit code (killed, and a failure, if it does not stop in time)."""
        self.popen.send_signal(signal.SIGTERM)
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)
            raise SmokeError(
                f"did not stop within {timeout:.0f} s of SIGTERM:\n{self.output()}"
            ) from None
        self._reader.join(10)
        return rc

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "PYTHON"))}
    env["HOLMTRAY_HOME"] = str(home)
    env.update(extra)
    return env


def run(exe: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(exe), *args], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def http(method: str, url: str, body: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def token(home: Path) -> str:
    with (home / "config" / "holmtray.toml").open("rb") as fh:
        return str(tomllib.load(fh)["listener"]["token"])


def configure(exe: Path, home: Path) -> None:
    """A config for the tray checks: any free port, no welcome dialog."""
    r = run(exe, environment(home), "url")  # creates the config file with its defaults
    if r.returncode != 0:
        raise SmokeError(f"`holmtray url` failed ({r.returncode}): {r.stdout}{r.stderr}")
    config = home / "config" / "holmtray.toml"
    text = config.read_text(encoding="utf-8")
    text, ports = re.subn(r"(?m)^port = \d+$", "port = 0", text)
    text, welcome = re.subn(r"(?m)^welcome_shown = false$", "welcome_shown = true", text)
    if ports != 1 or welcome != 1:
        raise SmokeError(f"unexpected config layout in {config}")
    config.write_text(text, encoding="utf-8")


def check_version(exe: Path, work: Path) -> str:
    want = f"holmtray {expected_version()}"
    r = run(exe, environment(work / "version"), "--version")
    got = r.stdout.strip()
    if r.returncode != 0 or got != want:
        raise SmokeError(f"--version: exit {r.returncode}, printed {got!r}, expected {want!r}")
    return got


def check_linux_bundle(dist: Path) -> str:
    plugins = next(dist.glob("_internal/PySide6/Qt/plugins"), None)
    if plugins is None:
        raise SmokeError(f"no _internal/PySide6/Qt/plugins in {dist}")
    missing = [p for p in LINUX_PLUGINS if not (plugins / p).is_file()]
    themes = sorted(p.name for p in plugins.glob("platformthemes/*.so"))
    if missing or not themes:
        raise SmokeError(f"Qt plugins missing: {missing or 'platformthemes/*'}")
    svg = dist / "_internal" / "holmtray" / "resources" / "holmtray.svg"
    if not svg.is_file():
        raise SmokeError(f"the app icon is not in the bundle ({svg})")
    for required in (
        "share/applications/io.github.holmtray.holmtray.desktop",
        "share/metainfo/io.github.holmtray.holmtray.metainfo.xml",
        "share/icons/hicolor/scalable/apps/io.github.holmtray.holmtray.svg",
        "share/icons/hicolor/256x256/apps/io.github.holmtray.holmtray.png",
    ):
        if not (dist / required).is_file():
            raise SmokeError(f"{required} is not in the bundle")
    if shutil.which("ldd"):
        for rel in LINKED_PLUGINS:
            out = subprocess.run(
                ["ldd", str(plugins / rel)], capture_output=True, text=True, check=False
            ).stdout
            unresolved = [line.strip() for line in out.splitlines() if "not found" in line]
            if unresolved:
                raise SmokeError(f"{rel} misses libraries: {unresolved}")
    return f"{len(LINUX_PLUGINS)} Qt plugins present, platform themes {themes}, icons, share/"


def check_serve(exe: Path, work: Path) -> str:
    home = work / "serve"
    env = environment(home)
    proc = Running([str(exe), "serve", "--port", "0"], env)
    try:
        base = proc.wait_for(LISTENING)["base"]
        status, body = http("GET", f"{base}/healthz")
        if status != 200 or json.loads(body) != {"status": "ok"}:
            raise SmokeError(f"GET /healthz answered {status} {body!r}")
        hook = f"{base}/hooks/{token(home)}"
        status, body = http("POST", hook, json.dumps(SAMPLE).encode())
        if status != 200 or "id" not in json.loads(body):
            raise SmokeError(f"POST /hooks/<token> answered {status} {body!r}")
        status, _ = http("POST", f"{base}/hooks/wrong-token", b"{}")
        if status != 404:
            raise SmokeError(f"a wrong token got {status}, expected 404")
        r = run(exe, env, "send-test", "--kind", "ticket")
        if r.returncode != 0 or "HTTP 200" not in r.stdout:
            raise SmokeError(f"send-test: exit {r.returncode}: {r.stdout}{r.stderr}")
        r = run(exe, env, "events", "--json")
        events = json.loads(r.stdout) if r.returncode == 0 else None
        if not events or len(events) != 2:
            raise SmokeError(f"events --json: exit {r.returncode}: {r.stdout[:500]}{r.stderr}")
        rc = proc.terminate()
    finally:
        proc.kill()
    if rc != 0 or "Traceback" in proc.output():
        raise SmokeError(f"serve exited with {rc} after SIGTERM:\n{proc.output()}")
    return f"{base}: /healthz 200, POST 200, wrong token 404, send-test 200, 2 events, SIGTERM -> 0"


def check_tray(exe: Path, work: Path, *, desktop: bool) -> str:
    home = work / ("tray-desktop" if desktop else "tray-offscreen")
    configure(exe, home)
    if desktop:
        env = environment(home, QT_QPA_PLATFORM="xcb")
    else:
        # No session bus: no native notifier can connect, the Qt fallback is chosen.
        env = environment(
            home,
            QT_QPA_PLATFORM="offscreen",
            DBUS_SESSION_BUS_ADDRESS=f"unix:path={work / 'no-bus'}",
        )
    proc = Running([str(exe), "tray", "--verbose"], env)
    try:
        proc.wait_for(READY)
        r = run(exe, env, "send-test")
        if r.returncode != 0 or "HTTP 200" not in r.stdout:
            raise SmokeError(
                f"send-test to the tray app: exit {r.returncode}: {r.stdout}{r.stderr}"
            )
        backend = proc.wait_for(re.compile(r"tray app started \(notifications: (?P<b>.+)\)$"))["b"]
        # On a desktop a native backend: holmtray's own freedesktop one on Linux, or
        # desktop-notifier's (Windows, macOS); never the Qt fallback.
        if desktop and not any(n in backend for n in ("freedesktop D-Bus", "desktop-notifier")):
            raise SmokeError(f"the native notifier was not chosen on the desktop: {backend}")
        rc = proc.terminate()
    finally:
        proc.kill()
    problems = [
        line
        for line in proc.output().splitlines()
        if "Traceback" in line or "Could not load the Qt platform plugin" in line
    ]
    if rc != 0 or problems:
        raise SmokeError(f"the tray app exited with {rc} after SIGTERM:\n{proc.output()}")
    platform = "xcb" if desktop else "offscreen"
    return f"{platform}: ready, send-test 200, notifications via {backend}, SIGTERM -> 0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke test of a built holmtray bundle.")
    parser.add_argument("dist", type=Path, help="the bundle folder, e.g. dist/holmtray")
    parser.add_argument(
        "--desktop",
        action="store_true",
        help="also run the tray app on the X display with the session bus's notification daemon",
    )
    args = parser.parse_args(argv)
    if sys.platform == "win32":
        print("smoke_test: POSIX only (it stops the app with SIGTERM)", file=sys.stderr)
        return 2
    if args.desktop and not (
        os.environ.get("DISPLAY") and os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    ):
        print("smoke_test: --desktop needs DISPLAY and DBUS_SESSION_BUS_ADDRESS", file=sys.stderr)
        return 2
    dist: Path = args.dist.resolve()
    checks: list[tuple[str, Callable[[Path, Path], str]]] = [
        ("version", check_version),
        ("serve", check_serve),
        ("tray, offscreen", lambda exe, work: check_tray(exe, work, desktop=False)),
    ]
    if sys.platform.startswith("linux"):
        checks.insert(1, ("bundle contents", lambda _exe, _work: check_linux_bundle(dist)))
    if args.desktop:
        checks.append(("tray, desktop", lambda exe, work: check_tray(exe, work, desktop=True)))
    failed = 0
    with tempfile.TemporaryDirectory(prefix="holmtray-smoke-") as tmp:
        try:
            exe = find_executable(dist)
        except SmokeError as exc:
            print(f"FAIL  {exc}")
            return 1
        print(f"smoke test of {exe}")
        for name, check in checks:
            started = time.monotonic()
            try:
                detail = check(exe, Path(tmp))
            except SmokeError as exc:
                failed += 1
                print(f"FAIL  {name}: {exc}")
            else:
                print(f"ok    {name} ({time.monotonic() - started:.1f} s): {detail}")
    # Worded unlike a test runner's summary: CI's log is judged by pytest's closing line.
    if failed:
        print(f"smoke test FAILED: {failed} of {len(checks)} checks")
        return 1
    print(f"smoke test passed: all {len(checks)} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
