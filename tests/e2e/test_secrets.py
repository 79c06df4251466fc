"""Secrets: the webhook token and the Basic password never leave holmtray except by `url`,
and a read token never appears anywhere but on the last line of `relay token add`.

One full scenario against `holmtray serve` as a real process, with a known token and password
in its config: good posts, wrong token, wrong or missing password, bad JSON, oversized and slow
bodies, form bodies, malformed HTTP that aiohttp cannot parse (whose parser errors quote the
request line, token and all), the token in the wrong place of a path (the attack run's
``/api/hooks/TOKEN``, ``//hooks/TOKEN``, ``/hooks//TOKEN``, ``/HOOKS/TOKEN``,
``/x/../hooks/TOKEN`` and generated variants: letter case, dot segments, percent-encoding of
the token or of the slashes, query values, fragments), the command-line tools, SIGTERM. Then
every file under the log folder, the output of every command and every HTTP answer are
searched for the secrets, in every spelling they travel in (plain, percent-encoded, inside the
Basic header), and for the token in any letter case, percent-decoded.

The same for the relay's read tokens: `holmtray serve --relay` is asked with good, bad, revoked
and misplaced read tokens (in the query string, in the path, as the webhook token, in malformed
HTTP), and the logs, the rejected-requests log, every answer, every command's output, the
database file and the process list are searched for them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import stat
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote, unquote

import aiohttp

from holmtray.core.config.file import save
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from tests.attacks import token_path_variants
from tests.procs import Proc, cli_outputs, holmtray_env, run_cli
from tests.relaytools import SSEStream, post_events

USER = "holm"


class ServeProc(Proc):
    """`holmtray serve` with its stdout kept too (Proc discards it)."""

    def __init__(self, home: Path, stdout: Path, *args: str) -> None:
        self.home = home
        self.lines = []
        self._cond = threading.Condition()
        self._stdout_file = stdout.open("w")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "holmtray", "serve", *args],
            env=holmtray_env(home),
            stdin=subprocess.DEVNULL,
            stdout=self._stdout_file,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def stop(self, timeout: float = 30) -> int:
        try:
            return super().stop(timeout)
        finally:
            self._stdout_file.close()


def _spellings(token: str, password: str) -> dict[str, str]:
    """Every form the secrets travel in, so a leak in any encoding is caught."""
    basic = base64.b64encode(f"{USER}:{password}".encode()).decode()
    basic_latin1 = base64.b64encode(f"{USER}:{password}".encode("latin-1")).decode()
    return {
        "token": token,
        # Halves too: a message that cuts the path short must not carry most of the token.
        "token (first half)": token[: len(token) // 2],
        "token (second half)": token[len(token) // 2 :],
        "password": password,
        "password (percent-encoded)": quote(password, safe=""),
        "Basic credentials": basic,
        "Basic credentials (Latin-1)": basic_latin1,
    }


def _find(text: str, needles: dict[str, str]) -> list[str]:
    return [name for name, needle in needles.items() if needle in text]


def _token_in_any_spelling(text: str, token: str) -> list[str]:
    """The token, or either half, in ``text`` in any letter case, percent-decoded or not."""
    forms = {text.lower(), unquote(text).lower(), unquote(unquote(text)).lower()}
    half = len(token) // 2
    parts = {"token": token, "first half": token[:half], "second half": token[half:]}
    return [name for name, part in parts.items() if any(part.lower() in f for f in forms)]


def path_variants(token: str) -> dict[str, str]:
    """The attack paths, then 40 generated ones (case, encoding, dot segments, query...)."""
    return token_path_variants(token, 40)


async def _raw_answers(base: str, raws: dict[str, str]) -> list[tuple[str, int, str]]:
    """Send each raw request on its own connection; (what, status, whole answer) of each."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    answers = []
    for what, raw in raws.items():
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(raw.encode("latin-1"))
        data = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
        answers.append((what, status, data.decode("latin-1")))
    return answers


