"""Properties of the live listener under arbitrary requests (hypothesis, raw sockets).

One real :class:`Receiver` on 127.0.0.1 with a real SQLite file serves the whole module, on its
own thread and loop, as in the tray app. Requests are written byte by byte on raw sockets, so
methods, paths, headers, ``Content-Length`` that lies either way, chunked bodies and bytes that
are no JSON at all reach the server exactly as generated. For every request:

* no 5xx (there is no fault here that would deserve a deliberate 503);
* the server still answers ``/healthz`` afterwards;
* rows in the database = 2xx answers that were not ``"duplicate": true``, and each such row
  holds exactly the body the server was given.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.ingest.receiver import Receiver

TOKEN = "T0ken-for-property-tests-0123456789abcd"
MAX_BODY = 4096
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Live:
    """The running receiver, its database, and what it has acknowledged so far."""

    port: int
    db: Path
    stored: dict[int, bytes] = field(default_factory=dict)  # id -> body, from 2xx answers
    new_2xx: int = 0  # 2xx answers without "duplicate": true

    def rows(self) -> dict[int, bytes]:
        con = sqlite3.connect(f"{self.db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return {
                int(i): b.encode("utf-8", "surrogatepass")
                for i, b in con.execute("SELECT id, body FROM events")
            }
        finally:
            con.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    paths = Paths.under(tmp_path_factory.mktemp("props") / "home")
    receiver = Receiver(
        settings=Settings(
            {
                "listener.token": TOKEN,
                "listener.port": 0,
                "listener.max_body_bytes": MAX_BODY,
                "listener.read_timeout": 5.0,
            }
        ),
        paths=paths,
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="props-receiver", daemon=True)
    thread.start()
    endpoint = asyncio.run_coroutine_threadsafe(receiver.start(), loop).result(30)

    async def shutdown() -> None:
        await receiver.stop()
        # Handlers of connections the client abandoned mid-request may still be parked.
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    try:
        yield Live(port=endpoint.port, db=paths.database)
    finally:
        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


# ---- a minimal HTTP/1.1 client on a raw socket -------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def exchange(port: int, raw: bytes, *, half_close: bool = False) -> list[Answer]:
    """Send ``raw`` on a new connection, read until the server closes; every answer in it."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            s.sendall(raw)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (413) and closed; its answer is still readable
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    return parse_answers(data)


def parse_answers(data: bytes) -> list[Answer]:
    answers = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"truncated answer: {data[:200]!r}"
        lines = head.decode("latin-1").split("\r\n")
        m = re.fullmatch(r"HTTP/1\.[01] (\d{3}) .*", lines[0])
        assert m, f"not an HTTP status line: {lines[0]!r}"
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        answers.append(Answer(int(m[1]), headers, rest[:length]))
        data = rest[length:]
    return answers


def get_healthz(port: int) -> Answer:
    answers = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert len(answers) == 1
    return answers[0]


# ---- strategies ------------------------------------------------------------------------------

HOLM_KEYS = [
    "finished_scan",
    "scheduled_scan",
    "ticket",
    "Ticket",
    "name",
    "status",
    "critical_cnt",
    "high_cnt",
    "link",
    "url",
    "asset",
    "ipv4",
    "hostname",
    "vulnerability",
    "CVE ID",
    "cvss3",
    "severity",
    "subject",
    "title",
    "errors",
    "started",
    "due_date",
]
keys = st.one_of(st.sampled_from(HOLM_KEYS), st.text(max_size=10))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["https://sc.holmsecurity.com/x", "javascript:alert(1)", "High", "\u202e"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=30,
)
holm_objects = st.one_of(
    st.dictionaries(keys, json_values, max_size=6),
    st.builds(
        lambda kind, fields: {kind: fields},
        st.sampled_from(["finished_scan", "scheduled_scan", "ticket"]),
        st.dictionaries(keys, json_values, max_size=8),
    ),
)
json_bodies = st.builds(
    lambda obj, ascii_: json.dumps(obj, ensure_ascii=ascii_).encode("utf-8", "surrogatepass"),
    holm_objects,
    st.booleans(),
)
bodies = st.one_of(
    json_bodies,
    json_bodies,
    json_bodies,
    st.binary(max_size=600),
    st.builds(lambda b, junk: b + junk, json_bodies, st.binary(min_size=1, max_size=8)),
    st.binary(min_size=MAX_BODY - 8, max_size=MAX_BODY + 64),  # around the cap
)
methods = st.sampled_from(
    ["POST"] * 8 + ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "post", "BREW"]
)
paths = st.one_of(
    *[st.just(f"/hooks/{TOKEN}")] * 6,
    st.just(f"/hooks/{TOKEN}?a=1&b=%ZZ"),
    st.just(f"/hooks/{TOKEN}/"),
    st.just("/hooks/wrong"),
    st.just("/healthz"),
    st.builds(
        lambda s: "/" + s,
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/._~%-", max_size=30),
    ),
)
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "",
        ";;;",
        "application/json\tx",
        "\xe9t\xe9",
    ]
)
token_chars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=40,
)
extra_headers = st.lists(
    st.tuples(
        st.text(alphabet=token_chars, min_size=1, max_size=20).filter(
            lambda n: (
                n.lower()
                not in ("content-length", "transfer-encoding", "connection", "host", "content-type")
            )
        ),
        header_values,
    ),
    max_size=4,
)
framings = st.sampled_from(["length", "length", "chunked", "short", "long", "none"])


