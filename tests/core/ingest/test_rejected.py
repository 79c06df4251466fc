"""The rejected-requests log keeps no token in any spelling and no hostile character raw."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from holmtray.core.ingest.rejected import MAX_PATH_CHARS, RejectedLog, mask_path
from holmtray.core.redact import Redactor
from holmtray.core.text import needs_escape
from tests.attacks import token_paths

TOKEN = "Rejected-token-0123456789abcdefghijklmn"


@pytest.mark.parametrize("path", token_paths(TOKEN))
def test_the_attack_paths_never_reach_the_file(tmp_path: Path, path: str) -> None:
    log = RejectedLog(tmp_path / "rejected.jsonl")
    entry = log.record(
        remote="203.0.113.9",
        method="POST",
        path=path,
        status=404,
        reason="not found",
        size=2,
        redactor=Redactor([TOKEN]),
    )
    raw = (tmp_path / "rejected.jsonl").read_text()
    for part in (TOKEN, TOKEN[:20], TOKEN[20:]):
        assert part not in raw
        assert part not in entry.path
    assert log.newest(1)[0].path.endswith("***")


def test_without_the_secrets_what_follows_hooks_is_still_masked() -> None:
    assert mask_path(f"/HOOKS/{TOKEN}") == "/HOOKS/***"
    assert mask_path(f"/api/hooks/{TOKEN}") == "/api/hooks/***"


def test_hostile_characters_are_escaped_in_the_file_and_in_each_field(tmp_path: Path) -> None:
    log = RejectedLog(tmp_path / "rejected.jsonl")
    log.record(
        remote="fe80::1%\u009b31m\u202e",
        method="P\x1bST",
        path="/x/\u202egnp.exe\u009b[2J",
        status=404,
        reason=f"not found \x1b]0;title\x07 {TOKEN}",
        size=None,
        redactor=Redactor([TOKEN]),
    )
    raw = (tmp_path / "rejected.jsonl").read_text(encoding="utf-8")
    assert not [c for c in raw.rstrip("\n") if needs_escape(c)]
    assert TOKEN not in raw
    data = json.loads(raw)
    for field in ("remote", "method", "path", "reason"):
        assert not [c for c in data[field] if needs_escape(c)], field
    assert "[U+009B]" in data["remote"]
    assert "[U+202E]" in data["path"]
    assert data["method"] == "P[U+001B]ST"


def test_the_file_is_private_and_the_path_is_cut_short(tmp_path: Path) -> None:
    log = RejectedLog(tmp_path / "logs" / "rejected.jsonl")
    entry = log.record(
        remote=None, method="GET", path="/" + "a" * 1000, status=404, reason="x", size=None
    )
    assert len(entry.path) == MAX_PATH_CHARS + 1
    assert stat.S_IMODE((tmp_path / "logs" / "rejected.jsonl").stat().st_mode) == 0o600
