"""What the command line prints never holds a token or a raw control, bidi or format character
(issue 12, items 4 and 6): ``rejected`` (text and JSON, entries written by older versions
included), ``events`` (text and JSON), ``config get``, the subscribe line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from holmtray import cli
from holmtray.core.config.file import save
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.history.store import Store
from holmtray.core.subscribe.pipe import event_line
from holmtray.core.subscribe.relaymsg import RelayedEvent
from holmtray.core.text import needs_escape
from tests.stored_events import insert, make_event

TOKEN = "Cli-token-0123456789abcdefghijklmnopqrst"
PASSWORD = "s3cret-pässword"
STORABLE = "\u009b31m\u202eevil\x1b]0;title\x07\u2028\u200b\ufeff\x85"
HOSTILE = STORABLE + "\udcff"  # plus a lone surrogate: bytes that were not UTF-8


def _raw(text: str) -> list[str]:
    return [c for c in text if needs_escape(c) and c != "\n"]


def _leaks(text: str) -> list[str]:
    low = text.lower()
    parts = {
        "token": TOKEN,
        "first half": TOKEN[:20],
        "second half": TOKEN[20:],
        "password": PASSWORD,
        "password (encoded)": quote(PASSWORD, safe=""),
    }
    return [name for name, part in parts.items() if part.lower() in low]


@pytest.fixture
def paths(home: Path) -> Paths:
    p = Paths.under(home)
    save(Settings({"listener.token": TOKEN, "listener.password": PASSWORD}), p.config_file)
    return p


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _old_rejected_log(paths: Paths) -> None:
    """Entries as a version before the fix wrote them: the token and hostile bytes raw."""
    lines = []
    for path in (
        f"/api/hooks/{TOKEN}",
        f"//hooks/{TOKEN}",
        f"/hooks//{TOKEN}",
        f"/HOOKS/{TOKEN}",
        f"/x/../hooks/{TOKEN}",
        f"/x/{TOKEN.upper()}",
        f"/x/{quote(PASSWORD)}",
    ):
        entry = {
            "time": "2026-01-01T00:00:00+00:00",
            "remote": f"fe80::1%{HOSTILE}",
            "method": "POST",
            "path": path + HOSTILE,
            "status": 404,
            "reason": f"not found {HOSTILE} {TOKEN}",
            "size": 2,
        }
        lines.append(json.dumps(entry, ensure_ascii=False))
    paths.rejected_log.parent.mkdir(parents=True, exist_ok=True)
    paths.rejected_log.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")


def test_rejected_masks_and_escapes_even_old_entries(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    _old_rejected_log(paths)
    code, out, err = _run(capsys, "rejected")
    assert code == 0
    assert len(out.splitlines()) == 7
    assert not _leaks(out + err)
    assert not _raw(out + err)
    assert "[U+009B]" in out
    assert "[U+202E]" in out
    code, out, err = _run(capsys, "rejected", "--json", "--limit", "0")
    assert code == 0
    assert not _leaks(out + err)
    assert not _raw(out + err)
    data = json.loads(out)
    assert len(data) == 7
    assert all(d["path"].count("***") >= 1 for d in data)


def test_events_json_escapes_payload_fields_and_keeps_their_data(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.open(paths.database)
    try:
        insert(store, [make_event(f"title {STORABLE}", scan_name=f"scan {STORABLE}")])
    finally:
        store.close()
    code, out, err = _run(capsys, "events", "--json")
    assert code == 0
    assert not _raw(out + err)
    assert "\\u009b" in out
    assert "\\u202e" in out
    data = json.loads(out)
    assert data[0]["payload"]["scan_name"] == f"scan {STORABLE}"  # the same data, escaped
    code, out, err = _run(capsys, "events")
    assert code == 0
    assert not _raw(out + err)
    assert "title" in out


def test_config_get_escapes_what_the_file_holds(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "config", "set", "subscribe.ca_file", f"/ca{STORABLE}.pem")
    assert code == 0, err
    assert not _raw(out + err)
    code, out, err = _run(capsys, "config", "get", "subscribe.ca_file")
    assert code == 0
    assert not _raw(out + err)
    assert "[U+202E]" in out
    # Bytes that are not UTF-8 (argv's lone surrogates) would make a file nothing can read.
    code, out, err = _run(capsys, "config", "set", "subscribe.ca_file", f"/ca{HOSTILE}.pem")
    assert code == 2
    assert "not UTF-8" in err
    assert not _raw(out + err)
    code, out, _ = _run(capsys, "config", "get", "subscribe.ca_file")
    assert code == 0
    assert "[U+202E]" in out


def test_errors_that_quote_input_are_escaped(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "config", "set", "listener.port", f"80{HOSTILE}")
    assert code == 2
    assert not _raw(out + err)
    code, out, err = _run(capsys, "relay", "token", "revoke", f"bob{HOSTILE}")
    assert code == 1
    assert not _raw(out + err)


def test_a_subscribe_line_escapes_what_the_relay_sent() -> None:
    body = json.dumps({"title": f"Alert {HOSTILE}", "link": "https://sc.holmsecurity.com/x"})
    line = event_line(RelayedEvent(id=7, received_at=datetime.now(UTC), body=body))
    assert "\n" not in line
    assert not _raw(line)
    assert json.loads(line)["id"] == 7
