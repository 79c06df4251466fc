"""What the tray app makes once its icon is shown: the parts that receive and show events.

:class:`Parts` holds the receiver thread (the event source and its writer), the setup flow, the
GUI's read-only history view and the receiving monitor; :func:`make_parts` makes and wires them
with the app's callbacks. ``TrayApp`` makes them on the GUI loop's first turn after the tray
icon, or when anything asks for one first, so that none of their modules is imported before
the icon (issue 16.3; ``tests/ui/test_startup_imports.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.ui.history_view import HistoryView
from holmtray.ui.receiver_thread import ReceiverThread
from holmtray.ui.receiving import ReceivingMonitor
from holmtray.ui.setup_flow import SetupFlow

if TYPE_CHECKING:
    from holmtray.ui.events.window import EventWindow
    from holmtray.ui.settings_dialog import ApplyDone


@dataclass(frozen=True, slots=True)
class Parts:
    """The receiver thread, the setup flow, the history view and the receiving monitor."""

    receiver: ReceiverThread
    setup: SetupFlow
    history: HistoryView
    receiving: ReceivingMonitor


def make_parts(
    *,
    settings: Callable[[], Settings],
    paths: Paths,
    apply: Callable[[Settings, ApplyDone], None],
    spawn: Callable[[Coroutine[Any, Any, None]], None],
    open_settings: Callable[[], None],
    open_link: Callable[[str | None, QWidget | None], None],
    window_made: Callable[[EventWindow], None],
    retry: Callable[[], None],
    parent: QObject,
) -> Parts:
    """Make the parts, wired to the app: ``settings`` gives the settings in force."""
    receiver = ReceiverThread(settings=settings(), paths=paths)
    setup = SetupFlow(
        receiver=receiver,
        settings=settings,
        apply=apply,
        spawn=spawn,
        open_settings=open_settings,
    )
    history = HistoryView(
        write=receiver.write,
        open_link=open_link,
        state_path=paths.config_dir / "window.ini",
        on_window=window_made,
        webhook_url=setup.webhook_url,
        send_test=setup.send_test,
    )
    receiving = ReceivingMonitor(
        receiver=receiver,
        settings=settings,
        retry=retry,
        open_settings=open_settings,
        parent=parent,
    )
    receiving.changed.connect(lambda status: setup.update(status, receiving.mode()))
    return Parts(receiver=receiver, setup=setup, history=history, receiving=receiving)


__all__ = ["Parts", "make_parts"]
