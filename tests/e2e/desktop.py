"""Fixtures' machinery for the desktop tests: the real tray app on a real X display.

``TrayProc`` launches ``python -m holmtray`` as a subprocess (its own ``HOLMTRAY_HOME``, a
stand-in browser that records the URLs it is asked to open) and waits until it says it is
ready. ``Dunst`` reads what the notification daemon received. ``NotifyMonitor`` watches the
``Notify`` calls on the session bus as they reach the daemon, with the bus's own timestamps,
without closing anything on screen (reading dunst's history does). ``X`` wraps
xdotool/xwininfo. Everything waits for a condition; nothing sleeps and hopes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from holmtray.core.config import file as settings_file
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from tests.conftest import require_or_skip
from tests.procs import Proc

READY = re.compile(r"holmtray: tray app ready")
DESKTOP_TOOLS = ("xdotool", "xwininfo", "dunstctl", "import", "dbus-send")


def desktop_missing() -> str | None:
    """Why the desktop tests cannot run here, or None."""
    if not os.environ.get("DISPLAY"):
        return "no X display (DISPLAY is not set)"
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "no session D-Bus (DBUS_SESSION_BUS_ADDRESS is not set)"
    for tool in DESKTOP_TOOLS:
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
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
    if "boolean true" not in r.stdout:
        return "no notification daemon on the session bus"
    return None


def desktop_dunst() -> Dunst:
    """The notification daemon of the test desktop; skips (or fails where the desktop is
    required) without one."""
    why = desktop_missing()
    if why:
        require_or_skip(why)
    return Dunst()


def wait_until(
    cond: Any, timeout: float = 15, what: str = "condition", interval: float = 0.05
) -> Any:
    """Poll ``cond`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class Dunst:
    """What dunst received since this object was made, read through ``dunstctl``.

    dunst 1.9 cannot clear its history, so notifications are told apart by id: ids only grow,
    and everything at or below the highest id seen at creation belongs to earlier tests.
    """

    def __init__(self) -> None:
        self.close_all()
        self._baseline = max((int(n["id"]) for n in self.history()), default=0)

    def close_all(self) -> None:
        subprocess.run(["dunstctl", "close-all"], check=True, timeout=10)

    def history(self) -> list[dict[str, Any]]:
        out = subprocess.run(
            ["dunstctl", "history"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
        data = json.loads(out)["data"][0]
        return [{k: v["data"] for k, v in n.items()} for n in data]

    def displayed(self) -> int:
        out = subprocess.run(
            ["dunstctl", "count", "displayed"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
        return int(out.strip() or 0)

    def received(self, appname: str = "holmtray") -> list[dict[str, Any]]:
        """Every notification from ``appname`` so far, oldest first (closes those shown)."""
        self.close_all()
        return [
            n
            for n in sorted(self.history(), key=lambda n: int(n["id"]))
            if n.get("appname") == appname and int(n["id"]) > self._baseline
        ]


@dataclass(frozen=True)
class NotifyCall:
    """One ``org.freedesktop.Notifications.Notify`` call, as dbus-monitor saw it."""

    time: float  # the bus's wall-clock time of the call (seconds since the epoch)
    app: str
    replaces_id: int
    summary: str


class NotifyMonitor:
    """Every ``Notify`` call on the session bus from now on, read by ``dbus-monitor``."""

    _CALL = re.compile(r"^method call time=(?P<t>[\d.]+) .*member=Notify$")
    _STRING = re.compile(r'^\s+string "(?P<s>.*)"$')
    _UINT = re.compile(r"^\s+uint32 (?P<n>\d+)$")

    def __init__(self) -> None:
        self._calls: list[NotifyCall] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        rule = "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"
        self._popen = subprocess.Popen(
            ["dbus-monitor", "--session", rule],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(15):
            self.stop()
            raise AssertionError("dbus-monitor did not start")

    def _read(self) -> None:
        assert self._popen.stdout is not None
        fields: list[str] | None = None
        when = 0.0
        for raw in self._popen.stdout:
            line = raw.rstrip("\n")
            self._ready.set()  # its first lines are the bus greeting it
            m = self._CALL.match(line)
            if m:
                fields, when = [], float(m["t"])
                continue
            if fields is None:
                continue
            # Arguments in order: app name, replaces id, icon, summary (body and the rest
            # are not needed; a body may span lines).
            text, number = self._STRING.match(line), self._UINT.match(line)
            if text:
                fields.append(text["s"])
            elif number:
                fields.append(number["n"])
            if len(fields) == 4:
                call = NotifyCall(when, fields[0], int(fields[1]), fields[3])
                with self._lock:
                    self._calls.append(call)
                fields = None

    def calls(self, app: str = "holmtray") -> list[NotifyCall]:
        with self._lock:
            return [c for c in self._calls if c.app == app]

    def stop(self) -> None:
        self._popen.terminate()
        self._popen.wait(10)


@dataclass
class Browser:
    """A stand-in browser ($BROWSER) that appends every URL it gets to a file."""

    script: Path
    log: Path

    @classmethod
    def make(cls, folder: Path) -> Browser:
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "opened.txt"
        script = folder / "browser.sh"
        script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{log}"\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return cls(script=script, log=log)

    def opened(self) -> list[str]:
        try:
            return self.log.read_text().splitlines()
        except FileNotFoundError:
            return []


class TrayProc(Proc):
    """The real tray app, started on the test display, waited for until ready."""

    def __init__(
        self,
        home: Path,
        browser: Browser,
        *,
        welcome: bool = False,
        settings: dict[str, Any] | None = None,
        offscreen: bool = False,
        module: str = "holmtray",
        env: dict[str, str] | None = None,
    ) -> None:
        paths = Paths.under(home)
        if not paths.config_file.exists():
            values: dict[str, Any] = {"listener.port": 0, "ui.welcome_shown": not welcome}
            values.update(settings or {})
            base = settings_file.load_or_create(paths.config_file)
            settings_file.save(base.with_values(values), paths.config_file)
        self.paths = paths
        extra_env = env or {}
        env = {"QT_QPA_PLATFORM": "xcb", "BROWSER": str(browser.script)}
        if offscreen:
            # No display and no session bus: the Qt tray-balloon notifier is the one in use.
            env.update(
                QT_QPA_PLATFORM="offscreen", DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent"
            )
        env.update(extra_env)
        super().__init__(home, "tray", "--verbose", module=module, **env)
        self.wait_for(READY, timeout=60)

    @property
    def token(self) -> str:
        cfg = tomllib.loads(self.paths.config_file.read_text())
        return str(cfg["listener"]["token"])

    def settings(self) -> Settings:
        return settings_file.load(self.paths.config_file)

    @property
    def port(self) -> int:  # type: ignore[override]
        data = json.loads((self.paths.data_dir / "listener.json").read_text())
        return int(data["port"])

    @property
    def hook(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{self.token}"

    def tray_states(self) -> list[str]:
        return [m.group(1) for line in self.lines if (m := re.search(r"tray state: (.*)$", line))]


class X:
    """Small wrappers over xdotool and xwininfo."""

    @staticmethod
    def run(*args: str) -> str:
        return subprocess.run(
            list(args), capture_output=True, text=True, check=False, timeout=15
        ).stdout

    @classmethod
    def windows_named(cls, name: str) -> list[str]:
        return cls.run("xdotool", "search", "--onlyvisible", "--name", name).split()

    @classmethod
    def geometry(cls, wid: str) -> tuple[int, int, int, int]:
        out = cls.run("xdotool", "getwindowgeometry", "--shell", wid)
        g = dict(line.split("=", 1) for line in out.split() if "=" in line)
        return int(g["X"]), int(g["Y"]), int(g["WIDTH"]), int(g["HEIGHT"])

    @classmethod
    def click(cls, x: int, y: int, button: int = 1) -> None:
        # No --sync: it waits for a motion event that never comes if the pointer is there already.
        cls.run("xdotool", "mousemove", str(x), str(y), "click", str(button))

    @classmethod
    def key(cls, *keys: str) -> None:
        cls.run("xdotool", "key", "--delay", "50", *keys)

    @classmethod
    def tree(cls) -> str:
        return cls.run("xwininfo", "-root", "-tree")
