"""The rejected-requests log: a bounded record of every request the listener turned away.

One JSON object per line (time, remote address, method, path, status, reason, size). Never
the body, never the token, never credentials: the path's pieces that touch a secret, in any
spelling, are written ``***`` and the reason has them masked
(:class:`~holmtray.core.redact.Redactor`, given by the listener, which knows the live token
and password). Every text field is made printable (:func:`~holmtray.core.text.printable`) and
the line is written with :func:`~holmtray.core.text.json_text`, so neither the file nor
``holmtray rejected`` ever holds a control, bidi or format character raw. The file is created
0600 and capped: when it passes ``max_bytes`` it becomes ``<name>.1`` (replacing the previous
one) and a new file starts, so at most about twice ``max_bytes`` is ever kept.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from holmtray.core.redact import Redactor
from holmtray.core.text import json_text, printable

log = logging.getLogger("holmtray.ingest.rejected")

MAX_PATH_CHARS = 200
MAX_REASON_CHARS = 300
_NO_SECRETS = Redactor(())


def mask_path(path: str, redactor: Redactor = _NO_SECRETS) -> str:
    """The request path as the log keeps it: every piece that touches a secret of ``redactor``
    (or follows ``hooks``, or looks like a read token) written ``***``, made printable and
    cut at :data:`MAX_PATH_CHARS`."""
    masked = printable(redactor.path(path))
    if len(masked) > MAX_PATH_CHARS:
        masked = masked[:MAX_PATH_CHARS] + "…"
    return masked


@dataclass(frozen=True, slots=True)
class Rejection:
    """One turned-away request."""

    time: str
    remote: str
    method: str
    path: str
    status: int
    reason: str
    size: int | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rejection:
        return cls(
            time=str(data.get("time", "")),
            remote=str(data.get("remote", "")),
            method=str(data.get("method", "")),
            path=str(data.get("path", "")),
            status=int(data.get("status", 0)),
            reason=str(data.get("reason", "")),
            size=data.get("size") if isinstance(data.get("size"), int) else None,
        )


class RejectedLog:
    """Appends rejections to a size-capped JSON-lines file and reads the newest back."""

    def __init__(self, path: Path, *, max_bytes: int = 256 * 1024) -> None:
        self._path = path
        self._max_bytes = max_bytes

    @property
    def path(self) -> Path:
        return self._path

    def record(
        self,
        *,
        remote: str | None,
        method: str,
        path: str,
        status: int,
        reason: str,
        size: int | None,
        now: datetime | None = None,
        redactor: Redactor = _NO_SECRETS,
    ) -> Rejection:
        """Append one rejection; a failure to write is logged, never raised at the caller.

        ``redactor`` knows the secrets to mask; without one, the piece after ``hooks`` and
        read-token shapes are still masked.
        """
        entry = Rejection(
            time=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
            remote=redactor.clean(remote or "?")[:80],
            method=redactor.clean(method[:16]),
            path=mask_path(path, redactor),
            status=status,
            reason=redactor.clean(reason[:MAX_REASON_CHARS]),
            size=size,
        )
        line = json_text(asdict(entry)) + "\n"
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._rotate_if_full()
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            # json_text escapes lone surrogates already; the error handler is a backstop.
            with os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace") as fh:
                fh.write(line)
        except OSError as exc:
            log.warning("cannot write the rejected-requests log %s: %s", self._path, exc.strerror)
        return entry

    def _rotate_if_full(self) -> None:
        try:
            size = self._path.stat().st_size
        except FileNotFoundError:
            return
        if size >= self._max_bytes:
            os.replace(self._path, self._path.with_name(self._path.name + ".1"))

    def newest(self, limit: int | None = 50) -> list[Rejection]:
        """The newest ``limit`` rejections (all kept ones for ``None``), newest first."""
        entries: list[Rejection] = []
        for p in (self._path.with_name(self._path.name + ".1"), self._path):
            try:
                text = p.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            for raw in text.split("\n"):  # not splitlines: U+2028 and NEL end no line here
                try:
                    data = json.loads(raw)
                except ValueError:
                    continue  # a line cut short by a crash; the rest is still readable
                if isinstance(data, dict):
                    entries.append(Rejection.from_json(data))
        entries.reverse()
        return entries if limit is None else entries[:limit]
