"""The relay's /v1/ over real loopback HTTP: the stream's handover, resume and gaps, the JSON
pages, read-token auth, isolation from the webhook path, slow readers, and shutdown.

Each test runs an in-process :class:`Receiver` with ``relay.enabled`` (``tests.relaytools``).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest

from holmtray.core.ingest import receiver as receiver_module
from holmtray.core.ingest.rejected import RejectedLog
from holmtray.core.relay.server import _drop_when_unacknowledged
from tests.core.history.test_writer import locker
from tests.relaytools import (
    WEBHOOK_TOKEN,
    RelayServer,
    SSEStream,
    body,
    event_ids,
    never_reading_stream,
    post_events,
    read_all,
    running_relay,
)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get(
    s: aiohttp.ClientSession, url: str, token: str | None
) -> tuple[int, dict[str, str], dict[str, object]]:
    async with s.get(url, headers=auth(token) if token else {}) as r:
        return r.status, dict(r.headers), await r.json()


async def post_n(relay: RelayServer, s: aiohttp.ClientSession, n: int, start: int = 0) -> list[int]:
    return sorted(i for i, _ in await post_events(s, relay.hook, range(start, start + n)))


# ---- JSON endpoints ---------------------------------------------------------------------


async def test_status_and_event_pages_serve_ids_verbatim_bodies_and_bounds(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay, aiohttp.ClientSession() as s:
        status, _, st = await get(s, f"{relay.base}/v1/status", relay.token)
        assert status == 200
        relay_id = st["relay_id"]
        assert re.fullmatch(r"[0-9a-f-]{36}", str(relay_id))
        assert st == {
            "relay_id": relay_id,
            "oldest_id": None,
            "last_id": 0,
            "store": None,
            "subscribers": 0,
        }
        ids = await post_n(relay, s, 7)
        status, _, page = await get(s, f"{relay.base}/v1/events?after=2&limit=3", relay.token)
        assert status == 200
        assert (page["relay_id"], page["oldest_id"], page["last_id"]) == (relay_id, 1, 7)
        assert page["gap"] is None
        assert page["more"] is True
        events = page["events"]
        assert isinstance(events, list)
        assert [e["id"] for e in events] == ids[2:5]
        assert [e["body"] for e in events] == [body(n) for n in range(2, 5)]
        for e in events:
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", e["received_at"])
        status, _, page = await get(s, f"{relay.base}/v1/events?after=5", relay.token)
        assert [e["id"] for e in page["events"]] == [6, 7]  # type: ignore[index]
        assert page["more"] is False
        status, _, page = await get(s, f"{relay.base}/v1/events?after=7", relay.token)
        assert (status, page["events"], page["more"]) == (200, [], False)


async def test_event_pages_refuse_bad_parameters_and_answer_409_beyond_the_last_id(
    tmp_path: Path,
) -> None:
    async with running_relay(tmp_path) as relay, aiohttp.ClientSession() as s:
        await post_n(relay, s, 3)
        for query in ("", "?after=-1", "?after=x", "?after=1&limit=0", "?after=1&limit=1001"):
            status, _, answer = await get(s, f"{relay.base}/v1/events{query}", relay.token)
            assert status == 400, query
            assert "error" in answer
        status, _, answer = await get(s, f"{relay.base}/v1/events?after=4", relay.token)
        assert status == 409
        assert answer["last_id"] == 3
        assert "beyond the last event id 3" in str(answer["error"])
        assert "relay_id" in answer


# ---- auth -------------------------------------------------------------------------------


async def test_only_a_valid_read_token_in_the_authorization_header_reads(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay, aiohttp.ClientSession() as s:
        status_url = f"{relay.base}/v1/status"
        bob = relay.add_token("bob")
        assert relay.revoke("bob")
        cases: list[tuple[str, str, dict[str, str], int]] = [
            ("no token", status_url, {}, 401),
            ("Basic instead", status_url, {"Authorization": "Basic YTpi"}, 401),
            ("unknown read token", status_url, auth("htr_" + "A" * 43), 401),
            ("not a read token", status_url, auth("nonsense"), 401),
            ("webhook token as bearer", status_url, auth(WEBHOOK_TOKEN), 401),
            ("revoked token", status_url, auth(bob), 401),
            (
                "webhook token in the path",
                f"{relay.base}/v1/{WEBHOOK_TOKEN}",
                auth(relay.token),
                401,
            ),
            ("token in the query", f"{status_url}?token={relay.token}", auth(relay.token), 400),
            ("token as a query value", f"{status_url}?x={relay.token}", {}, 400),
            ("webhook token in the query", f"{status_url}?after={WEBHOOK_TOKEN}", {}, 400),
            ("unknown path", f"{relay.base}/v1/nothing", auth(relay.token), 404),
            ("valid", status_url, auth(relay.token), 200),
        ]
        for what, url, headers, want in cases:
            async with s.get(url, headers=headers) as r:
                answer = await r.json()
                assert r.status == want, what
                if want == 401:
                    assert r.headers["WWW-Authenticate"].startswith("Bearer"), what
                text = json.dumps(answer)
                assert relay.token not in text, what
                assert WEBHOOK_TOKEN not in text, what
        async with s.post(status_url, headers=auth(relay.token)) as r:
            assert r.status == 405
            assert r.headers["Allow"] == "GET"
        # Neither token appears in the rejected-requests log, nor the query string at all.
        entries = RejectedLog(relay.paths.rejected_log).newest(None)
        assert {400, 401, 404, 405} <= {e.status for e in entries}  # (floods logged sparingly)
        logged = relay.paths.rejected_log.read_text()
        for secret in (relay.token, bob, WEBHOOK_TOKEN, "A" * 43):
            assert secret not in logged
        assert {e.path for e in entries} <= {"/v1/status", "/v1/***"}


async def test_a_read_token_cannot_post_and_the_webhook_token_cannot_subscribe(
    tmp_path: Path,
) -> None:
    async with running_relay(tmp_path) as relay, aiohttp.ClientSession() as s:
        async with s.post(f"{relay.base}/hooks/{relay.token}", data=body(1)) as r:
            assert r.status == 404  # not the webhook token: an unknown path
        async with SSEStream(s, relay.base, WEBHOOK_TOKEN, after=0) as stream:
            assert stream.status == 401
        assert relay.relay_ids() == []
        logged = RejectedLog(relay.paths.rejected_log).newest(None)
        assert "/hooks/***" in [e.path for e in logged]
        assert relay.token not in relay.paths.rejected_log.read_text()


async def test_a_token_added_or_revoked_while_running_counts_at_once(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay, aiohttp.ClientSession() as s:
        for n in range(3):
            token = relay.add_token(f"new{n}")
            status, _, _ = await get(s, f"{relay.base}/v1/status", token)
            assert status == 200
            assert relay.revoke(f"new{n}")
            status, _, _ = await get(s, f"{relay.base}/v1/status", token)
            assert status == 401


async def test_relay_allow_from_guards_v1_and_listener_allow_from_does_not(tmp_path: Path) -> None:
    elsewhere = ["192.0.2.0/24"]
    async with (
        running_relay(tmp_path / "a", **{"relay.allow_from": elsewhere}) as relay,
        aiohttp.ClientSession() as s,
    ):
        status, _, _ = await get(s, f"{relay.base}/v1/status", relay.token)
        assert status == 403
        await post_n(relay, s, 1)  # the webhook is not affected
    async with (
        running_relay(tmp_path / "b", **{"listener.allow_from": elsewhere}) as relay,
        aiohttp.ClientSession() as s,
    ):
        status, _, _ = await get(s, f"{relay.base}/v1/status", relay.token)
        assert status == 200
        async with s.post(relay.hook, data=body(1)) as r:
            assert r.status == 403


async def test_with_the_relay_off_v1_is_an_unknown_path(tmp_path: Path) -> None:
    async with (
        running_relay(tmp_path, **{"relay.enabled": False}) as relay,
        aiohttp.ClientSession() as s,
    ):
        status, _, _ = await get(s, f"{relay.base}/v1/status", relay.token)
        assert status == 404
        # Turned on while running: served from the next request.
        settings = relay.receiver._settings.with_values({"relay.enabled": True})
        await relay.receiver.apply_settings(settings)
        status, _, _ = await get(s, f"{relay.base}/v1/status", relay.token)
        assert status == 200


# ---- the stream -------------------------------------------------------------------------


async def test_a_stream_sends_hello_the_backlog_live_then_new_events(tmp_path: Path) -> None:
    async with (
        running_relay(tmp_path, **{"relay.ping_interval": 1.0}) as relay,
        aiohttp.ClientSession() as s,
    ):
        ids = await post_n(relay, s, 3)
        async with SSEStream(s, relay.base, relay.token, after=0) as stream:
            assert stream.status == 200
            headers = stream.response.headers
            assert headers["Content-Type"].startswith("text/event-stream")
            assert headers["Cache-Control"] == "no-cache"
            assert headers["X-Accel-Buffering"] == "no"
            first = await stream.next()
            assert (first.event, first.retry_ms) == ("retry", 3000)
            hello = await stream.next()
            assert hello.event == "hello"
            info = hello.json()
            assert info["oldest_id"] == 1
            assert info["last_id"] == 3
            assert info["after"] == 0
            assert info["keepalive_s"] == 1.0
            assert info["gap"] is None
            frames = await stream.until(lambda f: f.event == "live")
            assert [f.event for f in frames] == ["event"] * 3 + ["live"]
            assert [f.id for f in frames[:3]] == [str(i) for i in ids]
            for n, f in enumerate(frames[:3]):
                data = f.json()
                assert data["body"] == body(n)  # verbatim
                datetime.fromisoformat(data["received_at"].replace("Z", "+00:00"))
            assert frames[3].json() == {"caught_up_to": 3}
            [new] = await post_n(relay, s, 1, start=10)
            frame = await stream.until(lambda f: f.event == "event")
            assert frame[-1].json()["id"] == new
            assert frame[-1].json()["body"] == body(10)
            ping = (await stream.until(lambda f: f.event == "ping"))[-1]
            assert ping.json() == {"last_id": new}


async def test_resume_by_last_event_id_or_after_and_new_only_without_either(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay, aiohttp.ClientSession() as s:
        await post_n(relay, s, 10)

        async def backlog(**kw: object) -> tuple[dict[str, object], list[int]]:
            async with SSEStream(s, relay.base, relay.token, **kw) as stream:
                frames = await stream.until(lambda f: f.event == "live")
                hello = next(f for f in frames if f.event == "hello").json()
                return hello, event_ids(frames)

        hello, ids = await backlog(last_event_id=6)
        assert (hello["after"], ids) == (6, [7, 8, 9, 10])
        hello, ids = await backlog(after=8)
        assert (hello["after"], ids) == (8, [9, 10])
        hello, ids = await backlog(after=2, last_event_id=9)  # the header wins
        assert (hello["after"], ids) == (9, [10])
        hello, ids = await backlog(after=10)
        assert ids == []
        async with SSEStream(s, relay.base, relay.token, after=11) as stream:
            assert stream.status == 409
            answer = await stream.json()
            assert answer["last_id"] == 10
            assert "relay_id" in answer
        async with SSEStream(s, relay.base, relay.token, last_event_id="x1") as stream:
            assert stream.status == 400
        # Neither: new events only.
        async with SSEStream(s, relay.base, relay.token) as stream:
            frames = await stream.until(lambda f: f.event == "live")
            hello = frames[1].json()
            assert hello["after"] == 10
            assert event_ids(frames) == []
            [new] = await post_n(relay, s, 1, start=100)
            assert await stream.event_ids_until(new) == [new]


async def test_a_gap_says_how_many_expired_and_the_retained_events_follow(tmp_path: Path) -> None:
    async with (
        running_relay(tmp_path, **{"storage.retention_count": 100}) as relay,
        aiohttp.ClientSession() as s,
    ):
        await post_events(s, relay.hook, range(300), concurrency=16)
        assert await relay.receiver.writer.run_retention_now() == 200
        async with SSEStream(s, relay.base, relay.token, after=0) as stream:
            frames = await stream.until(lambda f: f.event == "live")
            hello = frames[1].json()
            assert hello["gap"] == {"after": 0, "oldest_id": 201, "expired": 200}
            assert event_ids(frames) == list(range(201, 301))
        status, _, page = await get(s, f"{relay.base}/v1/events?after=150", relay.token)
        assert status == 200
        assert page["gap"] == {"after": 150, "oldest_id": 201, "expired": 50}
        _status, _, page = await get(s, f"{relay.base}/v1/events?after=200", relay.token)
        assert page["gap"] is None


async def test_handover_race_every_reader_gets_exactly_the_relays_ids_in_order(
    tmp_path: Path,
) -> None:
    """Readers join with after=0 (and one resumes by id) while 2,000 events arrive at ~200/s."""
    async with running_relay(tmp_path) as relay:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as s:
            total = 2000
            results: dict[str, list[int]] = {}
            posted = asyncio.create_task(post_events(s, relay.hook, range(total), rate=200))

            async def reader(name: str, delay: float, **kw: object) -> None:
                await asyncio.sleep(delay)
                async with SSEStream(s, relay.base, relay.token, **kw) as stream:
                    assert stream.status == 200
                    results[name] = await stream.event_ids_until(total, timeout=120)

            async def resumer() -> None:
                await asyncio.sleep(4.0)
                async with SSEStream(s, relay.base, relay.token, after=0) as stream:
                    first = await stream.event_ids_until(300, timeout=60)
                async with SSEStream(s, relay.base, relay.token, last_event_id=first[-1]) as stream:
                    rest = await stream.event_ids_until(total, timeout=120)
                results["resumed"] = first + rest

            await asyncio.gather(
                reader("at start", 0.0, after=0),
                reader("early", 0.7, after=0),
                reader("middle", 3.3, after=0),
                reader("late", 8.1, after=0),
                resumer(),
            )
            acked = await posted
        relay_ids = relay.relay_ids()
        assert len(relay_ids) == total
        assert sorted(i for i, _ in acked) == relay_ids
        for name, ids in results.items():
            assert ids == relay_ids, name  # the same set, strictly ascending, nothing twice


async def test_status_frames_follow_the_stores_health(tmp_path: Path) -> None:
    async with (
        running_relay(tmp_path) as relay,
        aiohttp.ClientSession() as s,
        SSEStream(s, relay.base, relay.token, after=0) as stream,
    ):
        await stream.until(lambda f: f.event == "live")
        lock = locker(relay.db)  # another program holds the write lock
        async with s.post(relay.hook, data=body(1)) as r:
            assert r.status == 503
        frame = (await stream.until(lambda f: f.event == "status"))[-1]
        assert "locked" in frame.json()["store"]
        # A stream opened now is told at once, after its hello.
        async with SSEStream(s, relay.base, relay.token) as second:
            frames = await second.until(lambda f: f.event == "status")
            assert [f.event for f in frames] == ["retry", "hello", "status"]
        lock.execute("ROLLBACK")
        frame = (await stream.until(lambda f: f.event == "status"))[-1]
        assert frame.json() == {"store": None}
        _status, _, st = await get(s, f"{relay.base}/v1/status", relay.token)
        assert st["store"] is None


async def test_beyond_max_subscribers_a_stream_gets_503_with_retry_after(tmp_path: Path) -> None:
    async with (
        running_relay(tmp_path, **{"relay.max_subscribers": 2}) as relay,
        aiohttp.ClientSession() as s,
        SSEStream(s, relay.base, relay.token) as a,
        SSEStream(s, relay.base, relay.token) as b,
    ):
        await a.until(lambda f: f.event == "live")
        await b.until(lambda f: f.event == "live")
        async with SSEStream(s, relay.base, relay.token) as c:
            assert c.status == 503
            assert int(c.response.headers["Retry-After"]) > 0
        # JSON requests are not streams: not capped.
        status, _, st = await get(s, f"{relay.base}/v1/status", relay.token)
        assert (status, st["subscribers"]) == (200, 2)


async def test_revoking_a_token_ends_its_live_streams_within_a_second(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay, aiohttp.ClientSession() as s:
        bob = relay.add_token("bob")
        async with (
            SSEStream(s, relay.base, bob) as mine,
            SSEStream(s, relay.base, relay.token) as other,
        ):
            await mine.until(lambda f: f.event == "live")
            await other.until(lambda f: f.event == "live")
            assert relay.revoke("bob")
            revoked_at = time.monotonic()
            frames = await mine.rest()
            assert frames[-1].event == "bye"
            assert frames[-1].json() == {"reason": "revoked"}
            assert mine.received[-1].at - revoked_at < 1.0
            # Alice's stream goes on.
            [new] = await post_n(relay, s, 1)
            assert await other.event_ids_until(new) == [new]
            async with SSEStream(s, relay.base, bob) as again:
                assert again.status == 401


# ---- isolation --------------------------------------------------------------------------


async def test_300_idle_streams_do_not_count_against_the_webhooks_max_concurrent(
    tmp_path: Path,
) -> None:
    values = {"listener.max_concurrent": 64, "relay.max_subscribers": 400}
    async with running_relay(tmp_path, **values) as relay:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as s:
            streams = [SSEStream(s, relay.base, relay.token) for _ in range(300)]
            try:
                for stream in streams:
                    await stream.__aenter__()
                    assert stream.status == 200
                await asyncio.gather(*(st.until(lambda f: f.event == "live") for st in streams))
                _status, _, st = await get(s, f"{relay.base}/v1/status", relay.token)
                assert st["subscribers"] == 300
                acked = await post_events(s, relay.hook, range(600), concurrency=32)
                assert len(acked) == 600  # post_events fails on any answer but 200
                last = max(i for i, _ in acked)
                # And every stream got every one of them.
                got = await asyncio.gather(*(st.event_ids_until(last) for st in streams))
                assert all(ids == sorted(i for i, _ in acked) for ids in got)
            finally:
                for stream in streams:
                    await stream.__aexit__()


async def test_a_reader_that_never_reads_is_dropped_and_others_keep_up(tmp_path: Path) -> None:
    async with (
        running_relay(tmp_path, **{"relay.queue_size": 32}) as relay,
        aiohttp.ClientSession() as s,
    ):
        stuck = never_reading_stream(relay.base, relay.token)
        async with SSEStream(s, relay.base, relay.token) as fast:
            await fast.until(lambda f: f.event == "live")

            async def subscribers() -> int:
                return int((await get(s, f"{relay.base}/v1/status", relay.token))[2]["subscribers"])

            assert await subscribers() == 2
            reading = asyncio.create_task(fast.event_ids(120))
            # 100 KB events: the stuck client's socket buffers fill, then its queue.
            acked = await post_events(s, relay.hook, range(120), concurrency=2, pad=100_000)
            ids = sorted(i for i, _ in acked)
            assert await reading == ids
            async with asyncio.timeout(30):
                while await subscribers() != 1:
                    await asyncio.sleep(0.05)
            assert relay.receiver.relay is not None
            assert relay.receiver.relay.hub.dropped_slow == 1
            # Every event reached the reader that keeps up within a second of its 200.
            got = {
                int(r.frame.json()["id"]): r.at for r in fast.received if r.frame.event == "event"
            }
            assert max(got[i] - at for i, at in acked) < 1.0
        data = await asyncio.to_thread(read_all, stuck)
        assert data.startswith(b"HTTP/1.1 200")  # it was served, then cut off


# ---- stopping ---------------------------------------------------------------------------


async def test_stopping_says_bye_to_every_stream_and_does_not_wait_for_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were the streams left to the runner's cleanup, a stop would wait this long for them.
    monkeypatch.setattr(receiver_module, "SHUTDOWN_GRACE_S", 3600.0)
    async with aiohttp.ClientSession() as s, running_relay(tmp_path) as relay:
        stuck = never_reading_stream(relay.base, relay.token)
        streams = [SSEStream(s, relay.base, relay.token, after=0) for _ in range(3)]
        for stream in streams:
            await stream.__aenter__()
            await stream.until(lambda f: f.event == "live")
        await post_events(s, relay.hook, range(40), concurrency=2, pad=100_000)
        async with asyncio.timeout(60):  # far below SHUTDOWN_GRACE_S: it did not wait
            await relay.receiver.stop()
        for stream in streams:
            frames = await stream.rest()
            assert frames[-1].event == "bye"
            assert frames[-1].json() == {"reason": "shutdown"}
            await stream.__aexit__()
        stuck.close()


async def test_a_rebind_ends_the_old_listeners_streams_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receiver_module, "SHUTDOWN_GRACE_S", 3600.0)
    async with running_relay(tmp_path) as relay, aiohttp.ClientSession() as s:
        async with SSEStream(s, relay.base, relay.token) as stream:
            await stream.until(lambda f: f.event == "live")
            settings = relay.receiver._settings.with_values(
                {"listener.port": 0, "listener.host": "::1"}
            )
            async with asyncio.timeout(60):
                await relay.receiver.apply_settings(settings)
            frames = await stream.rest()
            assert frames[-1].json() == {"reason": "shutdown"}
        new_base = relay.receiver.endpoint.local_url()
        status, _, _ = await get(s, f"{new_base}/v1/status", relay.token)
        assert status == 200


@pytest.mark.skipif(not hasattr(socket, "TCP_USER_TIMEOUT"), reason="Linux only")
async def test_a_stream_socket_is_dropped_by_the_kernel_after_missed_pings() -> None:
    accepted: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    async def on_connect(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await accepted.put(w)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, client = await asyncio.open_connection("127.0.0.1", port)
    writer = await accepted.get()
    try:
        transport = writer.transport
        assert isinstance(transport, asyncio.Transport)
        _drop_when_unacknowledged(transport, ping_interval=40.0)
        sock = transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 120_000
        _drop_when_unacknowledged(transport, ping_interval=1.0)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 60_000
    finally:
        client.close()
        writer.close()
        server.close()
        await server.wait_closed()