@dataclass
class Request:
    raw: bytes
    half_close: bool
    delivered: bytes | None  # the body the server is given, when it is given one whole


@st.composite
def requests(draw: st.DrawFn) -> Request:
    method = draw(methods)
    body = draw(bodies)
    framing = draw(framings)
    lines = [f"{method} {draw(paths)} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    ctype = draw(content_types)
    if ctype is not None:
        lines.append(f"Content-Type: {ctype}")
    lines += [f"{n}: {v}" for n, v in draw(extra_headers)]
    payload, half_close, delivered = body, False, body
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}")
    elif framing == "short":  # the rest arrives as the start of a next request
        cut = draw(st.integers(min_value=0, max_value=len(body)))
        lines.append(f"Content-Length: {cut}")
        delivered = body[:cut]
    elif framing == "long":  # promises more than it sends, then stops sending
        lines.append(f"Content-Length: {len(body) + draw(st.integers(1, 100))}")
        half_close, delivered = True, None
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=5)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p) + b"0\r\n\r\n"
    else:  # no length, no chunks: HTTP/1.1 says there is no body
        delivered = b""
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return Request(head + payload, half_close, delivered)


# ---- the properties --------------------------------------------------------------------------


def check(live: Live, request: Request) -> None:
    answers = exchange(live.port, request.raw, half_close=request.half_close)
    if not request.half_close:
        assert answers, "the server closed without answering"
    for a in answers:
        assert a.status < 500, (a.status, a.body[:300])
        # aiohttp's own HTTP parser answers what never reaches the app (a lowercase method, a
        # broken header) in plain text; everything the app answers is JSON.
        if (
            a.status >= 400
            and a.body
            and a.headers.get("content-type", "").startswith("application/json")
        ):
            assert "error" in json.loads(a.body)
    first = answers[0] if answers else None
    event(f"answer {first.status if first else 'none (client stopped sending)'}")
    if first is not None and 200 <= first.status < 300 and b"/hooks/" in request.raw[:200]:
        answer = json.loads(first.body)
        if not answer.get("duplicate"):
            assert request.delivered is not None
            live.new_2xx += 1
            live.stored[int(answer["id"])] = request.delivered
    assert get_healthz(live.port).status == 200
    rows = live.rows()
    assert len(rows) == live.new_2xx
    assert rows == live.stored  # each row holds exactly the body that was acknowledged


@SETTINGS
@given(request=requests())
def test_any_request_gets_no_5xx_and_every_new_2xx_is_exactly_one_stored_row(
    live: Live, request: Request
) -> None:
    check(live, request)


@SETTINGS
@given(body=json_bodies, framing=st.sampled_from(["length", "chunked"]))
def test_holm_shaped_json_is_stored_once_verbatim_or_refused_with_a_4xx(
    live: Live, body: bytes, framing: str
) -> None:
    head = f"POST /hooks/{TOKEN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    head += "Content-Type: application/json\r\n"
    if framing == "length":
        raw = (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    else:
        raw = (head + "Transfer-Encoding: chunked\r\n\r\n").encode()
        raw += b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
    before = len(live.stored)
    check(live, Request(raw, False, body))
    if len(body) <= MAX_BODY:
        assert len(live.stored) - before in (0, 1)
        answers = exchange(live.port, raw)  # the same body again: a duplicate, no new row
        assert answers[0].status == 200, answers[0]
        assert json.loads(answers[0].body).get("duplicate") is True
        assert len(live.rows()) == live.new_2xx
