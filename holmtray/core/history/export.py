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
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from holmtray.core.events import StoredEvent
from holmtray.core.history.query import EventQuery, SortKey, SortPosition, sort_position
from holmtray.core.history.store import Store
from holmtray.core.triage import asset_label

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
    "asset",
    "link",
    "scan_name",
    "scan_type",
    "scan_status",
    "critical",
    "high",
    "medium",
    "low",
    "errors",
    "started",
    "finished",
    "starts_at",
    "duration_seconds",
    "asset_name",
    "hostname",
    "ipv4",
    "ipv6",
    "os",
    "vulnerability",
    "cve",
    "cvss",
    "summary",
    "solution",
    "ticket_number",
    "ticket_status",
    "due",
)
"""Every normalised field of an event (the JSON export has them under ``fields``), and
``asset``: the one the event window shows (host name, else IP, else name)."""

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""Cell openings a spreadsheet may run as a formula (OWASP's CSV injection list)."""


def defuse_cell(value: str) -> str:
    """Prefix ``'`` to text a spreadsheet would otherwise evaluate as a formula."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _iso(when: datetime | None) -> str:
    return when.astimezone(UTC).isoformat() if when is not None else ""


def _text(value: object) -> str:
    return "" if value is None else str(value)


def csv_row(s: StoredEvent) -> list[str]:
    """The cells of ``s`` in :data:`CSV_COLUMNS` order, each defused.

    Times are ISO 8601 in UTC, a duration in seconds, several errors one per line.
    """
    ev = s.event
    counts = ev.counts
    vuln = ev.vulnerability
    cells = [
        str(s.id),
        _iso(s.received_at),
        ev.kind.value,
        ev.severity.word,
        "true" if ev.attention else "false",
        "true" if s.read else "false",
        ev.title,
        _text(asset_label(ev)),
        _text(ev.link),
        _text(ev.scan_name),
        _text(ev.scan_type),
        _text(ev.scan_status),
        *(
            (str(counts.critical), str(counts.high), str(counts.medium), str(counts.low))
            if counts is not None
            else ("", "", "", "")
        ),
        "\n".join(ev.errors),
        _iso(ev.started),
        _iso(ev.finished),
        _iso(ev.starts_at),
        f"{ev.duration.total_seconds():g}" if ev.duration is not None else "",
        _text(ev.asset.name),
        _text(ev.asset.hostname),
        _text(ev.asset.ipv4),
        _text(ev.asset.ipv6),
        _text(ev.asset.os),
        _text(vuln.name),
        _text(vuln.cve),
        f"{vuln.cvss:g}" if vuln.cvss is not None else "",
        _text(vuln.summary),
        _text(vuln.solution),
        _text(ev.ticket.number),
        _text(ev.ticket.status),
        _iso(ev.due),
    ]
    return [defuse_cell(c) for c in cells]


class ExportJob:
    """Writes the events matching a query to a file, one page per :meth:`step`.

    The events come in the query's order (the event window's sort), paged by keyset; those
    stored after the job was made are left out, so a long export is of the history as it was
    when it began. The file is written under a ``.part`` name and renamed at the end, so a
    cancelled or failed export never leaves a truncated file under the name the user chose.
    """

    def __init__(self, *, store: Store, query: EventQuery, path: Path, fmt: str) -> None:
        if fmt not in ("csv", "json"):
            raise ValueError(f"unknown export format {fmt!r} (allowed: csv, json)")
        self._store = store
        q = dataclasses.replace(query, before_id=None, after_id=None, after=None, limit=1)
        newest = store.query_ids(dataclasses.replace(q, sort=SortKey.RECEIVED, oldest_first=False))
        self._query = dataclasses.replace(
            q, before_id=newest[0] + 1 if newest else None, limit=EXPORT_PAGE
        )
        self.path = path
        self.fmt = fmt
        self.written = 0
        self._part = path.with_name(path.name + ".part")
        self._after: SortPosition | None = None
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
        page = self._store.query(dataclasses.replace(self._query, after=self._after))
        for s in page:
            if self.fmt == "csv":
                self._csv.writerow(csv_row(s))
            else:
                sep = "\n" if self.written == 0 else ",\n"
                self._file.write(sep + json.dumps(s.to_json(), indent=2, ensure_ascii=False))
            self.written += 1
        if page:
            self._after = sort_position(page[-1], self._query.sort)
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
