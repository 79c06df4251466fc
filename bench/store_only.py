"""Diagnostic server for the ingest benchmark: the bare handler plus holmtray's durable store.

``bare_server.py``'s handler (read the body, ``json.loads`` it, answer ``{"id": N}``) with one
thing added: each event is committed through holmtray's real group-commit writer and SQLite
store (schema, eight indexes, the full-text index and its triggers, dedupe, ``synchronous=FULL``)
before the answer, exactly as ``holmtray serve`` commits it. What it leaves out is holmtray's own
request path: no auth, limits or other checks, and no parser -- every row is the event parsed
once at start from a sample finished scan, with the request's own body and decoded payload (so
bodies, hashes and payloads are unique, and the title, asset and vulnerability repeat).

Placed between the bare handler and ``holmtray serve`` it answers: if the listener's checks and
the parser cost nothing, how far is a durable event from the bare handler? That is the floor
of any design that keeps the store's guarantees on this stack.

With ``--no-search``, the full-text triggers and every index but the dedupe index are dropped
after the schema is made (the store's figures without them: what the product's search and
sorting cost per event; the ingest benchmark calls this setup ``store-min``).

Run: python bench/store_only.py HOLMTRAY_HOME [--no-search]
     (prints "store-only: listening on URL")
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import socket
import sqlite3
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from holmtray.core.config.paths import Paths
from holmtray.core.history.store import Store
from holmtray.core.history.writer import GroupCommitWriter
from holmtray.core.parsing.parser import parse_event

_SAMPLE = {
    "event": "finished_scan",
    "scan_name": "Daily scan",
    "status": "Completed",
    "link": "https://sc.holmsecurity.com/scans/42",
    "asset": {"name": "web-01", "hostname": "web-01.example.com", "ipv4": "192.0.2.10"},
    "vulnerability": {
        "name": "OpenSSH < 9.6 Terrapin prefix truncation",
        "cve": "CVE-2023-48795",
        "severity": "Medium",
    },
}


def drop_search(db: Path) -> list[str]:
    """Make the schema, then drop the full-text triggers and all indexes but dedupe's."""
    Store.open(db).close()
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE tbl_name = 'events'"
            " AND ((type = 'trigger' AND name LIKE 'events_fts%')"
            " OR (type = 'index' AND name LIKE 'events_%' AND name != 'events_dedup'))"
        ).fetchall()
        for kind, name in rows:
            conn.execute(f"DROP {kind} {name}")
        conn.commit()
    finally:
        conn.close()
    return [name for _, name in rows]


async def serve(home: Path, no_search: bool) -> None:
    template = parse_event(_SAMPLE)
    db = Paths.under(home).database
    if no_search:
        dropped = drop_search(db)
        print(f"store-only: dropped {', '.join(dropped)}", file=sys.stderr, flush=True)
    writer = GroupCommitWriter(store_path=db)
    await writer.start()

    async def hook(request: web.Request) -> web.Response:
        raw = await request.read()
        body = raw.decode()
        event = dataclasses.replace(template, payload=json.loads(body))
        result = await writer.submit(body, event)
        return web.json_response({"id": result.id})

    app = web.Application()
    app.router.add_post("/hooks/{token}", hook)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/bench"
    print(f"store-only: listening on {url}", file=sys.stderr, flush=True)
    try:
        await asyncio.Event().wait()  # until SIGTERM or SIGINT (the runner's handling)
    finally:
        await runner.cleanup()
        await writer.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("home", type=Path)
    p.add_argument("--no-search", action="store_true", help="drop the FTS triggers and indexes")
    args = p.parse_args()
    with contextlib.suppress(KeyboardInterrupt, web.GracefulExit):
        asyncio.run(serve(args.home, args.no_search))


if __name__ == "__main__":
    main()
