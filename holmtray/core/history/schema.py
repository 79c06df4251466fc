"""The history's schema: its DDL, the ordered migrations and the version check.

This module owns what the database looks like: ``SCHEMA_VERSION`` (kept in
``PRAGMA user_version``), one frozen migration per version step (``_MIGRATIONS[n]`` takes a
file from version ``n`` to ``n + 1``), the refusal to touch a newer or foreign database, and
migrating with a backup taken first. Opening the file is :mod:`holmtray.core.history.database`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

from holmtray.core.history.codec import sha256_hex
from holmtray.core.history.database import StoreError, free_name

log = logging.getLogger("holmtray.history.schema")


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
    conn.create_function("holmtray_sha256", 1, sha256_hex, deterministic=True)
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


def _migrate_v2_to_v3(conn: sqlite3.Connection) -> None:
    # v3 serves a relay and keeps a mirror of one: a relay id made once per database (a
    # subscriber seeing another one knows the history was reset), the analysts' read tokens
    # (SHA-256 only) with a version bumped on every change so that running relays notice a
    # revocation made by another process, and a mirror's cursor per relay.
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('relay_id', ?), ('tokens_version', '0')",
        (str(uuid.uuid4()),),
    )
    conn.execute(
        """
        CREATE TABLE read_tokens (
            name       TEXT    PRIMARY KEY,
            hash       TEXT    NOT NULL UNIQUE,    -- SHA-256 hex of the token
            created_at INTEGER NOT NULL            -- microseconds since the Unix epoch, UTC
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE replica (
            relay_id TEXT    PRIMARY KEY,
            last_id  INTEGER NOT NULL              -- the relay's id of the last event stored
        )
        """
    )


def _migrate_v3_to_v4(conn: sqlite3.Connection) -> None:
    # v4 sorts the event list by title, asset or severity as cheaply as by receive order: one
    # index per sort expression, then the id (the order keyset paging walks), then the columns
    # the window filters on, so that a walk skipping rows of other kinds or read rows reads the
    # index alone (a ticket filter sorted by title had to look at 450,000 rows to skip them).
    # The expressions are the ones holmtray.core.history.query sorts on, spelled out here as
    # they were at v4. The severity index gains the same columns (a superset of v2's).
    conn.execute("DROP INDEX events_severity")
    conn.execute("CREATE INDEX events_severity ON events(severity, id, kind, read)")
    conn.execute(
        "CREATE INDEX events_title ON events(title COLLATE NOCASE, id, kind, severity, read)"
    )
    conn.execute(
        "CREATE INDEX events_asset ON events("
        "coalesce(hostname, ipv4, asset_name, X'') COLLATE NOCASE, id, kind, severity, read)"
    )


def _migrate_v4_to_v5(conn: sqlite3.Connection) -> None:
    # v5 keeps the unread events' count per severity in a table of five rows, so the unread
    # summary (asked by the tray after every change) reads one page instead of counting every
    # unread row; that count read the whole unread index each time and filled the reading
    # connection's page cache with it. Triggers keep it right for every writer (the tray's, a
    # relay mirror's, the CLI's) and every path (insert, read flags, delete, retention,
    # restore). A row per level is made here, so the triggers only ever UPDATE (an upsert per
    # insert cost ~2 µs more); a severity outside Holm's five levels is not counted (the
    # row codec never stores one).
    conn.execute(
        """
        CREATE TABLE unread_counts (
            severity INTEGER PRIMARY KEY,          -- 0 = info .. 4 = critical
            n        INTEGER NOT NULL              -- unread events of this severity
        )
        """
    )
    conn.execute(
        "INSERT INTO unread_counts (severity, n) SELECT level.value,"
        " (SELECT count(*) FROM events WHERE read = 0 AND severity = level.value)"
        " FROM json_each('[0, 1, 2, 3, 4]') AS level"
    )
    conn.execute(
        """
        CREATE TRIGGER events_unread_insert AFTER INSERT ON events WHEN new.read = 0 BEGIN
            UPDATE unread_counts SET n = n + 1 WHERE severity = new.severity;
        END
        """
    )
    conn.execute(
        """
        CREATE TRIGGER events_unread_delete AFTER DELETE ON events WHEN old.read = 0 BEGIN
            UPDATE unread_counts SET n = n - 1 WHERE severity = old.severity;
        END
        """
    )
    conn.execute(
        """
        CREATE TRIGGER events_unread_update AFTER UPDATE OF read, severity ON events
        WHEN (old.read = 0) != (new.read = 0) OR (old.read = 0 AND old.severity != new.severity)
        BEGIN
            UPDATE unread_counts SET n = n - 1 WHERE old.read = 0 AND severity = old.severity;
            UPDATE unread_counts SET n = n + 1 WHERE new.read = 0 AND severity = new.severity;
        END
        """
    )


_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migrate_v0_to_v1,
    _migrate_v1_to_v2,
    _migrate_v2_to_v3,
    _migrate_v3_to_v4,
    _migrate_v4_to_v5,
)
"""``_MIGRATIONS[n]`` takes a database from version ``n`` to ``n + 1``."""

SCHEMA_VERSION: int = len(_MIGRATIONS)


def check_version(conn: sqlite3.Connection, path: Path, *, readonly: bool) -> int:
    """The file's schema version; raises :class:`StoreError` for one this version cannot use.

    Nothing is written: a newer or foreign database is left untouched, and a read-only open
    of an older one is refused (only a writable open may migrate it).
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
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
    if readonly and version < SCHEMA_VERSION:
        raise StoreError(
            f"{path} has schema v{version} and needs migrating to "
            f"v{SCHEMA_VERSION}; open it once without read-only"
        )
    return version


def migrate(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """Take the file from ``version`` to :data:`SCHEMA_VERSION`, one transaction per step.

    A file with data (``version > 0``) is backed up next to itself first.
    """
    if version > 0:
        backup = free_name(path.with_name(f"{path.name}.bak-v{version}"))
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
        # A new file goes through every step too: one "created" line, not one line per step.
        log.log(
            logging.INFO if version else logging.DEBUG, "migrated %s to schema v%d", path, target
        )
    if version == 0:
        log.info("created %s (schema v%d)", path, SCHEMA_VERSION)
