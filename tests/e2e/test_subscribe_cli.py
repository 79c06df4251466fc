"""`holmtray subscribe`, `holmtray config get|set` and `holmtray events` in relay mode, as a
user runs them: real processes, the test relay over loopback HTTP(S)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from datetime import datetime
from pathlib import Path

import pytest

from holmtray.core.parsing.decode import decode_body
from holmtray.core.parsing.parser import parse_event
from holmtray.core.subscribe.client import RelayClient
from tests.core.ingest.test_listener_hardening import Pki, pki  # noqa: F401 - a fixture
from tests.core.subscribe.subscribing import (
    Owner,
    running,
    serve_https_relay,
    serve_relay,
    settings_for,
    until,
)
from tests.procs import holmtray_env, run_cli
from tests.relaystub import OTHER_TOKEN, TOKEN, TestRelay

relay_fixture = pytest.fixture(name="relay")(serve_relay)
https_relay_fixture = pytest.fixture(name="https_relay")(serve_https_relay)


async def _holmtray(
    home: Path, *args: str, token: str | None = TOKEN, **extra: str
) -> asyncio.subprocess.Process:
    env = holmtray_env(home, **extra)
    env.pop("HOLMTRAY_RELAY_TOKEN", None)
    if token is not None:
        env["HOLMTRAY_RELAY_TOKEN"] = token
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "holmtray",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _finish(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _line(proc: asyncio.subprocess.Process) -> dict[str, object]:
    assert proc.stdout is not None
    raw = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert raw, "the process ended"
    value = json.loads(raw)
    assert isinstance(value, dict)
    return value


# ---- subscribe ------------------------------------------------------------------------------


async def test_subscribe_once_prints_every_event_in_id_order_then_exits_0(
    relay: TestRelay, tmp_path: Path
) -> None:
    relay.add(30)
    code, out, err = await _finish(
        await _holmtray(tmp_path / "home", "subscribe", relay.url, "--after", "0", "--once")
    )
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [e["id"] for e in lines] == list(range(1, 31))
    first = lines[0]
    assert set(first) == {"id", "received_at", "kind", "severity", "title", "link"}
    for line, entry in zip(lines, relay.all_entries(), strict=True):
        event = parse_event(decode_body(entry.body.encode()))
        assert line["kind"] == event.kind.value
        assert line["severity"] == event.severity.word
        assert line["title"] == event.title
        assert line["link"] == event.link
        assert datetime.fromisoformat(str(line["received_at"])) == entry.received_at
    scans = [e for e in lines if e["kind"] == "finished_scan"]
    assert scans
    assert scans[0]["link"] == "https://sc.holmsecurity.com/scans/view/123"
    assert scans[0]["severity"] == "critical"
    assert TOKEN not in out + err
    # It asked with the token in the header only.
    assert relay.requests[-1]["Authorization"] == f"Bearer {TOKEN}"


async def test_subscribe_follows_new_events_and_resumes_by_the_last_id_printed(
    relay: TestRelay, tmp_path: Path
) -> None:
    relay.add(5)  # before it starts: not printed (no --after: new events only)
    proc = await _holmtray(tmp_path / "home", "subscribe", relay.url)
    try:
        await until(lambda: relay.subscribers == 1, "subscribed")
        relay.add(3)
        assert [(await _line(proc))["id"] for _ in range(3)] == [6, 7, 8]
        relay.cut()  # the stream drops
        relay.add(2)  # while it is away
        assert [(await _line(proc))["id"] for _ in range(2)] == [9, 10]
        assert relay.requests[-1]["Last-Event-ID"] == "8"
        await until(lambda: relay.subscribers == 1, "resubscribed")
        relay.add(1)
        assert (await _line(proc))["id"] == 11
    finally:
        proc.terminate()
        code, out, err = await _finish(proc)
    assert code == 0, err
    assert out == ""  # nothing more, nothing twice


async def test_subscribe_reads_the_token_from_a_file(relay: TestRelay, tmp_path: Path) -> None:
    relay.add(2)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    code, out, err = await _finish(
        await _holmtray(
            tmp_path / "home",
            "subscribe",
            relay.url,
            "--after",
            "0",
            "--once",
            "--token-file",
            str(token_file),
            token=None,
        )
    )
    assert code == 0, err
    assert len(out.splitlines()) == 2


@pytest.mark.parametrize(
    ("token", "args", "code", "words"),
    [
        (OTHER_TOKEN, [], 1, "the relay refused the read token"),
        (None, [], 2, "HOLMTRAY_RELAY_TOKEN"),
        ("htr_not-a-token", [], 2, "is not a read token"),
        (TOKEN, ["--after", "99"], 1, "--after 99 is beyond the relay's last event (3)"),
        (TOKEN, ["--after", "-1"], 2, "--after must be 0 or more"),
    ],
    ids=["refused", "no-token", "bad-token", "after-too-far", "after-negative"],
)
async def test_subscribe_errors_name_the_problem(
    relay: TestRelay,
    tmp_path: Path,
    token: str | None,
    args: list[str],
    code: int,
    words: str,
) -> None:
    relay.add(3)
    got, out, err = await _finish(
        await _holmtray(tmp_path / "home", "subscribe", relay.url, "--once", *args, token=token)
    )
    assert got == code
    assert words in err
    assert out == ""
    assert "htr_not-a-token" not in err
    assert TOKEN not in err
    assert OTHER_TOKEN not in err


async def test_subscribe_to_a_closed_port_says_connection_refused(tmp_path: Path) -> None:
    code, _, err = await _finish(
        await _holmtray(tmp_path / "home", "subscribe", "http://127.0.0.1:9", "--once")
    )
    assert code == 1
    assert "connection refused by 127.0.0.1:9" in err


async def test_subscribe_refuses_plain_http_to_another_computer(tmp_path: Path) -> None:
    code, _, err = await _finish(
        await _holmtray(tmp_path / "home", "subscribe", "http://relay.example.org", "--once")
    )
    assert code == 2
    assert "plain HTTP to another computer" in err


async def test_subscribe_over_https_fails_clearly_without_the_ca_and_works_with_it(
    https_relay: TestRelay,
    pki: Pki,  # noqa: F811
    tmp_path: Path,
) -> None:
    https_relay.add(2)
    home = tmp_path / "home"
    args = ("subscribe", https_relay.url, "--after", "0", "--once")
    code, _, err = await _finish(await _holmtray(home, *args))
    assert code == 1
    assert "TLS certificate of 127.0.0.1" in err
    assert https_relay.requests == []
    assert run_cli(home, "config", "set", "subscribe.ca_file", str(pki.ca)).returncode == 0
    code, out, err = await _finish(await _holmtray(home, *args))
    assert code == 0, err
    assert len(out.splitlines()) == 2


# ---- config get / set -----------------------------------------------------------------------


def test_config_set_and_get_read_values_per_type(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = run_cli(
        home, "config", "set", "subscribe.urls", "https://a.example.org, https://b.example.org"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == 'subscribe.urls = ["https://a.example.org", "https://b.example.org"]'
    r = run_cli(home, "config", "get", "subscribe.urls")
    assert json.loads(r.stdout) == ["https://a.example.org", "https://b.example.org"]
    assert (
        run_cli(home, "config", "set", "subscribe.urls", '["https://c.example.org"]').returncode
        == 0
    )
    assert json.loads(run_cli(home, "config", "get", "subscribe.urls").stdout) == [
        "https://c.example.org"
    ]
    assert run_cli(home, "config", "set", "relay.enabled", "true").returncode == 0
    assert run_cli(home, "config", "get", "relay.enabled").stdout.strip() == "true"
    assert run_cli(home, "config", "set", "relay.ping_interval", "15").returncode == 0
    assert run_cli(home, "config", "get", "relay.ping_interval").stdout.strip() == "15.0"
    assert run_cli(home, "config", "set", "source.mode", "relay").returncode == 0
    assert run_cli(home, "config", "get", "source.mode").stdout.strip() == "relay"
    mode = stat.S_IMODE(os.stat(home / "config" / "holmtray.toml").st_mode)
    assert mode == 0o600


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        (
            "relay.max_subscribers",
            "many",
            "'many' for setting 'relay.max_subscribers': expected a whole number from 1 to 100000",
        ),
        ("relay.max_subscribers", "0", "expected a whole number from 1 to 100000"),
        ("relay.enabled", "maybe", "expected true or false"),
        ("source.mode", "carrier-pigeon", "expected one of direct, relay"),
        ("subscribe.urls", "ftp://x.example.org", "not an http:// or https:// address"),
        ("subscribe.urls", "http://relay.example.org", "plain HTTP to another computer"),
        ("no.such", "1", "unknown setting 'no.such'"),
    ],
)
def test_config_set_refuses_bad_values_naming_key_value_and_what_is_allowed(
    tmp_path: Path, key: str, value: str, words: str
) -> None:
    home = tmp_path / "home"
    r = run_cli(home, "config", "set", key, value)
    assert r.returncode == 2
    assert words in r.stderr
    assert r.stdout == ""


def test_config_secrets_are_never_echoed_unless_revealed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = run_cli(home, "config", "set", "subscribe.token", TOKEN)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "subscribe.token = ********"
    assert run_cli(home, "config", "get", "subscribe.token").stdout.strip() == "********"
    assert run_cli(home, "config", "get", "subscribe.token", "--reveal").stdout.strip() == TOKEN
    r = run_cli(home, "config", "set", "subscribe.token", "htr_secret-but-malformed")
    assert r.returncode == 2
    assert "htr_secret-but-malformed" not in r.stderr + r.stdout
    assert "setting 'subscribe.token'" in r.stderr
    r = run_cli(home, "config", "get", "listener.token")
    assert r.stdout.strip() == "********"


def test_config_set_mends_a_file_with_one_bad_value(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "holmtray.toml").write_text("[listener]\nport = 99999\n")
    assert run_cli(home, "events").returncode == 2  # the broken file stops other commands
    r = run_cli(home, "config", "get", "listener.port")
    assert r.returncode == 2
    assert "99999" in r.stderr
    assert run_cli(home, "config", "set", "listener.port", "8800").returncode == 0
    assert run_cli(home, "config", "get", "listener.port").stdout.strip() == "8800"
    assert run_cli(home, "events").returncode == 0


# ---- events read the active source ---------------------------------------------------------


async def test_events_in_relay_mode_read_the_mirror_named_by_the_subscription(
    relay: TestRelay, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "config", "set", "source.mode", "relay").returncode == 0
    r = run_cli(home, "events")
    assert r.returncode == 0
    assert r.stdout.strip() == "No events yet — not subscribed to a relay yet"
    r = run_cli(home, "events", "--json")
    assert (r.returncode, json.loads(r.stdout)) == (0, [])

    relay.add(4)
    owner = Owner()
    async with running(
        RelayClient(settings=settings_for(relay.url), data_dir=home / "data", **owner.kwargs())
    ):
        await until(owner.live, "live")
    r = run_cli(home, "events", "--json")
    assert r.returncode == 0, r.stderr
    assert [e["id"] for e in json.loads(r.stdout)] == [4, 3, 2, 1]
    # Direct mode still reads the listener's own database.
    assert run_cli(home, "config", "set", "source.mode", "direct").returncode == 0
    assert run_cli(home, "events").stdout.strip() == "No events."
