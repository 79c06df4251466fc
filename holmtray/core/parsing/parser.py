"""JSON objects in, :class:`~holmtray.core.events.Event` out.

Bytes become a JSON object in :mod:`~holmtray.core.parsing.decode` (the 400 contract); this
module owns the next step. :func:`parse_event` turns any JSON object into an :class:`Event`.
It never raises: the sender does not retry, and a well-formed object of unknown shape is still
an event worth keeping. Holm's own shapes (finished scan, scheduled scan, ticket) are read by
their keys; anything else is a custom event, whose title, severity, asset and link a bounded
breadth-first walk finds. Custom payloads are often Teams, Slack or Discord card templates: the
walk takes their link from the card's action target before a Security Center link before any
other URL, never from metadata or pictures, and their severity and asset from the card's
facts/fields (:mod:`~holmtray.core.parsing.cards` holds those shapes).

What the sender's format is (and what of it is unverified) is written down in
``shared/holm-webhooks.md``; the tolerance here follows from it: keys are normalised
(``"CVE ID"``, ``cveId`` and ``cve_id`` are the same key), every field has a few aliases, wrong
types are ignored rather than rejected, and missing fields are normal.

No Qt and no I/O here. Strings from the payload are kept as given (escaping for display is the
UI's job); only titles are cleaned up, because a title must be a single readable line.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, TypeVar
from urllib.parse import urlsplit

from holmtray.core.events import (
    Asset,
    Counts,
    Event,
    Kind,
    Severity,
    TicketInfo,
    Vulnerability,
)
from holmtray.core.parsing import cards
from holmtray.core.text import BIDI_CONTROLS, plural

__all__ = ["LINK_MAX", "TITLE_MAX", "parse_event"]

logger = logging.getLogger("holmtray.parsing.parser")

TITLE_MAX: int = 200
"""Longest title :func:`parse_event` produces, ellipsis included."""

LINK_MAX: int = 2048
"""Longest link kept; a longer URL is more likely junk or an attack than a Security Center page."""

_T = TypeVar("_T")
_Src = Mapping[str, object]


# --------------------------------------------------------------------------------------------
# Keys

_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEP_RE = re.compile(r"[\s\-.]+")
_UNDERSCORES_RE = re.compile(r"__+")
# No alias is anywhere near this long; longer keys are skipped rather than normalised.
_KEY_MAX = 64
# Holm objects have a few dozen keys. Normalising is the costly step, so a hostile object with
# a million keys is only looked at up to this many (the payload itself is kept whole).
_KEYS_PER_OBJECT_MAX = 2000


# Normalised keys by raw key. Holm sends the same few dozen keys every time, so a plain dict
# (cleared when it grows past its bound) makes normalising nearly free.
_KEY_CACHE: dict[str, str] = {}
_KEY_CACHE_MAX = 4096


# Keys that are their own normalised form (Holm's: "name", "cve_id", "critical_cnt"); an
# object with only such keys, and not too many, is normalised by copying it. Bounded as the
# cache is (and cleared with it).
_SELF_KEYS: set[str] = set()


def _norm_key(key: object) -> str:
    """``"CVE ID"``/``cveId``/``cve-id`` -> ``cve_id``; ``IPv4`` -> ``ipv4``; ``""`` if unusable."""
    if not isinstance(key, str) or len(key) > _KEY_MAX:
        return ""
    nk = _KEY_CACHE.get(key)
    if nk is None:
        nk = _CAMEL_RE.sub("_", key.strip())
        nk = _SEP_RE.sub("_", nk).lower()
        nk = _UNDERSCORES_RE.sub("_", nk).strip("_")
        if len(_KEY_CACHE) >= _KEY_CACHE_MAX:
            _KEY_CACHE.clear()
            _SELF_KEYS.clear()
        _KEY_CACHE[key] = nk
        if nk and nk == key and type(key) is str:
            _SELF_KEYS.add(key)
    return nk


def _nd(value: object) -> dict[str, object]:
    """A dict's items under normalised keys (``{}`` for anything that is not a dict)."""
    if not isinstance(value, dict):
        return {}
    if len(value) <= _KEYS_PER_OBJECT_MAX and value.keys() <= _SELF_KEYS:
        # Every key is its own non-empty normalised form, so no two of them collide and none
        # is skipped: the loop below would copy the dict as it is.
        return dict(value)
    out: dict[str, object] = {}
    cache = _KEY_CACHE
    for key, item in islice(value.items(), _KEYS_PER_OBJECT_MAX):
        nk = cache.get(key) if type(key) is str else None
        if nk is None:
            nk = _norm_key(key)
        # Two spellings of one key ("name" and "Name"): the first non-null one wins.
        if nk and out.get(nk) is None:
            out[nk] = item
    return out


def _prefixed(prefixes: Sequence[str], keys: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"{p}_{k}" for p in prefixes for k in keys)


