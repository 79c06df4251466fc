"""Missed-scan expectations: which scheduled scans should still report, and how long scans take.

A ``scheduled_scan`` event becomes an :class:`Expectation`; a ``finished_scan`` of the same name
clears the expectations it fulfils and records the scan's duration. :class:`ExpectationStore`
keeps both in a small JSON file so that they survive a restart. Deciding when an expectation
is overdue, and saying so, is the policy's job (:mod:`holmtray.core.alerts.policy`).
"""

from __future__ import annotations

import json
import logging
import math
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from holmtray.core.events import Event
from holmtray.core.fileio import write_atomically

log = logging.getLogger("holmtray.alerts.expectations")


@dataclass(frozen=True, slots=True)
class Expectation:
    """A scheduled scan that should report as finished."""

    scan_name: str
    starts_at: datetime
    event_id: int | None = None
    link: str | None = None


class ExpectationStore:
    """Expected scans and last known scan durations, kept in a small JSON file.

    Without a ``path`` it only keeps them in memory. Changes are written by :meth:`flush`
    (atomically: temporary file, fsync, rename), which the policy calls once per batch of
    events and per tick — not once per event, which froze the GUI thread during a burst of
    finished scans (bench/RESULTS.md). With a ``writer`` (the tray app's file worker) the write
    itself happens there, in the order the flushes were made, so the GUI thread does not wait
    for the disk. A file that cannot be read is logged and ignored, and a failed write is
    logged: neither may take the tray app down.
    """

    MAX_ENTRIES = 500  # per list; the oldest go first

    def __init__(self, *, path: Path | None = None, writer: Executor | None = None) -> None:
        self._path = path
        self._writer = writer
        self._expected: list[Expectation] = []
        self._durations: dict[str, timedelta] = {}
        self._dirty = False
        if path is not None:
            self._load(path)

    @property
    def path(self) -> Path | None:
        return self._path

    def expectations(self) -> list[Expectation]:
        return list(self._expected)

    def duration(self, scan_name: str) -> timedelta | None:
        return self._durations.get(scan_name)

    def expect(self, expectation: Expectation) -> None:
        """Add an expectation; a second one for the same scan and start replaces the first."""
        same = (expectation.scan_name, expectation.starts_at)
        kept = [e for e in self._expected if (e.scan_name, e.starts_at) != same]
        kept.append(expectation)
        kept.sort(key=lambda e: e.starts_at)
        self._expected = kept[-self.MAX_ENTRIES :]
        self._dirty = True

    def scan_finished(
        self, scan_name: str, *, duration: timedelta | None, starts_up_to: datetime
    ) -> None:
        """Record a finished scan: remember its duration, clear expectations it fulfils."""
        changed = False
        if duration is not None and duration > timedelta(0):
            self._durations.pop(scan_name, None)  # re-insert: the dict is kept in use order
            self._durations[scan_name] = duration
            while len(self._durations) > self.MAX_ENTRIES:
                del self._durations[next(iter(self._durations))]
            changed = True
        kept = [
            e
            for e in self._expected
            if not (e.scan_name == scan_name and e.starts_at <= starts_up_to)
        ]
        if len(kept) != len(self._expected):
            self._expected = kept
            changed = True
        if changed:
            self._dirty = True

    def discard(self, expectation: Expectation) -> None:
        if expectation in self._expected:
            self._expected.remove(expectation)
            self._dirty = True

    def flush(self) -> None:
        """Write the changes made since the last flush, if any."""
        if self._dirty:
            self._dirty = False
            self._save()

    def _load(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read scan expectations %s: %s", path, exc.strerror)
            return
        try:
            self._expected, self._durations = _decode_expectations(json.loads(text))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("ignoring unreadable scan expectations %s: %s", path, exc)

    def _save(self) -> None:
        if self._path is None:
            return
        data = {
            "version": 1,
            "expectations": [
                {
                    "scan_name": e.scan_name,
                    "starts_at": e.starts_at.isoformat(),
                    "event_id": e.event_id,
                    "link": e.link,
                }
                for e in self._expected
            ],
            "durations": {k: v.total_seconds() for k, v in self._durations.items()},
        }
        text = json.dumps(data, ensure_ascii=False, indent=1)
        if self._writer is None:
            _write(self._path, text)
        else:
            self._writer.submit(_write, self._path, text)


def _write(path: Path, text: str) -> None:
    try:
        write_atomically(path, text)
    except OSError as exc:
        log.warning("cannot save scan expectations %s: %s", path, exc.strerror)


def _decode_expectations(
    data: Any,
) -> tuple[list[Expectation], dict[str, timedelta]]:
    if not isinstance(data, dict) or data.get("version") != 1:
        raise ValueError("not a version 1 expectations file")
    expected: list[Expectation] = []
    for entry in data["expectations"]:
        name, event_id, link = entry["scan_name"], entry.get("event_id"), entry.get("link")
        if not isinstance(name, str) or not isinstance(event_id, int | None):
            raise TypeError(f"bad expectation entry {entry!r}")
        if not isinstance(link, str | None):
            raise TypeError(f"bad expectation entry {entry!r}")
        starts_at = datetime.fromisoformat(entry["starts_at"])
        if starts_at.tzinfo is None:
            starts_at = starts_at.replace(tzinfo=UTC)
        expected.append(Expectation(name, starts_at, event_id, link))
    durations: dict[str, timedelta] = {}
    for name, seconds in dict(data["durations"]).items():
        if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"bad duration {seconds!r} for scan {name!r}")
        durations[str(name)] = timedelta(seconds=seconds)
    return expected, durations


def scan_duration(ev: Event) -> timedelta | None:
    """How long a finished scan ran: its reported duration, else finished minus started."""
    if ev.duration is not None:
        return ev.duration
    if ev.started is not None and ev.finished is not None:
        return ev.finished - ev.started
    return None
