"""Post N unique events as fast as the listener takes them (aiohttp client, C connections).

Prints one JSON line on stdout: monotonic times of the first request and of the last 2xx,
how many got 2xx, and the errors. Bodies are built before the clock starts.

Run: python bench/_burst_client.py URL [--events 5000] [--connections 64] [--seed S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp
from _bodies import body


async def burst(url: str, bodies: list[bytes], connections: int) -> dict[str, object]:
    pending = iter(bodies)
    ok = 0
    errors: dict[str, int] = {}
    last_ok = 0.0
    headers = {"Content-Type": "application/json"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal ok, last_ok
        for data in pending:
            try:
                async with session.post(url, data=data, headers=headers) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        ok += 1
                        last_ok = time.monotonic()
                    else:
                        errors[str(resp.status)] = errors.get(str(resp.status), 0) + 1
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.monotonic()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        end = time.monotonic()
    return {"start": start, "end": end, "last_ok": last_ok, "ok": ok, "errors": errors}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--events", type=int, default=5000)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--seed", default=str(time.time_ns() % 10**9))
    args = p.parse_args()
    bodies = [body(n, args.seed) for n in range(args.events)]
    print(json.dumps(asyncio.run(burst(args.url, bodies, args.connections))), flush=True)


if __name__ == "__main__":
    main()