def _lookup(
    sources: Iterable[tuple[_Src, Sequence[str]]], convert: Callable[[object], _T | None]
) -> _T | None:
    """The first value under any alias, in order, that ``convert`` accepts."""
    for src, keys in sources:
        for key in keys:
            if key in src:
                result = convert(src[key])
                if result is not None:
                    return result
    return None


# --------------------------------------------------------------------------------------------
# Scalars. Each converter returns None for anything it cannot read, never raises.


def _valid_unicode(text: str) -> str:
    """Lone surrogates (valid as JSON escapes, invalid as text) become U+FFFD; SQLite and
    every UTF-8 writer downstream would fail on them."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _text(value: object) -> str | None:
    """A non-blank string (stripped), or a number written as text; anything else -> None."""
    if isinstance(value, str):
        return _valid_unicode(value).strip() or None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # beyond sys.get_int_max_str_digits()
            return None
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return None


_COUNT_RE = re.compile(r"\+?([0-9]{1,15})(?:\.0*)?")
_COUNT_MAX = 2**53


def _count(value: object) -> int | None:
    """A non-negative whole number (``5``, ``"5"``, ``" 3 "``, ``5.0``); garbage -> None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= _COUNT_MAX else None
    if isinstance(value, float):
        ok = math.isfinite(value) and value.is_integer() and 0 <= value <= _COUNT_MAX
        return int(value) if ok else None
    if isinstance(value, str) and len(value) <= 32:
        m = _COUNT_RE.fullmatch(value.strip())
        return int(m.group(1)) if m else None
    return None


_NUMBER_RE = re.compile(r"([0-9]{1,3}(?:[.,][0-9]{1,6})?)(?![0-9])")


def _cvss(value: object) -> float | None:
    """A CVSS base score 0-10 from a number, ``"5.9"``, ``"5,9"``, ``"5.9 (AV:N/...)"`` or
    ``{"score": 5.9}``."""
    if isinstance(value, dict):
        inner = _nd(value)
        return _lookup([(inner, ("base_score", "score", "value"))], _cvss)
    if isinstance(value, bool):
        return None
    score: float | None = None
    if isinstance(value, (int, float)):
        score = float(value)
    elif isinstance(value, str) and len(value) <= 256:
        m = _NUMBER_RE.match(value.strip())
        if m:
            score = float(m.group(1).replace(",", "."))
    if score is None or not math.isfinite(score) or not 0.0 <= score <= 10.0:
        return None
    return score


def _severity_from_cvss(score: float) -> Severity:
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.INFO


_SEVERITY_WORDS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "low": Severity.LOW,
    "info": Severity.INFO,
    "informational": Severity.INFO,
    "information": Severity.INFO,
    "none": Severity.INFO,
}


def _severity_word(value: object) -> Severity | None:
    """A severity written as a word (any case); numbers are not accepted here."""
    if isinstance(value, str) and len(value) <= 32:
        return _SEVERITY_WORDS.get(value.strip().lower())
    return None


def _severity(value: object) -> Severity | None:
    """A severity word, or Holm's v2 integer scale 0-4 (also as a string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Severity(value) if 0 <= value <= 4 else None
    if isinstance(value, float):
        return Severity(int(value)) if value in (0.0, 1.0, 2.0, 3.0, 4.0) else None
    if isinstance(value, str):
        text = value.strip()
        if text in ("0", "1", "2", "3", "4"):
            return Severity(int(text))
    return _severity_word(value)


# Epoch numbers are only taken as timestamps inside 2000..2100: a bare number outside that is
# more likely an id or a count than a time.
_EPOCH_MIN = 946_684_800
_EPOCH_MAX = 4_102_444_800


def _from_epoch(seconds: float) -> datetime | None:
    if _EPOCH_MIN * 1000 <= seconds <= _EPOCH_MAX * 1000:
        seconds /= 1000  # milliseconds, as JavaScript-minded templates send
    if _EPOCH_MIN <= seconds <= _EPOCH_MAX:
        return datetime.fromtimestamp(seconds, UTC)
    return None


def _when(value: object) -> datetime | None:
    """A timestamp as an aware datetime in UTC; a time without zone is taken to be UTC.

    Holm's examples are ``YYYY-MM-DD HH:MM`` without a zone (which zone it means is unverified);
    ISO 8601 with ``T``, ``Z`` or an offset and date-only values are read too. Aware values are
    converted to UTC so that everything above compares and displays them the same way.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_epoch(float(value)) if math.isfinite(value) else None
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return _from_epoch(int(text)) if len(text) in (10, 13) else None
    if text[-4:].upper() in (" UTC", " GMT"):
        text = text[:-4].rstrip()
    elif text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


_DURATION_RE = re.compile(
    r"(?:(?P<days>[0-9]{1,6})\s*days?\s*,?\s*)?"
    r"(?P<h>[0-9]{1,6}):(?P<m>[0-9]{1,2})"
    r"(?::(?P<s>[0-9]{1,2})(?:\.(?P<frac>[0-9]{1,6})[0-9]*)?)?",
    re.IGNORECASE,
)


