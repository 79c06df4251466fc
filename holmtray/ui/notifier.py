"""Notification adapters: show a :class:`~holmtray.core.alerts.notices.Notice` on the desktop.

Three backends share one small interface. On Linux,
:class:`~holmtray.ui.freedesktop.FreedesktopBackend` talks to the notification server over
D-Bus itself, so a summary is updated in place. :class:`NativeBackend` uses desktop-notifier
(the platform APIs on Windows and macOS). Both support a click, an "Open in Security Center"
button and urgency. :class:`TrayBalloonBackend` uses ``QSystemTrayIcon.showMessage`` and is
the fallback. :class:`Notifier` picks the first backend that works at start, and falls back
for good if it fails later; the chosen backend's name is shown in About.

``show(notice, update=True)`` brings a summary already shown up to date; it is not a new
pop-up, so a backend drops it when that notification is gone (closed by the user or the
server) or, for the balloon, shows nothing new. Every backend remembers a bounded number of
notifications (for clicks and updates), however long the app runs.

Texts are escaped here, per backend: the freedesktop servers (dunst among them) render a
subset of HTML in notification bodies (the summary is plain text by the specification), so
``<``, ``>`` and ``&`` in a body are turned into entities before they leave; Qt's balloon
shows plain text and gets the text as it is.
"""

from __future__ import annotations

import asyncio
import html
import logging
import sys
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Protocol

from desktop_notifier import Button, DesktopNotifier, Icon
from desktop_notifier import Urgency as NUrgency
from PySide6.QtWidgets import QSystemTrayIcon

from holmtray.core.alerts.notices import Notice, Urgency

log = logging.getLogger("holmtray.ui.notifier")

OnClicked = Callable[[Notice], object]
OPEN_BUTTON = "Open in Security Center"
MAX_KEYS = 64  # replace keys remembered by the desktop-notifier backend


class Backend(Protocol):
    name: str

    async def show(self, notice: Notice, *, update: bool = False) -> None: ...

    async def close(self) -> None: ...

    def disconnect(self) -> None:
        """Let go of any connection now, without awaiting (the app is shutting down)."""


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
        # replace_key -> identifier of the notification shown, least recently shown first
        self._by_key: OrderedDict[str, str] = OrderedDict()

    async def probe(self) -> None:
        """Raise if no notification server answers (no session bus, no daemon)."""
        caps = await self._notifier.get_capabilities()
        log.debug("notification server capabilities: %s", sorted(c.name for c in caps))

    async def show(self, notice: Notice, *, update: bool = False) -> None:
        if update and (notice.replace_key or "") not in self._by_key:
            return  # the summary was not shown here (or is long gone): not a new pop-up
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
            while len(self._by_key) > MAX_KEYS:
                self._by_key.popitem(last=False)

    async def close(self) -> None:
        self._by_key.clear()

    def disconnect(self) -> None:
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

    async def show(self, notice: Notice, *, update: bool = False) -> None:
        if update:
            # A balloon cannot change in place: a click on the one showing gets the new ids.
            last = self._last
            if last is not None and last.replace_key == notice.replace_key:
                self._last = notice
            return
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

    def disconnect(self) -> None:
        self._last = None


class Notifier:
    """Shows notices through the best backend that works, falling back when one fails."""

    def __init__(self, backends: list[Backend]) -> None:
        if not backends:
            raise ValueError("at least one notification backend is needed")
        self._backends = backends
        self._turn: asyncio.Lock | None = None  # one show at a time: updates stay in order
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
        """The freedesktop server (Linux) or desktop-notifier if one answers, else the tray
        balloon."""
        fallback = TrayBalloonBackend(tray, on_clicked=on_clicked)
        if native:
            try:
                backend = await _native(icon=icon, on_clicked=on_clicked, on_open=on_open)
            except Exception as exc:
                log.warning("native notifications unavailable (%s); using tray balloons", exc)
            else:
                log.info("notifications through %s", backend.name)
                return cls([backend, fallback])
        return cls([fallback])

    async def show(self, notice: Notice, *, update: bool = False) -> None:
        """Show ``notice`` (or update it in place); one at a time, in the order asked."""
        if self._turn is None:
            self._turn = asyncio.Lock()
        async with self._turn:
            await self._show(notice, update)

    async def _show(self, notice: Notice, update: bool) -> None:
        while True:
            backend = self._backends[0]
            try:
                await backend.show(notice, update=update)
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

    def disconnect(self) -> None:
        """At shutdown: every backend lets go of its connection at once (a bus socket left
        registered with an event loop that is gone must not fire later)."""
        for b in self._backends:
            b.disconnect()


async def _native(*, icon: Path | None, on_clicked: OnClicked, on_open: OnClicked) -> Backend:
    """The first native backend whose server answers (raises if none does)."""
    if sys.platform.startswith("linux"):
        from holmtray.ui.freedesktop import FreedesktopBackend  # noqa: PLC0415 (Linux only)

        fd = FreedesktopBackend(
            icon=icon, on_clicked=on_clicked, on_open=on_open, escape=escape_markup
        )
        await fd.probe()
        return fd
    backend = NativeBackend(icon=icon, on_clicked=on_clicked, on_open=on_open)
    await backend.probe()
    return backend
