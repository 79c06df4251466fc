"""Link safety: may a link from a webhook be opened, and how.

Every link in an event came from an unauthenticated sender, so it is checked before anything
opens it. http/https links to a Security Center host (``links.hosts``, subdomains included)
open directly; other http/https links need the user's confirmation; every other scheme, and
any URL with user info (``https://user@host`` is a classic way to disguise the real host), is
refused. The UI asks and opens; this module only decides.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_CHARS = 4096


class Verdict(enum.Enum):
    OPEN = "open"  # a Security Center host: open without asking
    ASK = "ask"  # another web host: show the full URL, open only on confirmation
    REFUSE = "refuse"  # never open


@dataclass(frozen=True, slots=True)
class LinkDecision:
    verdict: Verdict
    url: str
    host: str
    reason: str

    @property
    def host_span(self) -> tuple[int, int]:
        """Where the host stands in ``url`` (for highlighting it); (0, 0) if not found."""
        start = self.url.lower().find(self.host.lower(), self.url.find("//") + 2)
        return (start, start + len(self.host)) if self.host and start >= 0 else (0, 0)


def _host_matches(host: str, allowed: str) -> bool:
    allowed = allowed.strip().lower().rstrip(".")
    return bool(allowed) and (host == allowed or host.endswith("." + allowed))


def decide(url: str | None, hosts: Iterable[str]) -> LinkDecision:
    """Classify ``url`` against the Security Center ``hosts``."""
    text = (url or "").strip()
    if not text:
        return LinkDecision(Verdict.REFUSE, text, "", "the event has no link")
    if len(text) > MAX_URL_CHARS:
        return LinkDecision(Verdict.REFUSE, text, "", "the link is implausibly long")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return LinkDecision(Verdict.REFUSE, text, "", "the link contains control characters")
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").rstrip(".")
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return LinkDecision(Verdict.REFUSE, text, "", "the link is malformed")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{scheme}:' links" if scheme else "links without a scheme"
        return LinkDecision(Verdict.REFUSE, text, host, f"{shown} are never opened")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return LinkDecision(
            Verdict.REFUSE, text, host, "links with a user name or password in them are refused"
        )
    if not host:
        return LinkDecision(Verdict.REFUSE, text, host, "the link has no host")
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        # Look-alike letters from other scripts: never treat as a trusted host.
        return LinkDecision(
            Verdict.ASK, text, host, f"{host} uses non-ASCII letters; check it carefully"
        )
    if any(_host_matches(host.lower(), h) for h in hosts):
        return LinkDecision(Verdict.OPEN, text, host, f"{host} is a Security Center host")
    try:
        ipaddress.ip_address(host.strip("[]"))
        why = f"{host} is an IP address, not a Security Center host"
    except ValueError:
        why = f"{host} is not on the Security Center host list"
    return LinkDecision(Verdict.ASK, text, host, why)
