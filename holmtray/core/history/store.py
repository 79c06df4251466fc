"""The durable event history: one SQLite file, its schema and migrations, and every query on it.

This module owns the database file and everything about it: creating it (and its folder), the
schema version in ``PRAGMA user_version`` with ordered migrations (and a backup before
migrating), recovery from a corrupt file (moved aside, never deleted), deduplication of
identical bodies, the full-text index, retention, and the translation of the operational
failures SQLite reports (disk full, read-only, locked, file gone, I/O error) into
:class:`StoreUnavailable`, kept apart from programming errors, which propagate unchanged.

A :class:`Store` wraps one connection and is used by one thread at a time; the connection is
made with ``check_same_thread=False`` so that it may be opened in one thread and then used only
by a dedicated worker thread (see :mod:`holmtray.core.history.writer`). No Qt here; bodies are never
logged.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

from holmtray.core.events import (
    Event,
    Kind,
    Severity,
    StoredEvent,
    dumps_compact,
    event_from_fields,
)

log = logging.getLogger("holmtray.store")

DEDUP_WINDOW = timedelta(minutes=10)
"""An identical body received within this time of a stored one is a duplicate."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_RETENTION_CHUNK = 500
"""Rows deleted per transaction by retention, so the write lock is only ever held briefly."""


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


@dataclass(frozen=True)
class NewEvent:
    """One event to insert: the verbatim body, its parsed form and when it arrived (aware)."""

    body: str
    event: Event
    received_at: datetime


@dataclass(frozen=True)
class InsertResult:
    """The outcome for one :class:`NewEvent`; ``stored`` is ``None`` for a duplicate."""

    id: int
    duplicate: bool
    stored: StoredEvent | None


@dataclass(frozen=True)
class EventQuery:
    """Which events to return. Every filter given must hold (they are ANDed).

    Results come newest (highest id) first; ``oldest_first`` turns that round, so that
    ``after_id`` pages upwards from the oldest match as ``before_id`` pages downwards from the
    newest. Either order walks the rowid, an index or the full-text index and stops at
    ``limit``, without sorting the matches (``since``/``until`` excepted: a time range is
    looked up by receive time, then sorted, in either order).
    """

    search: str | None = None
    kinds: frozenset[Kind] | None = None
    min_severity: Severity | None = None
    unread_only: bool = False
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    after_id: int | None = None
    ids: frozenset[int] | None = None
    limit: int | None = 200
    oldest_first: bool = False


# --------------------------------------------------------------------------------------------
# Schema and migrations
# --------------------------------------------------------------------------------------------


def _migrate_v0_to_v1(conn: sqlite3.Connection) -> None:
    # v1 as first released: no body hash (no dedup), no full-text index (search was LIKE).
    conn.execute(
        """
        CREATE TABLE events (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            received_at INTEGER NOT NULL,          -- microseconds since the Unix epoch, UTC
            kind        TEXT    NOT NULL,
            severity    INTEGER NOT NULL,
            attention   INTEGER NOT NULL DEFAULT 0,
            read        INTEGER NOT NULL DEFAULT 0,
            title       TEXT    NOT NULL,
            link        TEXT,
            scan_name   TEXT,
            asset_name  TEXT,
            hostname    TEXT,
            cve         TEXT,
            vuln_name   TEXT,
            fields      TEXT    NOT NULL,          -- JSON of Event.fields_dict()
            body        TEXT    NOT NULL           -- the body exactly as received
        )
        """
    )
    conn.execute("CREATE INDEX events_received_at ON events(received_at)")


