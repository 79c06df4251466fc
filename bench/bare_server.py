"""The ceiling for the ingest benchmark: a bare aiohttp handler on the default asyncio loop.

It does what any webhook receiver must do at the least -- read the body, ``json.loads`` it,
answer 200 with a small JSON object -- and nothing else (no auth, no storage). It prints
``bare: listening on http://127.0.0.1:PORT`` on stderr once it accepts connections.

Run: python bench/bare_server.py [--port 0]
"""

from __future__ import annotations

import argparse
import itertools
import json
import socket
import sys

from aiohttp import web

_ids = itertools.count(1)


async def hook(request: web.Request) -> web.Response:
    json.loads(await request.read())
    return web.json_response({"id": next(_ids)})


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    app = web.Application()
    app.router.add_post("/hooks/{token}", hook)
    # Bind first so a free port can be announced; run_app then serves on that socket.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(1024)  # connections made before run_app accepts wait in the backlog

    async def announce(_app: web.Application) -> None:
        port = sock.getsockname()[1]
        print(f"bare: listening on http://127.0.0.1:{port}", file=sys.stderr, flush=True)

    app.on_startup.append(announce)
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)


if __name__ == "__main__":
    main()
