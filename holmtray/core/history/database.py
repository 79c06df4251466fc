"""Opening the history's SQLite file: connection, pragmas, checks, recovery and its failures.

This module owns getting a usable connection to the database file: creating the file (and its
folder) owner-only, connecting with the busy timeout, the structural check
(``PRAGMA quick_check``), moving a corrupt file aside (never deleting it) and starting anew,
the connection pragmas (WAL, ``synchronous=FULL``, read-only), and the error classes of the
store: :class:`StoreError` for a known operational failure and :class:`StoreUnavailable` for
one that stops commits right now, with :func:`unavailable` translating what SQLite reports
(disk full, read-only, locked, file gone, I/O error) into a plain cause. Programming errors
are not mapped: they propagate unchanged. What the schema is lives in
:mod:`holmtray.core.history.schema`; no Qt here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("holmtray.history.database")


class StoreError(Exception):
    """A known operational failure of the store (as opposed to a bug)."""


class StoreUnavailable(StoreError):
    """The store cannot commit right now: disk full, read-only, locked, file or folder gone.

    ``cause`` says why in a few words without the file's path, fit for a tray tooltip or an
    unauthenticated health answer. ``reopen`` is true when only a new connection can get past
    the failure: SQLite opens a file it may not write read-only, and such a connection never
    becomes writable again, even once the file is.
    """

    def __init__(self, message: str, *, cause: str | None = None, reopen: bool = False) -> None:
        super().__init__(message)
        self.cause = cause if cause is not None else message
        self.reopen = reopen


# --------------------------------------------------------------------------------------------
# SQLite's failures as plain causes
# --------------------------------------------------------------------------------------------

_UNAVAILABLE_CAUSES = {
    sqlite3.SQLITE_FULL: "the disk is full",
    sqlite3.SQLITE_READONLY: "the database is read-only",
    sqlite3.SQLITE_BUSY: "the database is locked by another program (timed out waiting)",
    sqlite3.SQLITE_LOCKED: "the database is locked",
    sqlite3.SQLITE_CANTOPEN: "the database file cannot be opened (is its folder gone?)",
    sqlite3.SQLITE_IOERR: "a disk I/O error occurred",
    sqlite3.SQLITE_PERM: "access to the database file was denied",
}


def unavailable(exc: sqlite3.OperationalError, path: Path, doing: str) -> StoreUnavailable | None:
    """The :class:`StoreUnavailable` for a known operational failure, else ``None``."""
    code = getattr(exc, "sqlite_errorcode", None)
    cause = _UNAVAILABLE_CAUSES.get(code & 0xFF) if isinstance(code, int) else None
    if cause is None:
        # Errors raised before a statement runs carry no code; fall back to the message.
        text = str(exc).lower()
        for needle, words in (
            ("disk is full", _UNAVAILABLE_CAUSES[sqlite3.SQLITE_FULL]),
            ("readonly database", _UNAVAILABLE_CAUSES[sqlite3.SQLITE_READONLY]),
            ("database is locked", _UNAVAILABLE_CAUSES[sqlite3.SQLITE_BUSY]),
            ("unable to open database file", _UNAVAILABLE_CAUSES[sqlite3.SQLITE_CANTOPEN]),
            ("disk i/o error", _UNAVAILABLE_CAUSES[sqlite3.SQLITE_IOERR]),
        ):
            if needle in text:
                cause = words
                break
    if cause is None:
        return None
    return StoreUnavailable(
        f"cannot {doing} {path}: {cause} ({exc})",
        cause=cause,
        reopen=cause == _UNAVAILABLE_CAUSES[sqlite3.SQLITE_READONLY],
    )


@contextlib.contextmanager
def unavailable_on_failure(path: Path, doing: str) -> Iterator[None]:
    """Raise a known operational failure inside as :class:`StoreUnavailable`; others unchanged."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        mapped = unavailable(exc, path, doing)
        if mapped is None:
            raise
        raise mapped from exc


# --------------------------------------------------------------------------------------------
# Opening, checking, recovering
# --------------------------------------------------------------------------------------------


