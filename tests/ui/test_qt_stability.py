"""Guards against the PySide6-Essentials 6.12.0 / CPython 3.11 abort (measurements.md).

The combination must be uninstallable (the dependency constraint), and a stress run under
the qasync loop — timer callbacks plus cross-thread signal emissions, which is what the tray
app does under load — must finish without the interpreter aborting. It runs in a subprocess
so that an abort ("Fatal Python error: none_dealloc") fails this test instead of the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _pyside_requirements() -> list[Requirement]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return [r for r in map(Requirement, deps) if r.name.lower() == "pyside6-essentials"]


def _allowed(version: str, python: str) -> bool:
    env = {"python_version": python, "python_full_version": f"{python}.0"}
    active = [r for r in _pyside_requirements() if r.marker is None or r.marker.evaluate(env)]
    assert active, f"no PySide6 requirement applies on Python {python}"
    return all(r.specifier.contains(Version(version), prereleases=True) for r in active)


def test_pyside6_6_12_0_cannot_be_installed_on_python_3_11() -> None:
    assert not _allowed("6.12.0", "3.11")
    assert _allowed("6.11.3", "3.11")
    assert _allowed("6.12.0", "3.12")
    assert _allowed("6.12.0", "3.13")


STRESS = textwrap.dedent(
    """
    import asyncio, os, sys, threading
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication
    import qasync

    class Bridge(QObject):
        ping = Signal(object)

    app = QApplication([])
    bridge = Bridge()
    received = []
    bridge.ping.connect(lambda v: received.append(v))

    async def timers(n):
        loop = asyncio.get_running_loop()
        for _ in range(n):
            fut = loop.create_future()
            loop.call_later(0.0001, fut.set_result, None)
            await fut

    def emitter(n):
        for i in range(n):
            bridge.ping.emit(i)

    async def main():
        threads = [threading.Thread(target=emitter, args=(2000,)) for _ in range(4)]
        for t in threads:
            t.start()
        await asyncio.gather(*(timers(150) for _ in range(64)))
        for t in threads:
            t.join()
        while len(received) < 8000:
            await asyncio.sleep(0.01)
        print("ok", len(received))

    qasync.run(main())
    """
)


def test_qasync_loop_survives_timer_and_cross_thread_signal_stress() -> None:
    r = subprocess.run(
        [sys.executable, "-c", STRESS], capture_output=True, text=True, timeout=240, check=False
    )
    assert r.returncode == 0, f"stress run died (rc {r.returncode}):\n{r.stderr[-2000:]}"
    assert r.stdout.split() == ["ok", "8000"]
