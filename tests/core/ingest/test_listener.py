"""The HTTP contract of the listener, over real loopback HTTP against a real store."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.history.writer import GroupCommitWriter
from holmtray.core.ingest.listener import ListenerConfig, create_app
from holmtray.core.ingest.receiver import Receiver
from holmtray.core.ingest.rejected import RejectedLog

TOKEN = "T0ken-for-tests-0123456789abcdefghijkl"
HOLM_HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "python-requests/2.8.1",
    "Accept": "*/*",
    "Content_Type": "application/json",  # the odd duplicate an old vendor page lists
}
FINISHED = {
    "finished_scan": {
        "name": "Daily scan",
        "status": "Completed",
        "critical_cnt": 1,
        "link": "https://sc.holmsecurity.com/scans/view/123",
    }
}


class Rig:
    """A running receiver plus helpers to post to it and count its rows."""

    def __init__(self, receiver: Receiver, paths: Paths, session: aiohttp.ClientSession) -> None:
        self.receiver = receiver
        self.paths = paths
        self.session = session
        self.base = receiver.endpoint.local_url()
        self.hook = f"{self.base}/hooks/{TOKEN}"

    async def post(
        self, body: bytes | str | dict[str, object], *, url: str | None = None, **kw: object
    ) -> tuple[int, dict[str, object], aiohttp.ClientResponse]:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        headers = kw.pop("headers", HOLM_HEADERS)
        async with self.session.post(url or self.hook, data=data, headers=headers, **kw) as r:  # type: ignore[arg-type]
            text = await r.text()
            return r.status, json.loads(text), r

    def rows(self) -> int:
        con = sqlite3.connect(self.paths.database)
        try:
            return int(con.execute("SELECT count(*) FROM events").fetchone()[0])
        finally:
            con.close()


async def _rig(tmp_path: Path, **overrides: object) -> AsyncIterator[Rig]:
    paths = Paths.under(tmp_path / "home")
    values: dict[str, object] = {"listener.token": TOKEN, "listener.port": 0}
    values.update(overrides)
    receiver = Receiver(settings=Settings(values), paths=paths)
    await receiver.start()
    async with aiohttp.ClientSession() as session:
        yield Rig(receiver, paths, session)
    await receiver.stop()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for r in _rig(tmp_path, **{"listener.max_body_bytes": 4096}):
        yield r


@pytest.fixture
async def auth_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for r in _rig(tmp_path, **{"listener.username": "holm", "listener.password": "pässword"}):
        yield r


async def test_valid_event_is_answered_200_with_its_id_after_the_row_is_committed(rig: Rig) -> None:
    status, body, _ = await rig.post(FINISHED)
    assert status == 200
    assert isinstance(body["id"], int)
    assert "duplicate" not in body
    # Visible from a separate connection the moment the answer arrives: it was committed.
    con = sqlite3.connect(rig.paths.database)
    row = con.execute("SELECT kind, body FROM events WHERE id = ?", (body["id"],)).fetchone()
    con.close()
    assert row[0] == "finished_scan"
    assert json.loads(row[1]) == FINISHED


async def test_body_is_stored_verbatim_byte_for_byte(rig: Rig) -> None:
    raw = '{ "subject" : "spacing  kept\\u00e9",\n "x": [1, 2.50] }'
    status, body, _ = await rig.post(raw)
    assert status == 200
    con = sqlite3.connect(rig.paths.database)
    (stored,) = con.execute("SELECT body FROM events WHERE id = ?", (body["id"],)).fetchone()
    con.close()
    assert stored == raw


async def test_identical_body_within_ten_minutes_is_a_duplicate_with_the_original_id(
    rig: Rig,
) -> None:
    _, first, _ = await rig.post(FINISHED)
    status, second, _ = await rig.post(FINISHED)
    assert status == 200
    assert second == {"id": first["id"], "duplicate": True}
    assert rig.rows() == 1


async def test_body_without_content_type_is_accepted(rig: Rig) -> None:
    status, body, _ = await rig.post(FINISHED, headers={})
    assert status == 200
    assert body["id"]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"{not json", "JSON"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[1, 2, 3]", "object"),
        (b'"just a string"', "object"),
        (b"null", "object"),
        (b"", "empty"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "deep"),
        (b"[" * 4000, "deep"),
    ],
)
async def test_bad_body_gets_400_with_a_json_error_and_adds_no_row(
    rig: Rig, raw: bytes, needle: str
) -> None:
    status, body, r = await rig.post(raw)
    assert status == 400
    assert r.content_type == "application/json"
    assert needle.lower() in str(body["error"]).lower()
    assert rig.rows() == 0


async def test_wrong_token_and_unknown_path_get_the_same_404_and_nothing_is_echoed(
    rig: Rig,
) -> None:
    wrong = "W" * len(TOKEN)
    s1, b1, _ = await rig.post(FINISHED, url=f"{rig.base}/hooks/{wrong}")
    s2, b2, _ = await rig.post(FINISHED, url=f"{rig.base}/elsewhere/{wrong}")
    s3, b3, _ = await rig.post(FINISHED, url=f"{rig.base}/hooks/{TOKEN}x")
    assert s1 == s2 == s3 == 404
    assert b1 == b2 == b3 == {"error": "not found"}
    assert rig.rows() == 0


async def test_wrong_method_gets_405(rig: Rig) -> None:
    async with rig.session.get(rig.hook) as r:
        assert r.status == 405
        assert "error" in await r.json()
        assert "POST" in r.headers.get("Allow", "")
    async with rig.session.put(rig.hook, data=b"{}") as r:
        assert r.status == 405
    assert rig.rows() == 0


async def test_body_over_the_cap_gets_413_whether_declared_or_streamed(rig: Rig) -> None:
    big = json.dumps({"text": "x" * 5000}).encode()
    status, body, _ = await rig.post(big)
    assert status == 413
    assert "4096" in str(body["error"])

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to trust
        for _ in range(10):
            yield b" " * 1000
        yield b"{}"

    status, body, _ = await rig.post(chunks())  # type: ignore[arg-type]
    assert status == 413
    assert rig.rows() == 0


async def test_body_at_the_cap_is_accepted(rig: Rig) -> None:
    body = json.dumps({"text": ""}).encode()
    padded = body[:-1] + b" " * (4096 - len(body)) + b"}"
    assert len(padded) == 4096
    status, _, _ = await rig.post(padded)
    assert status == 200


@pytest.mark.parametrize(
    "ctype", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
async def test_form_and_multipart_bodies_get_415(rig: Rig, ctype: str) -> None:
    status, body, _ = await rig.post(b"a=1", headers={"Content-Type": ctype})
    assert status == 415
    assert "JSON" in str(body["error"])
    assert rig.rows() == 0


async def test_healthz_says_ok_and_nothing_secret(rig: Rig) -> None:
    async with rig.session.get(f"{rig.base}/healthz") as r:
        assert r.status == 200
        text = await r.text()
    assert json.loads(text) == {"status": "ok"}
    assert TOKEN not in text


async def test_rejections_are_logged_without_token_or_body(rig: Rig) -> None:
    await rig.post(b"{broken secret-body", url=rig.hook)
    await rig.post(FINISHED, url=f"{rig.base}/hooks/{TOKEN[:-1]}")
    entries = RejectedLog(rig.paths.rejected_log).newest(10)
    assert [e.status for e in entries] == [404, 400]
    raw = rig.paths.rejected_log.read_text()
    assert TOKEN not in raw
    assert TOKEN[:-1] not in raw
    assert "secret-body" not in raw
    assert entries[1].path == "/hooks/***"
    assert entries[1].remote == "127.0.0.1"


async def test_basic_credentials_are_required_when_configured(auth_rig: Rig) -> None:
    status, body, r = await auth_rig.post(FINISHED)
    assert body == {"error": "authentication required"}
    assert status == 401
    assert "Basic" in r.headers["WWW-Authenticate"]
    bad = base64.b64encode(b"holm:wrong").decode()
    status, _, _ = await auth_rig.post(
        FINISHED, headers={**HOLM_HEADERS, "Authorization": f"Basic {bad}"}
    )
    assert status == 401
    assert auth_rig.rows() == 0
    good = base64.b64encode("holm:pässword".encode()).decode()
    status, _, _ = await auth_rig.post(
        FINISHED, headers={**HOLM_HEADERS, "Authorization": f"Basic {good}"}
    )
    assert status == 200
    assert auth_rig.rows() == 1


async def test_credentials_in_the_url_work_as_python_requests_sends_them(auth_rig: Rig) -> None:
    url = auth_rig.hook.replace("http://", "http://holm:p%C3%A4ssword@")
    status, _, _ = await auth_rig.post(FINISHED, url=url)
    assert status == 200


async def test_store_that_cannot_commit_gets_503_and_no_2xx(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    writer = GroupCommitWriter(store_path=db, busy_timeout_s=0.2)
    await writer.start()
    app = create_app(
        config=ListenerConfig(token=TOKEN),
        ingest=writer.submit,
        rejected=RejectedLog(tmp_path / "rejected.jsonl"),
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"http://127.0.0.1:{port}/hooks/{TOKEN}", json=FINISHED) as r,
        ):
            assert r.status == 503
            assert "cannot store" in (await r.json())["error"]
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}/hooks/{TOKEN}", json=FINISHED) as r,
    ):
        assert r.status == 200  # recovered without a restart once the lock is gone
    await runner.cleanup()
    await writer.close()


async def test_concurrent_posts_all_get_distinct_ids_and_rows(rig: Rig) -> None:
    bodies = [{"subject": f"event {i}"} for i in range(100)]
    results = await asyncio.gather(*(rig.post(b) for b in bodies))
    ids = {r[1]["id"] for r in results}
    assert all(r[0] == 200 for r in results)
    assert len(ids) == 100
    assert rig.rows() == 100


async def test_new_token_applies_without_restart_and_old_one_is_refused(rig: Rig) -> None:
    new = "N" * 43
    await rig.receiver.apply_settings(
        Settings({"listener.token": new, "listener.port": 0, "listener.max_body_bytes": 4096})
    )
    status, _, _ = await rig.post(FINISHED)
    assert status == 404
    status, _, _ = await rig.post(FINISHED, url=f"{rig.base}/hooks/{new}")
    assert status == 200


async def test_latin1_encoded_credentials_from_python_requests_are_accepted(auth_rig: Rig) -> None:
    latin1 = base64.b64encode("holm:pässword".encode("latin-1")).decode()
    status, _, _ = await auth_rig.post(
        FINISHED, headers={**HOLM_HEADERS, "Authorization": f"Basic {latin1}"}
    )
    assert status == 200
