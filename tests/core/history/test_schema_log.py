"""What the schema step says in the log: a new file is "created" in one line; an old file's
backup and each migration step are told at INFO, so an analyst can see what happened to it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from holmtray.core.history import schema
from holmtray.core.history.store import Store
from tests.core.history.test_unread_counts import build_v4

LOGGER = "holmtray.history.schema"


def info_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.INFO
    ]


def test_a_new_database_is_created_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    db = tmp_path / "events.db"
    Store.open(db).close()
    assert info_lines(caplog) == [f"created {db} (schema v{schema.SCHEMA_VERSION})"]
    steps = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.DEBUG]
    assert len(steps) == schema.SCHEMA_VERSION  # every step still ran, said quietly


def test_an_old_database_says_its_backup_and_its_migration(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "events.db"
    build_v4(db, 3)
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    Store.open(db).close()
    lines = info_lines(caplog)
    assert lines[0].startswith(f"backed up {db} to ")
    assert lines[1:] == [f"migrated {db} to schema v{schema.SCHEMA_VERSION}"]
