"""Notifications through the freedesktop notification server (Linux), updated in place.

The notification specification lets a client replace a notification it showed by passing its
id as ``replaces_id``: the server changes the text where it stands, with no new pop-up. A
burst summary is kept current that way about once a second (issue 14); desktop-notifier always
sends ``replaces_id = 0``, so a replace there is close-then-show, which the server (and the
analyst) sees as a new notification every time. This backend speaks the few calls it needs
itself, over dbus-fast (which desktop-notifier already brings on Linux): ``Notify``,
``CloseNotification``, ``GetCapabilities``, and the ``ActionInvoked`` and
``NotificationClosed`` signals.

It keeps the notices of the notifications still open (for a click) and the id shown under
each replace key; a closed notification is forgotten, and at most :data:`MAX_OPEN` are kept
however long the app runs. An *update* of a summary whose notification is gone is dropped: it
is not a new pop-up, so it must not become one.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dbus_fast import Variant
from dbus_fast.aio import MessageBus

from holmtray.core.alerts.notices import Notice, Urgency

log = logging.getLogger("holmtray.ui.freedesktop")

OnClicked = Callable[[Notice], object]
OPEN_BUTTON = "Open in Security Center"
MAX_OPEN = 64
"""Notifications remembered at most (for clicks and in-place updates): a server that never
reports them closed must not make this grow."""
MAX_EARLY = 8
"""Clicks remembered for ids not known yet: the server's ``ActionInvoked`` can be read in the
same turn as its reply to ``Notify`` (a quick click), before ``show`` has recorded the id."""

_NAME = "org.freedesktop.Notifications"
_PATH = "/org/freedesktop/Notifications"
_DEFAULT_ACTION = "default"  # the spec's key for a click on the notification itself
_OPEN_ACTION = "open"
_URGENCY = {Urgency.LOW: 0, Urgency.NORMAL: 1, Urgency.CRITICAL: 2}


class FreedesktopBackend:
    """``org.freedesktop.Notifications`` over the session bus, with in-place replacement."""

    name = "desktop notifications (freedesktop D-Bus)"

    def __init__(
        self,
        *,
        icon: Path | None,
        on_clicked: OnClicked,
        on_open: OnClicked,
        escape: Callable[[str], str],
    ) -> None:
        self._icon = icon.resolve().as_uri() if icon is not None else ""
        self._on_clicked = on_clicked
        self._on_open = on_open
        self._escape = escape
        self._bus: MessageBus | None = None
        self._iface: Any = None  # the proxy's methods are made from the server's introspection
        self._actions = False
        self._open: OrderedDict[int, Notice] = OrderedDict()  # id -> notice, oldest first
        self._by_key: dict[str, int] = {}  # replace key -> id of the notification showing it
        self._showing = 0  # Notify calls awaiting the server's reply
        self._early: OrderedDict[int, str] = OrderedDict()  # id -> action, while _showing

    async def probe(self) -> None:
        """Connect and ask the server what it can do; raises if there is no bus or server."""
        bus = await MessageBus().connect()
        try:
            introspection = await bus.introspect(_NAME, _PATH)
            iface = bus.get_proxy_object(_NAME, _PATH, introspection).get_interface(_NAME)
            caps = await iface.call_get_capabilities()  # type: ignore[attr-defined]
        except Exception:
            bus.disconnect()
            raise
        self._bus, self._iface = bus, iface
        self._actions = "actions" in caps
        iface.on_action_invoked(self._action_invoked)  # type: ignore[attr-defined]
        iface.on_notification_closed(self._closed)  # type: ignore[attr-defined]
        log.debug("notification server capabilities: %s", sorted(caps))

    @property
    def open_count(self) -> int:
        """Notifications remembered as open (for tests of the bound)."""
        return len(self._open)

    async def show(self, notice: Notice, *, update: bool = False) -> None:
        if self._iface is None:
            raise RuntimeError("the notification server is not connected")
        key = notice.replace_key
        replaces = self._by_key.get(key, 0) if key else 0
        if update and not replaces:
            log.debug("summary %s was closed: its update is not shown", key)
            return
        actions: list[str] = []
        if self._actions:
            actions += [_DEFAULT_ACTION, ""]
            if notice.link:
                actions += [_OPEN_ACTION, OPEN_BUTTON]
        hints = {"urgency": Variant("y", _URGENCY[notice.urgency])}
        self._showing += 1
        try:
            nid = await self._iface.call_notify(
                "holmtray",
                replaces,
                self._icon,
                notice.summary,  # plain text by the specification; servers escape it themselves
                self._escape(notice.body),
                actions,
                hints,
                -1,
            )
        finally:
            self._showing -= 1
        if replaces and nid != replaces:
            self._forget(replaces)
        self._open.pop(nid, None)
        self._open[nid] = notice
        if key:
            self._by_key[key] = nid
        while len(self._open) > MAX_OPEN:
            self._forget(next(iter(self._open)))
        early = self._early.pop(nid, None)
        if not self._showing:
            self._early.clear()
        if early is not None:
            self._dispatch(notice, early)

    def _forget(self, nid: int) -> None:
        notice = self._open.pop(nid, None)
        key = notice.replace_key if notice is not None else None
        if key and self._by_key.get(key) == nid:
            del self._by_key[key]

    def _action_invoked(self, nid: int, action: str) -> None:
        notice = self._open.get(nid)
        if notice is None:
            if self._showing:  # perhaps the notification whose id is on its way: keep it
                self._early[nid] = action
                while len(self._early) > MAX_EARLY:
                    self._early.popitem(last=False)
            return  # else not ours, or long gone
        self._dispatch(notice, action)

    def _dispatch(self, notice: Notice, action: str) -> None:
        if action == _DEFAULT_ACTION:
            self._on_clicked(notice)
        elif action == _OPEN_ACTION:
            self._on_open(notice)

    def _closed(self, nid: int, reason: int) -> None:
        if nid in self._open:
            log.debug("notification %d closed (reason %d)", nid, reason)
            self._forget(nid)

    async def close(self) -> None:
        self.disconnect()

    def disconnect(self) -> None:
        self._open.clear()
        self._by_key.clear()
        self._early.clear()
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None
            self._iface = None
