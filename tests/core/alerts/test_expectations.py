"""ExpectationStore with a writer: flush hands the file write to it and does not wait.

The tray app passes its file worker so that the GUI thread never waits for the disk; the
writes still land in the order of the flushes, and a failed one is logged.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from holmtray.core.alerts.expectations import Expectation, ExpectationStore

START = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def test_flush_with_a_writer_returns_before_the_write_and_the_writes_land_in_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "expectations.json"
    gate = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as writer:
        writer.submit(gate.wait, 30)  # the worker is busy until the test lets go
        store = ExpectationStore(path=path, writer=writer)
        store.expect(Expectation("nightly", START, 1))
        store.flush()
        store.scan_finished("nightly", duration=timedelta(minutes=20), starts_up_to=START)
        store.flush()
        assert not path.exists()  # flush returned; the write waits for the worker
        gate.set()
    data = json.loads(path.read_text())
    assert data["expectations"] == []  # the second flush landed last
    assert data["durations"] == {"nightly": 1200.0}
    assert ExpectationStore(path=path).duration("nightly") == timedelta(minutes=20)


def test_a_failed_write_on_the_writer_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("in the way")
    path = blocked / "expectations.json"
    logger = "holmtray.alerts.expectations"
    with caplog.at_level(logging.WARNING, logger=logger), ThreadPoolExecutor(1) as writer:
        store = ExpectationStore(path=path, writer=writer)
        store.expect(Expectation("nightly", START))
        store.flush()
    assert f"cannot save scan expectations {path}" in caplog.text
