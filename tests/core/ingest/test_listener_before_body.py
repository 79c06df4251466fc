"""No work before the checks: the listener decides on the request line and headers alone.

Path, token, source, rate, credentials, declared length, content type, content encoding and
expectation are all settled before a body byte is read; a rejection is answered without the
body and the connection is closed after it (no lingering); compressed bodies are refused and
never inflated; ``100 Continue`` goes out only once every check has passed; an unknown
expectation is a JSON 417. Each test sends the head alone first, so an answer that arrives
proves the body was not waited for.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import aiohttp.http_parser
import pytest

from tests.attacks import MIB, gzip_bomb
from tests.core.ingest.wire import HOOK, request, rig

GOOD = base64.b64encode(b"holm:secret").decode()
AUTH = {"listener.username": "holm", "listener.password": "secret"}
EVENT = json.dumps({"finished_scan": {"name": "Daily scan", "status": "Completed"}}).encode()


@pytest.fixture
def inflaters(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every decompressor aiohttp makes for a request body, by its encoding."""
    made: list[str] = []
    cls = aiohttp.http_parser.DeflateBuffer  # the C parser makes the same class
    original = cls.__init__

    def spy(self: object, out: object, encoding: str | None, *args: object, **kw: object) -> None:
        made.append(str(encoding))
        original(self, out, encoding, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cls, "__init__", spy)
    return made


# --------------------------------------------------------------------------- compressed bodies


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/hooks/wrong-token-0123456789abcdefghijk", [], 404),
        ("/elsewhere", [], 404),
        ("/healthz", [], 405),
        (HOOK, [], 401),
        (HOOK, [("Expect", "100-continue")], 401),
        (HOOK, [("Authorization", "Basic d3Jvbmc6d3Jvbmc=")], 401),
        (HOOK, [("Authorization", "Basic " + GOOD)], 415),
        (HOOK, [("Authorization", "Basic " + GOOD), ("Expect", "100-continue")], 415),
    ],
)
async def test_a_gzip_bomb_is_answered_on_its_headers_never_inflated_and_the_connection_closed(
    tmp_path: Path, inflaters: list[str], path: str, headers: list[tuple[str, str]], status: int
) -> None:
    bomb = gzip_bomb()  # 1 MB of gzip, 1 GiB of zeros inflated
    async with rig(tmp_path, **AUTH) as r:
        conn = await r.connect()
        ce = [("Content-Encoding", "gzip"), ("Content-Type", "application/json")]
        await conn.send(request("POST", path, ce + headers, length=len(bomb)))
        answer = await conn.answer()  # before a byte of the body was sent
        assert answer.status == status
        assert answer.is_json_error
        assert answer.interim == []  # no 100 Continue for a request that is refused
        await conn.send(bomb)  # the bomb itself, as an attacker sends it regardless
        assert await conn.closed(), "the connection stayed open to read the refused body"
        conn.close()
        assert inflaters == []
        assert r.rows() == 0


@pytest.mark.parametrize(
    "encoding", ["gzip", "GZIP", "x-gzip", "deflate", "br", "zstd", "identity, gzip", "gzip, gzip"]
)
async def test_any_content_encoding_but_identity_gets_415_json_even_with_valid_credentials(
    tmp_path: Path, inflaters: list[str], encoding: str
) -> None:
    async with rig(tmp_path) as r:
        conn = await r.connect()
        await conn.send(request(headers=[("Content-Encoding", encoding)], length=len(EVENT)))
        answer = await conn.answer()
        assert answer.status == 415
        assert "compressed" in str(answer.json())
        assert await conn.closed()
        conn.close()
        # Identity (or no encoding) is a plain body: stored.
        for plain in ("identity", " Identity "):
            ok = await r.exchange(
                request(headers=[("Content-Encoding", plain)], length=len(EVENT)) + EVENT
            )
            assert ok.status == 200, ok.body
        assert inflaters == []


async def test_a_gzip_bomb_sent_whole_at_once_to_any_path_is_never_inflated(
    tmp_path: Path, inflaters: list[str]
) -> None:
    bomb = gzip_bomb()
    async with rig(tmp_path) as r:
        for path in ("/hooks/nope", HOOK, "/"):
            conn = await r.connect()
            head = request("POST", path, [("Content-Encoding", "gzip")], length=len(bomb))
            await conn.send(head + bomb)
            answer = await conn.answer()
            assert answer.status in (404, 415)
            assert await conn.closed()
            conn.close()
        assert inflaters == []


# --------------------------------------------------------------------------- early rejections


REFUSED = [
    ({}, "/hooks/wrong", [], 404),  # the attack run's: a wrong token
    ({}, "/", [], 404),
    ({}, "/nowhere/at/all", [], 404),
    ({}, HOOK + "/extra", [], 404),
    ({}, "/healthz", [], 405),
    (AUTH, HOOK, [], 401),
    (AUTH, HOOK, [("Authorization", "Basic d3Jvbmc6d3Jvbmc=")], 401),
    ({"listener.allow_from": ["192.0.2.0/24"]}, HOOK, [], 403),
    ({}, HOOK, [("Content-Encoding", "gzip")], 415),
    ({}, HOOK, [("Content-Type", "multipart/form-data; boundary=x")], 415),
    ({}, HOOK, [("Content-Type", "application/x-www-form-urlencoded")], 415),
]
"""Requests refused on their headers: settings, path, extra headers, the answer."""


