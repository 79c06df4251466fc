"""The shared database's tables, and migrating them safely from several relays at once.

Every table is prefixed ``holmtray_`` so the database may hold others. What all relays must
agree on lives here: ``holmtray_meta`` (the schema version, the relay id every relay serves,
the read tokens' version), ``holmtray_read_tokens`` (SHA-256 only), the one-row
``holmtray_counter`` that hands out ids (see :mod:`~holmtray.core.history.pg.log`), and
``holmtray_events`` with the body hash that deduplication looks up.

:func:`migrate` runs in one transaction that first takes a transaction-level advisory lock:
two relays starting at the same moment on an empty database take turns, the second finds the
schema current and changes nothing. DDL is transactional in PostgreSQL, so a migration that
fails leaves nothing half-made. A database with a newer schema is refused and left untouched.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import psycopg
from psycopg.rows import TupleRow

from holmtray.core.history.database import StoreError

log = logging.getLogger("holmtray.history.pg.schema")

MIGRATION_LOCK = 0x686F6C6D74726179 & 0x7FFFFFFFFFFFFFFF
"""The advisory lock key (``b"holmtray"`` as a number) held while the schema is changed."""

Conn = psycopg.Connection[TupleRow]


def _v0_to_v1(conn: Conn) -> None:
    conn.execute(
        """
        CREATE TABLE holmtray_counter (
            id      smallint PRIMARY KEY CHECK (id = 1),
            last_id bigint   NOT NULL                -- the last event id handed out
        )
        """
    )
    conn.execute("INSERT INTO holmtray_counter (id, last_id) VALUES (1, 0)")
    conn.execute(
        """
        CREATE TABLE holmtray_events (
            id          bigint PRIMARY KEY,
            received_at bigint NOT NULL,             -- microseconds since the Unix epoch, UTC
            body_hash   text   NOT NULL,             -- SHA-256 hex of the body (deduplication)
            body        text   NOT NULL              -- the body exactly as received
        )
        """
    )
    # The one secondary index. (One on received_at alone made the planner's generic plan for
    # the dedup look-up scan every event of the last ten minutes: retention by age walks the
    # primary key from the oldest id instead.)
    conn.execute("CREATE INDEX holmtray_events_dedup ON holmtray_events (body_hash, received_at)")
    conn.execute(
        """
        CREATE TABLE holmtray_read_tokens (
            name       text   PRIMARY KEY,
            hash       text   NOT NULL UNIQUE,        -- SHA-256 hex of the token
            created_at bigint NOT NULL                -- microseconds since the Unix epoch, UTC
        )
        """
    )
    conn.execute(
        "INSERT INTO holmtray_meta (key, value) VALUES ('relay_id', %s), ('tokens_version', '0')",
        (str(uuid.uuid4()),),
    )


_MIGRATIONS: tuple[Callable[[Conn], None], ...] = (_v0_to_v1,)
"""``_MIGRATIONS[n]`` takes the database from version ``n`` to ``n + 1``."""

SCHEMA_VERSION = len(_MIGRATIONS)


def migrate(conn: Conn, *, where: str) -> int:
    """Bring the database to :data:`SCHEMA_VERSION` (from an empty one too); the version found.

    Raises :class:`StoreError` for a database newer than this holmtray; the driver's errors
    propagate (the caller maps them).
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS holmtray_meta (key text PRIMARY KEY, value text NOT NULL)"
        )
        row = conn.execute(
            "SELECT value FROM holmtray_meta WHERE key = 'schema_version'"
        ).fetchone()
        found = int(row[0]) if row is not None else 0
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"the PostgreSQL database {where} has holmtray schema v{found}, newer than this "
                f"holmtray understands (v{SCHEMA_VERSION}); it was left untouched — use a newer "
                "holmtray"
            )
        for target in range(found + 1, SCHEMA_VERSION + 1):
            _MIGRATIONS[target - 1](conn)
        if found < SCHEMA_VERSION:
            conn.execute(
                "INSERT INTO holmtray_meta (key, value) VALUES ('schema_version', %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )
    if found < SCHEMA_VERSION:
        log.info("migrated %s from holmtray schema v%d to v%d", where, found, SCHEMA_VERSION)
    return found
