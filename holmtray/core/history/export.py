"""Export of stored events to a CSV or JSON file, a page at a time.

This module owns the export formats (the CSV columns, the JSON list of stored events) and the
job that writes them: :class:`ExportJob` reads the events matching an
:class:`~holmtray.core.history.store.EventQuery` one page per :meth:`ExportJob.step`, so a
caller with an event loop can spread a long export over it, and :func:`export_events` runs a
job to completion. Cells a spreadsheet would evaluate as formulas are defused
(:func:`defuse_cell`). No Qt here: the event window adds the file and progress dialogs.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
from datetime import UTC
from pathlib import Path
from typing import IO

from holmtray.core.events import StoredEvent
from holmtray.core.history.query import EventQuery
from holmtray.core.history.store import Store

EXPORT_PAGE = 1000
"""Rows written per step of an export; one step is short enough not to stall the GUI."""

CSV_COLUMNS = (
    "id",
    "received_at",
    "kind",
    "severity",
    "attention",
    "read",
    "title",
    "link",
    "scan_status",
    "asset_name",
    "hostname",
    "cve",
)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""Cell openings a spreadsheet may run as a formula (OWASP's CSV injection list)."""


def defuse_cell(value: str) -> str:
    """Prefix ``'`` to text a spreadsheet would otherwise evaluate as a formula."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_row(s: StoredEvent) -> list[str]:
    """The cells of ``s`` in :data:`CSV_COLUMNS` order, each defused."""
    ev = s.event
    cells = [
        str(s.id),
        s.received_at.astimezone(UTC).isoformat(),
        ev.kind.value,
        ev.severity.word,
        "true" if ev.attention else "false",
        "true" if s.read else "false",
        ev.title,
        ev.link or "",
        ev.scan_status or "",
        ev.asset.name or "",
        ev.asset.hostname or "",
        ev.vulnerability.cve or "",
    ]
    return [defuse_cell(c) for c in cells]


class ExportJob:
    """Writes the events matching a query to a file, one page per :meth:`step`.

    The file is written under a ``.part`` name and renamed at the end, so a cancelled or
    failed export never leaves a truncated file under the name the user chose.
    """

    def __init__(self, *, store: Store, query: EventQuery, path: Path, fmt: str) -> None:
        if fmt not in ("csv", "json"):
            raise ValueError(f"unknown export format {fmt!r} (allowed: csv, json)")
        self._store = store
        self._query = dataclasses.replace(query, before_id=None, after_id=None, limit=EXPORT_PAGE)
        self.path = path
        self.fmt = fmt
        self.written = 0
        self._part = path.with_name(path.name + ".part")
        self._before: int | None = None
        self._done = False
        # newline="" is what the csv module wants; utf-8-sig lets spreadsheets detect UTF-8.
        encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
        self._file: IO[str] = open(self._part, "w", encoding=encoding, newline="")  # noqa: SIM115
        if fmt == "csv":
            self._csv = csv.writer(self._file)
            self._csv.writerow(CSV_COLUMNS)
        else:
            self._file.write("[")

    @property
    def done(self) -> bool:
        return self._done

    def step(self) -> bool:
        """Write the next page; ``False`` once everything is written."""
        if self._done:
            return False
        page = self._store.query(dataclasses.replace(self._query, before_id=self._before))
        for s in page:
            if self.fmt == "csv":
                self._csv.writerow(csv_row(s))
            else:
                sep = "\n" if self.written == 0 else ",\n"
                self._file.write(sep + json.dumps(s.to_json(), indent=2, ensure_ascii=False))
            self.written += 1
        if page:
            # New events get higher ids, so paging downwards never picks them up mid-export.
            self._before = page[-1].id
        if len(page) < EXPORT_PAGE:
            self._done = True
        return not self._done

    def finish(self) -> None:
        """Close the file and move it to its final name."""
        if self.fmt == "json":
            self._file.write("\n]\n" if self.written else "]\n")
        self._file.close()
        os.replace(self._part, self.path)

    def abort(self) -> None:
        """Close and remove the partial file."""
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._part.unlink()


def export_events(store: Store, query: EventQuery, *, path: Path, fmt: str) -> int:
    """Write every event matching ``query`` to ``path`` (``csv`` or ``json``) in one go.

    Returns how many events were written. Runs to completion; the event window spreads the
    same job over its event loop instead.
    """
    job = ExportJob(store=store, query=query, path=Path(path), fmt=fmt)
    try:
        while job.step():
            pass
    except BaseException:
        job.abort()
        raise
    job.finish()
    return job.written