def free_name(base: Path) -> Path:
    """``base`` if nothing is there, else ``base-1``, ``base-2``... (never overwrite)."""
    candidate, n = base, 0
    while candidate.exists() or Path(f"{candidate}-wal").exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def connect(path: Path, *, busy_timeout_s: float, readonly: bool) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN/COMMIT) that waits for locks."""
    if readonly:
        target, uri = f"{path.resolve().as_uri()}?mode=ro", True
    else:
        target, uri = str(path), False
    conn = sqlite3.connect(
        target,
        uri=uri,
        timeout=busy_timeout_s,
        isolation_level=None,  # we issue BEGIN/COMMIT ourselves
        check_same_thread=False,  # opened in one thread, then used by one worker thread
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    return conn


def quick_check(conn: sqlite3.Connection, *, full: bool = True) -> None:
    """Raise :class:`sqlite3.DatabaseError` if the file is not a sound database.

    ``full=False`` only reads the header and the schema: a file that is not a database (or
    whose first pages are damaged) still fails, damage deeper inside goes unnoticed.
    """
    if not full:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return
    problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise sqlite3.DatabaseError("quick_check: " + "; ".join(problems[:5]))


def open_file(
    path: Path, *, busy_timeout_s: float, readonly: bool, check: bool
) -> tuple[sqlite3.Connection, Path | None]:
    """A checked connection to ``path`` and where a damaged file there was moved, if it was.

    Unless ``readonly``, the folder and the file are created (owner-only) when missing, and a
    file that fails its check is moved aside and replaced by a new, empty one. See
    :meth:`holmtray.core.history.store.Store.open` for ``check``.
    """
    recovered_from: Path | None = None
    if not readonly:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.exists():
                # History is sensitive: only the owner may read it (-wal/-shm inherit this).
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot create the database {path}: {exc.strerror or exc}",
                cause=f"the database folder cannot be created ({exc.strerror or exc})",
            ) from exc

    conn = _open_checked(path, busy_timeout_s=busy_timeout_s, readonly=readonly, check=check)
    if conn is None:
        recovered_from = _move_aside(path)
        conn = _open_checked(path, busy_timeout_s=busy_timeout_s, readonly=False, check=check)
        if conn is None:
            raise StoreError(f"a new database at {path} failed its check right after creation")
    return conn, recovered_from


def _open_checked(
    path: Path, *, busy_timeout_s: float, readonly: bool, check: bool = True
) -> sqlite3.Connection | None:
    """A connection that passed ``quick_check``, or ``None`` if the file is corrupt."""
    try:
        conn = connect(path, busy_timeout_s=busy_timeout_s, readonly=readonly)
    except sqlite3.OperationalError as exc:
        raise unavailable(exc, path, "open") or StoreError(f"cannot open {path}: {exc}") from exc
    try:
        quick_check(conn, full=check)
    except sqlite3.OperationalError as exc:
        conn.close()
        raise unavailable(exc, path, "open") or StoreError(f"cannot check {path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        conn.close()
        if readonly:
            raise StoreError(f"{path} is damaged ({exc}); open it writable to recover") from exc
        log.debug("quick_check of %s failed: %s", path, exc)
        return None
    return conn


def _move_aside(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = free_name(path.with_name(f"{path.name}.corrupt-{stamp}"))
    try:
        for suffix in ("-wal", "-shm"):
            side = Path(f"{path}{suffix}")
            if side.exists():
                side.rename(f"{target}{suffix}")
        path.rename(target)
    except OSError as exc:
        raise StoreUnavailable(
            f"{path} is damaged and could not be moved aside: {exc.strerror or exc}",
            cause=f"the database is damaged and cannot be moved aside ({exc.strerror or exc})",
        ) from exc
    log.warning(
        "database %s was damaged; moved it to %s and started a new, empty one", path, target
    )
    return target


def apply_pragmas(conn: sqlite3.Connection, path: Path, *, readonly: bool) -> None:
    """WAL and ``synchronous=FULL`` for a writable connection, ``query_only`` for a read-only one.

    A writable connection also keeps its temporary files in memory (``temp_store = MEMORY``).
    The one that matters is the statement journal: a batch's multi-row INSERT (its FTS trigger
    makes SQLite keep one) records the old content of every page it changes, ~5 pages per
    event, and past 64 KiB SQLite would spill it to a temporary file created, written and
    unlinked once per batch -- more bytes written than the WAL itself, for a journal that is
    only read back if the statement fails. In memory it is a few hundred KiB per batch, freed
    when the statement ends. Read-only connections (the event window's) keep the default: their
    sorts may need large temporary tables, which belong on disk.

    Call after the schema version was checked: switching to WAL writes the file's header.
    """
    if readonly:
        conn.execute("PRAGMA query_only = ON")
        return
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(f"{path} could not be switched to WAL mode (got {mode!r})")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
