"""Notification adapters: show a :class:`~holmtray.core.alerts.notices.Notice` on the desktop.

Two backends share one small interface. :class:`NativeBackend` uses desktop-notifier (D-Bus
on Linux, the platform APIs elsewhere) and supports a click, an "Open in Security Center"
button, urgency and replacement. :class:`TrayBalloonBackend` uses
``QSystemTrayIcon.showMessage`` and is the fallback. :class:`Notifier` picks the first backend
that works at start, and falls back for good if the native one fails later; the chosen
backend's name is shown in About.

Texts are escaped here, per backend: the freedesktop servers (dunst among them) render a
subset of HTML in notification bodies (the summary is plain text by the specification), so
``<``, ``>`` and ``&`` in a body are turned into entities before they leave; Qt's balloon
shows plain text and gets the text as it is.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Protocol

from desktop_notifier import Button, DesktopNotifier, Icon
from desktop_notifier import Urgency as NUrgency
from PySide6.QtWidgets import QSystemTrayIcon

from holmtray.core.alerts.notices import Notice, Urgency

log = logging.getLogger("holmtray.notify")

OnClicked = Callable[[Notice], object]
OPEN_BUTTON = "Open in Security Center"


class Backend(Protocol):
    name: str

    async def show(self, notice: Notice) -> None: ...

    async def close(self) -> None: ...


def escape_markup(text: str) -> str:
    """Text for a freedesktop notification body or summary: markup shown literally."""
    return html.escape(text, quote=False)


class NativeBackend:
    """desktop-notifier: native notifications with click and button callbacks."""

    name = "desktop notifications (desktop-notifier)"

    def __init__(self, *, icon: Path | None, on_clicked: OnClicked, on_open: OnClicked) -> None:
        self._notifier = DesktopNotifier(
            app_name="holmtray", app_icon=Icon(path=icon) if icon else None
        )
        self._on_clicked = on_clicked
        self._on_open = on_open
        self._by_key: dict[str, str] = {}  # replace_key -> identifier of the notification shown

    async def probe(self) -> None:
        """Raise if no notification server answers (no session bus, no daemon)."""
        caps = await self._notifier.get_capabilities()
        log.debug("notification server capabilities: %s", sorted(c.name for c in caps))

    async def show(self, notice: Notice) -> None:
        urgency = {
            Urgency.LOW: NUrgency.Low,
            Urgency.NORMAL: NUrgency.Normal,
            Urgency.CRITICAL: NUrgency.Critical,
        }[notice.urgency]
        buttons = []
        if notice.link:
            buttons.append(Button(title=OPEN_BUTTON, on_pressed=partial(self._on_open, notice)))
        key = notice.replace_key
        if key and key in self._by_key:
            # desktop-notifier always sends replaces_id=0, so replace = close, then send.
            try:
                await self._notifier.clear(self._by_key.pop(key))
            except Exception:
                log.debug("earlier notification for %s already gone", key)
        identifier = await self._notifier.send(
            title=notice.summary,  # the summary is plain text by the spec; servers escape it
            message=escape_markup(notice.body),
            urgency=urgency,
            buttons=buttons,
            on_clicked=partial(self._on_clicked, notice),
            timeout=-1,
        )
        if key:
            self._by_key[key] = identifier

    async def close(self) -> None:
        self._by_key.clear()


class TrayBalloonBackend:
    """``QSystemTrayIcon.showMessage``: plain text, one message at a time, a click shows it."""

    name = "tray balloon messages (Qt fallback)"

    def __init__(self, tray: QSystemTrayIcon, *, on_clicked: OnClicked) -> None:
        self._tray = tray
        self._on_clicked = on_clicked
        self._last: Notice | None = None
        tray.messageClicked.connect(self._clicked)

    def _clicked(self) -> None:
        if self._last is not None:
            self._on_clicked(self._last)

    async def show(self, notice: Notice) -> None:
        icon = {
            Urgency.LOW: QSystemTrayIcon.MessageIcon.Information,
            Urgency.NORMAL: QSystemTrayIcon.MessageIcon.Warning,
            Urgency.CRITICAL: QSystemTrayIcon.MessageIcon.Critical,
        }[notice.urgency]
        self._last = notice
        timeout_ms = 0 if notice.urgency is Urgency.CRITICAL else 10_000
        self._tray.showMessage(notice.summary, notice.body, icon, timeout_ms)

    async def close(self) -> None:
        self._last = None


class Notifier:
    """Shows notices through the best backend that works, falling back when one fails."""

    def __init__(self, backends: list[Backend]) -> None:
        if not backends:
            raise ValueError("at least one notification backend is needed")
        self._backends = backends
        self.shown = 0

    @property
    def backend_name(self) -> str:
        return self._backends[0].name

    @classmethod
    async def choose(
        cls,
        *,
        tray: QSystemTrayIcon,
        icon: Path | None,
        on_clicked: OnClicked,
        on_open: OnClicked,
        native: bool = True,
    ) -> Notifier:
        """The native backend if a notification server answers, else the tray balloon."""
        fallback = TrayBalloonBackend(tray, on_clicked=on_clicked)
        if native:
            try:
                backend = NativeBackend(icon=icon, on_clicked=on_clicked, on_open=on_open)
                await backend.probe()
            except Exception as exc:
                log.warning("native notifications unavailable (%s); using tray balloons", exc)
            else:
                log.info("notifications through %s", backend.name)
                return cls([backend, fallback])
        return cls([fallback])

    async def show(self, notice: Notice) -> None:
        while True:
            backend = self._backends[0]
            try:
                await backend.show(notice)
            except Exception:
                if len(self._backends) == 1:
                    log.exception("cannot show a notification")
                    return
                log.exception("%s failed; falling back to %s", backend.name, self._backends[1].name)
                self._backends.pop(0)
                continue
            self.shown += 1
            return

    async def close(self) -> None:
        for b in self._backends:
            await b.close()
