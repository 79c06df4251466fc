"""PostgreSQL connection URIs as ``relay.store`` holds them: checked, and shown without password.

A URI has the form ``postgresql://[user[:password]@][host][:port][,host2[:port2]…][/dbname]
[?param=value&…]`` (libpq's syntax; ``postgres://`` too). A password can sit in two places:
after the user name, or as a ``password=`` parameter. :func:`masked` replaces both with
``********`` so a URI can be logged, shown by ``holmtray config get`` or put in an error
message; :func:`passwords` returns them (raw and percent-decoded) for the log filter, which
masks them wherever else they might turn up. Pure text handling: no driver is imported here.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

SCHEMES = ("postgresql://", "postgres://")
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
MASK = "********"


def is_postgres(value: str) -> bool:
    """Whether ``value`` names a PostgreSQL database (rather than the local SQLite file)."""
    return value.lower().startswith(SCHEMES)


def _split(uri: str) -> tuple[str, str, str, str]:
    """(scheme and ``//``, user info, the rest of the authority and path, the query)."""
    scheme_end = uri.index("//") + 2
    rest, _, query = uri[scheme_end:].partition("?")
    authority, slash, path = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    if not at:
        userinfo, hosts = "", authority
    return uri[:scheme_end], userinfo, hosts + slash + path, query


def masked(uri: str) -> str:
    """``uri`` with any password replaced by ``********`` (anything else left as it is); also
    for a value that is no PostgreSQL URI (it may be a typo of one, shown in an error)."""
    if "//" not in uri:
        return _KEYWORD_PASSWORD.sub(r"\1" + MASK, uri)
    head, userinfo, tail, query = _split(uri)
    user, colon, password = userinfo.partition(":")
    shown = head
    if userinfo:
        shown += user + (":" + MASK if colon and password else colon) + "@"
    shown += tail
    if query:
        params = []
        for param in query.split("&"):
            key, eq, _ = param.partition("=")
            params.append(f"{key}={MASK}" if eq and unquote(key).lower() == "password" else param)
        shown += "?" + "&".join(params)
    return shown


def passwords(uri: str) -> tuple[str, ...]:
    """Every password in ``uri``, as written and percent-decoded (empty when there is none)."""
    if not is_postgres(uri):
        return ()
    _, userinfo, _, query = _split(uri)
    found: list[str] = []
    _, colon, password = userinfo.partition(":")
    if colon and password:
        found.append(password)
    for param in query.split("&"):
        key, eq, value = param.partition("=")
        if eq and value and unquote(key).lower() == "password":
            found.append(value)
    return tuple(dict.fromkeys([*found, *(unquote(p) for p in found)]))


def check(value: str) -> str | None:
    """A problem with ``value`` as ``relay.store`` in plain words, or ``None``."""
    if not value:
        return None
    if not is_postgres(value):
        return (
            "expected empty (this host's own SQLite database) or a PostgreSQL URI such as "
            "postgresql://holmtray@db.example.org/holmtray"
        )
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return "a PostgreSQL URI has no spaces or control characters (percent-encode them)"
    return None  # the rest is libpq's to judge, when the relay connects
