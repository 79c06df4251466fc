"""Logging set-up shared by ``serve`` and the tray app, with secrets redacted.

Every handler gets a :class:`RedactingFormatter` that replaces the webhook token and the Basic
password wherever they would appear in a formatted line, tracebacks included. The code already
avoids logging them; this is the second line of defence.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Iterable
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
MASK = "<redacted>"


class RedactingFormatter(logging.Formatter):
    """A formatter that masks a set of secret strings in everything it formats."""

    def __init__(self, fmt: str = FORMAT, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._secrets: tuple[str, ...] = ()
        self.set_secrets(secrets)

    def set_secrets(self, secrets: Iterable[str]) -> None:
        # Longest first so a secret that contains another is masked whole.
        self._secrets = tuple(sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True))

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text


def configure(
    *,
    secrets: Iterable[str],
    level: int = logging.INFO,
    stderr: bool = True,
    log_file: Path | None = None,
) -> RedactingFormatter:
    """Route the ``holmtray`` loggers (and warnings) to stderr and/or a rotating file."""
    formatter = RedactingFormatter(secrets=secrets)
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handlers: list[logging.Handler] = []
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=2 * 1024 * 1024, backupCount=3, encoding="utf-8"
            )
        )
    for h in handlers:
        h.setFormatter(formatter)
        root.addHandler(h)
    root.setLevel(logging.WARNING)
    logging.getLogger("holmtray").setLevel(level)
    logging.captureWarnings(True)
    return formatter
