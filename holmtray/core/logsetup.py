"""Logging set-up shared by ``serve`` and the tray app: secrets redacted, everything escaped.

Every handler gets a :class:`RedactingFormatter`. It masks the webhook token and the Basic
password in every spelling (any letter case, percent-encoded), every word that shares a long
run of characters with one of them and every string shaped like a relay read token
(:class:`~holmtray.core.redact.Redactor`), in the message and in tracebacks; the code already
avoids logging them, this is the second line of defence. Then it escapes control, bidi and
format characters (:func:`~holmtray.core.text.printable`): a message is always one line, and
a traceback keeps only its own line breaks. The log file is created readable by its owner
only (mode 0600), like every other file that holds request data, in a folder of mode 0700.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from holmtray.core.redact import MASK, Redactor

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
FILE_MODE = 0o600
LOG_BYTES = 2 * 1024 * 1024
LOG_BACKUPS = 3

__all__ = ["FORMAT", "MASK", "LogFileError", "PrivateRotatingFileHandler", "RedactingFormatter"]


class LogFileError(Exception):
    """The log file cannot be opened; the message names the file and the problem."""


class RedactingFormatter(logging.Formatter):
    """A formatter that masks secrets and escapes unprintable characters in what it formats."""

    def __init__(self, fmt: str = FORMAT, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._redactor = Redactor(())
        self.set_secrets(secrets)

    def set_secrets(self, secrets: Iterable[str]) -> None:
        """Mask these from now on (the token and password after they change, say)."""
        self._redactor = Redactor(secrets)

    def clean(self, text: str) -> str:
        """One line of log text: secrets masked, then made printable."""
        return self._redactor.clean(text)

    def _clean_lines(self, text: str) -> str:
        return "\n".join(self.clean(line) for line in text.split("\n"))

    def formatMessage(self, record: logging.LogRecord) -> str:
        message = record.message
        record.message = self.clean(message)
        try:
            return super().formatMessage(record)
        finally:
            record.message = message

    def formatException(self, ei: Any) -> str:
        return self._clean_lines(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return self._clean_lines(super().formatStack(stack_info))


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file whose every generation is created with mode 0600."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)  # a file made earlier, by hand or an older version
            return open(fd, "a", encoding=self.encoding, errors=self.errors)
        except BaseException:
            os.close(fd)
            raise


def open_log_file(log_file: Path) -> PrivateRotatingFileHandler:
    """The handler for ``log_file``, its folder made (0700) if missing; :class:`LogFileError`."""
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return PrivateRotatingFileHandler(
            log_file,
            maxBytes=LOG_BYTES,
            backupCount=LOG_BACKUPS,
            encoding="utf-8",
            errors="backslashreplace",
        )
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise LogFileError(f"cannot write the log file {log_file}: {why}") from None


def configure(
    *,
    secrets: Iterable[str],
    level: int = logging.INFO,
    stderr: bool = True,
    log_file: Path | None = None,
) -> RedactingFormatter:
    """Route the ``holmtray`` loggers (and warnings) to stderr and/or a rotating file.

    :class:`LogFileError` when the log file cannot be opened, before anything is changed.
    """
    handlers: list[logging.Handler] = []
    if log_file is not None:
        handlers.append(open_log_file(log_file))
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    formatter = RedactingFormatter(secrets=secrets)
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        h.setFormatter(formatter)
        root.addHandler(h)
    root.setLevel(logging.WARNING)
    logging.getLogger("holmtray").setLevel(level)
    logging.captureWarnings(True)
    return formatter
