"""Subscribers for bench/relay_fanout.py: N streams of one relay in this process.

Usage: python bench/_relay_subscribers.py BASE N COUNT OUT (read token in HOLMTRAY_RELAY_TOKEN)

Opens N ``/v1/stream`` (new events only) and prints ``ready`` on stderr once every stream has
said ``live``. With COUNT > 0 each stream records (id, time.monotonic()) of every event frame
until it has COUNT of them; with COUNT = 0 it only reads (no parsing: the least client CPU)
until SIGTERM. Then it writes JSON to OUT: ``{"frames": [[[id, t], ...] per stream],
"bytes": total, "ended": streams that ended early}`` and prints ``done``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from holmtray.core.relay.sse import FrameParser


async def main(base: str, n: int, count: int, out: Path) -> None:
    token = os.environ["HOLMTRAY_RELAY_TOKEN"]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    frames: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    total = 0
    ended = 0
    live = 0
    all_live = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as s:

        async def stream(i: int) -> None:
            nonlocal total, ended, live
            headers = {"Authorization": f"Bearer {token}"}
            async with s.get(f"{base}/v1/stream", headers=headers) as r:
                assert r.status == 200, r.status
                parser = FrameParser()
                seen_live = False
                while True:
                    chunk = await r.content.readany()
                    if not chunk:
                        ended += 1
                        return
                    now = time.monotonic()
                    total += len(chunk)
                    if seen_live and count == 0:
                        continue  # only reading
                    for frame in parser.feed(chunk):
                        if frame.event == "live" and not seen_live:
                            seen_live = True
                            live += 1
                            if live == n:
                                all_live.set()
                        elif frame.event == "event":
                            frames[i].append((int(frame.id or 0), now))
                    if count and len(frames[i]) >= count:
                        return

        tasks = [asyncio.create_task(stream(i)) for i in range(n)]
        await all_live.wait()
        print("ready", file=sys.stderr, flush=True)
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([waiter, asyncio.gather(*tasks)], return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        waiter.cancel()
    out.write_text(json.dumps({"frames": frames, "bytes": total, "ended": ended}))
    print("done", file=sys.stderr, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])))