@pytest.mark.parametrize(("settings", "path", "headers", "status"), REFUSED)
async def test_a_refused_request_is_answered_before_its_body_without_100_continue_and_closed(
    tmp_path: Path,
    settings: dict[str, object],
    path: str,
    headers: list[tuple[str, str]],
    status: int,
) -> None:
    async with rig(tmp_path, **settings) as r:
        # A small body, the attack run's 10 GB, each with and without asking for 100-continue.
        for length in (100, 10 * 1024**3):
            for expect in ([], [("Expect", "100-continue")]):
                conn = await r.connect()
                await conn.send(request("POST", path, [*expect, *headers], length=length))
                answer = await conn.answer()  # the body was never sent
                assert (answer.status, answer.interim) == (status, [])
                assert answer.is_json_error
                assert await conn.closed()  # not lingering to read a body that never comes
                conn.close()
        assert {e.status for e in r.rejections()} == {status}


@pytest.mark.parametrize("length", [1024 * 1024 + 1, 10 * 1024**3, 2**63 - 1])
async def test_a_declared_length_over_the_cap_gets_413_before_any_body_and_no_100_continue(
    tmp_path: Path, length: int
) -> None:
    async with rig(tmp_path) as r:
        conn = await r.connect()
        await conn.send(request(headers=[("Expect", "100-continue")], length=length))
        answer = await conn.answer()
        assert answer.status == 413
        assert answer.interim == []
        assert answer.is_json_error
        assert await conn.closed()
        conn.close()


# --------------------------------------------------------------------------- Expect


@pytest.mark.parametrize("expect", ["Expect", "expect", "EXPECT"])
@pytest.mark.parametrize(
    "line", ["CONNECT 127.0.0.1:443 HTTP/1.1", "OPTIONS * HTTP/1.1", "POST http://x HTTP/1.1"]
)
async def test_request_targets_no_route_takes_get_no_100_continue_either(
    tmp_path: Path, line: str, expect: str
) -> None:
    async with rig(tmp_path) as r:
        conn = await r.connect()
        head = f"{line}\r\nHost: x\r\n{expect}: 100-continue\r\nContent-Length: 1000\r\n\r\n"
        await conn.send(head.encode())
        answer = await conn.answer()
        assert answer.interim == []
        assert answer.status in (404, 405)
        assert answer.is_json_error
        assert await conn.closed()
        conn.close()


async def test_the_source_checks_come_before_100_continue(tmp_path: Path) -> None:
    limits = {"listener.rate_per_minute": 60, "listener.rate_burst": 1, "listener.rate_exempt": []}
    async with rig(tmp_path, **limits) as r:
        first = await r.exchange(request(length=len(EVENT)) + EVENT)
        assert first.status == 200
        conn = await r.connect()
        await conn.send(request(headers=[("Expect", "100-continue")], length=len(EVENT)))
        answer = await conn.answer()
        assert (answer.status, answer.interim) == (429, [])
        conn.close()


async def test_a_request_that_passes_every_check_gets_100_continue_then_is_stored(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, **AUTH) as r:
        conn = await r.connect()
        headers = [("Expect", "100-continue"), ("Authorization", "Basic " + GOOD)]
        await conn.send(request(headers=headers, length=len(EVENT)))
        interim = await conn.interim_or_answer()
        assert interim.status == 100  # before the body was sent
        await conn.send(EVENT)
        answer = await conn.answer()
        assert answer.status == 200, answer.body
        assert r.rows() == 1
        conn.close()


@pytest.mark.parametrize(
    "expect", ["bogus", "100-continue, bogus", "200-ok", "100-continue=1", "\u00e9t\u00e9"]
)
async def test_an_unknown_expectation_gets_a_json_417_and_nothing_is_stored(
    tmp_path: Path, expect: str
) -> None:
    async with rig(tmp_path) as r:
        raw = request(length=len(EVENT)).replace(
            b"\r\n\r\n", b"\r\nExpect: " + expect.encode() + b"\r\n\r\n"
        )
        answer = await r.exchange(raw + EVENT)
        assert answer.status == 417
        assert answer.is_json_error
        assert answer.interim == []
        health = await r.exchange(
            request("GET", "/healthz").replace(b"\r\n\r\n", b"\r\nExpect: bogus\r\n\r\n")
        )
        assert health.status == 417
        assert health.is_json_error
        assert r.rows() == 0


async def test_expect_100_continue_on_http_1_0_is_ignored_and_the_body_read(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        head = (
            f"POST {HOOK} HTTP/1.0\r\nHost: x\r\nExpect: 100-continue\r\n"
            f"Content-Length: {len(EVENT)}\r\n\r\n"
        ).encode()
        answer = await r.exchange(head + EVENT)
        assert (answer.status, answer.interim) == (200, [])


def test_the_bomb_is_what_the_attack_run_sent() -> None:
    assert len(gzip_bomb()) < 1.1 * MIB  # 1 GiB inflated
    assert zlib.decompress(gzip_bomb(4 * MIB), wbits=31) == bytes(4 * MIB)
