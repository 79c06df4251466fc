"""The log: every line has secrets masked in every spelling and hostile characters escaped;
the log file is private (0600) in every generation; an unusable log folder is a clear error."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from holmtray.core import logsetup
from holmtray.core.text import needs_escape

TOKEN = "Log-token-0123456789abcdefghijklmnopqrs"
PASSWORD = "pä:ss/wörd"
READ_TOKEN = "htr_" + "Z9y8X7w6" * 5 + "abc"


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("holmtray.test", logging.INFO, __file__, 1, msg, args, exc_info)


@pytest.fixture
def formatter() -> logsetup.RedactingFormatter:
    return logsetup.RedactingFormatter(secrets=(TOKEN, PASSWORD))


@pytest.mark.parametrize(
    "spelling",
    [
        TOKEN,
        TOKEN.upper(),
        quote(TOKEN.replace("-", "%2D")),
        "".join(f"%{ord(c):02X}" for c in TOKEN),
        TOKEN[:22],
        TOKEN[18:],
        PASSWORD,
        quote(PASSWORD, safe=""),
        READ_TOKEN,
    ],
)
def test_no_spelling_of_a_secret_survives_formatting(
    formatter: logsetup.RedactingFormatter, spelling: str
) -> None:
    line = formatter.format(_record("request for /api/hooks/%s?x=1 refused", spelling))
    assert spelling not in line
    assert logsetup.MASK in line
    assert "refused" in line


def test_hostile_characters_from_a_request_never_reach_the_line_raw(
    formatter: logsetup.RedactingFormatter,
) -> None:
    remote = "1.2.3.4\u009b31m\u202eevil\nFORGED 2024-01-01 INFO holmtray: fake line"
    line = formatter.format(_record("rejected POST from %s: %d %s", remote, 404, "not\x1b[2J"))
    assert "\n" not in line  # a message is one line: no forged entries
    assert not [c for c in line if needs_escape(c)]
    assert "[U+009B]" in line
    assert "[U+202E]" in line
    assert "[U+000A]FORGED" in line


def test_tracebacks_keep_their_lines_but_lose_secrets_and_controls(
    formatter: logsetup.RedactingFormatter,
) -> None:
    try:
        raise ValueError(f"bad path /x/{TOKEN}\u009b with {READ_TOKEN}")
    except ValueError as exc:
        line = formatter.format(_record("failed", exc=exc))
    assert "Traceback (most recent call last):" in line
    assert line.count("\n") >= 3
    assert TOKEN not in line
    assert READ_TOKEN not in line
    assert "\u009b" not in line
    assert "[U+009B]" in line


def test_set_secrets_takes_a_changed_token(formatter: logsetup.RedactingFormatter) -> None:
    new = "New-token-abcdefghijklmnopqrstuvwxyz0123"
    formatter.set_secrets((new,))
    line = formatter.format(_record("token %s", new))
    assert new not in line


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
        if h not in handlers:
            h.close()
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def test_the_log_file_and_its_folder_are_private(tmp_path: Path, restore_logging: None) -> None:
    log_file = tmp_path / "logs" / "serve.log"
    old = os.umask(0o022)
    try:
        logsetup.configure(secrets=(TOKEN,), stderr=False, log_file=log_file)
    finally:
        os.umask(old)
    logging.getLogger("holmtray.test").info("hello %s", TOKEN)
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_file.parent.stat().st_mode) == 0o700
    text = log_file.read_text()
    assert "hello" in text
    assert TOKEN not in text


def test_every_generation_of_the_log_file_is_private(tmp_path: Path) -> None:
    log_file = tmp_path / "serve.log"
    log_file.write_text("from an older version\n")
    log_file.chmod(0o644)
    handler = logsetup.open_log_file(log_file)
    try:
        assert stat.S_IMODE(log_file.stat().st_mode) == 0o600  # tightened when opened
        handler.maxBytes = 200
        logger = logging.getLogger("holmtray.test.rotation")
        logger.addHandler(handler)
        logger.propagate = False
        try:
            for i in range(20):
                logger.warning("line %d %s", i, "x" * 40)
        finally:
            logger.removeHandler(handler)
    finally:
        handler.close()
    generations = sorted(tmp_path.glob("serve.log*"))
    assert len(generations) >= 3
    for p in generations:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name


def test_a_log_folder_that_is_a_file_is_a_clear_error(
    tmp_path: Path, restore_logging: None
) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("not a folder")
    before = list(logging.getLogger().handlers)
    for log_file in (blocker / "serve.log", blocker / "sub" / "serve.log"):
        with pytest.raises(logsetup.LogFileError) as err:
            logsetup.configure(secrets=(), log_file=log_file)
        assert str(log_file) in str(err.value)
        assert "exists" in str(err.value) or "Not a directory" in str(err.value)
        assert logging.getLogger().handlers == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_log_folder_is_a_clear_error(tmp_path: Path, restore_logging: None) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    before = list(logging.getLogger().handlers)
    try:
        for log_file in (folder / "serve.log", folder / "sub" / "serve.log"):
            with pytest.raises(logsetup.LogFileError) as err:
                logsetup.configure(secrets=(), log_file=log_file)
            assert str(log_file) in str(err.value)
            assert "Permission denied" in str(err.value)
            assert logging.getLogger().handlers == before  # nothing was changed
    finally:
        folder.chmod(0o700)
