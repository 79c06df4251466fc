"""Per-key value checks for the settings schema, and the clock-time and weekday parsing.

Each ``check_*`` returns a problem in plain words, or ``None``;
:class:`~holmtray.core.config.schema.Setting` wraps it into an error naming the key and the
value. The notification policy
reads quiet hours with :func:`parse_clock_time` and :func:`weekday_index`.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import time
from urllib.parse import urlsplit

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22,256}$")
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


_READ_TOKEN_RE = re.compile(r"^htr_[A-Za-z0-9_-]{43}$")


def check_read_token(value: str) -> str | None:
    if value and not _READ_TOKEN_RE.match(value):
        return "expected a read token: 'htr_' followed by 43 characters of A-Z, a-z, 0-9, '-', '_'"
    return None


def check_relay_urls(value: list[str]) -> str | None:
    for url in value:
        try:
            parts = urlsplit(url)
            _ = parts.port
        except ValueError:
            return f"{url!r} is not a URL"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"{url!r} is not an http:// or https:// address with a host"
        if parts.username is not None or parts.password is not None:
            return (
                f"{url!r} has a user name or password in it; put the read token in subscribe.token"
            )
        if parts.query or parts.fragment:
            return f"{url!r} has a query or fragment; give the relay's base address only"
    return None


def relay_url_is_local(url: str) -> bool:
    """Whether ``url`` points at this machine (loopback), where plain HTTP is acceptable."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if value != "localhost" and not _HOSTNAME_RE.match(value):
            return "expected an IP address such as 127.0.0.1, 0.0.0.0 or ::1, or a host name"
    return None


def check_token(value: str) -> str | None:
    if value and not _TOKEN_RE.match(value):
        return (
            "expected at least 22 characters of A-Z, a-z, 0-9, '-' or '_' "
            "(leave empty to generate one)"
        )
    return None


def check_username(value: str) -> str | None:
    if ":" in value:
        return "a user name cannot contain ':' (HTTP Basic authentication splits on it)"
    return None


def check_hosts(value: list[str]) -> str | None:
    for host in value:
        if not _HOSTNAME_RE.match(host.lower()):
            return f"{host!r} is not a host name (expected e.g. holmsecurity.com or sc.example.org)"
    return None


_CLOCK_TIME_RE = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_clock_time(text: str) -> time:
    """``"07:30"`` → ``time(7, 30)``; ``ValueError`` naming the bad value otherwise."""
    match = _CLOCK_TIME_RE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time of day (expected HH:MM from 00:00 to 23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def weekday_index(name: str) -> int:
    """``"monday"``/``"Mon"`` → 0 .. ``"sunday"``/``"sun"`` → 6 (as ``date.weekday()``)."""
    word = name.strip().lower()
    for index, day in enumerate(WEEKDAYS):
        if word in (day, day[:3]):
            return index
    raise ValueError(
        f"{name!r} is not a weekday (expected names such as monday or mon .. sunday or sun)"
    )


def check_clock_time(value: str) -> str | None:
    try:
        parse_clock_time(value)
    except ValueError as exc:
        return str(exc)
    return None


def check_weekdays(value: list[str]) -> str | None:
    for name in value:
        try:
            weekday_index(name)
        except ValueError as exc:
            return str(exc)
    return None