def _duration(value: object) -> timedelta | None:
    """``HH:MM``, ``HH:MM:SS`` or ``1 day, 02:00:00``.

    Bare numbers are not read: the unit (seconds? minutes?) would be a guess.
    """
    if not isinstance(value, str) or len(value) > 64:
        return None
    m = _DURATION_RE.fullmatch(value.strip())
    if not m:
        return None
    minutes = int(m["m"])
    seconds = int(m["s"] or 0)
    if minutes >= 60 or seconds >= 60:
        return None
    return timedelta(
        days=int(m["days"] or 0),
        hours=int(m["h"]),
        minutes=minutes,
        seconds=seconds,
        microseconds=int((m["frac"] or "0").ljust(6, "0")),
    )


def _errors(value: object) -> tuple[str, ...]:
    """Holm's ``errors``: one string with messages separated by blank lines, or a list."""
    if isinstance(value, list):
        return tuple(item.strip() for item in value if isinstance(item, str) and item.strip())
    if not isinstance(value, str):
        return ()
    messages: list[str] = []
    current: list[str] = []
    # Grouping lines instead of a regex split keeps this linear on hostile input.
    for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            messages.append("\n".join(current).strip())
            current = []
    if current:
        messages.append("\n".join(current).strip())
    return tuple(messages)


def _cve(value: object) -> str | None:
    """A CVE id, or several joined with ``", "`` when a list arrives."""
    if isinstance(value, list):
        ids = [item.strip() for item in value if isinstance(item, str) and item.strip()]
        return ", ".join(ids) if ids else None
    return _text(value)


# --------------------------------------------------------------------------------------------
# Links