async def _http_scenario(base: str, token: str, password: str) -> list[tuple[str, int, str]]:
    """Every kind of request, good and bad; returns (what, status, headers + body) of each."""
    answers: list[tuple[str, int, str]] = []
    hook = f"{base}/hooks/{token}"
    auth = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()}
    bad = base64.b64encode(f"{USER}:{password}x".encode()).decode()
    json_headers = {"Content-Type": "application/json", "User-Agent": "python-requests/2.8.1"}

    async def post(what: str, url: str, data: bytes, **kw: str) -> None:
        headers = {**json_headers, **kw}
        async with session.post(url, data=data, headers=headers) as r:
            text = await r.text()
            answers.append((what, r.status, f"{dict(r.headers)}\n{text}"))

    body = json.dumps({"finished_scan": {"name": "Daily scan", "status": "Completed"}}).encode()
    async with aiohttp.ClientSession() as session:
        await post("good, Basic header", hook, body, **auth)
        creds = f"{quote(USER)}:{quote(password, safe='')}@"
        await post("good, credentials in the URL", hook.replace("://", "://" + creds), b'{"n": 2}')
        await post("wrong token", f"{base}/hooks/{token[:-2]}xx", body, **auth)
        await post("no credentials", hook, body)
        await post("wrong password", hook, body, Authorization=f"Basic {bad}")
        await post("bad JSON", hook, b'{"token": ' + token.encode(), **auth)
        await post("oversized", hook, b'{"x": "' + b"y" * 5000 + b'"}', **auth)
        await post(
            "form body",
            hook,
            b"a=1",
            **auth,
            **{"Content-Type": "application/x-www-form-urlencoded"},
        )
        async with session.get(hook, headers=auth) as r:
            answers.append(("GET", r.status, f"{dict(r.headers)}\n{await r.text()}"))
        async with session.get(f"{base}/healthz") as r:
            answers.append(("healthz", r.status, await r.text()))

    # Raw requests: a slow body, and HTTP that aiohttp's parser rejects (its messages quote
    # the offending line, which here holds the token or the credentials).
    basic = base64.b64encode(f"{USER}:{password}".encode()).decode()
    raws = {
        "slow body": (
            f"POST /hooks/{token} HTTP/1.1\r\nHost: a\r\nAuthorization: Basic {basic}\r\n"
            "Content-Length: 100\r\n\r\n{"
        ),
        "bad header": f"POST /hooks/{token} HTTP/1.1\r\nHost: a\r\nBad Header {token}\r\n\r\n",
        "bad method": f"P\x01ST /hooks/{token} HTTP/1.1\r\nHost: a\r\n\r\n",
        "bad version": f"POST /hooks/{token} HTTP/9.9\r\nHost: a\r\n\r\n",
        "NUL in path": f"POST /hooks/{token}\x00 HTTP/1.1\r\nHost: a\r\n\r\n",
        "bad chunk": (
            f"POST /hooks/{token} HTTP/1.1\r\nHost: a\r\nAuthorization: Basic {basic}\r\n"
            "Transfer-Encoding: chunked\r\n\r\nzz\r\n"
        ),
        "bad credentials header": (
            f"POST /hooks/{token} HTTP/1.1\r\nHost: a\r\nAuthorization: Basic {basic}\x01\r\n"
            "Content-Length: 2\r\n\r\n{}"
        ),
        "long request line": f"POST /hooks/{token}{'x' * 9000} HTTP/1.1\r\nHost: a\r\n\r\n",
    }
    answers += await _raw_answers(base, raws)
    return answers


async def _path_scenario(base: str, token: str) -> list[tuple[str, int, str]]:
    """The token in the wrong place of the path, sent raw (no client normalises it)."""
    raws = {
        what: f"POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{{}}"
        for what, path in path_variants(token).items()
    }
    return await _raw_answers(base, raws)


