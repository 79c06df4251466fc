"""Start at login: the entry each platform reads, written and removed under temporary folders."""

from __future__ import annotations

import configparser
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from holmtray.core.config.autostart import Autostart, AutostartError, default_command, desktop_exec

AWKWARD_COMMAND = [
    "/opt/My Apps/python 3.11/bin/python",
    "-m",
    "holmtray",
    '--name=it\'s "quoted"',
    "C:\\path with\\backslashes",
    "$HOME`x`",
    "100%",
    "",
]


def _unescape_string_value(value: str) -> str:
    """The Desktop Entry spec's general string unescaping (\\s \\n \\t \\r \\\\)."""
    out, i = [], 0
    table = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in table:
            out.append(table[value[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _split_exec(value: str) -> list[str]:
    """Split an Exec value the way a spec-following launcher does (written independently of
    the code under test, from the spec's wording)."""
    text = _unescape_string_value(value)
    args: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == " ":
            i += 1
            continue
        current: list[str] = []
        if text[i] == '"':
            i += 1
            while text[i] != '"':
                if text[i] == "\\" and text[i + 1] in '"`$\\':
                    i += 1
                current.append(text[i])
                i += 1
            i += 1
        else:
            while i < n and text[i] != " ":
                current.append(text[i])
                i += 1
        args.append("".join(current).replace("%%", "%"))
    return args


def _read_desktop(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


@pytest.fixture
def xdg(tmp_path: Path) -> Autostart:
    return Autostart(
        command=AWKWARD_COMMAND,
        platform="linux",
        home=tmp_path / "home",
        env={"XDG_CONFIG_HOME": str(tmp_path / "xdg config")},
    )


def test_linux_enable_writes_a_desktop_entry_under_xdg_config_home(
    xdg: Autostart, tmp_path: Path
) -> None:
    assert not xdg.is_enabled()
    xdg.enable()
    path = tmp_path / "xdg config" / "autostart" / "holmtray.desktop"
    assert xdg.desktop_file == path
    assert xdg.is_enabled()
    entry = _read_desktop(path)
    assert entry["Type"] == "Application"
    assert entry["Name"] == "holmtray"
    assert entry["Icon"] == "io.github.holmtray.holmtray"
    assert entry["X-GNOME-Autostart-enabled"] == "true"
    assert entry["Comment"]
    assert _split_exec(entry["Exec"]) == AWKWARD_COMMAND


def test_linux_exec_quotes_only_what_needs_quoting() -> None:
    assert desktop_exec(["/usr/bin/python3", "-m", "holmtray"]) == "/usr/bin/python3 -m holmtray"
    assert desktop_exec(["/a b/python"]) == '"/a b/python"'


def test_linux_disable_removes_the_file_and_is_quiet_when_absent(xdg: Autostart) -> None:
    xdg.enable()
    xdg.disable()
    assert not xdg.desktop_file.exists()
    assert not xdg.is_enabled()
    xdg.disable()  # absent: no error
    assert xdg.desktop_file.parent.is_dir()  # the shared autostart folder is left alone


def test_linux_defaults_to_dot_config_when_xdg_config_home_is_unset_or_relative(
    tmp_path: Path,
) -> None:
    for env in ({}, {"XDG_CONFIG_HOME": "relative/path"}):
        a = Autostart(command=["holmtray"], platform="linux", home=tmp_path, env=env)
        assert a.desktop_file == tmp_path / ".config" / "autostart" / "holmtray.desktop"


def test_linux_desktop_entry_passes_desktop_file_validate(xdg: Autostart) -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    xdg.enable()
    result = subprocess.run(
        [tool, str(xdg.desktop_file)], capture_output=True, text=True, check=False, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in (result.stdout + result.stderr).lower()


def test_macos_enable_writes_a_launch_agent_and_disable_removes_it(tmp_path: Path) -> None:
    a = Autostart(command=AWKWARD_COMMAND, platform="darwin", home=tmp_path)
    a.enable()
    path = tmp_path / "Library" / "LaunchAgents" / "io.github.holmtray.holmtray.plist"
    assert a.is_enabled()
    with path.open("rb") as fh:
        agent = plistlib.load(fh)
    assert agent["ProgramArguments"] == AWKWARD_COMMAND
    assert agent["RunAtLoad"] is True
    assert path.name == agent["Label"] + ".plist"
    a.disable()
    assert not path.exists()
    assert not a.is_enabled()
    a.disable()


class FakeKey:
    def __init__(self, reg: FakeWinreg, path: str) -> None:
        self.reg, self.path = reg, path

    def __enter__(self) -> FakeKey:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reg.calls.append(("Close", self.path))


class FakeWinreg:
    """The few ``winreg`` calls Autostart makes, recorded; the real module is Windows-only."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_QUERY_VALUE, KEY_SET_VALUE, REG_SZ = 1, 2, 1

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], tuple[int, str]] = {}
        self.calls: list[tuple[Any, ...]] = []

    def OpenKey(self, root: str, sub: str, reserved: int, access: int) -> FakeKey:
        self.calls.append(("OpenKey", root, sub, access))
        return FakeKey(self, f"{root}\\{sub}")

    def CreateKeyEx(self, root: str, sub: str, reserved: int, access: int) -> FakeKey:
        self.calls.append(("CreateKeyEx", root, sub, access))
        return FakeKey(self, f"{root}\\{sub}")

    def QueryValueEx(self, key: FakeKey, name: str) -> tuple[str, int]:
        try:
            kind, value = self.values[(key.path, name)]
        except KeyError:
            raise FileNotFoundError(2, "The system cannot find the file specified") from None
        return value, kind

    def SetValueEx(self, key: FakeKey, name: str, reserved: int, kind: int, value: str) -> None:
        self.calls.append(("SetValueEx", key.path, name, kind, value))
        self.values[(key.path, name)] = (kind, value)

    def DeleteValue(self, key: FakeKey, name: str) -> None:
        self.calls.append(("DeleteValue", key.path, name))
        if self.values.pop((key.path, name), None) is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")


def test_windows_enable_sets_the_run_value_to_the_quoted_command_line() -> None:
    reg = FakeWinreg()
    command = [r"C:\Program Files\Python311\pythonw.exe", "-m", "holmtray"]
    a = Autostart(command=command, platform="win32", winreg_module=reg)
    assert not a.is_enabled()
    a.enable()
    run = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"
    assert (
        "SetValueEx",
        run,
        "holmtray",
        reg.REG_SZ,
        '"C:\\Program Files\\Python311\\pythonw.exe" -m holmtray',
    ) in reg.calls
    assert a.is_enabled()
    a.disable()
    assert ("DeleteValue", run, "holmtray") in reg.calls
    assert not a.is_enabled()
    a.disable()  # absent: no error
    assert reg.values == {}


def test_unsupported_platform_says_so_instead_of_doing_nothing(tmp_path: Path) -> None:
    a = Autostart(command=["holmtray"], platform="haiku1", home=tmp_path)
    assert not a.is_enabled()
    with pytest.raises(AutostartError, match="not supported on haiku1"):
        a.enable()


def test_write_failure_is_reported_with_the_location(tmp_path: Path) -> None:
    blocker = tmp_path / "xdg"
    blocker.write_text("a file where the folder should be")
    a = Autostart(
        command=["holmtray"], platform="linux", home=tmp_path, env={"XDG_CONFIG_HOME": str(blocker)}
    )
    # Callers catch OSError (as for any file problem); the message names the file.
    with pytest.raises(OSError, match=r"holmtray\.desktop") as caught:
        a.enable()
    assert isinstance(caught.value, AutostartError)
    assert str(caught.value).startswith("cannot turn on start at login")


def test_default_command_runs_this_interpreter_as_a_module(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_command() == [sys.executable, "-m", "holmtray"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert default_command() == [sys.executable]
