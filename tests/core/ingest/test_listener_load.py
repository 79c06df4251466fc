"""One sender cannot starve the loop: bodies in flight have a memory budget, costly bodies are
decoded off the event loop, and the read deadline measures the client, not a busy server.

The attack run's input: bodies cheap to send and costly to decode (1 MiB of ``[{},{},...]``),
many at once from one source, while a real webhook comes from another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holmtray.core.ingest import bodies
from holmtray.core.ingest.bodies import BodyBudget, decoded_cost, max_cost
from holmtray.core.parsing.decode import PayloadError
from tests.attacks import MIB, cheap_to_send, gzipped
from tests.core.ingest.wire import Rig, reconfigure, request, rig

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
EVENT = json.dumps({"finished_scan": {"name": "Daily scan", "status": "Completed"}}).encode()


async def _until(cond: object, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


# --------------------------------------------------------------------------- the cost model


def _peak(body: bytes) -> int:
    """The most memory decoding and parsing ``body`` took, as the listener does it."""
    tracemalloc.start()
    try:
        with contextlib.suppress(PayloadError):
            bodies.decode(body)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


SHAPES = [b"{}", b"[]", b"0", b"1.5", b'""', b'"a"', b'{"a":{}}', b'{"":0}', b"1e5", b'"ab"',
          b"true", b"null", b"-1", b'"\\u00e9"', b"[[],{}]", b'{"a":[1,{"b":null}]}']  # fmt: skip


@pytest.mark.parametrize("unit", SHAPES)
@pytest.mark.parametrize("wrapped", [True, False])
def test_decoded_cost_bounds_what_decoding_the_costliest_shapes_takes(
    unit: bytes, wrapped: bool
) -> None:
    size = 64 * 1024
    head, tail = (b'{"a":[', b"]}") if wrapped else (b"[", b"]")
    body = head + b",".join([unit] * ((size - 8) // (len(unit) + 1))) + tail
    assert _peak(body) <= decoded_cost(body)
    assert decoded_cost(body) <= max_cost(len(body))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda inner: st.one_of(st.lists(inner), st.dictionaries(st.text(max_size=5), inner)),
    max_leaves=200,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.dictionaries(st.text(max_size=8), json_values), repeat=st.integers(1, 40))
def test_decoded_cost_bounds_what_decoding_any_json_object_takes(
    value: dict[str, object], repeat: int
) -> None:
    body = json.dumps({"items": [value] * repeat}, ensure_ascii=False).encode()
    assert _peak(body) <= decoded_cost(body)


def test_the_budget_charges_per_source_and_in_total() -> None:
    budget = BodyBudget()
    a = budget.reserve("a", 40, total=100)
    assert a is not None
    assert budget.reserve("a", 11, total=100) is None  # "a" may hold half: 50
    b = budget.reserve("b", 50, total=100)
    assert b is not None
    assert budget.reserve("c", 11, total=100) is None  # 40 + 50 + 11 > 100
    assert a.grow_to(50)
    assert not a.grow_to(51)
    assert budget.used == 100
    a.release()
    a.release()  # once only
    assert budget.used == 50
    assert budget.held_by("a") == 0
    c = budget.reserve("c", 0, total=100)  # a chunked body starts at nothing
    assert c is not None
    assert c.grow_to(50)
    b.release()
    c.release()
    assert budget.used == 0


# --------------------------------------------------------------------------- over the wire


async def test_bodies_beyond_the_budget_get_503_before_they_are_read_and_another_source_is_served(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, **{"listener.max_body_bytes": 4096}) as r:
        worst = max_cost(4096)  # what a 4 KiB body may come to hold
        reconfigure(r, body_memory=4 * worst)  # one source may hold two of them
        held = []
        for _ in range(2):  # two declared 4 KiB bodies, not sent yet
            conn = await r.connect()
            await conn.send(request(length=4096))
            held.append(conn)
        await _until(lambda: r.state.budget.used == 2 * worst, "the two bodies to be charged")

        conn = await r.connect()
        await conn.send(request(headers=[("Expect", "100-continue")], length=4096))
        answer = await conn.answer()  # before its body: no waiting for room
        assert (answer.status, answer.interim) == (503, [])
        assert answer.headers["retry-after"] == "1"
        assert "in progress" in str(answer.json())
        assert await conn.closed()

        other = await r.exchange(request(length=len(EVENT)) + EVENT, source="127.0.0.2")
        assert other.status == 200, other.body

        held[1].close()  # one client gives up: its charge is released
        await _until(lambda: r.state.budget.used == worst, "the charge to be released")
        body = json.dumps({"subject": "held", "pad": "x" * 3000}).encode().ljust(4096)
        await held[0].send(body)
        assert (await held[0].answer()).status == 200
        held[0].close()
        assert r.state.budget.used == 0
        assert r.rows() == 2
        assert 503 in [e.status for e in r.rejections()]


async def test_a_chunked_body_that_outgrows_the_budget_gets_503_mid_body(tmp_path: Path) -> None:
    async with rig(tmp_path, **{"listener.max_body_bytes": 4096}) as r:
        reconfigure(r, body_memory=2 * (max_cost(4096) + max_cost(1000)))
        held = await r.connect()
        await held.send(request(length=4096))
        await _until(lambda: r.state.budget.used == max_cost(4096), "the body to be charged")
        conn = await r.connect()
        await conn.send(request(headers=[("Transfer-Encoding", "chunked")]))
        await conn.send(b"bb8\r\n" + b" " * 3000 + b"\r\n")  # more than this source has left
        answer = await conn.answer()
        assert answer.status == 503
        assert await conn.closed()
        held.close()
        await _until(lambda: r.state.budget.used == 0, "every charge to be released")


async def test_a_body_that_may_cost_more_than_a_source_may_hold_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[int] = []
    real = bodies.decode_body
    monkeypatch.setattr(bodies, "decode_body", lambda b: decoded.append(len(b)) or real(b))
    async with rig(tmp_path, **{"listener.max_body_bytes": 4096}) as r:
        reconfigure(r, body_memory=max_cost(4096))  # half of that a source
        conn = await r.connect()
        await conn.send(request(length=4096))
        answer = await conn.answer()  # the body was never sent
        assert answer.status == 503
        conn.close()
        ok = await r.exchange(request(length=len(EVENT)) + EVENT)
        assert ok.status == 200
        assert decoded == [len(EVENT)]
        assert r.state.budget.used == 0


def test_a_body_is_charged_its_worst_case_then_what_it_really_can_cost() -> None:
    samples = [p.read_bytes() for p in sorted(SAMPLES.glob("*.json"))]
    for body in (*samples, cheap_to_send(4096), cheap_to_send(MIB), b'"' + b"x" * 5000 + b'"'):
        assert decoded_cost(body) <= max_cost(len(body))
    for body in samples:  # a real webhook gives back half of its charge or more
        assert decoded_cost(body) < max_cost(len(body)) * 0.55, body[:40]


async def test_large_bodies_are_decoded_off_the_event_loop_and_small_ones_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    real = bodies.decode_body

    def spy(body: bytes) -> object:
        threads.append(threading.current_thread().name)
        return real(body)

    monkeypatch.setattr(bodies, "decode_body", spy)
    async with rig(tmp_path) as r:
        large = json.dumps({"subject": "large", "text": "x" * 200_000}).encode()
        for body in (EVENT, large):
            assert (await r.exchange(request(length=len(body)) + body)).status == 200
    loop_thread = threading.current_thread().name
    assert threads[0] == loop_thread
    assert threads[1].startswith("holmtray-decode")


async def _post_all(r: Rig, body: bytes, n: int, source: str) -> list[tuple[int, str]]:
    async def one() -> tuple[int, str]:
        conn = await r.connect(source)
        try:
            await conn.send(request(length=len(body)) + body)
            a = await conn.answer(timeout=120)
            return a.status, a.headers.get("retry-after", "")
        finally:
            conn.close()

    return list(await asyncio.gather(*(one() for _ in range(n))))


@pytest.mark.slow
@pytest.mark.parametrize("wrapped", [True, False])  # stored, or refused as not an object
async def test_one_source_sending_costly_bodies_does_not_keep_a_webhook_from_another(
    tmp_path: Path, wrapped: bool
) -> None:
    async with rig(tmp_path) as r:  # the shipped 1 MiB cap and budget
        budget = r.state.budget
        attack = asyncio.create_task(
            _post_all(r, cheap_to_send(MIB, wrapped=wrapped), 40, "127.0.0.1")
        )
        await _until(lambda: budget.used > 0, "the attack to start")
        webhook = await r.exchange(request(length=len(EVENT)) + EVENT, source="127.0.0.2")
        assert webhook.status == 200, webhook.body
        results = await attack
        statuses = {s for s, _ in results}
        assert statuses <= {200 if wrapped else 400, 503}, statuses
        assert 503 in statuses  # the budget did bite
        assert all(ra == "1" for s, ra in results if s == 503)
        total = r.state.live.current.body_budget
        assert 0 < budget.peak <= total
        assert budget.peak_source <= total // 2
        assert budget.used == 0
        # The gzipped form of the same (the attack run's 1 KB) is refused on its headers.
        small = gzipped(cheap_to_send(MIB, wrapped=wrapped))
        answer = await r.exchange(
            request(headers=[("Content-Encoding", "gzip")], length=len(small)) + small
        )
        assert answer.status == 415


async def test_the_read_deadline_counts_the_clients_sending_not_a_busy_servers_reading(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, **{"listener.read_timeout": 1.0}) as r:
        conn = await r.connect()
        await conn.send(request(length=len(EVENT)))
        await _until(lambda: r.state.in_flight == 1, "the handler to wait for the body")
        await asyncio.sleep(0.1)
        await conn.send(EVENT)  # the whole body is on its way, well within the deadline...
        time.sleep(1.5)  # ...but the server's loop (this one) is busy past the deadline
        answer = await conn.answer()
        assert answer.status == 200, answer.body
        conn.close()


async def test_a_body_that_stops_arriving_still_gets_408_at_the_deadline(tmp_path: Path) -> None:
    async with rig(tmp_path, **{"listener.read_timeout": 1.0}) as r:
        conn = await r.connect()
        await conn.send(request(length=len(EVENT)) + EVENT[:5])
        answer = await conn.answer()
        assert answer.status == 408
        assert "within 1 seconds" in str(answer.json())
        conn.close()
        assert r.rows() == 0
