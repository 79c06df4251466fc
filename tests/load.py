"""Posting clients for the tests that keep a ledger of acknowledged events, and the ticket
bodies the burst tests post."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


def burst_ticket(n: int) -> dict[str, Any]:
    """Ticket ``5000 + n`` of a burst: every tenth critical, the rest high."""
    return {
        "ticket": {
            "number": 5000 + n,
            "status": "Open",
            "severity": "critical" if n % 10 == 0 else "high",
            "asset": {"name": f"host-{n}"},
            "vulnerability": {"name": f"Finding {n}"},
        }
    }


async def hammer(
    url: str,
    clients: int,
    ledger: list[int],
    stop: asyncio.Event,
    errors: list[str] | None = None,
) -> None:
    """``clients`` keep-alive clients post unique events until ``stop`` is set or the server
    goes away; every acknowledged id goes into ``ledger``, every 5xx into ``errors``."""

    async def client(n: int) -> None:
        i = 0
        async with aiohttp.ClientSession() as s:
            while not stop.is_set():
                body = json.dumps({"subject": f"client {n} event {i}", "severity": "low"})
                i += 1
                try:
                    async with s.post(url, data=body) as r:
                        if r.status == 200:
                            ledger.append((await r.json())["id"])
                        elif r.status >= 500 and errors is not None:
                            errors.append(f"HTTP {r.status}")
                except (aiohttp.ClientError, OSError):
                    return  # the server died: stop posting

    await asyncio.gather(*(client(n) for n in range(clients)))
