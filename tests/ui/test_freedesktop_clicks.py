"""A click that arrives with the server's answer to ``Notify`` is not lost.

dbus-fast reads the server's reply to ``Notify`` (the notification's id) and an
``ActionInvoked`` signal for that id in one turn when the user (or ``dunstctl action``) clicks
quickly: the signal handler runs before :meth:`FreedesktopBackend.show` has resumed and
recorded the id. The real daemon cannot be made to deliver in that order on demand, so the
server here is a stand-in that does exactly that; the rest is the real backend. The backend
against dunst itself is tested in ``tests/e2e/test_freedesktop.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from holmtray.core.alerts.notices import Notice, Urgency
from holmtray.ui.freedesktop import MAX_EARLY, FreedesktopBackend
from holmtray.ui.notifier import escape_markup

NOTICE = Notice(
    event_id=12,
    summary="Critical: Log4j on host-1",
    body="Ticket 12",
    urgency=Urgency.CRITICAL,
    link=None,
    replace_key="ticket:12",
)


class ClickedAtOnce:
    """A notification server whose reply comes with a click on the new notification."""

    def __init__(self, backend: FreedesktopBackend, nid: int) -> None:
        self._backend, self._nid = backend, nid

    async def call_notify(self, *_args: Any) -> int:
        self._backend._action_invoked(self._nid, "default")  # read with the reply
        return self._nid


def backend_with(clicked: list[Notice], nid: int) -> FreedesktopBackend:
    backend = FreedesktopBackend(
        icon=None, on_clicked=clicked.append, on_open=clicked.append, escape=escape_markup
    )
    backend._iface = ClickedAtOnce(backend, nid)
    backend._actions = True
    return backend


def test_a_click_read_with_the_reply_reaches_the_notice() -> None:
    clicked: list[Notice] = []
    backend = backend_with(clicked, 7)
    asyncio.run(backend.show(NOTICE))
    assert clicked == [NOTICE]
    assert backend.open_count == 1


def test_clicks_on_ids_not_ours_are_not_kept() -> None:
    clicked: list[Notice] = []
    backend = backend_with(clicked, 7)
    for nid in range(100, 100 + 3 * MAX_EARLY):
        backend._action_invoked(nid, "default")  # nothing is being shown: not ours
    asyncio.run(backend.show(NOTICE))
    assert clicked == [NOTICE]
    assert len(backend._early) == 0
