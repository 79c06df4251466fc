"""Two relays on one PostgreSQL database behind a real nginx with the shipped configuration
(``packaging/proxy/nginx-ha.conf``, only the upstream addresses changed): webhooks through
nginx keep getting 200 when one relay is SIGKILLed, and a stream through nginx resumes on the
surviving relay with the same ``Last-Event-ID``. Needs nginx and PostgreSQL (see
``test_relay_proxy.py`` and ``tests/pgcluster.py`` for when these skip)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.test_relay_ha import add_token, post, relay_homes, relays, stored_ids
from tests.e2e.test_relay_proxy import _free_port, _nginx, start_nginx
from tests.pgcluster import PgCluster
from tests.relaytools import SSEStream, event_ids

pytestmark = pytest.mark.pg

SHIPPED = Path(__file__).parents[2] / "packaging" / "proxy" / "nginx-ha.conf"


def ha_config(prefix: Path, listen: int, ports: list[int]) -> str:
    text = SHIPPED.read_text()
    upstream = re.search(r"^upstream holmtray_relays \{.*?^\}\n", text, re.S | re.M)
    assert upstream is not None
    block = upstream.group(0)
    for address, port in zip(("10.0.0.11:8747", "10.0.0.12:8747"), ports, strict=True):
        assert address in block
        block = block.replace(address, f"127.0.0.1:{port}")
    locations = text.replace(upstream.group(0), "")
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"worker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} info;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n    access_log {prefix / 'access.log'};\n{temp}\n{block}\n"
        f"    server {{\n        listen 127.0.0.1:{listen};\n{locations}\n    }}\n}}\n"
    )


def test_nginx_in_front_of_two_relays_rides_out_a_killed_relay(
    tmp_path: Path, pg_uri: str, pg_cluster: PgCluster
) -> None:
    binary = _nginx()
    homes = relay_homes(tmp_path, pg_uri, **{"relay.ping_interval": 1.0})
    token = add_token(homes[0])
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    with relays(*homes) as running:
        ports = [int(base.rsplit(":", 1)[1]) for _, base in running]
        listen = _free_port()
        nginx = start_nginx(binary, prefix, ha_config(prefix, listen, ports), listen)
        front = f"http://127.0.0.1:{listen}"
        try:

            async def subscribers(s: aiohttp.ClientSession, base: str) -> int:
                headers = {"Authorization": f"Bearer {token}"}
                async with s.get(f"{base}/v1/status", headers=headers) as r:
                    return int((await r.json())["subscribers"])

            async def scenario() -> None:
                async with aiohttp.ClientSession() as s:
                    first = await asyncio.gather(*(post(s, front, n) for n in range(100)))
                    assert {status for status, _ in first} == {200}
                    async with SSEStream(s, front, token, after=0) as stream:
                        assert await stream.event_ids_until(100) == list(range(1, 101))
                        # Kill the relay nginx sent the stream to.
                        counts = [await subscribers(s, base) for _, base in running]
                        assert sorted(counts) == [0, 1]
                        running[counts.index(1)][0].kill()
                        later = [await post(s, front, n) for n in range(100, 200)]
                        assert {status for status, _ in later} == {200}
                        assert await stream.rest() is not None  # it ends: its relay is gone
                        ids = event_ids([r.frame for r in stream.received])
                    assert ids[:100] == list(range(1, 101))
                    async with SSEStream(s, front, token, last_event_id=ids[-1]) as again:
                        assert again.status == 200
                        rest = await again.event_ids_until(200)
                    assert ids + rest == list(range(1, 201))

            asyncio.run(scenario())
        finally:
            nginx.terminate()
            nginx.wait(30)
    assert sorted(stored_ids(pg_cluster, pg_uri)) == list(range(1, 201))
