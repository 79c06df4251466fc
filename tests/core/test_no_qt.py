"""The core must stay Qt-free: `holmtray serve` and the CLI never load Qt."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import holmtray.core


def test_importing_every_core_module_and_the_cli_loads_no_qt() -> None:
    modules = [
        m.name for m in pkgutil.walk_packages(holmtray.core.__path__, prefix="holmtray.core.")
    ]
    assert "holmtray.core.history.store" in modules  # the walk found the package's modules
    code = (
        "import importlib, json, sys\n"
        f"for m in {[*modules, 'holmtray.cli']!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(n for n in sys.modules "
        "if n.split('.')[0] in ('PySide6', 'shiboken6', 'qasync', 'PyQt5', 'PyQt6'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == []
