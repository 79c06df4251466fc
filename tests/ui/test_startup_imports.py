"""Start-up (issue 16): the tray icon is shown before the app imports what it does not need.

Launching the tray app used to import everything (the event window, the dialogs, the
notifier's D-Bus client, the listener's HTTP server and client, the relay client) before
the icon appeared. This pins the deferred imports without timing anything: a fresh process
runs ``holmtray tray`` as a user starts it, and at the moment the icon is shown it lists the
modules already loaded. A new top-level import of one of these fails here.

Second round (16.3): the parts that receive and show events (receiver thread, setup flow,
history view, receiving monitor), the notification policy, the single-instance socket
(QtNetwork) and PySide6's Qt namespace are made after the icon too; the test also checks
those objects do not exist yet when it is shown.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from holmtray.core.config import file as settings_file
from holmtray.core.config.paths import Paths

DEFERRED = (
    "holmtray.ui.events.window",
    "holmtray.ui.events.status_strip",
    "holmtray.ui.settings_dialog",
    "holmtray.ui.settings_labels",
    "holmtray.ui.welcome",
    "holmtray.ui.links",
    "holmtray.ui.notifier",
    "holmtray.ui.freedesktop",
    "holmtray.ui.relay_probe",
    "desktop_notifier",
    "dbus_fast",
    "aiohttp",
    "holmtray.core.ingest.receiver",
    "holmtray.core.subscribe.client",
    "holmtray.core.subscribe.relayconn",
    "holmtray.core.history.store",
    "holmtray.core.history.writer",
    # second round (16.3)
    "holmtray.core.alerts.policy",
    "holmtray.core.alerts.expectations",
    "holmtray.core.alerts.notices",
    "holmtray.core.subscribe.source",
    "holmtray.core.history.database",
    "holmtray.core.events",
    "holmtray.ui.app_parts",
    "holmtray.ui.receiver_thread",
    "holmtray.ui.deliveries",
    "holmtray.ui.receiving",
    "holmtray.ui.source_status",
    "holmtray.ui.setup_flow",
    "holmtray.ui.history_view",
    "holmtray.ui.gui_thread",
    "PySide6.QtNetwork",
    "sqlite3",
    "importlib.resources",
    "secrets",
    "plistlib",
    "html",
)
"""Imported after the tray icon is shown, or on first use."""

# Runs `holmtray tray` (cli.main, as the launcher does); when the icon has been shown it
# prints what is loaded and ends the process on the spot.
LAUNCH = """
import json, os, sys
import holmtray.cli as cli
from holmtray.ui import app

show_icon = app.TrayApp.show_icon

def shown(self):
    show_icon(self)
    import PySide6.QtCore
    made = {
        # PySide6 fills a module's namespace on first access; "Qt" builds all of its enums.
        "Qt namespace": "Qt" in vars(PySide6.QtCore),
        "receiver and the other parts": self._parts is not None,
        "notification policy": self._policy is not None,
    }
    print(json.dumps({"icon": self.tray.icon.isVisible(), "modules": sorted(sys.modules),
                      "made": made}))
    sys.stdout.flush()
    os._exit(0)

app.TrayApp.show_icon = shown
sys.exit(cli.main(["tray"]))
"""


def loaded_at_icon(home: Path, **env: str) -> tuple[bool, set[str], dict[str, bool]]:
    run_env = dict(os.environ)
    run_env.update(
        HOLMTRAY_HOME=str(home),
        QT_QPA_PLATFORM="offscreen",
        DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent",
        **env,
    )
    r = subprocess.run(
        [sys.executable, "-c", LAUNCH],
        capture_output=True,
        text=True,
        env=run_env,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    data = json.loads(r.stdout.strip().splitlines()[-1])
    return data["icon"], set(data["modules"]), data["made"]


def test_the_deferred_modules_exist() -> None:
    """The list names real modules: a rename must not make the test below pass vacuously."""
    missing = [m for m in DEFERRED if importlib.util.find_spec(m) is None]
    assert missing == []


@pytest.mark.parametrize("mode", ["direct", "relay"])
def test_the_tray_icon_is_shown_before_the_heavy_modules_are_imported(
    tmp_path: Path, mode: str
) -> None:
    home = tmp_path / "home"
    paths = Paths.under(home)
    base = settings_file.load_or_create(paths.config_file)
    values = {"ui.welcome_shown": True, "listener.port": 0, "source.mode": mode}
    settings_file.save(base.with_values(values), paths.config_file)
    icon, modules, made = loaded_at_icon(home)
    assert icon
    assert "holmtray.ui.app" in modules  # it did launch
    assert "PySide6.QtWidgets" in modules
    early = sorted(m for m in DEFERRED if m in modules)
    # Relay mode too: its status (and so the relay client) is first needed after the icon.
    assert early == []
    assert [what for what, exists in made.items() if exists] == []