def test_full_scenario_leaks_neither_token_nor_password(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = Paths.under(home)
    token = secrets.token_urlsafe(32)
    password = f"Pw-{secrets.token_urlsafe(12)}-é:/?#&"
    save(
        Settings(
            {
                "listener.token": token,
                "listener.username": USER,
                "listener.password": password,
                "listener.port": 0,
                "listener.max_body_bytes": 1024,
                "listener.read_timeout": 1.0,
            }
        ),
        paths.config_file,
    )
    needles = _spellings(token, password)
    outputs: dict[str, str] = {}  # what -> text that must hold no secret

    serve = ServeProc(home, tmp_path / "serve.stdout", "--port", "0", "--verbose")
    try:
        port = serve.port()
        base = f"http://127.0.0.1:{port}"
        answers = asyncio.run(_http_scenario(base, token, password))
        path_answers = asyncio.run(_path_scenario(base, token))

        r = run_cli(home, "url")
        assert r.returncode == 0
        assert token in r.stdout  # printing the URL is its job; and it proves the needle
        assert quote(password, safe="") in r.stdout
        outputs["url (stderr)"] = r.stderr
        cli = [
            ("send-test",),
            ("send-test", "--kind", "ticket"),
            ("send-test", "--url", f"{base}/hooks/{token[:-2]}xx"),
            ("events",),
            ("events", "--json", "--limit", "0"),
            ("rejected",),
            ("rejected", "--json", "--limit", "0"),
        ]
        outputs.update(cli_outputs(home, *cli))
        assert "HTTP 200" in outputs["send-test"]
        assert serve.stop() == 0
    finally:
        if serve.popen.poll() is None:
            serve.kill()
    r = run_cli(home, "send-test")  # the listener is gone: the error must not show the URL
    assert r.returncode == 1
    outputs["send-test after stop"] = r.stdout + r.stderr
    outputs["serve (stderr)"] = serve.output()
    outputs["serve (stdout)"] = (tmp_path / "serve.stdout").read_text()

    by_what = {what: status for what, status, _ in answers}
    assert by_what == {
        "good, Basic header": 200,
        "good, credentials in the URL": 200,
        "wrong token": 404,
        "no credentials": 401,
        "wrong password": 401,
        "bad JSON": 400,
        "oversized": 413,
        "form body": 415,
        "GET": 405,
        "healthz": 200,
        "slow body": 408,
        "bad header": 400,
        "bad method": 400,
        "bad version": 400,
        "NUL in path": 400,
        "bad chunk": 400,
        "bad credentials header": 400,
        "long request line": 400,
    }, by_what
    # Wrong places are 404; a spelling aiohttp decodes to the hook itself is 401 (no password).
    assert {status for _, status, _ in path_answers} <= {401, 404}, path_answers
    assert sum(status == 404 for _, status, _ in path_answers) >= 30
    for what, status, text in answers + path_answers:
        assert not _find(text, needles), f"HTTP answer to {what!r} ({status}) holds a secret"
        assert not _token_in_any_spelling(text, token), f"HTTP answer to {what!r} ({status})"
        if status >= 400:
            assert "Traceback" not in text, what
            body = text.split("\r\n\r\n", 1)[-1].split("\n", 1)[-1]
            assert "error" in body, f"{what}: not a JSON error: {body!r}"

    log_files = sorted(p for p in paths.log_dir.rglob("*") if p.is_file())
    names = {p.name for p in log_files}
    assert {"serve.log", "rejected.jsonl"} <= names, names  # nothing searched is no proof
    for p in log_files:
        outputs[str(p.relative_to(home))] = p.read_text(encoding="utf-8", errors="replace")
    for p in sorted(paths.data_dir.glob("*.json")):
        outputs[str(p.relative_to(home))] = p.read_text()
    assert "rejected" in outputs["logs/serve.log"]  # the rejections were logged, then searched
    assert outputs["logs/rejected.jsonl"].count("***") >= 30  # the wrong places were masked
    for p in log_files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    for what, text in outputs.items():
        found = _find(text, needles) + _token_in_any_spelling(text, token)
        assert not found, f"{what} contains the {', '.join(found)}"


def test_config_file_is_private_to_its_owner(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = run_cli(home, "url")  # first run: generates the token and writes the config
    assert r.returncode in (0, 1), r.stderr
    config = Paths.under(home).config_file
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) & 0o077 == 0

    # A hand-loosened file is tightened again by the next save.
    config.chmod(0o644)
    save(Settings({"listener.password": "x" * 12}), config)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_a_secret_in_an_http_answer_or_a_log_would_be_found() -> None:
    """The search itself: every spelling is recognised, so the scenario cannot pass blind."""
    needles = _spellings("T" * 43, "pä:ss/word")
    assert _find("GET /hooks/" + "T" * 43, needles) == [
        "token",
        "token (first half)",
        "token (second half)",
    ]
    needles = _spellings("A" * 21 + "B" * 22, "pä:ss/word")
    assert _find("/hooks/" + "A" * 21 + "…", needles) == ["token (first half)"]
    assert _find("https://holm:p%C3%A4%3Ass%2Fword@h/", needles) == ["password (percent-encoded)"]
    header = "Basic " + base64.b64encode("holm:pä:ss/word".encode("latin-1")).decode()
    assert _find(header, needles) == ["Basic credentials (Latin-1)"]


def test_every_path_variant_carries_the_token_so_the_scan_proves_something() -> None:
    token = secrets.token_urlsafe(32)
    variants = path_variants(token)
    assert len(variants) == 45
    for what, path in variants.items():
        assert _token_in_any_spelling(path, token) == ["token", "first half", "second half"], what
    assert _token_in_any_spelling(f"/X/{token.upper()}", token)
    encoded_twice = "".join(f"%25{ord(c):02X}" for c in token)
    assert _token_in_any_spelling(encoded_twice, token) == ["token", "first half", "second half"]


def _halves(name: str, token: str) -> dict[str, str]:
    return {
        name: token,
        f"{name} (first half)": token[: len(token) // 2],
        f"{name} (second half)": token[len(token) // 2 :],
    }


async def _relay_scenario(
    base: str, webhook: str, alice: str, bob: str
) -> list[tuple[str, int, str]]:
    """Read tokens used right and wrong; (what, status, headers + body) of each answer."""
    answers: list[tuple[str, int, str]] = []
    bearer = {"Authorization": f"Bearer {alice}"}

    async def get(what: str, url: str, headers: dict[str, str]) -> None:
        async with session.get(url, headers=headers) as r:
            answers.append((what, r.status, f"{dict(r.headers)}\n{await r.text()}"))

    async with aiohttp.ClientSession() as session:
        await post_events(session, f"{base}/hooks/{webhook}", range(3))
        async with SSEStream(session, base, alice, after=0) as stream:
            frames = await stream.until(lambda f: f.event == "live")
            answers.append(("stream", stream.status, "".join(f.data for f in frames)))
            # The process list while a stream is open and the relay is busy with it.
            ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
            answers.append(("process list", 0, ps.stdout))
        await get("status", f"{base}/v1/status", bearer)
        await get("events", f"{base}/v1/events?after=0", bearer)
        await get("token in the query", f"{base}/v1/stream?token={alice}", {})
        await get("token as a query value", f"{base}/v1/events?after={alice}", {})
        await get("token in the path", f"{base}/v1/stream/{alice}", bearer)
        await get("token as the path", f"{base}/v1/{alice}", {})
        await get("revoked token", f"{base}/v1/status", {"Authorization": f"Bearer {bob}"})
        await get("token plus junk", f"{base}/v1/status", {"Authorization": f"Bearer {alice}x"})
        await get("token as Basic", f"{base}/v1/status", {"Authorization": f"Basic {alice}"})
        await get(
            "webhook token as bearer", f"{base}/v1/status", {"Authorization": f"Bearer {webhook}"}
        )
        await get("webhook token in the path", f"{base}/v1/{webhook}", bearer)
        await get("read token outside /v1/", f"{base}/api/{alice}?t={alice}", {})
        await get("read token upper-cased", f"{base}/API/{alice.upper()}", {})
        async with session.post(f"{base}/hooks/{alice}", data=b"{}") as r:
            answers.append(("read token as the webhook", r.status, await r.text()))
        async with session.post(f"{base}/v1/status", headers=bearer) as r:
            answers.append(("POST /v1/status", r.status, await r.text()))

    raws = {
        "bad version, token in the query": (
            f"GET /v1/stream?token={alice} HTTP/9.9\r\nHost: a\r\n\r\n"
        ),
        "bad header with the token": (
            f"GET /v1/status HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {alice}\x01\r\n\r\n"
        ),
        "header without a colon": f"GET /v1/status HTTP/1.1\r\nHost: a\r\nBearer {alice}\r\n\r\n",
        "long request line": (
            f"GET /v1/stream?after=1&x={alice}{'y' * 9000} HTTP/1.1\r\nHost: a\r\n\r\n"
        ),
    }
    answers += await _raw_answers(base, raws)
    return answers


def test_read_tokens_appear_only_on_the_last_line_of_token_add(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = Paths.under(home)
    webhook = secrets.token_urlsafe(32)
    save(Settings({"listener.token": webhook, "listener.port": 0}), paths.config_file)
    outputs: dict[str, str] = {}
    tokens: dict[str, str] = {}
    for name in ("alice", "bob"):
        r = run_cli(home, "relay", "token", "add", name)
        assert r.returncode == 0, r.stderr
        *note, tokens[name] = r.stdout.splitlines()
        outputs[f"token add {name} (all but its last line)"] = "\n".join(note) + r.stderr
    needles = {**_halves("alice's token", tokens["alice"]), **_halves("bob's token", tokens["bob"])}
    needles.update(_halves("webhook token", webhook))

    serve = ServeProc(home, tmp_path / "serve.stdout", "--relay", "--port", "0", "--verbose")
    try:
        base = f"http://127.0.0.1:{serve.port()}"
        r = run_cli(home, "relay", "token", "revoke", "bob")
        assert r.returncode == 0
        outputs["token revoke bob"] = r.stdout + r.stderr
        answers = asyncio.run(_relay_scenario(base, webhook, tokens["alice"], tokens["bob"]))
        outputs |= cli_outputs(
            home,
            ("relay", "token", "list"),
            ("relay", "token", "revoke", "carol"),
            ("events", "--json", "--limit", "0"),
            ("rejected",),
            ("rejected", "--json", "--limit", "0"),
        )
        assert serve.stop() == 0
    finally:
        if serve.popen.poll() is None:
            serve.kill()
    outputs["serve (stderr)"] = serve.output()
    outputs["serve (stdout)"] = (tmp_path / "serve.stdout").read_text()

    by_what = {what: status for what, status, _ in answers}
    assert by_what == {
        "stream": 200,
        "process list": 0,
        "status": 200,
        "events": 200,
        "token in the query": 400,
        "token as a query value": 400,
        "token in the path": 404,
        "token as the path": 401,
        "revoked token": 401,
        "token plus junk": 401,
        "token as Basic": 401,
        "webhook token as bearer": 401,
        "webhook token in the path": 401,
        "read token outside /v1/": 404,
        "read token upper-cased": 404,
        "read token as the webhook": 404,
        "POST /v1/status": 405,
        "bad version, token in the query": 400,
        "bad header with the token": 400,
        "header without a colon": 400,
        "long request line": 400,
    }, by_what
    for what, status, text in answers:
        found = _find(text, needles)
        assert not found, f"the answer to {what!r} ({status}) holds the {', '.join(found)}"
    assert "holmtray" in next(t for w, _, t in answers if w == "process list")  # serve was there

    log_files = sorted(p for p in paths.log_dir.rglob("*") if p.is_file())
    assert {"serve.log", "rejected.jsonl"} <= {p.name for p in log_files}
    for p in log_files:
        outputs[str(p.relative_to(home))] = p.read_text(encoding="utf-8", errors="replace")
    assert "/v1/***" in outputs["logs/rejected.jsonl"]  # the misplaced tokens were logged, masked
    # The database keeps hashes only: no token in any of its files, WAL included.
    for p in sorted(paths.data_dir.glob("events.db*")):
        outputs[str(p.relative_to(home))] = p.read_bytes().decode("latin-1")
    for what, text in outputs.items():
        found = _find(text, needles)
        assert not found, f"{what} contains the {', '.join(found)}"
