"""What an analyst triages by, read from one event: its asset, why it needs attention, when it
is due, and the facts its payload carries that the event model does not keep.

The event model (:mod:`holmtray.core.events`) keeps what every layer needs. A ticket's payload
carries more that decides what to fix first -- whether an exploit is public, the asset's
business risk, its owner and tags, whether a patch exists, the CVSS vector -- and a custom
payload is whatever the user's template made it. This module reads those from the stored
payload, defensively: every byte of it is untrusted, any shape may arrive, and a value is only
ever returned as plain text (bounded in length) or not at all. Keys are matched however they
are spelled (``"Business Risk"``, ``businessRisk``, ``business-risk``). Pure functions, no Qt
and no I/O: the event window and the export use them alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from holmtray.core.events import Event, Kind
from holmtray.core.text import plural

TEXT_MAX = 300
"""Longest value returned from a payload (the raw JSON shows the rest)."""
SCALARS_MAX = 60
"""Most top-level fields listed for a custom payload."""
_KEYS_MAX = 500
"""Keys looked at per object: a hostile payload with a million keys costs no more."""

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^0-9a-z]+")


def _key(raw: object) -> str:
    """``"Business Risk"``/``businessRisk``/``business-risk`` -> ``business_risk``."""
    if not isinstance(raw, str) or len(raw) > 64:
        return ""
    return _SEPARATORS.sub("_", _CAMEL.sub("_", raw.strip()).lower()).strip("_")


def _fields(value: object) -> dict[str, object]:
    """An object's items under normalised keys; the first non-null spelling of a key wins."""
    out: dict[str, object] = {}
    if isinstance(value, Mapping):
        for n, (raw, item) in enumerate(value.items()):
            if n >= _KEYS_MAX:
                break
            k = _key(raw)
            if k and out.get(k) is None:
                out[k] = item
    return out


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


def _scalar(value: object) -> str | None:
    """A string, number or boolean as short plain text; anything else (or blank) -> None."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return str(value) if abs(value) < 10**15 else None
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else None
    if isinstance(value, str):
        return _clip(value) or None
    return None


def _capitalised(text: str) -> str:
    """``high`` -> ``High``; anything but one lower-case word is left as written."""
    if text.isalpha() and text.islower():
        return text.capitalize()
    return text


def _words(value: object) -> str | None:
    """A scalar, or a list of scalars joined with commas (tags, teams)."""
    if isinstance(value, list):
        items = [t for t in (_scalar(v) for v in value[:50]) if t]
        return _clip(", ".join(items)) if items else None
    if isinstance(value, Mapping):
        person = _fields(value)
        for k in ("name", "full_name", "display_name", "email", "first_name"):
            if (text := _scalar(person.get(k))) is not None:
                return text
        return None
    return _scalar(value)


_TRUE = frozenset({"yes", "true", "y", "1", "available", "exists", "public"})
_FALSE = frozenset({"no", "false", "n", "0", "none", "not available", "unavailable"})


def _flag(value: object) -> bool | None:
    """Yes/no from ``true``, ``"Yes"``, ``1``, ``"available"``, or a count of exploits."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value > 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    if isinstance(value, list):
        return bool(value)
    return None


# ---- the asset -------------------------------------------------------------------------------

_PAYLOAD_ASSET_KEYS = (
    "asset",
    "asset_name",
    "hostname",
    "host_name",
    "host",
    "fqdn",
    "ipv4",
    "ip",
    "ip_address",
    "ipv6",
)


def asset_label(ev: Event) -> str | None:
    """The asset the event is about: its host name, else its IP address, else its name, else
    (a custom payload) the asset field of the payload. ``None`` when there is none."""
    a = ev.asset
    for value in (a.hostname, a.ipv4, a.ipv6, a.name):
        if value is not None and value.strip():
            return _clip(value)
    if ev.kind is Kind.CUSTOM:
        top = _fields(ev.payload)
        for k in _PAYLOAD_ASSET_KEYS:
            if (text := _scalar(top.get(k))) is not None and not isinstance(top.get(k), bool):
                return text
    return None


