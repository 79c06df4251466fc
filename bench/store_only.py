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

With ``--minimal``, none of holmtray's store is used: the leanest durable group commit this
stack allows, as a yardstick for the writer itself. A table of ``(id, received_at, body)``, one
thread that takes every request waiting, inserts them with one ``executemany`` and commits
(WAL, ``synchronous=FULL``), then hands the ids back to the loop in one call; no dedupe, no
index, no search (``durable-min`` in the ingest benchmark).

Run: python bench/store_only.py HOLMTRAY_HOME [--no-search | --minimal]
     (prints "store-only: listening on URL")
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import queue
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Awaitable, Callable
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


class MinimalWriter:
    """The leanest durable group commit: one thread, one ``executemany`` and one commit per
    batch of whatever is waiting, the ids handed back to the loop in one call per batch."""

    def __init__(self, db: Path) -> None:
        db.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS events"
            " (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, body TEXT NOT NULL)"
        )
        self._queue: queue.SimpleQueue[tuple[str, asyncio.Future[int]] | None] = queue.SimpleQueue()
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="minimal-writer", daemon=True)
        self._thread.start()

    def submit(self, body: str) -> asyncio.Future[int]:
        future: asyncio.Future[int] = self._loop.create_future()
        self._queue.put((body, future))
        return future

    def _run(self) -> None:
        conn = self._conn
        while (first := self._queue.get()) is not None:
            batch = [first]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 512:
                    item = self._queue.get_nowait()
                    if item is None:
                        self._queue.put(None)
                        break
                    batch.append(item)
            futures = [f for _, f in batch]
            try:
                top = self._commit([body for body, _ in batch])
            except sqlite3.Error as exc:  # answered 500 by aiohttp, never left waiting
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._loop.call_soon_threadsafe(_answer, futures, exc)
                continue
            self._loop.call_soon_threadsafe(_answer, futures, top + 1)
        conn.close()

    def _commit(self, bodies: list[str]) -> int:
        """One transaction for ``bodies``; returns the id before the first."""
        conn = self._conn
        now = time.time_ns() // 1000
        conn.execute("BEGIN IMMEDIATE")
        (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        conn.executemany(
            "INSERT INTO events (id, received_at, body) VALUES (?, ?, ?)",
            [(top + i + 1, now, body) for i, body in enumerate(bodies)],
        )
        conn.execute("COMMIT")
        return int(top)

    async def close(self) -> None:
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)


def _answer(futures: list[asyncio.Future[int]], first_id: int | Exception) -> None:
    for i, future in enumerate(futures):
        if future.done():
            continue
        if isinstance(first_id, Exception):
            future.set_exception(first_id)
        else:
            future.set_result(first_id + i)


async def serve(home: Path, no_search: bool, minimal: bool) -> None:
    db = Paths.under(home).database
    closing: Callable[[], Awaitable[None]]
    if minimal:
        lean = MinimalWriter(db)
        closing = lean.close

        async def hook(request: web.Request) -> web.Response:
            body = (await request.read()).decode()
            json.loads(body)
            return web.json_response({"id": await lean.submit(body)})

    else:
        template = parse_event(_SAMPLE)
        if no_search:
            dropped = drop_search(db)
            print(f"store-only: dropped {', '.join(dropped)}", file=sys.stderr, flush=True)
        writer = GroupCommitWriter(store_path=db)
        await writer.start()
        closing = writer.close

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
        await closing()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("home", type=Path)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--no-search", action="store_true", help="drop the FTS triggers and indexes")
    how.add_argument("--minimal", action="store_true", help="the leanest durable group commit")
    args = p.parse_args()
    with contextlib.suppress(KeyboardInterrupt, web.GracefulExit):
        asyncio.run(serve(args.home, args.no_search, args.minimal))


if __name__ == "__main__":
    main()