def _migrate_v1_to_v2(conn: sqlite3.Connection) -> None:
    # v2 adds dedup (body_hash), the full-text index with the two columns it needs that v1
    # kept only inside `fields`, a payload override and indexes for filtered newest-first paging.
    conn.execute("ALTER TABLE events ADD COLUMN body_hash TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE events ADD COLUMN ipv4 TEXT")
    conn.execute("ALTER TABLE events ADD COLUMN vuln_summary TEXT")
    # NULL means "the payload is json.loads(body)", true for every row the parser makes; a
    # value is stored only when they differ, so the common case costs nothing.
    conn.execute("ALTER TABLE events ADD COLUMN payload TEXT")
    conn.create_function("holmtray_sha256", 1, _sha256_hex, deterministic=True)
    conn.execute(
        """
        UPDATE events SET
            body_hash    = holmtray_sha256(body),
            ipv4         = json_extract(fields, '$.asset.ipv4'),
            vuln_summary = json_extract(fields, '$.vulnerability.summary')
        """
    )
    conn.execute("CREATE INDEX events_dedup ON events(body_hash, received_at)")
    conn.execute("CREATE INDEX events_kind ON events(kind, id)")
    conn.execute("CREATE INDEX events_severity ON events(severity, id)")
    # Partial indexes hold only unread rows (usually few): one pages them newest-first, the
    # other answers "highest unread severity" without a scan, even with a million unread.
    conn.execute("CREATE INDEX events_unread ON events(id) WHERE read = 0")
    conn.execute("CREATE INDEX events_unread_severity ON events(severity) WHERE read = 0")

    # Spelled out rather than generated: a migration is frozen history and must not change
    # when later versions change their column lists.
    conn.execute(
        """
        CREATE VIRTUAL TABLE events_fts USING fts5(
            title, scan_name, asset_name, hostname, ipv4, cve, vuln_name, vuln_summary,
            content='events', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
        )
        """
    )
    conn.execute(
        """
        CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN
            INSERT INTO events_fts(
                rowid, title, scan_name, asset_name, hostname, ipv4, cve, vuln_name, vuln_summary
            ) VALUES (
                new.id, new.title, new.scan_name, new.asset_name, new.hostname, new.ipv4,
                new.cve, new.vuln_name, new.vuln_summary
            );
        END
        """
    )
    conn.execute(
        """
        CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
            INSERT INTO events_fts(
                events_fts, rowid, title, scan_name, asset_name, hostname, ipv4, cve, vuln_name,
                vuln_summary
            ) VALUES (
                'delete', old.id, old.title, old.scan_name, old.asset_name, old.hostname,
                old.ipv4, old.cve, old.vuln_name, old.vuln_summary
            );
        END
        """
    )
    conn.execute(
        """
        CREATE TRIGGER events_fts_update AFTER UPDATE OF
            title, scan_name, asset_name, hostname, ipv4, cve, vuln_name, vuln_summary
        ON events BEGIN
            INSERT INTO events_fts(
                events_fts, rowid, title, scan_name, asset_name, hostname, ipv4, cve, vuln_name,
                vuln_summary
            ) VALUES (
                'delete', old.id, old.title, old.scan_name, old.asset_name, old.hostname,
                old.ipv4, old.cve, old.vuln_name, old.vuln_summary
            );
            INSERT INTO events_fts(
                rowid, title, scan_name, asset_name, hostname, ipv4, cve, vuln_name, vuln_summary
            ) VALUES (
                new.id, new.title, new.scan_name, new.asset_name, new.hostname, new.ipv4,
                new.cve, new.vuln_name, new.vuln_summary
            );
        END
        """
    )
    conn.execute("INSERT INTO events_fts(events_fts) VALUES ('rebuild')")


_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migrate_v0_to_v1,
    _migrate_v1_to_v2,
)
"""``_MIGRATIONS[n]`` takes a database from version ``n`` to ``n + 1``."""

SCHEMA_VERSION: int = len(_MIGRATIONS)

