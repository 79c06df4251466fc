"""What the relay sends, rendered: SSE frames, ``/v1/events`` pages, and the refusals.

Pure functions (no aiohttp here): the page functions run on the read threads with a
:class:`~holmtray.core.history.eventlog.LogView` of either backend. :class:`Reject` is how any
check of the relay refuses a request; :mod:`holmtray.core.relay.server` turns it into the
JSON answer and the rejected-requests log entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from holmtray.core.history.eventlog import LogView
from holmtray.core.history.hub import Published
from holmtray.core.relay.sse import encode

PAGE = 500
"""Events per backlog page read for a stream, and the default page of ``/v1/events``."""
PAGE_CHARS = 4 * 1024 * 1024
"""A page ends early once its bodies hold this many characters (bodies are up to 1 MiB)."""


class Reject(Exception):
    """A refusal: the status, the reason (sent as JSON ``error``) and how to answer it."""

    def __init__(
        self,
        status: int,
        reason: str,
        headers: dict[str, str] | None = None,
        *,
        quiet: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}
        self.quiet = quiet
        self.extra = extra or {}


def utc_text(when: datetime) -> str:
    """``2026-11-29T12:00:00.123456Z``: UTC, always six decimals."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_frame(event_id: int, received_at: datetime, body: str) -> bytes:
    data = {"id": event_id, "received_at": utc_text(received_at), "body": body}
    return encode("event", data, event_id=event_id)


def stored_frame(event: Published) -> bytes:
    return event_frame(event.id, event.received_at, event.body)


def status_frame(health: str | None) -> bytes:
    return encode("status", {"store": health})


def bye_frame(reason: str) -> bytes:
    return encode("bye", {"reason": reason})


def gap(after: int, oldest: int | None, last: int) -> dict[str, Any] | None:
    """What expired after ``after``: ``None`` when every event after it is retained."""
    if oldest is None:
        return (
            {"after": after, "oldest_id": None, "expired": last - after} if last > after else None
        )
    if after < oldest - 1:
        return {"after": after, "oldest_id": oldest, "expired": oldest - 1 - after}
    return None


@dataclass(frozen=True, slots=True)
class Snapshot:
    relay_id: str
    oldest: int | None
    last: int


def snapshot(view: LogView) -> Snapshot:
    oldest, last = view.log.bounds()
    return Snapshot(view.log.relay_id(), oldest, last)


def frames_after(view: LogView, after: int) -> tuple[list[tuple[int, bytes]], bool]:
    entries = view.log.entries_after(after, PAGE, max_chars=PAGE_CHARS)
    frames = [(e.id, event_frame(e.id, e.received_at, e.body)) for e in entries]
    chars = sum(len(e.body) for e in entries)
    return frames, len(entries) >= PAGE or chars >= PAGE_CHARS


def page_json(view: LogView, after: int, limit: int) -> bytes:
    """``/v1/events``: the page as JSON; :class:`Reject` 409 beyond the last id."""
    snap = snapshot(view)
    check_after(snap, after)
    entries = view.log.entries_after(after, limit, max_chars=PAGE_CHARS)
    chars = sum(len(e.body) for e in entries)
    page = {
        "relay_id": snap.relay_id,
        "oldest_id": snap.oldest,
        "last_id": snap.last,
        "gap": gap(after, snap.oldest, snap.last),
        "more": len(entries) >= limit or chars >= PAGE_CHARS,
        "events": [
            {"id": e.id, "received_at": utc_text(e.received_at), "body": e.body} for e in entries
        ],
    }
    return json_bytes(page)


def check_after(snap: Snapshot, after: int) -> None:
    """409 when ``after`` is beyond the relay's last id (another relay's, or a reset one's)."""
    if after > snap.last:
        raise Reject(
            409,
            f"after={after} is beyond the last event id {snap.last} of this relay",
            extra={"relay_id": snap.relay_id, "last_id": snap.last},
        )


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )
