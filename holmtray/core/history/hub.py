"""The relay's fan-out hub: committed events handed to every open stream, never waited for.

The group-commit writer calls :meth:`Hub.publish` on the event loop after each committed batch,
in commit order (so ids ascend); with a log shared by several relays, the backend's follower
does, with every relay's events in id order. Each :class:`Subscriber` (one open ``/v1/stream``)
has its own bounded queue of frames; publishing only appends to those queues and wakes their
streams, so it never blocks and never waits for a socket. A subscriber whose queue would go
past its bound is ended with the reason ``"slow"`` and its queue dropped: its stream sends
``bye`` and closes, and the client resumes by id. Other subscribers, the writer and the webhook
path are not slowed by it.

A subscriber ends for good with a reason -- ``"slow"``, ``"revoked"`` (its read token was
revoked), ``"shutdown"`` -- and its stream, woken, says ``bye`` with that reason. The first
reason given wins. Everything here runs on the one event loop; there are no locks, so none is
held while a stream writes to its socket.

Frames are rendered once per event by the ``render`` callable given to the hub (the relay's
SSE encoding) and the same bytes object is queued for every subscriber.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

log = logging.getLogger("holmtray.history.hub")

SLOW = "slow"
REVOKED = "revoked"
SHUTDOWN = "shutdown"


class HubClosed(Exception):
    """The hub is shutting down: no new subscriber is taken."""


class HubFull(Exception):
    """As many subscribers as allowed are registered already."""


class Published(Protocol):
    """What the hub needs of an event: a stored event, or a log entry read back."""

    @property
    def id(self) -> int: ...

    @property
    def received_at(self) -> datetime: ...

    @property
    def body(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Item:
    """One queued frame: ``id`` is the event's id, or ``None`` for a frame that is no event."""

    id: int | None
    frame: bytes


class Subscriber:
    """One open stream's queue, its wake-up signal and why it ended (``None``: it has not).

    ``token_name`` and ``token_hash`` say whose read token opened it (for revocation);
    ``group`` is an opaque tag of the owner's (the relay tags streams with their listener
    application, so a rebind can end the old listener's streams only). ``on_end`` is called
    once, when the subscriber is ended.
    """

    __slots__ = (
        "_items",
        "ended",
        "group",
        "limit",
        "on_end",
        "token_hash",
        "token_name",
        "wake",
    )

    def __init__(
        self, *, token_name: str, token_hash: str, limit: int, group: object = None
    ) -> None:
        self.token_name = token_name
        self.token_hash = token_hash
        self.limit = limit
        self.group = group
        self.ended: str | None = None
        self.on_end: Callable[[str], None] | None = None
        self.wake = asyncio.Event()
        self._items: collections.deque[Item] = collections.deque()

    def __len__(self) -> int:
        return len(self._items)

    def take(self) -> list[Item]:
        """Everything queued, oldest first; the queue is empty afterwards."""
        items = list(self._items)
        self._items.clear()
        self.wake.clear()
        return items

    def first_id(self) -> int | None:
        """The id of the oldest queued event, if any."""
        for item in self._items:
            if item.id is not None:
                return item.id
        return None

    def drop_through(self, event_id: int) -> None:
        """Forget queued events up to ``event_id`` (the stream sent them from the database)."""
        items = self._items
        while items and items[0].id is not None and items[0].id <= event_id:
            items.popleft()

    def offer(self, items: list[Item]) -> bool:
        """Queue ``items``; False (and the subscriber ended as slow) when they do not fit."""
        if self.ended is not None:
            return False
        if len(self._items) + len(items) > self.limit:
            self.end(SLOW)
            return False
        self._items.extend(items)
        self.wake.set()
        return True

    def end(self, reason: str) -> None:
        """End this subscriber (the first reason wins): its queue is dropped, its stream woken."""
        if self.ended is not None:
            return
        self.ended = reason
        self._items.clear()
        self.wake.set()
        if self.on_end is not None:
            try:
                self.on_end(reason)
            except Exception:
                log.exception("a subscriber's end callback failed")


class Hub:
    """The open streams, fed by the writer's ``on_commit``; event-loop side only."""

    def __init__(self, *, render: Callable[[Published], bytes]) -> None:
        self._render = render
        self._subscribers: set[Subscriber] = set()
        self._closed = False
        self.last_id = 0  # the highest event id published since the start
        self.dropped_slow = 0  # subscribers ended because their queue overflowed

    def __len__(self) -> int:
        return len(self._subscribers)

    @property
    def closed(self) -> bool:
        return self._closed

    def subscribers(self) -> list[Subscriber]:
        return list(self._subscribers)

    def register(
        self,
        *,
        token_name: str,
        token_hash: str,
        queue_size: int,
        max_subscribers: int,
        group: object = None,
    ) -> Subscriber:
        """A new subscriber, receiving everything published from now on.

        Raises :class:`HubClosed` after :meth:`close_all`, :class:`HubFull` when
        ``max_subscribers`` are registered already.
        """
        if self._closed:
            raise HubClosed("the relay is shutting down")
        if len(self._subscribers) >= max_subscribers:
            raise HubFull(f"{max_subscribers} streams are open already")
        sub = Subscriber(
            token_name=token_name, token_hash=token_hash, limit=queue_size, group=group
        )
        self._subscribers.add(sub)
        return sub

    def unregister(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    def publish(self, events: Sequence[Published]) -> None:
        """Queue committed ``events`` (ascending ids) for every subscriber; never blocks."""
        if not events:
            return
        self.last_id = max(self.last_id, events[-1].id)
        if not self._subscribers:
            return
        items = [Item(e.id, self._render(e)) for e in events]
        self._offer(items)

    def announce(self, frame: bytes) -> None:
        """Queue a frame that is no event (a store status change) for every subscriber."""
        self._offer([Item(None, frame)])

    def _offer(self, items: list[Item]) -> None:
        for sub in list(self._subscribers):
            if not sub.offer(items) and sub.ended == SLOW:
                self.dropped_slow += 1
                self._subscribers.discard(sub)
                log.info(
                    "a stream of read token %r fell %d frames behind; ending it (it resumes by id)",
                    sub.token_name,
                    sub.limit,
                )

    def close_where(self, matches: Callable[[Subscriber], bool], reason: str) -> int:
        """End every subscriber ``matches`` accepts with ``reason``; how many were ended."""
        ended = [sub for sub in self._subscribers if sub.ended is None and matches(sub)]
        for sub in ended:
            sub.end(reason)
        return len(ended)

    def close_token(self, name: str, reason: str = REVOKED) -> int:
        """End the streams opened with read token ``name`` (revoked); how many."""
        return self.close_where(lambda sub: sub.token_name == name, reason)

    def close_revoked(self, valid_hashes: Iterable[str]) -> int:
        """End the streams whose token hash is no longer among ``valid_hashes``; how many."""
        valid = set(valid_hashes)
        return self.close_where(lambda sub: sub.token_hash not in valid, REVOKED)

    def close_all(self, reason: str = SHUTDOWN) -> int:
        """Shut down: end every subscriber, and take no new ones; how many were ended."""
        self._closed = True
        return self.close_where(lambda sub: True, reason)