_INSERT_SQL = (
    "INSERT INTO events (id, received_at, kind, severity, attention, read, title, link,"
    " scan_name, asset_name, hostname, ipv4, cve, vuln_name, vuln_summary, fields, body,"
    " body_hash, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_OR_IGNORE_SQL = _INSERT_SQL.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
_INSERT_CHUNK = 500
"""Rows per multi-row INSERT (19 parameters each: far below SQLite's variable limit)."""
_STORED_HASHES_SQL = (
    "SELECT body_hash, received_at, id FROM events"
    " WHERE body_hash IN (SELECT value FROM json_each(?)) AND received_at BETWEEN ? AND ?"
)
_ROW_COLUMNS = "e.id, e.received_at, e.read, e.fields, e.body, e.payload"


@functools.lru_cache(maxsize=64)
def _insert_rows_sql(n: int) -> str:
    """``_INSERT_SQL`` for ``n`` rows in one statement."""
    head, _, row = _INSERT_SQL.partition(" VALUES ")
    return f"{head} VALUES {', '.join([row] * n)}"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _sha256_hex(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def _storable(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD: SQLite text must be valid UTF-8.

    ``json.loads`` turns an escaped ``"\\ud800"`` into such a character; without this one
    hostile webhook would fail the whole batch it was committed with.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _to_us(when: datetime) -> int:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got {when!r}")
    return (when - _EPOCH) // _US


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _payload_from_body(body: str) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def fts_match_expression(text: str | None) -> str | None:
    """Turn what a person typed into an FTS5 expression that can never be a syntax error.

    Each whitespace-separated token becomes a quoted string (``"`` doubled inside), the tokens
    are ANDed, and the last one is prefix-matched, so ``web-01 cve-2021`` finds rows containing
    ``web 01`` and a token starting ``2021`` after ``cve``. Tokens without a letter or digit
    (``-``, ``*``, ``"``) cannot match anything and are dropped; ``None`` means "no filter".
    """
    if text is None:
        return None
    # NUL would end the expression inside FTS5 ("unterminated string"); it separates words.
    tokens = [t for t in text.replace("\x00", " ").split() if any(ch.isalnum() for ch in t)]
    if not tokens:
        return None
    quoted = ['"' + t.replace('"', '""') + '"' for t in tokens]
    quoted[-1] += "*"
    return " AND ".join(quoted)


_UNAVAILABLE_CAUSES = {
    sqlite3.SQLITE_FULL: "the disk is full",
    sqlite3.SQLITE_READONLY: "the database is read-only",
    sqlite3.SQLITE_BUSY: "the database is locked by another program (timed out waiting)",
    sqlite3.SQLITE_LOCKED: "the database is locked",
    sqlite3.SQLITE_CANTOPEN: "the database file cannot be opened (is its folder gone?)",
    sqlite3.SQLITE_IOERR: "a disk I/O error occurred",
    sqlite3.SQLITE_PERM: "access to the database file was denied",
}


def _unavailable(exc: sqlite3.OperationalError, path: Path, doing: str) -> StoreUnavailable | None:
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


def _free_name(base: Path) -> Path:
    """``base`` if nothing is there, else ``base-1``, ``base-2``... (never overwrite)."""
    candidate, n = base, 0
    while candidate.exists() or Path(f"{candidate}-wal").exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _connect(path: Path, *, busy_timeout_s: float, readonly: bool) -> sqlite3.Connection:
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


def _quick_check(conn: sqlite3.Connection, *, full: bool = True) -> None:
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


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


class Store:
    """The event history in one SQLite file. Make one with :meth:`Store.open`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        readonly: bool,
        recovered_from: Path | None,
    ) -> None:
        self._conn = conn
        self._path = path
        self._readonly = readonly
        self._recovered_from = recovered_from
        self._identity = self._file_identity()
        self._closed = False
        self._writes = 0  # write transactions begun on this connection
        # unread_summary()'s last answer, keyed by (PRAGMA data_version, self._writes).
        self._unread: tuple[tuple[int, int], tuple[int, Severity | None]] | None = None

    # ---- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        busy_timeout_s: float = 5.0,
        readonly: bool = False,
        check: bool = True,
    ) -> Store:
        """Open (creating or migrating as needed) the database at ``path``.

        ``readonly=True`` opens through a ``mode=ro`` URI: SQLite itself refuses every write,
        whoever runs the process (root included), and nothing is created, migrated or moved.
        ``check=False`` skips the structural check (``PRAGMA quick_check`` reads the whole
        file: about 2 s for a million events) and only reads the header and schema, so a file
        that is not a database is still caught (and moved aside unless read-only) but damage
        deep inside is not. For opens right after a checked one (the tray app's GUI store
        after its writer's) and for quick reads (``holmtray events``).
        Raises :class:`StoreUnavailable` when the file or its folder cannot be opened and
        :class:`StoreError` for a database this version cannot use.
        """
        path = Path(path)
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

        conn = cls._open_checked(
            path, busy_timeout_s=busy_timeout_s, readonly=readonly, check=check
        )
        if conn is None:
            recovered_from = cls._move_aside(path)
            conn = cls._open_checked(
                path, busy_timeout_s=busy_timeout_s, readonly=False, check=check
            )
            if conn is None:
                raise StoreError(f"a new database at {path} failed its check right after creation")
        try:
            cls._prepare(conn, path, readonly=readonly)
        except BaseException:
            conn.close()
            raise
        log.debug("opened %s (schema v%d, readonly=%s)", path, SCHEMA_VERSION, readonly)
        return cls(conn, path, readonly=readonly, recovered_from=recovered_from)

    @classmethod
    def _open_checked(
        cls, path: Path, *, busy_timeout_s: float, readonly: bool, check: bool = True
    ) -> sqlite3.Connection | None:
        """A connection that passed ``quick_check``, or ``None`` if the file is corrupt."""
        try:
            conn = _connect(path, busy_timeout_s=busy_timeout_s, readonly=readonly)
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc, path, "open") or StoreError(
                f"cannot open {path}: {exc}"
            ) from exc
        try:
            _quick_check(conn, full=check)
        except sqlite3.OperationalError as exc:
            conn.close()
            raise _unavailable(exc, path, "open") or StoreError(
                f"cannot check {path}: {exc}"
            ) from exc
        except sqlite3.DatabaseError as exc:
            conn.close()
            if readonly:
                raise StoreError(f"{path} is damaged ({exc}); open it writable to recover") from exc
            log.debug("quick_check of %s failed: %s", path, exc)
            return None
        return conn

    @staticmethod
    def _move_aside(path: Path) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = _free_name(path.with_name(f"{path.name}.corrupt-{stamp}"))
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

    @classmethod
    def _prepare(cls, conn: sqlite3.Connection, path: Path, *, readonly: bool) -> None:
        """Version check, pragmas and migrations; nothing is written to a newer database."""
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            cls._check_version(conn, path, version)
            if readonly:
                if version < SCHEMA_VERSION:
                    raise StoreError(
                        f"{path} has schema v{version} and needs migrating to "
                        f"v{SCHEMA_VERSION}; open it once without read-only"
                    )
                conn.execute("PRAGMA query_only = ON")
                return
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{path} could not be switched to WAL mode (got {mode!r})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            if version < SCHEMA_VERSION:
                cls._migrate(conn, path, version)
        except sqlite3.OperationalError as exc:
            mapped = _unavailable(exc, path, "prepare")
            if mapped is None:
                raise
            raise mapped from exc

    @staticmethod
    def _check_version(conn: sqlite3.Connection, path: Path, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} has schema v{version}, newer than this holmtray understands "
                f"(v{SCHEMA_VERSION}); it was left untouched — use a newer holmtray"
            )
        if version == 0:
            (tables,) = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            ).fetchone()
            if tables:
                raise StoreError(
                    f"{path} is an SQLite database but not a holmtray one; it was left untouched"
                )

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path, version: int) -> None:
        if version > 0:
            backup = _free_name(path.with_name(f"{path.name}.bak-v{version}"))
            os.close(os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            dst = sqlite3.connect(backup)
            try:
                conn.backup(dst)
            finally:
                dst.close()
            log.info("backed up %s to %s before migrating", path, backup)
        for target in range(version + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-read under the write lock: another process may have migrated meanwhile.
                current = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if current < target:
                    _MIGRATIONS[target - 1](conn)
                    conn.execute(f"PRAGMA user_version = {target}")
                conn.execute("COMMIT")
            except BaseException:
                conn.rollback()
                raise
            log.info("migrated %s to schema v%d", path, target)

    # ---- properties ----------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._path

    @property
    def recovered_from(self) -> Path | None:
        """Where a damaged file was moved when this store was opened, else ``None``."""
        return self._recovered_from

    def file_is_current(self) -> bool:
        """False once the file was removed or replaced since open.

        SQLite would go on writing into the unlinked file and report success, so writes refuse
        (with :class:`StoreUnavailable`) and the owner should reopen.
        """
        return self._file_identity() == self._identity

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    # ---- transactions --------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE .. COMMIT``; rolled back on any failure, errors mapped."""
        conn = self._conn
        if not self._readonly and not self.file_is_current():
            raise StoreUnavailable(
                f"cannot {doing} {self._path}: the database file was removed or replaced",
                cause="the database file was removed or replaced",
            )
        self._writes += 1  # whether it commits or not: cached answers are stale either way
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.rollback()
                except sqlite3.Error as rb_exc:  # the original error is the one that matters
                    log.warning("rollback after failure on %s failed: %s", self._path, rb_exc)
            if isinstance(exc, sqlite3.OperationalError):
                mapped = _unavailable(exc, self._path, doing)
                if mapped is not None:
                    raise mapped from exc
            raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._conn
        except sqlite3.OperationalError as exc:
            mapped = _unavailable(exc, self._path, "read")
            if mapped is not None:
                raise mapped from exc
            raise

    # ---- writing -------------------------------------------------------------------------

    def insert_many(self, items: Sequence[NewEvent]) -> list[InsertResult]:
        """Insert a batch in one transaction; results in input order. Duplicates add no row.

        An item is a duplicate of the newest stored row (or earlier item of the batch) with the
        same body received within :data:`DEDUP_WINDOW` of it. The batch takes a fixed handful
        of statements however large it is -- one look-up of the batch's body hashes, one
        multi-row INSERT per :data:`_INSERT_CHUNK` rows -- rather than two per event: every
        statement releases and re-takes the GIL, and with the listener busy on another thread
        each re-take waits, which had made the writer wait more than it worked.
        """
        if not items:
            return []
        rows = [
            self._row_values(None, item.event, item.body, item.received_at, False) for item in items
        ]
        window = DEDUP_WINDOW // _US
        # Per item: ("db", id) a duplicate of a stored row, ("new", k) a duplicate of the k-th
        # row inserted by this batch, or None: inserted itself.
        dup_of: list[tuple[str, int] | None] = []
        fresh: list[int] = []  # indexes of the items inserted, in order (their ids ascend)
        with self._write("store events in") as conn:
            stored = self._stored_hashes(conn, rows, window)
            batch: dict[str, list[tuple[int, int]]] = {}  # hash -> [(received, k)]
            for i, values in enumerate(rows):
                received_us, body_hash = values[1], values[17]
                lo, hi = received_us - window, received_us + window
                # As ORDER BY received_at DESC on the dedup index would pick: the latest
                # received; on a tie the highest id, and a row of this batch has a higher id
                # than any stored row.
                best: tuple[int, int, int] | None = None
                for when, row_id in stored.get(body_hash, ()):
                    if lo <= when <= hi and (best is None or (when, 0, row_id) > best):
                        best = (when, 0, row_id)
                for when, k in batch.get(body_hash, ()):
                    if lo <= when <= hi and (best is None or (when, 1, k) > best):
                        best = (when, 1, k)
                if best is None:
                    batch.setdefault(body_hash, []).append((received_us, len(fresh)))
                    fresh.append(i)
                    dup_of.append(None)
                else:
                    dup_of.append(("new" if best[1] else "db", best[2]))
            new_ids: list[int] = []
            for start in range(0, len(fresh), _INSERT_CHUNK):
                chunk = fresh[start : start + _INSERT_CHUNK]
                cur = conn.execute(
                    _insert_rows_sql(len(chunk)), [v for i in chunk for v in rows[i]]
                )
                last = cur.lastrowid
                assert last is not None
                assert cur.rowcount == len(chunk)
                # One statement, one writer, AUTOINCREMENT: the rows got consecutive ids in
                # VALUES order, the last of them lastrowid.
                new_ids.extend(range(last - len(chunk) + 1, last + 1))
        results: list[InsertResult] = []
        inserted = iter(zip(fresh, new_ids, strict=True))
        for item, values, dup in zip(items, rows, dup_of, strict=True):
            if dup is not None:
                dup_id = dup[1] if dup[0] == "db" else new_ids[dup[1]]
                results.append(InsertResult(id=dup_id, duplicate=True, stored=None))
                continue
            _, new_id = next(inserted)
            event = StoredEvent(
                id=new_id,
                received_at=_from_us(values[1]),
                read=False,
                event=item.event,
                body=item.body,
            )
            results.append(InsertResult(id=new_id, duplicate=False, stored=event))
        return results

    @staticmethod
    def _stored_hashes(
        conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]], window: int
    ) -> dict[str, list[tuple[int, int]]]:
        """Stored rows that may be duplicates of ``rows``: hash -> [(received, id)]."""
        hashes = sorted({values[17] for values in rows})
        lo = min(values[1] for values in rows) - window
        hi = max(values[1] for values in rows) + window
        found: dict[str, list[tuple[int, int]]] = {}
        for body_hash, received_us, row_id in conn.execute(
            _STORED_HASHES_SQL, (json.dumps(hashes), lo, hi)
        ):
            found.setdefault(body_hash, []).append((int(received_us), int(row_id)))
        return found

    @staticmethod
    def _row_values(
        event_id: int | None, ev: Event, body: str, received_at: datetime, read: bool
    ) -> tuple[Any, ...]:
        payload = None if _payload_from_body(body) == ev.payload else dumps_compact(ev.payload)
        body = _storable(body)
        values = (
            event_id,
            _to_us(received_at),
            ev.kind.value,
            int(ev.severity),
            int(ev.attention),
            int(read),
            ev.title,
            ev.link,
            ev.scan_name,
            ev.asset.name,
            ev.asset.hostname,
            ev.asset.ipv4,
            ev.vulnerability.cve,
            ev.vulnerability.name,
            ev.vulnerability.summary,
            dumps_compact(ev.fields_dict()),
            body,
            _sha256_hex(body),
            payload,
        )
        return tuple(_storable(v) if isinstance(v, str) else v for v in values)

    def set_read(self, ids: Iterable[int], read: bool = True) -> int:
        """Set the read flag; returns how many rows actually changed."""
        id_list = _id_list(ids)
        if not id_list:
            return 0
        with self._write("update") as conn:
            cur = conn.execute(
                "UPDATE events SET read = ? WHERE read != ?"
                " AND id IN (SELECT value FROM json_each(?))",
                (int(read), int(read), json.dumps(id_list)),
            )
            return cur.rowcount

    def mark_all_read(self, q: EventQuery | None = None) -> int:
        """Mark every unread event matching ``q`` read (all of them for ``None``).

        Every filter of ``q`` applies except ``limit``; pass ``before_id=<newest shown> + 1``
        so that events that arrived after the view was drawn stay unread. Returns how many
        rows changed.
        """
        q = q or EventQuery()
        where, params = _filters(q, prefix="", id_col="id", paging=True)
        search = fts_match_expression(q.search)
        if search is not None:
            where.append("id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)")
            params.append(search)
        sql = f"UPDATE events SET read = 1 WHERE read = 0 AND {' AND '.join(where)}"  # noqa: S608
        with self._write("update") as conn:
            return conn.execute(sql, params).rowcount

    def delete(self, ids: Iterable[int]) -> int:
        """Delete these events; returns how many existed. Undo with :meth:`restore`."""
        id_list = _id_list(ids)
        if not id_list:
            return 0
        with self._write("delete from") as conn:
            return conn.execute(
                "DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(id_list),),
            ).rowcount

    def restore(self, events: Sequence[StoredEvent]) -> None:
        """Put deleted events back with their ids, receive times and read flags (undo).

        An event whose id is present already is left as it is, so undoing twice is harmless.
        """
        if not events:
            return
        rows = [self._row_values(s.id, s.event, s.body, s.received_at, s.read) for s in events]
        with self._write("restore events in") as conn:
            conn.executemany(_INSERT_OR_IGNORE_SQL, rows)

    def apply_retention(
        self, *, now: datetime, max_age_days: int, max_count: int, max_rows: int | None = None
    ) -> int:
        """Delete events older than ``max_age_days`` and beyond the newest ``max_count``.

        0 means "no limit" for either; the oldest go first. Works in transactions of
        ``_RETENTION_CHUNK`` rows (~30 ms each on a million-row file) so the write lock is
        never held long. ``max_rows`` (an addition for the writer) stops after that many rows
        so that inserts can run in between; call again until it returns less. Returns how
        many rows were deleted.
        """
        if max_age_days < 0 or max_count < 0:
            raise ValueError(f"retention limits must be >= 0, got {max_age_days}, {max_count}")
        budget = max_rows
        deleted = 0
        if max_age_days:
            cutoff = _to_us(now - timedelta(days=max_age_days))
            deleted += self._delete_oldest("received_at < ?", (cutoff,), budget=budget)
        if max_count and (budget is None or deleted < budget):
            with self._read() as conn:
                # The newest row that is beyond the count; it and everything older goes.
                edge = conn.execute(
                    "SELECT received_at, id FROM events ORDER BY received_at DESC, id DESC"
                    " LIMIT 1 OFFSET ?",
                    (max_count,),
                ).fetchone()
            if edge is not None:
                deleted += self._delete_oldest(
                    "(received_at, id) <= (?, ?)",
                    (int(edge[0]), int(edge[1])),
                    budget=None if budget is None else budget - deleted,
                )
        if deleted:
            log.debug("retention removed %d events from %s", deleted, self._path)
        return deleted

    def _delete_oldest(self, condition: str, params: tuple[int, ...], *, budget: int | None) -> int:
        sql = (
            "DELETE FROM events WHERE id IN (SELECT id FROM events"  # noqa: S608
            f" WHERE {condition} ORDER BY received_at, id LIMIT ?)"
        )
        deleted = 0
        while budget is None or deleted < budget:
            chunk = _RETENTION_CHUNK if budget is None else min(_RETENTION_CHUNK, budget - deleted)
            with self._write("apply retention to") as conn:
                n = conn.execute(sql, (*params, chunk)).rowcount
            deleted += n
            if n < chunk:
                break
        return deleted

    def check_writable(self, *, wait_s: float = 0.1) -> None:
        """Commit one tiny write; raises :class:`StoreUnavailable` if a commit fails now.

        The write rewrites the schema version unchanged, which still appends a page to the WAL,
        so a full disk, a read-only file or another program's lock shows here just as it would
        for an insert. A lock is waited for at most ``wait_s``: this is a probe, not a write
        that must get through.
        """
        conn = self._conn
        (saved,) = conn.execute("PRAGMA busy_timeout").fetchone()
        conn.execute(f"PRAGMA busy_timeout = {int(wait_s * 1000)}")
        try:
            with self._write("write to") as c:
                (version,) = c.execute("PRAGMA user_version").fetchone()
                c.execute(f"PRAGMA user_version = {int(version)}")
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(saved)}")

    # ---- reading -------------------------------------------------------------------------

    def get(self, event_id: int) -> StoredEvent | None:
        with self._read() as conn:
            sql = f"SELECT {_ROW_COLUMNS} FROM events AS e WHERE e.id = ?"  # noqa: S608
            row = conn.execute(sql, (event_id,)).fetchone()
        return _stored(row) if row is not None else None

    def query(self, q: EventQuery) -> list[StoredEvent]:
        """Matching events, newest (highest id) first, or oldest first with ``q.oldest_first``."""
        sql, params = _select(q, _ROW_COLUMNS, paging=True)
        with self._read() as conn:
            return [_stored(row) for row in conn.execute(sql, params)]

    def query_ids(self, q: EventQuery) -> list[int]:
        """The ids :meth:`query` would return, in the same order."""
        sql, params = _select(q, "e.id", paging=True)
        with self._read() as conn:
            return [int(row[0]) for row in conn.execute(sql, params)]

    def count(self, q: EventQuery, *, cap: int | None = None) -> int:
        """How many events match ``q``; its paging fields and ``oldest_first`` are ignored.

        With ``cap``, counting stops at ``cap + 1`` matches, so a result above ``cap`` means
        "more than ``cap``". An exact count reads every match: 0.5-1.5 s for a common word or
        a broad filter on a million events, where a capped one costs about as much as a page.
        """
        if cap is None:
            sql, params = _select(q, "count(*)", paging=False)
        else:
            if cap < 0:
                raise ValueError(f"cap must be >= 0, got {cap}")
            inner, params = _select(q, "1", paging=False, ordered=False)
            sql = f"SELECT count(*) FROM ({inner} LIMIT ?)"  # noqa: S608
            params.append(cap + 1)
        with self._read() as conn:
            return int(conn.execute(sql, params).fetchone()[0])

    def unread_summary(self) -> tuple[int, Severity | None]:
        """The number of unread events and the highest severity among them.

        The tray asks every second; counting costs a few ms per 50,000 unread events, so the
        answer is kept until the database changes: a commit by another connection changes
        ``PRAGMA data_version``, one by this connection the write counter.
        """
        with self._read() as conn:
            (version,) = conn.execute("PRAGMA data_version").fetchone()
            key = (int(version), self._writes)
            if self._unread is not None and self._unread[0] == key:
                return self._unread[1]
            # Two statements (together SQLite would scan for max() instead of seeking), in one
            # read transaction so that both see the same snapshot.
            conn.execute("BEGIN")
            try:
                (n,) = conn.execute("SELECT count(*) FROM events WHERE read = 0").fetchone()
                (top,) = conn.execute("SELECT max(severity) FROM events WHERE read = 0").fetchone()
            finally:
                if conn.in_transaction:
                    conn.rollback()  # a read transaction: nothing to keep
        summary = (int(n), (Severity(top) if top is not None else None))
        self._unread = (key, summary)
        return summary

    def last_event(self) -> StoredEvent | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_ROW_COLUMNS} FROM events AS e ORDER BY e.id DESC LIMIT 1"  # noqa: S608
            ).fetchone()
        return _stored(row) if row is not None else None

    def integrity_check(self) -> str:
        """``"ok"``, or the problems found (SQLite's integrity check and the full-text index)."""
        with self._read() as conn:
            problems = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
            if problems == ["ok"]:
                problems = []
            if not self._readonly:
                try:
                    conn.execute("INSERT INTO events_fts(events_fts) VALUES ('integrity-check')")
                except sqlite3.DatabaseError as exc:
                    if isinstance(exc, sqlite3.OperationalError) and _unavailable(
                        exc, self._path, "check"
                    ):
                        raise
                    problems.append(f"full-text index: {exc}")
        return "\n".join(problems) if problems else "ok"

    # ---- closing -------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._readonly and self.file_is_current():
            with contextlib.suppress(sqlite3.Error):
                # Keeps the planner's statistics fresh; the limit bounds it on huge files.
                self._conn.execute("PRAGMA analysis_limit = 1000")
                self._conn.execute("PRAGMA optimize")
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Query building
# --------------------------------------------------------------------------------------------