# ---- attention and dates ---------------------------------------------------------------------


def attention_reason(ev: Event) -> str | None:
    """Why the event needs attention, in words; ``None`` when it does not."""
    if not ev.attention:
        return None
    reasons = []
    status = ev.scan_status
    if status is not None and status.strip().lower() != "completed":
        reasons.append(f"the scan's status is “{_clip(status)}”, not Completed")
    if ev.errors:
        n = len(ev.errors)
        reasons.append(f"{'it' if reasons else 'the scan'} reported {plural(n, 'error')}")
    if not reasons:
        return "Needs attention"
    return "Needs attention: " + ", and ".join(reasons)


def calendar_date(when: datetime) -> date:
    """The day ``when`` names: a bare date (midnight UTC, as a date-only field is read) keeps
    its own day in every zone; a real time is taken in the local zone."""
    if when.astimezone(UTC).time() == time(0, 0):
        return when.astimezone(UTC).date()
    return when.astimezone().date()


def due_text(due: datetime, *, now: datetime, closed: bool = False) -> str:
    """``"13 Apr 2024 — overdue by 3 days"``, ``"… — due today"``, ``"… — in 5 days"``; the
    date alone for a closed ticket."""
    day = calendar_date(due)
    text = f"{day.day} {day:%b %Y}"
    if closed:
        return text
    days = (day - now.astimezone().date()).days
    if days < 0:
        return f"{text} — overdue by {plural(-days, 'day')}"
    if days == 0:
        return f"{text} — due today"
    return f"{text} — in {plural(days, 'day')}"


# ---- the facts a ticket's payload carries ----------------------------------------------------


def _objects(payload: Mapping[str, Any]) -> tuple[list[dict[str, object]], ...]:
    """(ticket-level objects, asset objects, vulnerability objects), nearest first.

    A ticket may be nested (``{"ticket": {"asset": {...}}}``), flat, or spread over the top
    level; asset and vulnerability objects may sit in the ticket or beside it.
    """
    top = _fields(payload)
    ticket = _fields(top.get("ticket"))
    tickets = [t for t in (ticket, top) if t]
    assets: list[dict[str, object]] = []
    vulns: list[dict[str, object]] = []
    for src in tickets:
        for k, bucket in (("asset", assets), ("vulnerability", vulns), ("vuln", vulns)):
            value = src.get(k)
            if isinstance(value, list):
                value = next((v for v in value if isinstance(v, Mapping)), None)
            if inner := _fields(value):
                bucket.append(inner)
    return tickets, assets, vulns


def _first(
    sources: Iterable[tuple[list[dict[str, object]], Iterable[str]]],
) -> Iterator[object]:
    for objects, keys in sources:
        for obj in objects:
            for k in keys:
                if obj.get(k) is not None:
                    yield obj[k]


def _prefixed(prefix: str, keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}_{k}" for k in keys)


_EXPLOIT = ("exploits", "exploit", "exploit_available", "has_exploit", "exploitable")
_RANSOMWARE = ("ransomware", "used_by_ransomware", "ransomware_use")
_PATCHES = ("patches", "patch", "patch_available", "patches_available", "has_patch")
_RISK = ("business_risk", "business_criticality", "criticality")
_OWNER = ("owner", "asset_owner", "assignee", "assigned_to", "responsible")
_TEAMS = ("teams", "team", "groups")
_TAGS = ("tags", "tag", "labels")
_VECTOR = (
    "cvss3_vector",
    "cvss_v3_vector",
    "cvss3_vector_string",
    "cvss_vector",
    "cvss_vector_string",
    "vector",
    "cvss2_vector",
    "cvss_v2_vector",
)
_CVSS_VECTOR = re.compile(
    r"(?:CVSS:[0-9.]{1,4}/)?(?:[A-Za-z]{1,3}:[A-Za-z]{1,2}/){3,20}[A-Za-z]{1,3}:[A-Za-z]{1,2}"
)
"""A CVSS v2/v3/v4 vector: metric:value pairs separated by slashes (at least four)."""


