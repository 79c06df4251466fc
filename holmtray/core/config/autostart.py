"""Start at login: the per-user autostart entry on Linux, macOS and Windows.

One entry per platform, written for the current user only (no administrator rights):

- Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/holmtray.desktop`` (the XDG
  Autostart spec), default ``~/.config/autostart``;
- macOS: a launchd agent ``~/Library/LaunchAgents/io.github.holmtray.holmtray.plist``;
- Windows: the value ``holmtray`` under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.

:meth:`Autostart.disable` removes exactly what :meth:`Autostart.enable` wrote. Everything the
class touches (platform, home folder, environment, the ``winreg`` module) is passed in, so
each platform's behaviour is testable on any machine. No Qt here: the settings dialog calls it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from holmtray.core.fileio import write_atomically

log = logging.getLogger("holmtray.config.autostart")

# Entries are written atomically (a session manager reading a half-written one at login would
# skip or misparse it) and world-readable like every other autostart entry and LaunchAgent.
_ENTRY_MODES = {"mode": 0o644, "dir_mode": 0o755}

APP_NAME = "holmtray"
# The one reverse-DNS id of the application: launchd label, icon name, and in packaging/ the
# desktop file, AppStream id, macOS bundle id and Windows AppUserModelID
# (tests/test_packaging.py checks they agree).
APP_ID = "io.github.holmtray.holmtray"
DESKTOP_FILE_NAME = "holmtray.desktop"
# launchd expects the file name to be the label plus ".plist"; keep the two in step.
LAUNCHD_LABEL = APP_ID
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = APP_NAME

# Desktop Entry spec, "The Exec key": an argument containing any of these must be quoted.
_EXEC_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
# Inside double quotes these four must be backslash-escaped.
_EXEC_ESCAPED = frozenset('"`$\\')


class AutostartError(OSError):
    """Start at login cannot be changed; the message says why (shown to the user).

    An OSError, so callers that already handle file and registry failures handle this too.
    """


def default_command() -> list[str]:
    """The command line that starts this holmtray: the frozen executable, or ``python -m``."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    python = Path(sys.executable)
    if sys.platform == "win32" and python.name.lower() == "python.exe":
        # python.exe opens a console window at every login; pythonw.exe does not.
        windowless = python.with_name("pythonw.exe")
        if windowless.exists():
            python = windowless
    return [str(python), "-m", APP_NAME]


def desktop_exec(command: list[str]) -> str:
    """``command`` as the value of a desktop entry's ``Exec`` key (quoted, then string-escaped).

    The spec applies two layers: argument quoting (double quotes, with ``"`` `` ` `` ``$`` and
    ``\\`` backslash-escaped inside them; ``%`` doubled because it starts field codes), then
    the general string escaping of every value (``\\`` becomes ``\\\\``, newline ``\\n``...).
    """
    quoted: list[str] = []
    for raw in command:
        arg = raw.replace("%", "%%")
        if arg and not any(c in _EXEC_RESERVED for c in arg):
            quoted.append(arg)
        else:
            quoted.append('"' + "".join("\\" + c if c in _EXEC_ESCAPED else c for c in arg) + '"')
    return _escape_string_value(" ".join(quoted))


def _escape_string_value(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    )


