"""Diagnostic server for the ingest benchmark: holmtray's listener with a no-op store.

The real listener application (auth, limits, body cap, JSON decode, ``parse_event``, JSON
answer) served as ``holmtray serve`` serves it (``ListenerSite``: its connection handler, which
also works out each connection's source once) on the default asyncio loop, as
``bare_server.py`` runs, but ``ingest`` answers at once with a made-up id instead of
committing. Placed between the bare handler and ``holmtray serve`` it splits the gap into
"listener + parser" and "store + writer".

Run: python bench/listener_only.py HOLMTRAY_HOME   (prints "listener-only: listening on URL")
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from holmtray.core.config import file as settings_file
from holmtray.core.config.paths import Paths
from holmtray.core.events import Event
from holmtray.core.history.store import InsertResult
from holmtray.core.ingest.connections import ListenerSite
from holmtray.core.ingest.listener import STATE_KEY, create_app
from holmtray.core.ingest.receiver import listener_config
from holmtray.core.ingest.rejected import RejectedLog

_ids = itertools.count(1)


async def ingest(body: str, event: Event) -> InsertResult:
    return InsertResult(id=next(_ids), duplicate=False, stored=None)


async def serve(home: Path) -> None:
    paths = Paths.under(home)
    settings = settings_file.load_or_create(paths.config_file)
    app = create_app(
        config=listener_config(settings), ingest=ingest, rejected=RejectedLog(paths.rejected_log)
    )
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    site = ListenerSite(
        runner,
        "127.0.0.1",
        0,
        state=app[STATE_KEY],
        keepalive_timeout=settings.number("listener.keepalive_timeout"),
        backlog=1024,
    )
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}/hooks/{settings.text('listener.token')}"
    print(f"listener-only: listening on {url}", file=sys.stderr, flush=True)
    try:
        await asyncio.Event().wait()  # until SIGTERM or SIGINT (run_app's handling)
    finally:
        await runner.cleanup()


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt, web.GracefulExit):
        asyncio.run(serve(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
