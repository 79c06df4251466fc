"""What the listener writes down and answers: never the token in any spelling of the path,
never a control, bidi or format character raw (issue 12, items 4 and 6), over raw HTTP."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote

import pytest

from holmtray.core.logsetup import RedactingFormatter
from holmtray.core.text import needs_escape
from tests.attacks import token_path_variants, token_paths
from tests.core.ingest.wire import TOKEN, rig

PROXIED = {"listener.trusted_proxies": ["127.0.0.1"]}


def _leaks(text: str) -> list[str]:
    plain = unquote(unquote(text)).lower()
    parts = {"token": TOKEN, "first half": TOKEN[:20], "second half": TOKEN[20:]}
    return [name for name, part in parts.items() if part.lower() in plain]


def _request(path: str, extra: bytes = b"") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n".encode()
        + extra
        + b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )


@pytest.mark.parametrize("path", list(token_path_variants(TOKEN, 30).values()))
async def test_no_path_spelling_stores_or_answers_the_token(tmp_path: Path, path: str) -> None:
    async with rig(tmp_path) as r:
        answer = await r.exchange(_request(path))
        if answer.status == 200:  # a spelling aiohttp decodes to the real hook: nothing to log
            assert not r.rejections()
            return
        assert not _leaks(answer.body.decode()), answer.body
        raw = r.paths.rejected_log.read_text(encoding="utf-8")
        assert not _leaks(raw), raw
        if _leaks(path.partition("?")[0].partition("#")[0]):  # never logged: query, fragment
            assert "***" in r.rejections()[0].path


async def test_a_log_line_about_a_rejection_holds_no_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="holmtray")
    async with rig(tmp_path) as r:
        for path in token_paths(TOKEN):
            await r.exchange(_request(path))
    formatter = RedactingFormatter(secrets=(TOKEN,))
    lines = [formatter.format(rec) for rec in caplog.records]
    assert any("rejected" in line for line in lines)
    for line, rec in zip(lines, caplog.records, strict=True):
        assert not _leaks(line), line
        assert not _leaks(rec.getMessage()), rec.getMessage()  # not even before the formatter


# The attack run's X-Forwarded-For values: a C1 CSI and a right-to-left override, as UTF-8
# bytes, as an IPv6 scope (which ipaddress accepts as an address), and as Latin-1 bytes.
HOSTILE_XFF = [
    "1.2.3.4\u009b31m".encode(),
    "\u202e1.2.3.4".encode(),
    "fe80::1%\u009b31m\u202eevil".encode(),
    b"fe80::1%\x1b]0;owned\x07",
    b"\x9b31m",
    "2001:db8::1%\u2028FORGED".encode(),
]


@pytest.mark.parametrize("value", HOSTILE_XFF)
async def test_hostile_forwarded_addresses_are_escaped_in_the_log_and_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, value: bytes
) -> None:
    caplog.set_level(logging.INFO, logger="holmtray")
    async with rig(tmp_path, **PROXIED) as r:
        answer = await r.exchange(_request("/hooks/wrong", b"X-Forwarded-For: " + value + b"\r\n"))
        assert answer.status in (400, 404)  # raw C0 controls are a malformed header
        raw = r.paths.rejected_log.read_text(encoding="utf-8")
        entry = r.rejections()[0]
    assert not [c for c in raw.rstrip("\n") if needs_escape(c)], raw
    assert entry.remote.isprintable(), entry.remote
    for rec in caplog.records:
        message = rec.getMessage()
        assert not [c for c in message if needs_escape(c)], message
