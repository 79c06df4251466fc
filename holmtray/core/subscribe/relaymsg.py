"""The relay protocol's messages, as a subscriber reads them: checked, typed, never trusted.

An SSE :class:`~holmtray.core.relay.sse.Frame` from ``/v1/stream`` becomes one of
:class:`Hello`, :class:`RelayedEvent`, :class:`CaughtUp`, :class:`Ping`, :class:`StoreStatus`
or :class:`Bye` (see RELAY.md for the wire format); a frame of a type this version does not
know is ignored, so a newer relay can add some. Everything else that is wrong — not JSON, a
field missing or of the wrong type, an ``id:`` line that disagrees with the event's id, a relay
id that is not a UUID (it names a file here) — raises :class:`ProtocolError`, and the caller
drops the connection and resumes from its cursor.

:func:`replicated` re-parses a relayed body with this version's parser, so relay and
subscriber need not run the same version, and the mirror stores exactly the relay's bytes.
:func:`status` reads ``/v1/status`` and :func:`conflict` a 409's JSON.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from holmtray.core.events import Event, Kind, Severity
from holmtray.core.history.relaylog import Replicated
from holmtray.core.parsing.decode import PayloadError, decode_body
from holmtray.core.parsing.parser import parse_event
from holmtray.core.relay.sse import Frame

MAX_TEXT = 300
"""Longest relay-supplied text kept (a cause, a reason): it is shown in the tray."""


class ProtocolError(ValueError):
    """The relay sent something this client cannot take; the message says what."""


@dataclass(frozen=True, slots=True)
class Gap:
    """Events after ``after`` up to ``oldest_id - 1`` are no longer kept by the relay."""

    after: int
    oldest_id: int | None
    expired: int


@dataclass(frozen=True, slots=True)
class Hello:
    relay_id: str
    oldest_id: int | None
    last_id: int
    after: int
    keepalive_s: float | None
    gap: Gap | None


@dataclass(frozen=True, slots=True)
class RelayedEvent:
    id: int
    received_at: datetime
    body: str


@dataclass(frozen=True, slots=True)
class CaughtUp:
    caught_up_to: int


@dataclass(frozen=True, slots=True)
class Ping:
    last_id: int


@dataclass(frozen=True, slots=True)
class StoreStatus:
    cause: str | None  # None: the relay can store again


@dataclass(frozen=True, slots=True)
class Bye:
    reason: str


Message = Hello | RelayedEvent | CaughtUp | Ping | StoreStatus | Bye


@dataclass(frozen=True, slots=True)
class RelayStatus:
    """``GET /v1/status``."""

    relay_id: str
    oldest_id: int | None
    last_id: int
    store: str | None


# ---- field checks ---------------------------------------------------------------------------


def _object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise ProtocolError(f"the {what} is not JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"the {what} is not a JSON object")
    return value


def _count(data: dict[str, Any], key: str, what: str, *, optional: bool = False) -> int | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError(f"the {what}'s {key!r} is not a whole number of at least 0")
    return value


def _id(data: dict[str, Any], key: str, what: str) -> int:
    value = _count(data, key, what)
    assert value is not None
    return value


def _text(value: object) -> str:
    """Relay-supplied words for display: control characters dropped, length bounded."""
    text = value if isinstance(value, str) else str(value)
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    return clean[:MAX_TEXT]


def relay_id(value: object) -> str:
    """A relay id in its canonical form; :class:`ProtocolError` unless it is a UUID."""
    if not isinstance(value, str):
        raise ProtocolError("the relay id is not text")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ProtocolError("the relay id is not a UUID") from None


def timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise ProtocolError("an event's 'received_at' is not text")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ProtocolError("an event's 'received_at' is not an ISO 8601 time") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ProtocolError("an event's 'received_at' has no time zone")
    return when.astimezone(UTC)


# ---- messages -------------------------------------------------------------------------------


def _hello(data: dict[str, Any]) -> Hello:
    gap_data = data.get("gap")
    gap = None
    if gap_data is not None:
        if not isinstance(gap_data, dict):
            raise ProtocolError("the hello's 'gap' is not an object")
        gap = Gap(
            after=_id(gap_data, "after", "gap"),
            oldest_id=_count(gap_data, "oldest_id", "gap", optional=True),
            expired=_id(gap_data, "expired", "gap"),
        )
    keepalive = data.get("keepalive_s")
    if isinstance(keepalive, bool) or not isinstance(keepalive, (int, float)) or keepalive <= 0:
        keepalive = None
    return Hello(
        relay_id=relay_id(data.get("relay_id")),
        oldest_id=_count(data, "oldest_id", "hello", optional=True),
        last_id=_id(data, "last_id", "hello"),
        after=_id(data, "after", "hello"),
        keepalive_s=float(keepalive) if keepalive is not None else None,
        gap=gap,
    )


def _event(frame: Frame, data: dict[str, Any]) -> RelayedEvent:
    event_id = _id(data, "id", "event")
    if frame.id is not None and frame.id.strip() != str(event_id):
        raise ProtocolError(f"an event frame's id line ({frame.id[:30]!r}) is not its id")
    body = data.get("body")
    if not isinstance(body, str):
        raise ProtocolError("an event's 'body' is not text")
    return RelayedEvent(id=event_id, received_at=timestamp(data.get("received_at")), body=body)


def decode(frame: Frame) -> Message | None:
    """The message in ``frame``; ``None`` for a frame type this version does not know."""
    kind = frame.event
    if kind not in ("hello", "event", "live", "ping", "status", "bye"):
        return None
    data = _object(frame.data, f"{kind} frame")
    if kind == "hello":
        return _hello(data)
    if kind == "event":
        return _event(frame, data)
    if kind == "live":
        return CaughtUp(_id(data, "caught_up_to", "live frame"))
    if kind == "ping":
        return Ping(_id(data, "last_id", "ping"))
    if kind == "status":
        cause = data.get("store")
        return StoreStatus(None if cause is None else _text(cause))
    return Bye(_text(data.get("reason", "")))


def status(text: str) -> RelayStatus:
    """The body of ``GET /v1/status``."""
    data = _object(text, "relay's status")
    store = data.get("store")
    return RelayStatus(
        relay_id=relay_id(data.get("relay_id")),
        oldest_id=_count(data, "oldest_id", "status", optional=True),
        last_id=_id(data, "last_id", "status"),
        store=None if store is None else _text(store),
    )


def replicated(item: RelayedEvent) -> Replicated:
    """The relayed event parsed here, ready for the mirror.

    The relay only keeps bodies that were JSON objects; one that is not (another relay
    version, a damaged row) is still stored, as an unreadable custom event, rather than lost.
    A body SQLite could not store (lone surrogates, only possible from a broken relay) has
    them replaced.
    """
    body = item.body
    try:
        raw = body.encode("utf-8")
    except UnicodeEncodeError:
        body = body.encode("utf-8", "replace").decode("utf-8")
        raw = body.encode("utf-8")
    try:
        event = parse_event(decode_body(raw))
    except PayloadError as exc:
        event = Event(
            kind=Kind.CUSTOM,
            title=f"Unreadable event from the relay ({exc})"[:200],
            severity=Severity.INFO,
            attention=True,
            payload={},
        )
    return Replicated(id=item.id, received_at=item.received_at, body=body, event=event)


def conflict(text: str) -> tuple[str | None, int | None]:
    """The relay id and last id in a 409 answer, each ``None`` when missing or invalid."""
    try:
        data = _object(text, "409 answer")
    except ProtocolError:
        return None, None
    try:
        rid: str | None = relay_id(data.get("relay_id"))
    except ProtocolError:
        rid = None
    try:
        last = _count(data, "last_id", "409 answer")
    except ProtocolError:
        last = None
    return rid, last