# Characters that end a URL inside text: whitespace, the delimiters chat markup puts around
# links (``<https://x|label>``), quotes, control characters and bidi controls.
_URL_RE = re.compile(
    r"https?://[^\s<>\"`|\x00-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?'\""
_URL_CLOSERS = {")": "(", "]": "[", "}": "{"}
# Text scanned for URLs per string and per event; keeps a 1 MiB string cheap.
_URL_SCAN_PER_STRING = 100_000
_URL_SCAN_TOTAL = 1_000_000


# The shape nearly every link has: http(s), a plain ASCII host name or IPv4 address, maybe a
# port, then the end or a path/query/fragment. urlsplit() would accept each such URL with that
# host (no user info, brackets or non-ASCII to look into), so the check costs one match.
_PLAIN_URL_RE = re.compile(
    r"(https?)://[a-z0-9.\-]+(?::[0-9]*)?(?:[/?#]|\Z)", re.IGNORECASE | re.ASCII
)


def _valid_url(url: str) -> str | None:
    """``url`` if it is an http(s) URL with a host and at most :data:`LINK_MAX` characters."""
    if len(url) > LINK_MAX:
        return None
    plain = _PLAIN_URL_RE.match(url)
    if plain is not None:
        scheme_len = plain.end(1)
        return url[:scheme_len].lower() + url[scheme_len:]
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
    except ValueError:
        return None
    scheme_len = len(parts.scheme)
    return url[:scheme_len].lower() + url[scheme_len:]


def _trim_url(url: str) -> str:
    """Drop punctuation that ends a sentence rather than the URL (and unbalanced closers)."""
    end = len(url)
    opened = {closer: url.count(opener) for closer, opener in _URL_CLOSERS.items()}
    closed = {closer: url.count(closer) for closer in _URL_CLOSERS}
    while end:
        ch = url[end - 1]
        if ch in _URL_TRAILING:
            end -= 1
        elif ch in _URL_CLOSERS and closed[ch] > opened[ch]:
            closed[ch] -= 1
            end -= 1
        else:
            break
    return url[:end]


def _urls(text: str) -> Iterator[str]:
    """The acceptable http(s) URLs inside ``text``, in order (linear time, bounded scan)."""
    for m in _URL_RE.finditer(text, 0, _URL_SCAN_PER_STRING):
        candidate = m.group()
        if len(candidate) > 2 * LINK_MAX:
            continue
        url = _valid_url(_trim_url(candidate))
        if url is not None:
            yield url


def _link(value: object) -> str | None:
    """A link given on its own in a url/link field: the whole value must be an http(s) URL."""
    if not isinstance(value, str) or len(value) > LINK_MAX + 64:
        return None
    text = value.strip()
    m = _URL_RE.fullmatch(text)
    return _valid_url(text) if m else None


# --------------------------------------------------------------------------------------------
# Titles

_TitleTable = dict[int, str | None]


def _title_table() -> _TitleTable:
    table: _TitleTable = {}
    # C0/C1 controls that str.split() does not already treat as whitespace.
    for code in (*range(0x00, 0x09), *range(0x0E, 0x1C), 0x7F, *range(0x80, 0x85)):
        table[code] = None
    for code in range(0x86, 0xA0):
        table[code] = None
    # Bidi embedding/override/isolate controls (and the invisible marks) are dropped from titles
    # only: an U+202E in a title can make "exe.txt" read as "txt.exe" in the tray. The payload
    # and every other field keep them; right-to-left text itself is untouched.
    for code in BIDI_CONTROLS:
        table[code] = None
    # Lone surrogates (JSON "\ud800" escapes) cannot be encoded; show them as U+FFFD.
    for code in range(0xD800, 0xE000):
        table[code] = "\ufffd"
    return table


_TITLE_TABLE = _title_table()


def _clean_title(text: str, limit: int = TITLE_MAX) -> str:
    """One line, collapsed whitespace, no control characters, at most ``limit`` characters."""
    text = text.strip()[: limit * 8]  # cut early so a 1 MiB string costs no more than a short one
    if not (text.isascii() and text.isprintable()):
        # Printable ASCII (U+0020..U+007E) holds nothing the table maps: translating it would
        # copy it unchanged, at a dict look-up per distinct character (three titles a webhook).
        text = text.translate(_TITLE_TABLE)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


_PIECE_MAX = 80


def _piece(text: str | None, limit: int = _PIECE_MAX) -> str | None:
    """A part of a composed title, shortened so that the other parts still fit."""
    if text is None:
        return None
    return _clean_title(text, limit) or None


def _scan_subject(name: str | None) -> str:
    # "Daily scan finished" reads well, "Weekly finished" does not: quote names that do not
    # say they are a scan.
    if name is None:
        return "Scan"
    return name if "scan" in name.lower() else f"Scan '{name}'"


# --------------------------------------------------------------------------------------------
# Finished and scheduled scans

_SCAN_NAME = ("name", "scan_name", "title")
_SCAN_TYPE = ("type", "scan_type")
_SCAN_LINK = ("link", "url", "scan_url", "scan_link", "href")
_SEVERITY_ORDER = ("critical", "high", "medium", "low")
_COUNT_CONTAINERS = ("counts", "findings", "vulnerabilities", "results", "summary")


_COUNT_KEYS = {
    sev: (f"{sev}_cnt", f"{sev}_count", f"{sev}_counts", f"{sev}s", sev, f"num_{sev}")
    for sev in _SEVERITY_ORDER
}


def _counts(scan: _Src) -> Counts:
    nested = [inner for key in _COUNT_CONTAINERS if (inner := _nd(scan.get(key)))]
    values: dict[str, int] = {}
    for sev in _SEVERITY_ORDER:
        keys = _COUNT_KEYS[sev]
        sources = [(scan, keys), *((inner, keys) for inner in nested)]
        values[sev] = _lookup(sources, _count) or 0
    return Counts(**values)


def _finished_scan(payload: dict[str, Any], scan: _Src) -> Event:
    name = _lookup([(scan, _SCAN_NAME)], _text)
    status = _lookup([(scan, ("status", "scan_status", "state", "result"))], _text)
    errors = _lookup([(scan, ("errors", "error", "error_messages"))], lambda v: _errors(v) or None)
    errors = errors or ()
    counts = _counts(scan)
    # A missing status is not a failure: Holm says not every field is present in every
    # notification, and a trimmed template is far more likely than a silent failure. Flagging
    # those would teach people to ignore the flag. Errors still count.
    failed = status is not None and status.lower() != "completed"
    attention = failed or bool(errors)

    title_name = _piece(name)
    with_errors = f" with {plural(len(errors), 'error')}" if errors else ""
    if failed:
        word = _piece(status.lower() if status else None, 40) or ""
        # "stopped", "failed", "timed out" read as verbs; other status words are quoted.
        verb = word if word.endswith(("ed", "out")) else f"ended ({word})"
        subject = f"Scan '{title_name}'" if title_name else "Scan"
        title = f"{subject} {verb}{with_errors}"
    else:
        title = f"{_scan_subject(title_name)} finished{with_errors}"

    return Event(
        kind=Kind.FINISHED_SCAN,
        title=_clean_title(title),
        severity=counts.highest(),
        attention=attention,
        counts=counts,
        scan_name=name,
        scan_type=_lookup([(scan, _SCAN_TYPE)], _text),
        scan_status=status,
        errors=errors,
        started=_lookup([(scan, ("started", "started_at", "start", "start_time"))], _when),
        finished=_lookup(
            [(scan, ("finished", "finished_at", "end", "ended", "ended_at", "end_time"))], _when
        ),
        duration=_lookup([(scan, ("duration", "elapsed"))], _duration),
        link=_lookup([(scan, _SCAN_LINK)], _link),
        payload=payload,
    )


_STARTS_AT = (
    "starts_at",
    "start_at",
    "starts",
    "start",
    "start_time",
    "scheduled_at",
    "scheduled_for",
    "next_run",
    "next_run_at",
    "run_at",
    "time",
    "date",
)


def _scheduled_scan(payload: dict[str, Any], scan: _Src) -> Event:
    name = _lookup([(scan, _SCAN_NAME)], _text)
    starts_at = _lookup([(scan, _STARTS_AT)], _when)
    title = f"{_scan_subject(_piece(name))} scheduled"
    if starts_at is not None:
        title += f" for {starts_at:%Y-%m-%d %H:%M} UTC"
    return Event(
        kind=Kind.SCHEDULED_SCAN,
        title=_clean_title(title),
        severity=Severity.INFO,
        scan_name=name,
        scan_type=_lookup([(scan, _SCAN_TYPE)], _text),
        starts_at=starts_at,
        link=_lookup([(scan, _SCAN_LINK)], _link),
        payload=payload,
    )


# --------------------------------------------------------------------------------------------
# Tickets

_ASSET_KEYS = ("asset",)
_VULN_KEYS = ("vulnerability", "vuln", "finding")
_VULN_PREFIXES = ("vulnerability", "vuln")
_Keys = tuple[tuple[str, ...], tuple[str, ...]]


def _asset_keys(*keys: str) -> _Keys:
    """Keys inside an asset object, and the same ones flat in the ticket ("asset_os", "os")."""
    return keys, (*_prefixed(("asset",), keys), *keys)


def _vuln_keys(*keys: str) -> _Keys:
    """Keys inside a vulnerability object, and flat with a prefix ("vulnerability_cvss3")."""
    return keys, _prefixed(_VULN_PREFIXES, keys)


# The ticket's own "name" is not the asset's, so no bare "name" among the flat keys; a bare
# string under "asset" ({"ticket": {"asset": "web-01"}}) is the asset's name.
_A_NAME: _Keys = (("name", "asset_name", "title"), ("asset_name", "asset"))
_A_HOST = _asset_keys("hostname", "host_name", "host", "fqdn", "dns_name")
_A_IPV4 = _asset_keys("ipv4", "ip_v4", "ipv4_address", "ip", "ip_address", "address")
_A_IPV6 = _asset_keys("ipv6", "ip_v6", "ipv6_address")
_A_OS = _asset_keys("os", "operating_system", "os_name")

_V_NAME = _vuln_keys("name", "title")
_V_CVE = _vuln_keys("cve_id", "cve", "cves", "cve_ids")
_V_CVSS3 = _vuln_keys("cvss3", "cvss_3", "cvss_v3", "cvssv3", "cvss3_score", "cvss_v3_score")
_V_CVSS2 = _vuln_keys("cvss2", "cvss_2", "cvss_v2", "cvssv2", "cvss2_score", "cvss_v2_score")
_V_CVSS = _vuln_keys("cvss", "cvss_score", "score")
_V_SUMMARY = _vuln_keys("summary", "description")
_V_SOLUTION = _vuln_keys("solution", "remediation", "fix")
_V_SEVERITY = _vuln_keys("severity", "severity_level", "risk", "risk_level")
_V_URL = _vuln_keys("url", "link", "href")

_T_NUMBER = ("number", "ticket_number", "id", "ticket_id", "no", "ticket_no")
_T_STATUS = ("status", "ticket_status", "state")
_T_SEVERITY = ("severity", "ticket_severity", "severity_level", "risk", "risk_level")
_T_DUE = ("due_date", "due", "due_at", "deadline", "due_by")
_T_URL = ("url", "ticket_url", "link", "ticket_link", "href")
_T_CVE = ("cve_id", "cve", "cves", "cve_ids")

_OPEN_WORDS = frozenset({"open", "opened", "new", "created"})
_REOPEN_WORDS = frozenset({"reopened", "re_opened", "re-opened", "re opened"})


def _sub_objects(sources: Sequence[_Src], keys: Sequence[str]) -> list[_Src]:
    """Nested objects under ``keys`` (a list of objects counts by its first object)."""
    found: list[_Src] = []
    for src in sources:
        for key in keys:
            value = src.get(key)
            if value is None:
                continue
            if isinstance(value, list):
                value = next((item for item in value if isinstance(item, dict)), None)
            if inner := _nd(value):
                found.append(inner)
    return found


def _ticket_title(
    number: str | None, status: str | None, vuln: str | None, where: str | None
) -> str:
    head = "Ticket"
    if number:
        head += f" #{number.lstrip('#')}"
    if status is not None:
        word = status.lower()
        ticket = TicketInfo(status=status)
        if ticket.is_closed:
            head += " closed"
        elif word in _OPEN_WORDS:
            head += " opened"
        elif word in _REOPEN_WORDS:
            head += " reopened"
        else:
            head += f" ({_piece(status, 40)})"
    # A missing status gets no verb: guessing "opened" would be wrong for a closed ticket.
    title = head
    if vuln:
        title += f": {vuln}"
    if where:
        title += f" on {where}"
    if title == "Ticket":
        title = "Ticket (no details)"
    return title


def _ticket(payload: dict[str, Any], top: _Src, ticket: _Src) -> Event:
    # Asset and vulnerability may be nested inside the ticket, next to it at the top level, or
    # flat inside the ticket with prefixes ("asset_name", "vulnerability_cvss3").
    flat = (ticket, top)
    assets = _sub_objects(flat, _ASSET_KEYS)
    vulns = _sub_objects(flat, _VULN_KEYS)

    def asset_sources(keys: _Keys) -> list[tuple[_Src, Sequence[str]]]:
        return [*((a, keys[0]) for a in assets), (ticket, keys[1]), (top, keys[1])]

    def vuln_sources(keys: _Keys) -> list[tuple[_Src, Sequence[str]]]:
        return [*((v, keys[0]) for v in vulns), (ticket, keys[1]), (top, keys[1])]

    asset = Asset(
        name=_lookup(asset_sources(_A_NAME), _text),
        hostname=_lookup(asset_sources(_A_HOST), _text),
        ipv4=_lookup(asset_sources(_A_IPV4), _text),
        ipv6=_lookup(asset_sources(_A_IPV6), _text),
        os=_lookup(asset_sources(_A_OS), _text),
    )

    # Explicit None checks throughout: Severity.INFO and a CVSS of 0.0 are falsy but real.
    cvss = _lookup(vuln_sources(_V_CVSS3), _cvss)
    if cvss is None:
        cvss = _lookup(vuln_sources(_V_CVSS2), _cvss)
    if cvss is None:
        cvss = _lookup(vuln_sources(_V_CVSS), _cvss)
    vuln_name = _lookup([*vuln_sources(_V_NAME), (ticket, _VULN_KEYS)], _text)
    vulnerability = Vulnerability(
        name=vuln_name,
        cve=_lookup([*vuln_sources(_V_CVE), (ticket, _T_CVE)], _cve),
        cvss=cvss,
        summary=_lookup(vuln_sources(_V_SUMMARY), _text),
        solution=_lookup(vuln_sources(_V_SOLUTION), _text),
    )

    info = TicketInfo(
        number=_lookup([(ticket, _T_NUMBER), (top, ("ticket_number", "ticket_id"))], _text),
        status=_lookup([(ticket, _T_STATUS), (top, ("ticket_status",))], _text),
    )
    severity = _lookup([(ticket, _T_SEVERITY)], _severity)
    if severity is None:
        severity = _lookup(vuln_sources(_V_SEVERITY), _severity)
    if severity is None:
        severity = Severity.INFO if cvss is None else _severity_from_cvss(cvss)

    link = _lookup([(ticket, _T_URL), (top, ("ticket_url", "url", "link"))], _link)
    if link is None:
        link = _lookup(vuln_sources(_V_URL), _link)
    if link is None:
        link = _scan_tree(payload, want_title=False, want_severity=False, want_asset=False).link

    where = asset.name or asset.hostname or asset.ipv4 or asset.ipv6
    title = _ticket_title(_piece(info.number, 40), info.status, _piece(vuln_name), _piece(where))
    return Event(
        kind=Kind.TICKET,
        title=_clean_title(title),
        severity=severity,
        due=_lookup([(ticket, _T_DUE)], _when),
        link=link,
        asset=asset,
        vulnerability=vulnerability,
        ticket=info,
        payload=payload,
    )


# --------------------------------------------------------------------------------------------
# Custom payloads and the breadth-first search they rely on

_TITLE_KEYS = (
    "title",
    "subject",
    "headline",
    "heading",
    "summary",
    "activity_title",
    "new_ticket_subject",
    "name",
    "text",
    "message",
    "msg",
    "fallback",
    "pretext",
    "description",
    "details",
    "body",
)
_TITLE_RANK = {key: rank for rank, key in enumerate(_TITLE_KEYS)}
# Under these keys a number is Holm's 0-4 scale. Under "priority"/"level" it is not: P1 is
# usually the *most* urgent, so only severity words are read there.
_SEVERITY_NUMERIC_KEYS = ("severity", "severity_level", "sev")
_SEVERITY_WORD_KEYS = ("priority", "level", "risk", "risk_level", "criticality", "urgency")
# A CVSS score implies a severity, less directly than a word does: these rank last.
_SEVERITY_CVSS_KEYS = (
    "cvss",
    "cvss_score",
    "cvss3",
    "cvss_v3",
    "cvss3_score",
    "cvss_base_score",
    "base_score",
)
_SEVERITY_RANK = {
    key: rank
    for rank, key in enumerate(_SEVERITY_NUMERIC_KEYS + _SEVERITY_WORD_KEYS + _SEVERITY_CVSS_KEYS)
}
# Items looked at per event; far above any real template, low enough to stay fast.
_SCAN_ITEMS_MAX = 50_000
# URLs weighed per event while looking for a better-ranked one.
_URLS_MAX = 1000
# Adaptive Cards whose heading is looked for per event (each look is bounded too).
_HEADINGS_MAX = 4
_NO_LINK_YET = cards.RANK_OTHER + 1
_NO_TITLE = "Custom event (no title)"


class _Found:
    __slots__ = ("asset", "link", "severity", "title")

    def __init__(self) -> None:
        self.title: str | None = None
        self.severity: Severity | None = None
        self.link: str | None = None
        self.asset: Asset | None = None


def _items(node: object) -> Iterator[tuple[object, object]]:
    if isinstance(node, dict):
        yield from node.items()
    elif isinstance(node, list):
        for item in node:
            yield None, item


_LABEL_KEYS = ("name", "title", "key", "label")
_Fact = tuple[str, object]


def _field_text(text: str) -> _Fact | None:
    """Slack's ``"*Severity:*\\nHigh"`` as ``("severity", "High")``."""
    split = cards.split_field_text(text)
    if split is None:
        return None
    label = _norm_key(split[0])
    return (label, split[1]) if label else None


def _fact(node: dict[Any, Any], ctx: int) -> _Fact | None:
    """A facts/fields row (``{"name": "Severity", "value": "High"}``, an Adaptive Card fact's
    ``title``, a Slack field's text) as its normalised label and its value."""
    label = next((node[k] for k in _LABEL_KEYS if k in node), None)
    if label is not None and "value" in node:
        nk = _norm_key(cards.clean_label(label))
        return (nk, node["value"]) if nk else None
    if ctx == cards.ROWS:
        text = node.get("text")
        if isinstance(text, str):
            return _field_text(text)
    return None


def _better_severity(
    best: tuple[int, Severity] | None, nk: str, value: object, *, in_fact: bool = False
) -> tuple[int, Severity] | None:
    """``best`` or the severity under key ``nk``, whichever comes from the better key.

    A fact's value may be dressed up (``"**High**"``, ``":red_circle: High (8.1)"``): with
    ``in_fact`` its first word counts too.
    """
    rank = _SEVERITY_RANK[nk]
    if best is not None and best[0] <= rank:
        return best
    sev: Severity | None
    if nk in _SEVERITY_CVSS_KEYS:
        score = _cvss(value)
        sev = None if score is None else _severity_from_cvss(score)
    else:
        sev = _severity(value) if nk in _SEVERITY_NUMERIC_KEYS else _severity_word(value)
        if sev is None and in_fact and isinstance(value, str):
            sev = _severity_word(cards.leading_word(value))
    return best if sev is None else (rank, sev)


def _take_asset(into: dict[str, str], field: str, text: str | None) -> None:
    """Keep ``text`` as the asset's ``field`` unless an earlier value has it."""
    if not text:
        return
    if field == "ip":
        field = "ipv6" if text.count(":") >= 2 else "ipv4"
    into.setdefault(field, text)


def _fact_text(value: object) -> str | None:
    text = _text(value)
    return cards.clean_fact_text(text) if text is not None else None


def _read_fact(
    fact: _Fact,
    best: tuple[int, Severity] | None,
    assets: dict[str, str] | None,
) -> tuple[int, Severity] | None:
    """Read one fact: its asset part into ``assets`` (when given); return ``best`` or the
    fact's severity, whichever comes from the better label."""
    label, value = fact
    if label in _SEVERITY_RANK:
        best = _better_severity(best, label, value, in_fact=True)
    if assets is not None and label in cards.ASSET_LABELS:
        _take_asset(assets, cards.ASSET_LABELS[label], _fact_text(value))
    return best


def _scan_tree(
    root: object,
    *,
    want_title: bool = True,
    want_severity: bool = True,
    want_asset: bool = True,
) -> _Found:
    """Search ``root`` breadth-first for a title, a severity, an asset and a link.

    Title, severity and asset each come from the shallowest level that has one, and within a
    level from the better key (``title`` before ``text``, ``severity`` before ``priority``
    before ``cvss``). Chat-card facts and fields (``{"name": "Severity", "value": "High"}``,
    Slack's ``"*Host:* web-02"``) count as keys; their names and button labels are never
    titles. The link is the best-ranked URL, the first in breadth-first order within a rank:
    a card's action target, then a Security Center link, then any other; metadata and picture
    URLs never (:mod:`~holmtray.core.parsing.cards` has the tables). Slack, Teams and Discord
    bodies need no other special case. Iterative, cycle-safe and bounded.
    """
    found = _Found()
    need_title, need_severity, need_asset = want_title, want_severity, want_asset
    link_rank = _NO_LINK_YET
    seen = {id(root)}
    level: list[tuple[object, int]] = [(root, cards.PLAIN)]
    items_left = _SCAN_ITEMS_MAX
    url_chars_left = _URL_SCAN_TOTAL
    urls_left = _URLS_MAX
    headings_left = _HEADINGS_MAX
    while level and items_left > 0:
        if not (need_title or need_severity or need_asset or link_rank > cards.RANK_ACTION):
            break
        following: list[tuple[object, int]] = []
        best_title: tuple[int, str] | None = None
        best_severity: tuple[int, Severity] | None = None
        assets: dict[str, str] | None = {} if need_asset else None
        facts_wanted = need_severity or need_asset
        for node, ctx in level:
            titles_here = need_title and cards.offers_titles(ctx)
            if isinstance(node, dict) and (facts_wanted or titles_here):
                # Facts and fields lists are ROWS, which offer no titles ("Severity" is none).
                fact = _fact(node, ctx) if facts_wanted else None
                if fact is not None:
                    best_severity = _read_fact(fact, best_severity, assets)
                if titles_here and headings_left and cards.is_adaptive_card(node):
                    headings_left -= 1
                    heading = cards.card_heading(node)
                    better = best_title is None or best_title[0] > 0  # ranks as a "title"
                    if heading is not None and better and (cleaned := _clean_title(heading)):
                        best_title = (0, cleaned)
            for key, value in _items(node):
                items_left -= 1
                if items_left < 0:
                    break
                nk = None if key is None else _norm_key(key)
                if isinstance(value, (dict, list)):
                    if id(value) not in seen:
                        seen.add(id(value))
                        following.append((value, cards.child_context(ctx, nk, value)))
                    continue
                if nk is not None:
                    if need_severity and nk in _SEVERITY_RANK:
                        best_severity = _better_severity(best_severity, nk, value)
                    if assets is not None and nk in cards.ASSET_KEYS:
                        _take_asset(assets, cards.ASSET_KEYS[nk], _text(value))
                if not isinstance(value, str):
                    continue
                if link_rank > cards.RANK_ACTION and url_chars_left > 0 and urls_left > 0:
                    end = min(len(value), _URL_SCAN_PER_STRING)
                    url_chars_left -= end
                    has_url = value.find("://", 0, end) >= 0
                    role = cards.link_role(ctx, nk) if has_url else cards.NO_LINK
                    if role == cards.TARGET:
                        url = _link(value)
                        if url is None:
                            role = cards.TEXT  # not a bare URL: perhaps text with one
                        else:
                            urls_left -= 1
                            if cards.url_rank(url) is not None:
                                found.link, link_rank = url, cards.RANK_ACTION
                    if role == cards.TEXT and link_rank > cards.RANK_SECURITY_CENTER:
                        for url in _urls(value):
                            urls_left -= 1
                            rank = cards.url_rank(url)
                            if rank is not None and rank < link_rank:
                                found.link, link_rank = url, rank
                            if link_rank <= cards.RANK_SECURITY_CENTER or urls_left <= 0:
                                break
                if nk is None:
                    if ctx == cards.ROWS and facts_wanted:  # a field given as a bare string
                        fact = _field_text(value)
                        if fact is not None:
                            best_severity = _read_fact(fact, best_severity, assets)
                elif titles_here and nk in _TITLE_RANK:
                    rank = _TITLE_RANK[nk]
                    if best_title is None or rank < best_title[0]:
                        cleaned = _clean_title(value)
                        if cleaned:
                            best_title = (rank, cleaned)
        if best_title is not None:
            found.title, need_title = best_title[1], False
        if need_severity and best_severity is not None:
            found.severity, need_severity = best_severity[1], False
        if assets:
            found.asset, need_asset = Asset(**assets), False
        level = following
    return found


def _custom(payload: dict[str, Any]) -> Event:
    found = _scan_tree(payload)
    return Event(
        kind=Kind.CUSTOM,
        title=found.title or _NO_TITLE,
        severity=found.severity if found.severity is not None else Severity.INFO,
        link=found.link,
        asset=found.asset or Asset(),
        payload=payload,
    )


# --------------------------------------------------------------------------------------------
# Entry point

_KINDS = {
    "finishedscan": Kind.FINISHED_SCAN,
    "scheduledscan": Kind.SCHEDULED_SCAN,
    "ticket": Kind.TICKET,
}


def _detect(payload: dict[str, Any]) -> tuple[Kind, object]:
    """The kind named by the first top-level type key, and that key's value."""
    for i, (key, value) in enumerate(payload.items()):
        if i >= _KEYS_PER_OBJECT_MAX:
            break
        kind = _KINDS.get(_norm_key(key).replace("_", ""))
        if kind is not None:
            # A type key whose value is not an object is someone's own template, not Holm's.
            return (kind, value) if isinstance(value, dict) else (Kind.CUSTOM, None)
    return Kind.CUSTOM, None


def _parse(payload: dict[str, Any]) -> Event:
    kind, body = _detect(payload)
    if kind is Kind.FINISHED_SCAN:
        return _finished_scan(payload, _nd(body))
    if kind is Kind.SCHEDULED_SCAN:
        return _scheduled_scan(payload, _nd(body))
    if kind is Kind.TICKET:
        return _ticket(payload, _nd(payload), _nd(body))
    return _custom(payload)


def parse_event(payload: dict[str, Any]) -> Event:
    """Make an :class:`Event` of any JSON object; never raises. ``payload`` is kept as is."""
    try:
        return _parse(payload)
    except Exception:
        # Every converter above is total, so this is a bug. The sender does not retry, so
        # losing the event to it would be worse than storing it plainly and flagging it.
        logger.exception("parser bug; storing the event as custom")
        return Event(
            kind=Kind.CUSTOM,
            title="Unreadable event (parser error)",
            severity=Severity.INFO,
            attention=True,
            payload=payload,
        )
