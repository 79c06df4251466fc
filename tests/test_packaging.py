"""packaging/: the launcher entry and AppStream data validate, icons render at every size,
one application id everywhere, the user install recipe installs and uninstalls, the systemd
units verify, and the Windows AppUserModelID is set the way the installer's shortcut expects.

The validators are external programs (desktop-file-validate, appstreamcli, systemd-analyze);
a test skips with the package to install when one is missing. .ci/run installs the first two.
"""

from __future__ import annotations

import configparser
import os
import plistlib
import re
import shutil
import struct
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from holmtray import __version__
from holmtray.core.config import autostart
from holmtray.ui import platform_integration

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.holmtray.holmtray"
DESKTOP = PACKAGING / "linux" / f"{APP_ID}.desktop"
METAINFO = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"
INFO_PLIST = PACKAGING / "macos" / "Info.plist"
ISS = PACKAGING / "windows" / "holmtray.iss"
SPEC = PACKAGING / "holmtray.spec"
MAKE_ICONS = PACKAGING / "make_icons.py"
INSTALL_USER = PACKAGING / "linux" / "install-user.sh"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package: {package})")
    return path


def _run(*argv: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=300, check=False, **kwargs
    )


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


@pytest.fixture(scope="module")
def icons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("icons")
    r = _run(sys.executable, MAKE_ICONS, out, "--ico", "--icns")
    assert r.returncode == 0, r.stderr
    return out


