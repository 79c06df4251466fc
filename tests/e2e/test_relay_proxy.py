"""The relay behind a real nginx (Debian's) on loopback, with the shipped /v1/ configuration.

``packaging/proxy/nginx-relay.conf`` -- the snippet the README shows -- is used as it is, with
only the upstream port and, to keep the test short, ``proxy_read_timeout`` (3 s instead of
120 s) changed; ``relay.ping_interval`` is 1 s. Events must come through unbuffered, within a
second of the webhook's 200, and a stream idle for longer than nginx's read timeout must stay
open (the pings keep it alive).

nginx runs from the test with a private prefix and configuration (``nginx -p DIR -c FILE -g
'daemon off;'``). Without nginx the test skips, unless ``HOLMTRAY_REQUIRE_NGINX=1`` (CI), where
it fails.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.test_relay_serve import add_token, relay_home
from tests.procs import Proc
from tests.relaytools import WEBHOOK_TOKEN, SSEStream, post_events

SNIPPET = Path(__file__).parents[2] / "packaging" / "proxy" / "nginx-relay.conf"
READ_TIMEOUT_S = 3


def _nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        if os.environ.get("HOLMTRAY_REQUIRE_NGINX") == "1":
            pytest.fail(
                "nginx is required in this run (HOLMTRAY_REQUIRE_NGINX=1) but not installed"
            )
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_config(prefix: Path, listen: int, upstream: int) -> str:
    snippet = SNIPPET.read_text()
    assert "proxy_buffering off;" in snippet
    assert "proxy_read_timeout 120s;" in snippet
    snippet = snippet.replace("127.0.0.1:8747", f"127.0.0.1:{upstream}")
    snippet = snippet.replace("proxy_read_timeout 120s;", f"proxy_read_timeout {READ_TIMEOUT_S}s;")
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} info;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    access_log {prefix / 'access.log'};\n{temp}\n"
        f"    server {{\n        listen 127.0.0.1:{listen};\n"
        + "\n".join("        " + line for line in snippet.splitlines())
        + "\n    }\n}\n"
    )


def start_nginx(binary: str, prefix: Path, config: str, listen: int) -> subprocess.Popen[bytes]:
    """nginx with ``config`` (written to ``prefix``), once it accepts connections on ``listen``."""
    conf = prefix / "nginx.conf"
    conf.write_text(config)
    nginx = subprocess.Popen(
        [binary, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf),
         "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        if nginx.poll() is not None:
            err = nginx.stderr.read().decode() if nginx.stderr else ""
            log = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
            pytest.fail(f"nginx did not start: {err}\n{log}")
        try:
            socket.create_connection(("127.0.0.1", listen), timeout=1).close()
            return nginx
        except OSError:
            assert time.monotonic() < deadline, "nginx does not accept connections"
            time.sleep(0.05)


@pytest.fixture
def nginx_in_front(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """(base URL through nginx, a read token, nginx's prefix) with `holmtray serve --relay`."""
    binary = _nginx()
    home = relay_home(tmp_path, **{"relay.ping_interval": 1.0})
    token = add_token(home, "alice")
    serve = Proc(home, "serve", "--relay")
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    nginx: subprocess.Popen[bytes] | None = None
    try:
        upstream = serve.port()
        listen = _free_port()
        nginx = start_nginx(binary, prefix, nginx_config(prefix, listen, upstream), listen)
        yield f"http://127.0.0.1:{listen}", token, prefix
    finally:
        if nginx is not None and nginx.poll() is None:
            nginx.terminate()
            nginx.wait(30)
        if serve.popen.poll() is None:
            serve.stop()


def test_events_pass_nginx_unbuffered_and_an_idle_stream_outlives_its_read_timeout(
    nginx_in_front: tuple[str, str, Path],
) -> None:
    base, token, prefix = nginx_in_front
    hook = f"{base}/hooks/{WEBHOOK_TOKEN}"

    async def scenario() -> None:
        async with aiohttp.ClientSession() as s, SSEStream(s, base, token) as stream:
            assert stream.status == 200
            await stream.until(lambda f: f.event == "live")
            for round_ in range(2):
                acked = await post_events(
                    s, hook, range(round_ * 10, round_ * 10 + 5), concurrency=1
                )
                ids = [i for i, _ in acked]
                assert await stream.event_ids(5) == ids
                got = {
                    int(r.frame.json()["id"]): r.at
                    for r in stream.received
                    if r.frame.event == "event"
                }
                # Through nginx within a second of the 200: nothing was buffered.
                assert max(got[i] - at for i, at in acked) < 1.0
                if round_ == 0:
                    # Idle for more than twice nginx's read timeout: only pings flow.
                    idle_from = time.monotonic()
                    pings = 0
                    while time.monotonic() - idle_from < 2.5 * READ_TIMEOUT_S:
                        frame = await stream.next(timeout=READ_TIMEOUT_S * 2)
                        assert frame.event == "ping", frame
                        pings += 1
                    assert pings >= 2  # they pass nginx as they come, and keep it open
                    assert not stream.ended

    asyncio.run(scenario())
    # nginx logs a request when it ends, in its own time after the client closed the stream.
    deadline = time.monotonic() + 10
    access = ""
    while "/v1/stream" not in access and time.monotonic() < deadline:
        time.sleep(0.05)
        access = (prefix / "access.log").read_text()
    assert "/v1/stream" in access  # nginx really was in between
    assert token not in access
    assert WEBHOOK_TOKEN not in access  # /hooks/ is not logged (access_log off)
    assert not re.search(r"upstream timed out", (prefix / "error.log").read_text())
