"""`holmtray serve --relay` and `holmtray relay token …` as a user runs them: real processes.

Revocation through the command line in another process ends a live stream within a second;
SIGTERM with streams open says ``bye`` to each and stops without waiting for them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from holmtray.core.config.file import save
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.ingest.receiver import SHUTDOWN_GRACE_S
from tests.procs import Proc, run_cli
from tests.relaytools import (
    WEBHOOK_TOKEN,
    SSEStream,
    event_ids,
    never_reading_stream,
    post_events,
)


def relay_home(tmp_path: Path, **values: object) -> Path:
    home = tmp_path / "home"
    save(
        Settings({"listener.token": WEBHOOK_TOKEN, "listener.port": 0, **values}),
        Paths.under(home).config_file,
    )
    return home


def add_token(home: Path, name: str) -> str:
    r = run_cli(home, "relay", "token", "add", name)
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip().splitlines()[-1]
    assert token.startswith("htr_")
    assert token not in r.stderr
    assert r.stdout.count(token) == 1
    return token


def test_token_add_list_and_revoke_work_with_or_without_a_running_relay(tmp_path: Path) -> None:
    home = relay_home(tmp_path)
    alice = add_token(home, "alice")
    r = run_cli(home, "relay", "token", "add", "alice")
    assert r.returncode == 1
    assert "exists already" in r.stderr
    assert r.stdout == ""
    r = run_cli(home, "relay", "token", "add", "bad name")
    assert r.returncode == 2
    assert "not allowed" in r.stderr
    r = run_cli(home, "relay", "token", "list")
    assert r.returncode == 0
    assert r.stdout.split()[0] == "alice"
    assert alice not in r.stdout
    serve = Proc(home, "serve", "--relay")
    try:
        serve.port()
        bob = add_token(home, "bob")
        r = run_cli(home, "relay", "token", "list")
        assert [line.split()[0] for line in r.stdout.splitlines()] == ["alice", "bob"]
        assert bob not in r.stdout
        r = run_cli(home, "relay", "token", "revoke", "carol")
        assert r.returncode == 1
        assert "no read token named 'carol'" in r.stderr
        r = run_cli(home, "relay", "token", "revoke", "bob")
        assert r.returncode == 0, r.stderr
        assert "Revoked" in r.stdout
        assert serve.stop() == 0
    finally:
        if serve.popen.poll() is None:
            serve.kill()
    r = run_cli(home, "relay", "token", "list")
    assert r.stdout.split()[0] == "alice"
    assert "bob" not in r.stdout


def test_without_relay_v1_is_not_served(tmp_path: Path) -> None:
    home = relay_home(tmp_path)
    token = add_token(home, "alice")
    serve = Proc(home, "serve")
    try:
        port = serve.port()

        async def status() -> int:
            async with (
                aiohttp.ClientSession() as s,
                s.get(
                    f"http://127.0.0.1:{port}/v1/status",
                    headers={"Authorization": f"Bearer {token}"},
                ) as r,
            ):
                return r.status

        assert asyncio.run(status()) == 404
    finally:
        serve.kill()


def test_revoking_through_the_cli_ends_a_live_stream_within_a_second(tmp_path: Path) -> None:
    home = relay_home(tmp_path)
    alice, bob = add_token(home, "alice"), add_token(home, "bob")
    serve = Proc(home, "serve", "--relay")
    try:
        base = f"http://127.0.0.1:{serve.port()}"

        async def scenario() -> None:
            async with (
                aiohttp.ClientSession() as s,
                SSEStream(s, base, bob) as mine,
                SSEStream(s, base, alice) as other,
            ):
                await mine.until(lambda f: f.event == "live")
                await other.until(lambda f: f.event == "live")
                r = await asyncio.to_thread(run_cli, home, "relay", "token", "revoke", "bob")
                revoked_at = time.monotonic()  # the revocation was committed before this
                assert r.returncode == 0, r.stderr
                frames = await mine.rest()
                assert frames[-1].event == "bye"
                assert frames[-1].json() == {"reason": "revoked"}
                assert mine.received[-1].at - revoked_at < 1.0
                acked = await post_events(s, f"{base}/hooks/{WEBHOOK_TOKEN}", range(3))
                ids = sorted(i for i, _ in acked)
                assert await other.event_ids(3) == ids  # alice reads on
                async with SSEStream(s, base, bob) as again:
                    assert again.status == 401

        asyncio.run(scenario())
        assert serve.stop() == 0
    finally:
        if serve.popen.poll() is None:
            serve.kill()


def test_sigterm_with_open_streams_says_bye_and_stops_without_waiting(tmp_path: Path) -> None:
    home = relay_home(tmp_path)
    token = add_token(home, "alice")
    serve = Proc(home, "serve", "--relay")
    try:
        base = f"http://127.0.0.1:{serve.port()}"
        stuck = never_reading_stream(base, token)  # one client never reads at all

        async def scenario() -> None:
            async with aiohttp.ClientSession() as s:
                hook = f"{base}/hooks/{WEBHOOK_TOKEN}"
                acked = await post_events(s, hook, range(5))
                streams = [SSEStream(s, base, token, after=0) for _ in range(5)]
                for stream in streams:
                    await stream.__aenter__()
                    await stream.until(lambda f: f.event == "live")
                await post_events(s, hook, range(5, 30), pad=100_000)  # fills the stuck one
                # A stop that waited for the streams would take the whole grace time.
                await asyncio.to_thread(serve.stop, SHUTDOWN_GRACE_S)
                for stream in streams:
                    frames = await stream.rest()
                    assert frames[-1].event == "bye"
                    assert frames[-1].json() == {"reason": "shutdown"}
                    ids = event_ids([r.frame for r in stream.received])
                    assert ids[:5] == sorted(i for i, _ in acked)
                    assert ids == sorted(ids)
                    await stream.__aexit__()

        asyncio.run(scenario())
        stuck.close()
        assert serve.popen.returncode == 0
        assert "receiver stopped" in serve.output()
    finally:
        if serve.popen.poll() is None:
            serve.kill()