def _id_list(ids: Iterable[int]) -> list[int]:
    return sorted({int(i) for i in ids})


def _filters(
    q: EventQuery, *, prefix: str, id_col: str, paging: bool
) -> tuple[list[str], list[Any]]:
    """SQL conditions for ``q``: ``prefix`` qualifies the events columns, ``id_col`` is the id."""
    where: list[str] = []
    params: list[Any] = []
    if q.kinds is not None:
        if not q.kinds:
            where.append("0")
        else:
            # With "unread only", a unary + keeps the planner off events_kind (every row of the
            # kind: half the history for tickets) and on the small partial unread indexes;
            # its sampled statistics would otherwise pick the kind index (0.8 s vs 0.06 s to
            # count on a million events).
            plus = "+" if q.unread_only else ""
            where.append(f"{plus}{prefix}kind IN ({', '.join('?' * len(q.kinds))})")
            params.extend(sorted(k.value for k in q.kinds))
    if q.min_severity is not None:
        where.append(f"{prefix}severity >= ?")
        params.append(int(q.min_severity))
    if q.unread_only:
        where.append(f"{prefix}read = 0")
    if q.since is not None:
        where.append(f"{prefix}received_at >= ?")
        params.append(_to_us(q.since))
    if q.until is not None:
        where.append(f"{prefix}received_at < ?")
        params.append(_to_us(q.until))
    if q.ids is not None:
        where.append(f"{id_col} IN (SELECT value FROM json_each(?))")  # noqa: S608
        params.append(json.dumps(sorted(q.ids)))
    if paging:
        if q.before_id is not None:
            where.append(f"{id_col} < ?")
            params.append(q.before_id)
        if q.after_id is not None:
            where.append(f"{id_col} > ?")
            params.append(q.after_id)
    if not where:
        where.append("1")
    return where, params


