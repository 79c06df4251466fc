"""The event window's saved layout: geometry, splitter positions, column widths and toggles.

This module owns the state file (an INI file read through ``QSettings``) and which parts of a
window go into it under which keys. Saving reports a failure in the log and goes on; restoring
skips whatever is missing or damaged, so a foreign or broken file never stops the window.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QAbstractButton, QWidget

log = logging.getLogger("holmtray.ui.events.layout_state")


class Stateful(Protocol):
    """A widget that saves and restores its own state (a splitter, a header view)."""

    def saveState(self) -> QByteArray: ...

    def restoreState(self, state: QByteArray | bytes | bytearray | memoryview) -> bool: ...


class LayoutState:
    """Saves ``window``'s geometry under ``geometry_key``, each part under its key, and
    whether each checkable button in ``toggles`` is checked."""

    def __init__(
        self,
        *,
        path: Path,
        window: QWidget,
        geometry_key: str,
        parts: Mapping[str, Stateful],
        toggles: Mapping[str, QAbstractButton] | None = None,
    ) -> None:
        self._path = Path(path)
        self._window = window
        self._geometry_key = geometry_key
        self._parts = dict(parts)
        self._toggles = dict(toggles or {})

    def _settings(self) -> QSettings:
        return QSettings(str(self._path), QSettings.Format.IniFormat)

    def save(self) -> None:
        """Write the geometry and every part's state to the file."""
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("cannot save the event window layout to %s: %s", self._path, exc)
            return
        s = self._settings()
        s.setValue(self._geometry_key, self._window.saveGeometry())
        for key, part in self._parts.items():
            s.setValue(key, part.saveState())
        for key, button in self._toggles.items():
            s.setValue(key, "on" if button.isChecked() else "off")
        s.sync()
        if s.status() != QSettings.Status.NoError:
            log.warning("cannot save the event window layout to %s", self._path)

    def restore(self) -> set[str]:
        """Apply what the file holds; a missing file or key leaves that part as it is.

        Returns the keys of the parts and toggles it applied.
        """
        restored: set[str] = set()
        if not self._path.exists():
            return restored
        s = self._settings()

        def get(key: str) -> QByteArray | None:
            value = s.value(key)
            return value if isinstance(value, QByteArray) and not value.isEmpty() else None

        # A damaged or foreign state file must not stop the window: each part is optional.
        if (geometry := get(self._geometry_key)) is not None:
            self._window.restoreGeometry(geometry)
        for key, part in self._parts.items():
            if (state := get(key)) is not None and part.restoreState(state):
                restored.add(key)
        for key, button in self._toggles.items():
            value = s.value(key)
            if value in ("on", "off"):
                button.setChecked(value == "on")
                restored.add(key)
        return restored
