"""`holmtray serve` and the command line, as a user runs them: real processes, real HTTP."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sqlite3
import tomllib
from pathlib import Path

import aiohttp
import pytest

from holmtray import __version__
from tests.conftest import SAMPLES
from tests.load import hammer
from tests.procs import Proc, run_cli


def _token(home: Path) -> str:
    cfg = tomllib.loads((home / "config" / "holmtray.toml").read_text())
    return str(cfg["listener"]["token"])


@pytest.fixture
def serve(tmp_path: Path):  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    proc = Proc(home, "serve", "--port", "0")
    proc.port()
    yield proc
    if proc.popen.poll() is None:
        proc.kill()


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    r = run_cli(tmp_path, "--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"holmtray {__version__}"


def test_serve_send_test_then_events_shows_the_event(serve: Proc) -> None:
    home = serve.home
    r = run_cli(home, "send-test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "HTTP 200" in r.stdout
    assert _token(home) not in r.stdout  # the token is masked in what it prints

    r = run_cli(home, "send-test", "--kind", "ticket")
    assert r.returncode == 0, r.stdout

    r = run_cli(home, "events", "--json")
    assert r.returncode == 0, r.stderr
    events = json.loads(r.stdout)
    assert [e["kind"] for e in events] == ["ticket", "finished_scan"]
    scan = events[1]
    assert scan["severity"] == "critical"
    assert scan["read"] is False
    assert scan["attention"] is False
    assert scan["link"] == "https://sc.holmsecurity.com/scans/view/123"
    assert scan["payload"]["finished_scan"]["name"] == "holmtray test scan"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*\+00:00$", scan["received_at"])
    assert events[0]["severity"] == "high"
    assert events[0]["id"] > scan["id"]


def test_serve_log_never_contains_the_token(serve: Proc) -> None:
    home = serve.home
    token = _token(home)
    run_cli(home, "send-test")
    run_cli(home, "send-test", "--url", f"http://127.0.0.1:{serve.port()}/hooks/{token}x")
    assert serve.stop() == 0
    for text in [serve.output(), *(p.read_text() for p in (home / "logs").glob("*"))]:
        assert token not in text


def test_url_prints_the_full_webhook_url_on_its_last_line(serve: Proc) -> None:
    r = run_cli(serve.home, "url")
    assert r.returncode == 0
    last = r.stdout.strip().splitlines()[-1]
    assert last == f"http://127.0.0.1:{serve.port()}/hooks/{_token(serve.home)}"
    assert "reverse proxy" in r.stdout  # the reachability caveat is said where it is copied


def test_every_sample_is_stored_with_title_severity_and_link(serve: Proc) -> None:
    url = f"http://127.0.0.1:{serve.port()}/hooks/{_token(serve.home)}"

    async def post_all() -> list[int]:
        statuses = []
        async with aiohttp.ClientSession() as s:
            for f in sorted(SAMPLES.glob("*.json")):
                async with s.post(
                    url,
                    data=f.read_bytes(),
                    headers={
                        "Content-Type": "application/json",
                        "User-Agent": "python-requests/2.8.1",
                    },
                ) as r:
                    statuses.append(r.status)
        return statuses

    assert asyncio.run(post_all()) == [200] * 6
    events = json.loads(run_cli(serve.home, "events", "--json", "--limit", "0").stdout)
    assert len(events) == 6
    for e in events:
        assert e["title"].strip()
        assert e["severity"] in ("critical", "high", "medium", "low", "info")
        assert e["link"].startswith("https://sc.holmsecurity.com/")
    by_title = {e["title"]: e for e in events}
    assert by_title["Daily scan finished"]["severity"] == "critical"


def test_events_filters_search_kind_unread_and_limit(serve: Proc) -> None:
    home = serve.home
    for kind in ("finished_scan", "ticket", "custom", "scheduled_scan"):
        assert run_cli(home, "send-test", "--kind", kind).returncode == 0

    def ev(*args: str) -> list[dict[str, object]]:
        r = run_cli(home, "events", "--json", *args)
        assert r.returncode == 0, r.stderr
        return list(json.loads(r.stdout))

    assert len(ev("--limit", "0")) == 4
    assert len(ev("--limit", "2")) == 2
    assert [e["kind"] for e in ev("--kind", "ticket")] == ["ticket"]
    found = ev("--search", "terrapin")
    assert [e["kind"] for e in found] == ["ticket"]
    assert len(ev("--unread")) == 4
    plain = run_cli(home, "events")
    assert "OpenSSH" in plain.stdout


def test_rejected_lists_refused_requests_without_the_token(serve: Proc) -> None:
    home = serve.home
    base = f"http://127.0.0.1:{serve.port()}"
    token = _token(home)

    async def bad() -> None:
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{base}/hooks/{token}", data=b"nope") as r:
                assert r.status == 400
            async with s.post(f"{base}/hooks/guess", data=b"{}") as r:
                assert r.status == 404

    asyncio.run(bad())
    r = run_cli(home, "rejected")
    assert r.returncode == 0
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2
    assert " 404 " in lines[0]
    assert " 400 " in lines[1]
    assert token not in r.stdout
    data = json.loads(run_cli(home, "rejected", "--json").stdout)
    assert [d["status"] for d in data] == [404, 400]


def test_sigterm_answers_and_exits_zero(serve: Proc) -> None:
    assert serve.stop() == 0
    assert "receiver stopped" in serve.output()


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_cli(tmp_path / "home", "serve", "--port", str(port), timeout=30)
    assert r.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in r.stderr


def test_invalid_config_names_key_and_exits_2(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "holmtray.toml").write_text("[listener]\nport = 99999\n")
    r = run_cli(home, "serve")
    assert r.returncode == 2
    assert "listener.port" in r.stderr
    assert "99999" in r.stderr


def test_bad_port_argument_is_refused(tmp_path: Path) -> None:
    r = run_cli(tmp_path / "home", "serve", "--port", "70000")
    assert r.returncode == 2
    assert "listener.port" in r.stderr


def test_send_test_without_a_listener_says_so(tmp_path: Path) -> None:
    r = run_cli(tmp_path / "home", "send-test", "--url", "http://127.0.0.1:9/hooks/x")
    assert r.returncode == 1
    assert "could not reach" in r.stdout


async def _post_then_kill(proc: Proc, url: str, ledger: list[int], *, after: int) -> None:
    """8 clients post; once ``after`` are acknowledged the server gets SIGKILL mid-stream."""
    stop = asyncio.Event()
    task = asyncio.create_task(hammer(url, 8, ledger, stop))
    while len(ledger) < after:
        await asyncio.sleep(0.01)
    proc.popen.kill()
    await task


@pytest.mark.slow
def test_kill_9_during_posts_loses_no_acknowledged_event(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for round_ in range(3):
        proc = Proc(home, "serve", "--port", "0")
        port = proc.port()
        url = f"http://127.0.0.1:{port}/hooks/{_token(home)}"
        ledger: list[int] = []
        asyncio.run(_post_then_kill(proc, url, ledger, after=50 + 100 * round_))
        proc.kill()
        assert ledger, "no request was acknowledged before the kill"
        con = sqlite3.connect(home / "data" / "events.db")
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            stored = {r[0] for r in con.execute("SELECT id FROM events")}
        finally:
            con.close()
        missing = set(ledger) - stored
        assert not missing, f"round {round_}: {len(missing)} acknowledged events lost"
