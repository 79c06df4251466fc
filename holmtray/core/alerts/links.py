"""Link safety: may a link from a webhook be opened, and how.

Every link in an event came from an unauthenticated sender, so it is judged before anything
opens it, and it is judged the way the browser will read it: with a parser that follows the
WHATWG URL standard (``ada-url``), as browsers do. Python's ``urlsplit`` does not:
``https://evil.example\\.holmsecurity.com/`` has the host ``evil.example`` for a browser (a
backslash is a slash there) but ``evil.example\\.holmsecurity.com`` for ``urlsplit``. So the
host checked here is the host the browser will contact, and the URL handed to the browser is
the parser's serialisation of it (:attr:`LinkDecision.url`), never the string from the payload.

The rules, on that reading: only ``http``/``https`` ever open; any user info (``user@``, even
an empty ``@``) is refused; a Security Center host (``links.hosts``, subdomains included)
opens directly if it is a plain host name written as the browser will contact it; other web
hosts, IP addresses, internationalised (IDNA) names and hosts written in a disguise (percent
escapes, full-width or invisible characters) need the user's confirmation. The UI asks and
opens; this module only decides, and never raises, whatever the input.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from ada_url import URL, HostType, idna_to_unicode

from holmtray.core.text import show_bidi_controls

MAX_URL_CHARS = 4096
_WEB_SCHEMES = frozenset(("http", "https"))
# Trimmed from both ends before anything else. The standard also strips the other C0 controls
# there, but a link that has them anywhere is refused (see decide()).
_ASCII_WHITESPACE = " \t\n\r\f\v"
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# A plain host name: ASCII letters, digits and hyphens in dot-separated labels (the form the
# standard produces for every name, so browsers that differ in edge cases agree on these).
_PLAIN_HOST_RE = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.?", re.ASCII)
_HOST_ENDS = frozenset(("", ":", "/", "?", "#"))


class Verdict(enum.Enum):
    OPEN = "open"  # a Security Center host: open without asking
    ASK = "ask"  # another web host: show the full URL, open only on confirmation
    REFUSE = "refuse"  # never open


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkDecision:
    """What :func:`decide` concluded about one link.

    ``url`` is, for OPEN and ASK, the WHATWG serialisation: exactly what the browser is handed
    (ASCII, the host in punycode). For REFUSE nothing is handed to a browser and ``url`` is the
    link as given, shown as evidence. ``host`` is the host as the browser would contact it
    (lower case, punycode, IPv6 in brackets; empty if there is none or the link cannot be
    parsed). ``unicode_host`` is the Unicode form of an internationalised host, else None.
    """

    verdict: Verdict
    url: str
    host: str
    reason: str
    unicode_host: str | None = None

    @property
    def host_span(self) -> tuple[int, int]:
        """Where ``host`` stands in ``url`` (for highlighting it); (0, 0) if it is not there.

        Not a search: in a serialised web URL without user info the host follows the scheme's
        ``://`` directly, so the span is checked at that one place.
        """
        start = self.url.find("://") + 3
        end = start + len(self.host)
        if start < 3 or not self.host or self.url[start:end] != self.host:
            return (0, 0)
        return (start, end) if self.url[end : end + 1] in _HOST_ENDS else (0, 0)


def _parse(text: str) -> URL | None:
    """``text`` parsed by the WHATWG rules, or None where a browser would not parse it."""
    try:
        return URL(text)
    except ValueError:  # includes UnicodeEncodeError (lone surrogates)
        return None


def _written_authority(text: str) -> str:
    """The authority of a web URL as written in ``text`` (user info, host, port).

    ``text`` is trimmed, has no tab or newline and is known to start with ``http:`` or
    ``https:``. For those schemes the standard skips any run of ``/`` and ``\\`` after the
    colon and ends the authority at the first ``/``, ``\\``, ``?`` or ``#``; this is only that
    boundary, used to spot an ``@`` and a host written differently from how it is contacted.
    It never decides a host: that is the parser's.
    """
    rest = text.partition(":")[2].lstrip("/\\")
    ends = [at for at in (rest.find(c) for c in "/\\?#") if at >= 0]
    return rest[: min(ends, default=len(rest))]


def _written_host(authority: str) -> str:
    if authority.startswith("["):
        return authority[: authority.find("]") + 1] or authority
    return authority.partition(":")[0]


def _visible(text: str) -> str:
    """``text`` with every character that is not a letter, digit, punctuation or symbol (soft
    hyphens, zero-width and format characters, combining marks) written out as ``[U+00AD]``."""
    return "".join(c if unicodedata.category(c)[0] in "LNPS" else f"[U+{ord(c):04X}]" for c in text)


def _bare(host: str) -> str:
    return host.strip().lower().removesuffix(".")


def _host_matches(host: str, allowed: str) -> bool:
    host, allowed = _bare(host), _bare(allowed)
    return bool(allowed) and (host == allowed or host.endswith("." + allowed))


def _unicode_form(host: str) -> str | None:
    try:
        shown = idna_to_unicode(host)
    except (ValueError, TypeError):
        return None
    return shown if shown and shown != host else None


def decide(url: str | None, hosts: Iterable[str]) -> LinkDecision:
    """Classify ``url`` against the Security Center ``hosts``, as a browser would read it."""
    given = url or ""
    text = given.strip(_ASCII_WHITESPACE)
    if not text:
        return LinkDecision(
            verdict=Verdict.REFUSE, url=text, host="", reason="the event has no link"
        )
    if len(given) > MAX_URL_CHARS:
        return LinkDecision(
            verdict=Verdict.REFUSE, url=text, host="", reason="the link is implausibly long"
        )
    parsed = _parse(given)
    if parsed is None:
        why = "the link is malformed"
        if not _SCHEME_RE.match(text):
            why = "links without a scheme are never opened"
        return LinkDecision(verdict=Verdict.REFUSE, url=text, host="", reason=why)
    host = parsed.hostname

    def refuse(reason: str) -> LinkDecision:
        return LinkDecision(verdict=Verdict.REFUSE, url=text, host=host, reason=reason)

    scheme = parsed.protocol.removesuffix(":")
    if scheme not in _WEB_SCHEMES:
        return refuse(f"'{scheme}:' links are never opened")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        # A browser would drop tabs and newlines and open the rest; a real link has none.
        return refuse("the link contains control characters")
    authority = _written_authority(text)
    if parsed.username or parsed.password or "@" in authority:
        return refuse("links with a user name or password in them are refused")
    href = parsed.href
    again = _parse(href)
    if not host or again is None or again.href != href or again.hostname != host:
        return refuse("the link has no host" if not host else "the link is malformed")

    def ask(reason: str, unicode_host: str | None = None) -> LinkDecision:
        return LinkDecision(
            verdict=Verdict.ASK, url=href, host=host, reason=reason, unicode_host=unicode_host
        )

    written = _written_host(authority)
    plainly_written = written.isascii() and written.lower() == host
    as_written = "" if plainly_written else f" (the link writes it as {_visible(written)})"
    if parsed.host_type is not HostType.DEFAULT:
        if (
            parsed.host_type is HostType.IPV4
            and plainly_written
            and any(_bare(h) == host for h in hosts)
        ):
            return LinkDecision(
                verdict=Verdict.OPEN,
                url=href,
                host=host,
                reason=f"{host} is a Security Center host",
            )
        return ask(f"{host} is an IP address, not a Security Center host{as_written}")
    if any(label.startswith("xn--") for label in host.split(".")):
        # Look-alike letters from other scripts: never treat as a trusted host.
        shown = _unicode_form(host)
        if shown is None:
            return ask(f"{host} is an internationalised name in punycode; check it carefully")
        return ask(
            f"{host} is the internationalised name {show_bidi_controls(shown)}, whose letters "
            "may imitate another name; check it carefully",
            shown,
        )
    if not plainly_written:
        return ask(f"the browser will contact {host}{as_written}; check it carefully")
    if not _PLAIN_HOST_RE.fullmatch(host):
        return ask(f"{host} is not a plain host name")
    if any(_host_matches(host, h) for h in hosts):
        return LinkDecision(
            verdict=Verdict.OPEN, url=href, host=host, reason=f"{host} is a Security Center host"
        )
    return ask(f"{host} is not on the Security Center host list")