def cvss_vector(ev: Event) -> str | None:
    """The CVSS vector string the payload gives (``CVSS:3.1/AV:N/AC:L/…``), if any."""
    tickets, _assets, vulns = _objects(ev.payload)
    flat = (*_VECTOR, *_prefixed("vulnerability", _VECTOR))
    # Some templates put the vector where the score goes ("cvss3": "CVSS:3.1/AV:N/...").
    scores = ("cvss3", "cvss_v3", "cvss", "cvss2")
    for value in _first([(vulns, _VECTOR), (tickets, flat), (vulns, scores)]):
        if isinstance(value, str) and (m := _CVSS_VECTOR.search(value[:TEXT_MAX])):
            return m.group(0)
    return None


def cvss_text(ev: Event) -> str | None:
    """``"5.9 — CVSS:3.1/AV:N/AC:H/…"``, the score alone, or the vector alone."""
    score = ev.vulnerability.cvss
    vector = cvss_vector(ev)
    if score is None:
        return vector
    return f"{score:.1f} — {vector}" if vector else f"{score:.1f}"


ALARMING = frozenset({"Yes — a public exploit exists", "Yes — used in ransomware campaigns"})
"""Facts that raise a ticket's urgency (the detail pane shows them in red, as "overdue")."""


def ticket_facts(ev: Event) -> list[tuple[str, str]]:
    """The triage facts a ticket's payload carries, as (label, plain text), in triage order.

    Exploit, ransomware, patches, business risk, owner, teams and tags, each only when the
    payload says. Empty for other kinds.
    """
    if ev.kind is not Kind.TICKET:
        return []
    tickets, assets, vulns = _objects(ev.payload)
    facts: list[tuple[str, str]] = []

    def flag(label: str, keys: tuple[str, ...], yes: str, no: str) -> None:
        flat = (*_prefixed("vulnerability", keys), *_prefixed("vuln", keys), *keys)
        for value in _first([(vulns, keys), (tickets, flat)]):
            answer = _flag(value)
            if answer is not None:
                facts.append((label, yes if answer else no))
                return

    def words(label: str, sources: list[tuple[list[dict[str, object]], tuple[str, ...]]]) -> None:
        for value in _first(sources):
            if (text := _words(value)) is not None:
                facts.append((label, _capitalised(text) if label == "Business risk" else text))
                return

    flag("Exploit", _EXPLOIT, "Yes — a public exploit exists", "No known exploit")
    flag("Ransomware", _RANSOMWARE, "Yes — used in ransomware campaigns", "No")
    flag("Patch", _PATCHES, "Available", "None available")
    words("Business risk", [(assets, _RISK), (tickets, (*_prefixed("asset", _RISK), *_RISK))])
    words("Owner", [(tickets, ("owner", "assignee", "assigned_to")), (assets, _OWNER)])
    words("Teams", [(tickets, _TEAMS)])
    words("Tags", [(assets, _TAGS), (tickets, (*_prefixed("asset", _TAGS), *_TAGS))])
    return facts


# ---- custom payloads -------------------------------------------------------------------------


def payload_scalars(payload: Mapping[str, Any], limit: int = SCALARS_MAX) -> list[tuple[str, str]]:
    """Every top-level scalar of a payload as (label, plain text), in the payload's order.

    The label is the key as written, underscores as spaces and its first letter capitalised;
    objects and lists are left to the raw JSON.
    """
    rows: list[tuple[str, str]] = []
    for n, (raw, value) in enumerate(payload.items()):
        if n >= _KEYS_MAX or len(rows) >= limit:
            break
        text = _scalar(value)
        if text is None or not isinstance(raw, str):
            continue
        label = _clip(raw.replace("_", " ").strip())[:60]
        if label:
            rows.append((label[0].upper() + label[1:], text))
    return rows
