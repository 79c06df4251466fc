"""Diagnostic server for the ingest benchmark: holmtray's listener with a no-op store.

The real listener application (auth, limits, body cap, JSON decode, ``parse_event``, JSON
answer) on the default asyncio loop, as ``bare_server.py`` runs, but ``ingest`` answers at once
with a made-up id instead of committing. Placed between the bare handler and ``holmtray serve``
it splits the gap into "listener + parser" and "store + writer".

Run: python bench/listener_only.py HOLMTRAY_HOME   (prints "listener-only: listening on URL")
"""

from __future__ import annotations

import itertools
import socket
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from holmtray.core.config import file as settings_file
from holmtray.core.config.paths import Paths
from holmtray.core.events import Event
from holmtray.core.history.store import InsertResult
from holmtray.core.ingest.listener import create_app
from holmtray.core.ingest.receiver import listener_config
from holmtray.core.ingest.rejected import RejectedLog

_ids = itertools.count(1)


async def ingest(body: str, event: Event) -> InsertResult:
    return InsertResult(id=next(_ids), duplicate=False, stored=None)


def main() -> None:
    paths = Paths.under(Path(sys.argv[1]))
    settings = settings_file.load_or_create(paths.config_file)
    app = create_app(
        config=listener_config(settings), ingest=ingest, rejected=RejectedLog(paths.rejected_log)
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks/{settings.text('listener.token')}"

    async def announce(_app: web.Application) -> None:
        print(f"listener-only: listening on {url}", file=sys.stderr, flush=True)

    app.on_startup.append(announce)
    web.run_app(app, sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    main()
