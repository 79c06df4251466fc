"""Everything printed is escaped (issue 12, item 6), against `holmtray serve` as a real process.

The attack run's inputs — an ``X-Forwarded-For`` from a trusted proxy holding U+009B (CSI) or
U+202E (right-to-left override), and payload fields holding control, C1 and bidi characters —
are sent over raw HTTP; then the serve log (file and stderr), ``holmtray rejected`` (text and
JSON) and ``holmtray events`` (text and JSON) must hold none of them raw, and must show them
escaped: ``[U+009B]`` in text, ``\\u009b`` in JSON (which still decodes to the same data).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from holmtray.core.config.file import save
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.text import needs_escape
from tests.procs import Proc, cli_outputs

TOKEN = "Escape-token-0123456789abcdefghijklmnop"
HOSTILE = "\u009b31m\u202egnp.exe\x1b]0;owned\x07\u2028\u200b\x85"
XFF = [
    "1.2.3.4\u009b31m",
    "\u202e5.6.7.8",
    "fe80::1%\u009b31m\u202eevil",
    "2001:db8::7%\u2028FORGED LINE",
]


def _raw(text: str) -> list[str]:
    """Hostile characters left raw (newlines between lines and tabs the tools print aside)."""
    return sorted({f"U+{ord(c):04X}" for c in text if needs_escape(c) and c not in "\n"})


async def _send(port: int) -> list[int]:
    statuses = []

    def body(n: int) -> bytes:
        fields = {"title": f"Alert {HOSTILE}", "details": {"host": f"srv{HOSTILE}"}, "n": n}
        return json.dumps(fields, ensure_ascii=False).encode()

    requests = [(f"/hooks/{TOKEN}", xff, body(n)) for n, xff in enumerate(XFF[:2])]
    requests += [("/hooks/wrong", xff, b"{}") for xff in XFF]
    requests.append((f"/hooks/{TOKEN}", XFF[0], f'{{"title": "{HOSTILE}'.encode()))  # bad JSON
    for path, xff, data in requests:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (
            (
                f"POST {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            ).encode()
            + b"X-Forwarded-For: "
            + xff.encode()
            + b"\r\n\r\n"
        )
        writer.write(head + data)
        answer = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        statuses.append(int(answer.split(b" ", 2)[1]))
    return statuses


def test_hostile_characters_from_requests_are_escaped_everywhere(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = Paths.under(home)
    save(
        Settings(
            {
                "listener.token": TOKEN,
                "listener.port": 0,
                "listener.trusted_proxies": ["127.0.0.1"],
            }
        ),
        paths.config_file,
    )
    serve = Proc(home, "serve", "--port", "0", "--verbose")
    try:
        statuses = asyncio.run(_send(serve.port()))
        assert statuses == [200, 200, 404, 404, 404, 404, 400], statuses
        outputs = cli_outputs(
            home,
            ("rejected",),
            ("rejected", "--json", "--limit", "0"),
            ("events",),
            ("events", "--json", "--limit", "0"),
        )
        assert serve.stop() == 0
    finally:
        if serve.popen.poll() is None:
            serve.kill()
    outputs["serve (stderr)"] = serve.output()
    outputs["serve.log"] = (paths.log_dir / "serve.log").read_text(encoding="utf-8")
    outputs["rejected.jsonl"] = paths.rejected_log.read_text(encoding="utf-8")

    for what, text in outputs.items():
        assert not _raw(text), f"{what} holds {_raw(text)} raw"
    assert "[U+009B]" in outputs["rejected"]
    assert "[U+202E]" in outputs["rejected"]
    assert "[U+009B]" in outputs["serve.log"]  # the forwarded address, in the rejection line
    assert "\\u009b" in outputs["events --json --limit 0"]
    assert "\\u202e" in outputs["events --json --limit 0"]
    events = json.loads(outputs["events --json --limit 0"])
    assert len(events) == 2
    assert all(e["payload"]["details"]["host"] == f"srv{HOSTILE}" for e in events)
    remotes = [r["remote"] for r in json.loads(outputs["rejected --json --limit 0"])]
    assert len(remotes) == 5
    assert all(r.isprintable() for r in remotes), remotes
