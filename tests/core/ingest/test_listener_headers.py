"""No header produces a 500: every header is untrusted input, answered 4xx with a JSON error.

The attack run's inputs (a non-ASCII ``Authorization: Basic`` value; a non-UTF-8
``X-Forwarded-For`` from a trusted proxy), then variants of them in every header the listener
reads, then arbitrary bytes in any header (hypothesis). Each time: no 5xx, a JSON error, the
rejected-requests log still readable, and no traceback or ERROR in the log. The HTTP fuzzer
(``tests/fuzz/fuzz_http.py``) goes on from here at random.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.ingest.wire import Answer, Rig, request, rig

AUTH = {"listener.username": "holm", "listener.password": "p\u00e4ssword"}
PROXIED = {"listener.trusted_proxies": ["127.0.0.1"]}
GOOD = b"Basic " + base64.b64encode("holm:p\u00e4ssword".encode())
EVENT = json.dumps({"finished_scan": {"name": "Daily scan", "status": "Completed"}}).encode()


def _with(
    header: bytes, value: bytes, *, auth: bytes | None = GOOD, path: str | None = None
) -> bytes:
    extra = [header + b": " + value]
    if auth is not None and header.lower() != b"authorization":
        extra.append(b"Authorization: " + auth)
    head = request(raw_headers=extra, length=len(EVENT), **({"path": path} if path else {}))
    return head + EVENT


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert bad == [], [f"{r.name}: {r.getMessage()}" for r in bad]


def _readable_rejections(r: Rig) -> None:
    for entry in r.rejections():  # every line still parses
        assert entry.remote.isascii(), entry.remote
        assert entry.remote.isprintable(), entry.remote


def _ok_or_json_4xx(answer: Answer) -> None:
    assert answer.status < 500 or (answer.status == 503 and "retry-after" in answer.headers), (
        answer.status,
        answer.body[:200],
    )
    if answer.status >= 400:
        assert answer.is_json_error, answer.body[:200]


BASIC_VALUES = [
    "Basic \u00e4".encode(),  # the attack run's: UTF-8 bytes of a non-ASCII character
    b"Basic \xe4",  # the same in Latin-1
    b"Basic \xff\xfe",
    b"Basic \xed\xa0\x80",  # an encoded surrogate
    b"Basic \xef\xbc\x91\xef\xbc\x92\xef\xbc\x93",  # full-width digits
    b"Basic aG9sbTpw\xc3\xa4c3N3b3Jk",  # base64 with a non-ASCII character inside
    b"Basic " + base64.b64encode(b"\xff\xfe:\x80"),  # credentials that are not UTF-8
    b"Basic " + base64.b64encode(b"holm"),  # no colon
    b"Basic ====",
    b"Basic",
    b"Basic \t",
    b"\xc3\xa4 \xc3\xa4",
    b"Bearer \xff",
    b"Basic " + b"\xc3\xa4" * 2000,
]


@pytest.mark.parametrize("value", BASIC_VALUES)
async def test_a_non_ascii_basic_authorization_gets_401_json_not_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, value: bytes
) -> None:
    async with rig(tmp_path, **AUTH) as r:
        answer = await r.exchange(_with(b"Authorization", value))
        assert answer.status == 401, answer.body
        assert answer.is_json_error
        assert "www-authenticate" in answer.headers
        assert r.rows() == 0
    _no_errors_logged(caplog)


XFF_VALUES = [
    b"\xff\xfe1.2.3.4",  # the attack run's: bytes that are not UTF-8
    b"1.2.3.4\xc3",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"1.2.3.4, \xff",
    b"\xff, 1.2.3.4",
    b"[\xff]:80",
    b"1.2.3.4:\xff",
    b"::ffff:\xff",
    "\u00e9".encode(),
    b"\xe2\x80\xae1.2.3.4",  # a right-to-left override
    b"\x80" * 500,
]


@pytest.mark.parametrize("value", XFF_VALUES)
@pytest.mark.parametrize(
    ("settings", "path", "expected"),
    [
        ({}, None, {200}),
        ({"listener.allow_from": ["10.0.0.0/8"]}, None, {403}),
        ({}, "/hooks/wrong", {404}),
        ({"listener.rate_per_minute": 60, "listener.rate_burst": 1}, None, {200, 429}),
        (AUTH, None, {200}),
    ],
)
async def test_a_non_utf8_x_forwarded_for_from_a_trusted_proxy_is_never_a_500(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    value: bytes,
    settings: dict[str, object],
    path: str | None,
    expected: set[int],
) -> None:
    caplog.set_level(logging.INFO)
    async with rig(tmp_path, **PROXIED, **settings) as r:
        for _ in range(2):
            answer = await r.exchange(_with(b"X-Forwarded-For", value, path=path))
            _ok_or_json_4xx(answer)
            assert answer.status in expected, (answer.status, answer.body)
        _readable_rejections(r)
        if 200 not in expected:
            assert r.rejections(), "the rejection was not recorded"
    _no_errors_logged(caplog)
    for rec in caplog.records:
        rec.getMessage().encode("utf-8")  # every line can be written to a UTF-8 log file


ODD_VALUES = [b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", "\u00e4\u202e".encode(), b"\x80" * 300, b""]
HEADERS = [
    b"Content-Type",
    b"Content-Encoding",
    b"Expect",
    b"Host",
    b"User-Agent",
    b"Accept",
    b"Connection",
    b"Upgrade",
    b"X-Forwarded-For",
    b"Authorization",
    b"X-\xc3\xa4",
]


@pytest.mark.parametrize("header", HEADERS)
async def test_bytes_that_are_not_utf8_in_any_header_get_no_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, header: bytes
) -> None:
    async with rig(tmp_path, **AUTH, **PROXIED) as r:
        for value in ODD_VALUES:
            answer = await r.exchange(_with(header, value))
            _ok_or_json_4xx(answer)
        _readable_rejections(r)
    _no_errors_logged(caplog)


# --------------------------------------------------------------------------- any bytes


@pytest.fixture(scope="module")
def threaded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Rig, asyncio.AbstractEventLoop]]:
    """One receiver for the module on its own thread and loop, as in the tray app."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="headers-receiver", daemon=True)
    thread.start()
    context = rig(
        tmp_path_factory.mktemp("headers"), **AUTH, **PROXIED, **{"listener.read_timeout": 2.0}
    )
    running = asyncio.run_coroutine_threadsafe(context.__aenter__(), loop).result(30)
    try:
        yield running, loop
    finally:
        asyncio.run_coroutine_threadsafe(context.__aexit__(None, None, None), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.one_of(st.sampled_from(HEADERS), st.binary(min_size=1, max_size=12)),
    value=st.binary(max_size=200),
    auth=st.sampled_from([GOOD, None, b"Basic \xff"]),
)
def test_any_bytes_in_any_header_get_an_answer_that_is_not_a_500(
    threaded: tuple[Rig, asyncio.AbstractEventLoop],
    caplog: pytest.LogCaptureFixture,
    name: bytes,
    value: bytes,
    auth: bytes | None,
) -> None:
    r, loop = threaded
    raw = _with(name, value, auth=auth)
    answer = asyncio.run_coroutine_threadsafe(r.exchange(raw), loop).result(30)
    _ok_or_json_4xx(answer)
    _no_errors_logged(caplog)