# -- Linux: desktop entry and AppStream ------------------------------------------------------
def test_desktop_file_passes_desktop_file_validate() -> None:
    tool = _tool("desktop-file-validate", "desktop-file-utils")
    r = _run(tool, DESKTOP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "error" not in r.stdout + r.stderr
    assert "warning" not in r.stdout + r.stderr


def test_desktop_file_launches_holmtray_with_the_app_icon_and_notifications() -> None:
    entry = _desktop_entry(DESKTOP)
    assert entry["Exec"] == "holmtray"
    assert entry["Icon"] == APP_ID
    assert entry["StartupNotify"] == "false"
    assert entry["X-GNOME-UsesNotifications"] == "true"
    assert entry["Terminal"] == "false"


def test_metainfo_passes_appstreamcli_validate() -> None:
    tool = _tool("appstreamcli", "appstream")
    r = _run(tool, "validate", "--no-net", METAINFO)
    assert r.returncode == 0, r.stdout + r.stderr
    # Infos are allowed (an AppStream older than 1.0 does not know <developer>); no more.
    assert not re.search(r"^[EW]: ", r.stdout, re.MULTILINE), r.stdout


def test_metainfo_newest_release_is_the_package_version() -> None:
    root = ET.parse(METAINFO).getroot()
    releases = root.findall("./releases/release")
    assert releases, "no <release> in the metainfo"
    assert releases[0].get("version") == __version__
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", releases[0].get("date", ""))


def test_metainfo_has_what_software_centres_need() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("project_license") == "MIT"
    assert root.findtext("summary")
    assert root.find("description/p") is not None
    assert root.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert root.findtext("provides/binary") == "holmtray"
    assert root.find("content_rating") is not None
    assert root.find("developer").get("id")  # type: ignore[union-attr]
    assert root.findtext("url[@type='homepage']", "").startswith("https://")


# -- icons ----------------------------------------------------------------------------------
def test_make_icons_renders_every_hicolor_size_with_its_dimensions(icons: Path) -> None:
    for size in ICON_SIZES:
        png = icons / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert _png_size(png.read_bytes()) == (size, size), png
    scalable = icons / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert scalable.read_bytes() == (ROOT / "resources" / "holmtray.svg").read_bytes()


def test_make_icons_ico_holds_16_to_256_px_pngs(icons: Path) -> None:
    data = (icons / "holmtray.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        w, h, _c, _r, _planes, _bpp, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i : 22 + 16 * i]
        )
        png = data[offset : offset + length]
        assert _png_size(png) == (w or 256, h or 256)
        sizes.append(w or 256)
    assert sizes == [16, 24, 32, 48, 64, 128, 256]


def test_make_icons_icns_holds_16_to_1024_px_pngs(icons: Path) -> None:
    data = (icons / "holmtray.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    found: dict[bytes, tuple[int, int]] = {}
    pos = 8
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        found[kind] = _png_size(data[pos + 8 : pos + length])
        pos += length
    assert found[b"icp4"] == (16, 16)
    assert found[b"ic07"] == (128, 128)
    assert found[b"ic10"] == (1024, 1024)
    assert len(found) == 11


# -- one application id everywhere ------------------------------------------------------------
def test_every_platform_uses_the_same_application_id() -> None:
    assert autostart.APP_ID == APP_ID
    assert autostart.LAUNCHD_LABEL == APP_ID
    assert platform_integration.APP_ID == APP_ID
    assert ET.parse(METAINFO).getroot().findtext("id") == APP_ID
    with INFO_PLIST.open("rb") as fh:
        assert plistlib.load(fh)["CFBundleIdentifier"] == APP_ID
    iss = ISS.read_text(encoding="utf-8")
    assert f'#define AppId "{APP_ID}"' in iss
    assert 'AppUserModelID: "{#AppId}"' in iss
    assert f'APP_ID = "{APP_ID}"' in SPEC.read_text(encoding="utf-8")
    assert f'APP_ID = "{APP_ID}"' in MAKE_ICONS.read_text(encoding="utf-8")
    assert f"APP_ID={APP_ID}" in INSTALL_USER.read_text(encoding="utf-8")


def test_pyinstaller_spec_is_valid_python() -> None:
    compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec")


# -- macOS ------------------------------------------------------------------------------------
def test_info_plist_is_a_menu_bar_app_with_the_package_version() -> None:
    with INFO_PLIST.open("rb") as fh:
        info = plistlib.load(fh)
    assert info["LSUIElement"] is True
    assert info["LSBackgroundOnly"] is False  # it has windows
    assert info["CFBundleName"] == info["CFBundleDisplayName"] == "holmtray"
    assert info["CFBundleShortVersionString"] == info["CFBundleVersion"] == __version__
    assert info["NSHumanReadableCopyright"]


# -- Windows ----------------------------------------------------------------------------------
def test_installer_start_at_login_writes_the_value_the_app_writes() -> None:
    iss = ISS.read_text(encoding="utf-8")
    run_line = next(line for line in iss.splitlines() if line.startswith("Root: HKCU"))
    assert f'Subkey: "{autostart.RUN_KEY}"' in run_line
    assert f'ValueName: "{autostart.RUN_VALUE}"' in run_line
    assert "Tasks: startatlogin" in run_line
    # ...and the uninstaller removes it even when the app wrote it.
    assert (
        f"RegDeleteValue(HKEY_CURRENT_USER, '{autostart.RUN_KEY}', '{autostart.RUN_VALUE}')" in iss
    )


class FakeShell32:
    def __init__(self, result: int = 0) -> None:
        self.result = result
        self.calls: list[str] = []

    def SetCurrentProcessExplicitAppUserModelID(self, app_id: str) -> int:
        self.calls.append(app_id)
        return self.result


def test_app_user_model_id_is_set_on_windows_before_the_app_starts() -> None:
    shell32 = FakeShell32()
    assert platform_integration.set_app_user_model_id(platform="win32", shell32=shell32)
    assert shell32.calls == [APP_ID]


def test_app_user_model_id_failure_is_reported_not_raised() -> None:
    shell32 = FakeShell32(result=-2147024809)  # E_INVALIDARG
    assert not platform_integration.set_app_user_model_id(platform="win32", shell32=shell32)


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_app_user_model_id_is_a_no_op_elsewhere(platform: str) -> None:
    shell32 = FakeShell32()
    assert not platform_integration.set_app_user_model_id(platform=platform, shell32=shell32)
    assert shell32.calls == []


# -- the user install recipe ------------------------------------------------------------------
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux install recipe")
def test_install_user_installs_a_bundle_and_uninstall_removes_it(
    tmp_path: Path, icons: Path
) -> None:
    # A stand-in for dist/holmtray: the recipe copies it and needs only its layout.
    bundle = tmp_path / "bundle"
    (bundle / "share").mkdir(parents=True)
    exe = bundle / "holmtray"
    exe.write_text(f"#!/bin/sh\necho 'holmtray {__version__}'\n")
    exe.chmod(0o755)
    shutil.copytree(icons / "hicolor", bundle / "share" / "icons" / "hicolor")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
    }
    data = home / ".local" / "share"

    r = _run("bash", INSTALL_USER, "--bundle", bundle, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    installed = data / "applications" / DESKTOP.name
    entry = _desktop_entry(installed)
    command = home / ".local" / "bin" / "holmtray"
    assert entry["Exec"] == f'"{command}"'  # the full path: ~/.local/bin may not be on PATH
    assert entry["TryExec"] == str(command)
    assert _run(command, "--version").stdout.strip() == f"holmtray {__version__}"
    for size in ICON_SIZES:
        assert (data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (data / "metainfo" / METAINFO.name).read_bytes() == METAINFO.read_bytes()
    if shutil.which("desktop-file-validate"):
        v = _run("desktop-file-validate", installed)
        assert v.returncode == 0, v.stdout + v.stderr

    # The user's own data and a start-at-login entry for this installation.
    events = data / "holmtray" / "events.db"
    events.write_bytes(b"events")
    autostart_entry = home / ".config" / "autostart" / "holmtray.desktop"
    autostart_entry.parent.mkdir(parents=True)
    autostart_entry.write_text(
        autostart.desktop_entry([str(data / "holmtray" / "app" / "bundle" / "holmtray")])
    )

    r = _run("bash", INSTALL_USER, "--uninstall", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not command.exists()
    assert not installed.exists()
    assert not (data / "metainfo" / METAINFO.name).exists()
    assert not list((data / "icons").rglob(f"{APP_ID}.*"))
    assert not (data / "holmtray" / "app").exists()
    assert not autostart_entry.exists()
    assert events.read_bytes() == b"events"  # the user's events stay


# -- systemd ----------------------------------------------------------------------------------
def _verify_unit(unit: Path, tmp_path: Path, *, user: bool) -> None:
    tool = _tool("systemd-analyze", "systemd")
    # verify insists that ExecStart exists; the units name where holmtray gets installed.
    text = re.sub(r"(?m)^ExecStart=\S+", "ExecStart=/bin/true", unit.read_text(encoding="utf-8"))
    copy = tmp_path / "holmtray.service"
    copy.write_text(text, encoding="utf-8")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    r = _run(tool, *(["--user"] if user else []), "verify", copy, env=env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert not re.search(r"unknown|ignoring|invalid|failed", out, re.IGNORECASE), out


def test_systemd_user_unit_verifies(tmp_path: Path) -> None:
    unit = PACKAGING / "systemd" / "holmtray.service"
    assert "ExecStart=%h/.local/bin/holmtray serve" in unit.read_text(encoding="utf-8")
    _verify_unit(unit, tmp_path, user=True)


def test_systemd_system_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    unit = PACKAGING / "systemd" / "holmtray-system.service"
    text = unit.read_text(encoding="utf-8")
    for line in (
        "User=holmtray",
        "Environment=HOLMTRAY_HOME=/var/lib/holmtray",
        "StateDirectory=holmtray",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "MemoryDenyWriteExecute=yes",
        "CapabilityBoundingSet=",
        "UMask=0077",
    ):
        assert re.search(rf"(?m)^{re.escape(line)}$", text), line
    _verify_unit(unit, tmp_path, user=False)


def test_systemd_relay_drop_in_runs_serve_relay_and_verifies_with_the_system_unit(
    tmp_path: Path,
) -> None:
    tool = _tool("systemd-analyze", "systemd")
    unit = (PACKAGING / "systemd" / "holmtray-system.service").read_text(encoding="utf-8")
    drop_in = (PACKAGING / "systemd" / "holmtray-relay.conf").read_text(encoding="utf-8")
    [binary] = re.findall(r"(?m)^ExecStart=(\S+) serve$", unit)
    assert re.findall(r"(?m)^ExecStart=.*$", drop_in) == [
        "ExecStart=",
        f"ExecStart={binary} serve --relay",
    ]
    # The unit found on the search path with the drop-in in its .d folder, as systemd loads it.
    (tmp_path / "holmtray.service").write_text(
        re.sub(r"(?m)^ExecStart=\S+", "ExecStart=/bin/true", unit), encoding="utf-8"
    )
    (tmp_path / "holmtray.service.d").mkdir()
    (tmp_path / "holmtray.service.d" / "relay.conf").write_text(
        re.sub(r"(?m)^ExecStart=\S+ ", "ExecStart=/bin/true ", drop_in), encoding="utf-8"
    )
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_UNIT_PATH": f"{tmp_path}:"}
    r = _run(tool, "verify", tmp_path / "holmtray.service", env=env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert not re.search(r"unknown|ignoring|invalid|failed", out, re.IGNORECASE), out


def test_every_package_under_holmtray_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "holmtray").rglob("__init__.py")
    }
    assert on_disk, "the walk found no packages"
    assert on_disk - listed == set(), "packages missing from [tool.setuptools] packages"
    assert listed - on_disk == {"holmtray.resources"}
