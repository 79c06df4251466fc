"""How the running process presents itself to the desktop shell, per platform.

Windows groups taskbar buttons and attributes notifications (toasts, and the tray balloons Qt
shows) by the process's AppUserModelID. Without an explicit one, a holmtray started from a
virtual environment shares Python's identity ("Python"); the installer's Start-menu shortcut
(packaging/windows/holmtray.iss) carries :data:`~holmtray.core.config.autostart.APP_ID`, and setting
the same id here, before any window exists, makes the running app match that shortcut's name
and icon. Must run before the QApplication is created. No Qt here.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from holmtray.core.config.autostart import APP_ID

log = logging.getLogger("holmtray.platform")


def set_app_user_model_id(
    app_id: str = APP_ID, *, platform: str = sys.platform, shell32: Any = None
) -> bool:
    """On Windows, set this process's explicit AppUserModelID; whether it was set.

    Elsewhere a no-op that returns False. ``shell32`` is for tests (default: the real DLL).
    """
    if platform != "win32":
        return False
    if shell32 is None:
        import ctypes  # noqa: PLC0415 - windll exists only on Windows

        shell32 = ctypes.windll.shell32  # type: ignore[attr-defined]
    try:
        result = shell32.SetCurrentProcessExplicitAppUserModelID(app_id)
    except (AttributeError, OSError) as exc:
        log.warning("cannot set the AppUserModelID %s: %s", app_id, exc)
        return False
    if result != 0:  # an HRESULT: 0 is S_OK
        log.warning("cannot set the AppUserModelID %s: HRESULT 0x%08X", app_id, result & 0xFFFFFFFF)
        return False
    log.debug("AppUserModelID set to %s", app_id)
    return True