def _select(
    q: EventQuery, columns: str, *, paging: bool, ordered: bool = True
) -> tuple[str, list[Any]]:
    search = fts_match_expression(q.search)
    direction = "ASC" if q.oldest_first else "DESC"
    if search is None:
        where, params = _filters(q, prefix="e.", id_col="e.id", paging=paging)
        sql = f"SELECT {columns} FROM events AS e WHERE {' AND '.join(where)}"  # noqa: S608
        order = f" ORDER BY e.id {direction}"
    else:
        # Drive the query from the FTS index in rowid order (CROSS JOIN fixes the loop order),
        # so LIMIT stops early even when a common word matches a million rows.
        where, params = _filters(q, prefix="e.", id_col="events_fts.rowid", paging=paging)
        where = ["events_fts MATCH ?", *where]
        params = [search, *params]
        sql = (
            f"SELECT {columns} FROM events_fts CROSS JOIN events AS e"  # noqa: S608
            f" ON e.id = events_fts.rowid WHERE {' AND '.join(where)}"
        )
        order = f" ORDER BY events_fts.rowid {direction}"
    if columns.startswith("count(") or not ordered:
        return sql, params
    sql += order
    if paging and q.limit is not None:
        sql += " LIMIT ?"
        params.append(max(q.limit, 0))
    return sql, params


def _stored(row: tuple[Any, ...]) -> StoredEvent:
    event_id, received_us, read, fields_json, body, payload_json = row
    payload = json.loads(payload_json) if payload_json is not None else _payload_from_body(body)
    return StoredEvent(
        id=int(event_id),
        received_at=_from_us(int(received_us)),
        read=bool(read),
        event=event_from_fields(json.loads(fields_json), payload),
        body=body,
    )
