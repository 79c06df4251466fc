"""Source addresses: which client a request comes from, and whether it is in a list of networks.

It owns the address arithmetic of the listener's source checks: parsing the ``allow_from``,
``trusted_proxies`` and ``rate_exempt`` settings once into a :class:`NetSet` (sorted integer
ranges, looked up with a binary search, so a request costs one address parse and a bisect),
turning a socket peer into a :class:`Source`, and taking the client address from
``X-Forwarded-For`` when, and only when, the peer is a trusted proxy.

IPv4-mapped IPv6 addresses (``::ffff:192.0.2.7``, what a dual-stack socket reports for an IPv4
client) are treated as the IPv4 address everywhere, in lists and in peers alike. For rate
limits and connection caps an IPv6 client is keyed by its /64, since one host commonly holds a
whole /64 and could otherwise pick a fresh address for every request.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from holmtray.core.text import printable

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_V6_KEY_PREFIX = 64


def parse_network(entry: str) -> Network:
    """``"203.0.113.7"``, ``"203.0.113.0/24"``, ``"2001:db8::/32"`` → a network.

    Host bits are allowed (``10.1.2.3/8`` means ``10.0.0.0/8``); an IPv4-mapped IPv6 network
    becomes the IPv4 network it maps. ``ValueError`` names the entry otherwise.
    """
    text = entry.strip()
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(
            f"{entry!r} is not an IP address or network "
            "(expected e.g. 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32)"
        ) from None
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96:
        mapped = net.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network(f"{mapped}/{net.prefixlen - 96}")
    return net


def check_networks(entries: list[str]) -> str | None:
    """The settings check for a list of networks: the first bad entry, in words, or None."""
    for entry in entries:
        try:
            parse_network(entry)
        except ValueError as exc:
            return str(exc)
    return None


class NetSet:
    """An immutable set of IPv4 and IPv6 networks with a fast membership test."""

    __slots__ = ("_ranges", "entries")

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self.entries: tuple[str, ...] = tuple(e.strip() for e in entries if e.strip())
        spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for entry in self.entries:
            net = parse_network(entry)
            spans[net.version].append((int(net.network_address), int(net.broadcast_address)))
        # Per version: merged, sorted starts and ends, so a lookup is one bisect.
        self._ranges: dict[int, tuple[list[int], list[int]]] = {}
        for version, items in spans.items():
            starts: list[int] = []
            ends: list[int] = []
            for lo, hi in sorted(items):
                if ends and lo <= ends[-1] + 1:
                    ends[-1] = max(ends[-1], hi)
                else:
                    starts.append(lo)
                    ends.append(hi)
            self._ranges[version] = (starts, ends)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __repr__(self) -> str:
        return f"NetSet({list(self.entries)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NetSet) and other.entries == self.entries

    def __hash__(self) -> int:
        return hash(self.entries)

    def __contains__(self, address: Address | None) -> bool:
        if address is None:
            return False
        starts, ends = self._ranges[address.version]
        value = int(address)
        i = bisect.bisect_right(starts, value) - 1
        return i >= 0 and value <= ends[i]


def parse_address(text: str) -> Address | None:
    """A peer or header address as an IP address (IPv4-mapped IPv6 unmapped), or None."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is not None:
            return mapped
    return address


@dataclass(frozen=True, slots=True)
class Source:
    """Where a request comes from: shown as ``text``, matched as ``ip``, counted by ``key``."""

    text: str
    ip: Address | None
    key: str

    @classmethod
    def of(cls, text: str) -> Source:
        ip = parse_address(text)
        if ip is None:
            # Not an address: a header's garbage, shown and keyed as printable ASCII only (it
            # may hold control characters, or lone surrogates from bytes that are not UTF-8).
            shown = printable(text[:64], ascii_only=True)
            return cls(text=shown or "?", ip=None, key=shown or "?")
        if isinstance(ip, ipaddress.IPv6Address):
            net = ipaddress.IPv6Network((int(ip) >> 64 << 64, _V6_KEY_PREFIX))
            # A scope (fe80::1%eth0) may be any text, control characters included.
            return cls(text=printable(str(ip), ascii_only=True), ip=ip, key=str(net))
        shown = str(ip)
        return cls(text=shown, ip=ip, key=shown)

    @classmethod
    def of_peer(cls, peername: object) -> Source:
        """From ``transport.get_extra_info("peername")``: a tuple, a path, or None."""
        if isinstance(peername, (tuple, list)) and peername:
            return cls.of(str(peername[0]))
        return cls(text="?", ip=None, key="?")


def _strip_port(entry: str) -> str:
    """``[2001:db8::1]:443`` → ``2001:db8::1``; ``192.0.2.1:80`` → ``192.0.2.1``."""
    if entry.startswith("["):
        return entry[1 : entry.find("]")] if "]" in entry else entry
    if entry.count(":") == 1:
        return entry.split(":", 1)[0]
    return entry


def forwarded_client(peer: Source, header_values: list[str], trusted: NetSet) -> Source:
    """The client behind a chain of trusted proxies.

    ``X-Forwarded-For`` is read right to left; each proxy appends the address it was reached
    from, so the rightmost address that is not itself a trusted proxy is the first one no
    trusted proxy vouches for, and everything to its left may be forged. Only called when the
    socket peer is a trusted proxy; with no header the peer itself is the client.
    """
    hops = [h.strip() for value in header_values for h in value.split(",")]
    hops = [h for h in hops if h]
    client = peer
    for hop in reversed(hops):
        client = Source.of(_strip_port(hop))
        if client.ip not in trusted:
            return client
    return client
