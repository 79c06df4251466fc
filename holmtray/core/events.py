"""The normalised event model: what every layer above the parser works with.

An :class:`Event` is what the parser makes of one webhook body. A :class:`StoredEvent` is an
event as the store returns it: with its row id, the time it was received, its read flag and
the body exactly as it arrived. Both are immutable; nothing here does I/O. :class:`Kind` and
:class:`Severity` are defined in :mod:`holmtray.core.eventtypes` and importable from here too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from holmtray.core.eventtypes import Kind, Severity


@dataclass(frozen=True, slots=True)
class Counts:
    """Findings per severity reported by a finished scan."""

    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0

    @property
    def total(self) -> int:
        return self.critical + self.high + self.medium + self.low

    def highest(self) -> Severity:
        """The highest severity with a non-zero count; ``INFO`` when all are zero."""
        for sev, n in (
            (Severity.CRITICAL, self.critical),
            (Severity.HIGH, self.high),
            (Severity.MEDIUM, self.medium),
            (Severity.LOW, self.low),
        ):
            if n > 0:
                return sev
        return Severity.INFO

    def describe(self, *, include_zero: bool = False, down_to: Severity = Severity.LOW) -> str:
        """``"1 critical, 3 high, 5 medium"`` (levels from critical down to ``down_to``);
        ``"no findings"`` when all of those are zero."""
        parts = [
            f"{n} {sev.word}"
            for sev, n in (
                (Severity.CRITICAL, self.critical),
                (Severity.HIGH, self.high),
                (Severity.MEDIUM, self.medium),
                (Severity.LOW, self.low),
            )
            if sev >= down_to and (n or include_zero)
        ]
        return ", ".join(parts) if parts else "no findings"


@dataclass(frozen=True, slots=True)
class Asset:
    name: str | None = None
    hostname: str | None = None
    ipv4: str | None = None
    ipv6: str | None = None
    os: str | None = None


@dataclass(frozen=True, slots=True)
class Vulnerability:
    name: str | None = None
    cve: str | None = None
    cvss: float | None = None
    summary: str | None = None
    solution: str | None = None


@dataclass(frozen=True, slots=True)
class TicketInfo:
    number: str | None = None
    status: str | None = None

    @property
    def is_closed(self) -> bool:
        return (self.status or "").strip().lower() in {"closed", "resolved", "done", "fixed"}


@dataclass(frozen=True, slots=True)
class Event:
    """One webhook, normalised. ``payload`` is the decoded JSON object, untouched."""

    kind: Kind
    title: str
    severity: Severity
    attention: bool = False
    counts: Counts | None = None
    scan_name: str | None = None
    scan_type: str | None = None
    scan_status: str | None = None
    errors: tuple[str, ...] = ()
    started: datetime | None = None
    finished: datetime | None = None
    starts_at: datetime | None = None
    due: datetime | None = None
    duration: timedelta | None = None
    link: str | None = None
    asset: Asset = field(default_factory=Asset)
    vulnerability: Vulnerability = field(default_factory=Vulnerability)
    ticket: TicketInfo = field(default_factory=TicketInfo)
    payload: dict[str, Any] = field(default_factory=dict, compare=False)

    def fields_dict(self) -> dict[str, Any]:
        """Every normalised field as JSON-ready values (not the payload).

        :func:`event_from_fields` is its inverse.
        """
        # Runs once per stored event: the field names are looked up once per class, not by
        # dataclasses.fields() on every call (which cost more than the rest of this together).
        cls = type(self)
        names = _EVENT_FIELD_NAMES if cls is Event else _field_names(cls, skip="payload")
        return {name: _to_jsonable(getattr(self, name)) for name in names}

    def fields_json(self) -> str:
        """``dumps_compact(self.fields_dict())``, the same text, written directly.

        The store writes it for every event; building the dict and sorting its keys in the
        general encoder costs ~1.3 times as much (bench/RESULTS.md section 8).
        ``tests/core/test_events_json.py`` holds the two to the same output.
        """
        if type(self) is not Event:
            return dumps_compact(self.fields_dict())
        return _EVENT_JSON.format(*[_value_json(getattr(self, name)) for name in _EVENT_SORTED])


def _field_names(cls: type, *, skip: str = "") -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name != skip)


_PLAIN = frozenset({str, int, float, bool, type(None)})
"""Types returned as they are (exact types: Severity and Kind are int and str subclasses)."""


def _to_jsonable(value: Any) -> Any:
    cls = type(value)
    if cls in _PLAIN:
        return value
    convert = _CONVERTERS.get(cls)
    if convert is not None:
        return convert(value)
    # Subclasses of the types above (the lookups are by exact type).
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Severity):
        return value.word
    if isinstance(value, Kind):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (Counts, Asset, Vulnerability, TicketInfo)):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    return value


def _part_converter(cls: type) -> Callable[[Any], dict[str, Any]]:
    names = _field_names(cls)
    return lambda value: {name: getattr(value, name) for name in names}


_EVENT_FIELD_NAMES = _field_names(Event, skip="payload")
_CONVERTERS: dict[type, Callable[[Any], Any]] = {
    datetime: datetime.isoformat,
    timedelta: timedelta.total_seconds,
    # Enum properties are slow to read; a dict lookup is not.
    Severity: {s: s.word for s in Severity}.__getitem__,
    Kind: {k: k.value for k in Kind}.__getitem__,
    tuple: list,
    **{cls: _part_converter(cls) for cls in (Counts, Asset, Vulnerability, TicketInfo)},
}


def _scalar_json(value: Any) -> str:
    """``_COMPACT.encode(value)``; plain strings, numbers, booleans and ``None`` done inline."""
    cls = type(value)
    if cls is str:
        return _json_string(value)
    if value is None:
        return "null"
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return int.__repr__(value)
    if cls is float and math.isfinite(value):
        return float.__repr__(value)
    return _COMPACT.encode(value)


def _part_json(cls: type) -> Callable[[Any], str]:
    """What ``_COMPACT.encode`` makes of ``_part_converter(cls)(value)``, keys sorted."""
    names = sorted(_field_names(cls))
    template = "{{" + ",".join(f'"{name}":{{}}' for name in names) + "}}"
    return lambda value: template.format(*[_scalar_json(getattr(value, n)) for n in names])


def _value_json(value: Any) -> str:
    """``_COMPACT.encode(_to_jsonable(value))`` for one of an event's fields."""
    cls = type(value)
    if cls in _PLAIN:
        return _scalar_json(value)
    if cls is tuple:
        return "[" + ",".join([_scalar_json(item) for item in value]) + "]"
    part = _PART_JSON.get(cls)
    if part is not None:
        return part(value)
    if cls is Severity or cls is Kind or cls is datetime:
        return _json_string(_CONVERTERS[cls](value))
    return _COMPACT.encode(_to_jsonable(value))


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def event_from_fields(data: dict[str, Any], payload: dict[str, Any]) -> Event:
    """Rebuild an :class:`Event` from :meth:`Event.fields_dict` output (as stored)."""
    counts = data.get("counts")
    duration = data.get("duration")
    return Event(
        kind=Kind(data["kind"]),
        title=str(data["title"]),
        severity=Severity.from_word(str(data["severity"])),
        attention=bool(data.get("attention", False)),
        counts=Counts(**counts) if isinstance(counts, dict) else None,
        scan_name=data.get("scan_name"),
        scan_type=data.get("scan_type"),
        scan_status=data.get("scan_status"),
        errors=tuple(data.get("errors") or ()),
        started=_dt(data.get("started")),
        finished=_dt(data.get("finished")),
        starts_at=_dt(data.get("starts_at")),
        due=_dt(data.get("due")),
        duration=timedelta(seconds=duration) if isinstance(duration, (int, float)) else None,
        link=data.get("link"),
        asset=Asset(**(data.get("asset") or {})),
        vulnerability=Vulnerability(**(data.get("vulnerability") or {})),
        ticket=TicketInfo(**(data.get("ticket") or {})),
        payload=payload,
    )


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored: row id, receive time (UTC), read flag and the verbatim body."""

    id: int
    received_at: datetime
    read: bool
    event: Event
    body: str

    def to_json(self) -> dict[str, Any]:
        """The shape ``holmtray events --json`` prints (and exports write)."""
        ev = self.event
        return {
            "id": self.id,
            "received_at": self.received_at.astimezone(UTC).isoformat(),
            "kind": ev.kind.value,
            "severity": ev.severity.word,
            "title": ev.title,
            "link": ev.link,
            "read": self.read,
            "attention": ev.attention,
            "fields": ev.fields_dict(),
            "payload": ev.payload,
        }


def dumps_compact(obj: Any) -> str:
    """Compact, key-ordered JSON used wherever the store writes JSON columns."""
    return _COMPACT.encode(obj)


# What json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True) builds on
# every call, built once.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
# The string encoder _COMPACT uses (ensure_ascii=False: escapes quotes, backslashes and
# control characters, keeps every other character as it is).
_json_string: Callable[[str], str] = json.encoder.encode_basestring
_PART_JSON = {cls: _part_json(cls) for cls in (Counts, Asset, Vulnerability, TicketInfo)}
_EVENT_SORTED = tuple(sorted(_EVENT_FIELD_NAMES))
_EVENT_JSON = "{{" + ",".join(f'"{name}":{{}}' for name in _EVENT_SORTED) + "}}"


__all__ = [
    "Asset",
    "Counts",
    "Event",
    "Kind",
    "Severity",
    "StoredEvent",
    "TicketInfo",
    "Vulnerability",
    "dumps_compact",
    "event_from_fields",
]