def desktop_entry(command: list[str]) -> str:
    """The text of the autostart desktop entry that runs ``command``."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        f"Name={APP_NAME}",
        "Comment=Desktop alerts for Holm Security webhooks",
        f"Exec={desktop_exec(command)}",
        f"Icon={APP_ID}",  # the icon the Linux installers put in the hicolor theme
        "Terminal=false",
        "X-GNOME-Autostart-enabled=true",
    ]
    return "\n".join(lines) + "\n"


def launch_agent(command: list[str]) -> dict[str, Any]:
    """The launchd agent (as a plist dictionary) that runs ``command`` at login."""
    return {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": list(command),
        "RunAtLoad": True,
        # Only at login: a quit from the tray menu must stay quit.
        "KeepAlive": False,
        "ProcessType": "Interactive",
    }


class Autostart:
    """Turns "start holmtray when I log in" on and off for the current user."""

    def __init__(
        self,
        *,
        command: list[str],
        platform: str = sys.platform,
        home: Path | None = None,
        env: Mapping[str, str] | None = None,
        winreg_module: Any = None,
    ) -> None:
        if not command:
            raise ValueError("the autostart command is empty")
        self._command = list(command)
        self._platform = platform
        self._home = home if home is not None else Path.home()
        self._env: Mapping[str, str] = os.environ if env is None else env
        self._winreg = winreg_module

    @property
    def kind(self) -> str:
        """``xdg``, ``launchd``, ``registry`` or ``unsupported``."""
        if self._platform == "win32":
            return "registry"
        if self._platform == "darwin":
            return "launchd"
        if self._platform.startswith("linux") or "bsd" in self._platform:
            return "xdg"
        return "unsupported"

    @property
    def location(self) -> str:
        """Where the entry lives, for messages and logs."""
        kind = self.kind
        if kind == "xdg":
            return str(self.desktop_file)
        if kind == "launchd":
            return str(self.plist_file)
        if kind == "registry":
            return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{RUN_VALUE}"
        return f"(start at login is not supported on {self._platform})"

    @property
    def desktop_file(self) -> Path:
        config = self._env.get("XDG_CONFIG_HOME", "")
        # The XDG Base Directory spec: a relative path is invalid and must be ignored.
        base = Path(config) if config and Path(config).is_absolute() else self._home / ".config"
        return base / "autostart" / DESKTOP_FILE_NAME

    @property
    def plist_file(self) -> Path:
        return self._home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"

    def is_enabled(self) -> bool:
        kind = self.kind
        if kind == "xdg":
            return self.desktop_file.is_file()
        if kind == "launchd":
            return self.plist_file.is_file()
        if kind == "registry":
            return self._read_run_value() is not None
        return False

    def enable(self) -> None:
        kind = self.kind
        try:
            if kind == "xdg":
                write_atomically(self.desktop_file, desktop_entry(self._command), **_ENTRY_MODES)
            elif kind == "launchd":
                import plistlib  # noqa: PLC0415 (macOS only; the tray app imports APP_ID early)

                write_atomically(
                    self.plist_file, plistlib.dumps(launch_agent(self._command)), **_ENTRY_MODES
                )
            elif kind == "registry":
                self._write_run_value(subprocess.list2cmdline(self._command))
            else:
                raise AutostartError(self.location)
        except OSError as exc:
            raise AutostartError(
                f"cannot turn on start at login ({self.location}): {exc.strerror or exc}"
            ) from exc
        log.info("start at login turned on: %s", self.location)

    def disable(self) -> None:
        kind = self.kind
        try:
            if kind == "xdg":
                self.desktop_file.unlink(missing_ok=True)
            elif kind == "launchd":
                self.plist_file.unlink(missing_ok=True)
            elif kind == "registry":
                self._delete_run_value()
            else:
                return  # nothing was ever written on an unsupported platform
        except OSError as exc:
            raise AutostartError(
                f"cannot turn off start at login ({self.location}): {exc.strerror or exc}"
            ) from exc
        log.info("start at login turned off: %s", self.location)

    # Windows registry -------------------------------------------------------------------------
    def _registry(self) -> Any:
        if self._winreg is None:
            import winreg  # noqa: PLC0415 - exists only on Windows

            self._winreg = winreg
        return self._winreg

    def _read_run_value(self) -> str | None:
        reg = self._registry()
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_QUERY_VALUE) as key:
                value, _type = reg.QueryValueEx(key, RUN_VALUE)
        except FileNotFoundError:
            return None
        return str(value)

    def _write_run_value(self, command_line: str) -> None:
        reg = self._registry()
        with reg.CreateKeyEx(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
            reg.SetValueEx(key, RUN_VALUE, 0, reg.REG_SZ, command_line)

    def _delete_run_value(self) -> None:
        reg = self._registry()
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
                reg.DeleteValue(key, RUN_VALUE)
        except FileNotFoundError:
            pass  # already absent: disabling is idempotent
