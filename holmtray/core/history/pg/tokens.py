"""The read tokens in the shared database: one table for every relay that serves it.

The rules are :mod:`holmtray.core.history.tokens`' (name rule, ``htr_`` tokens shown once,
SHA-256 kept); only the storage differs. A token added or revoked through any relay, or with
``holmtray relay token`` on any host with the same settings, bumps ``tokens_version`` in the
same transaction, which every relay polls, so it holds on all of them at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from holmtray.core.clock import utc_now
from holmtray.core.history.codec import from_us, to_us
from holmtray.core.history.pg.log import Conn, PgSession
from holmtray.core.history.tokens import (
    NAME_RE,
    NAME_RULE,
    TokenError,
    TokenInfo,
    new_read_token,
    token_hash,
)

_BUMP = (
    "UPDATE holmtray_meta SET value = (CAST(value AS bigint) + 1)::text"
    " WHERE key = 'tokens_version'"
)


class PgTokens:
    """The read-token table of the shared database (a ``TokenStore``)."""

    def __init__(self, session: PgSession, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._session = session
        self._clock = clock

    def add(self, name: str) -> str:
        """Make a token for ``name``; returns it (shown once, never stored)."""
        if not NAME_RE.match(name):
            raise TokenError(f"token name {name!r} is not allowed: use {NAME_RULE}")
        token = new_read_token()
        with self._session.transaction("add a read token to") as conn:
            added = conn.execute(
                "INSERT INTO holmtray_read_tokens (name, hash, created_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (name) DO NOTHING",
                (name, token_hash(token), to_us(self._clock())),
            ).rowcount
            if not added:
                raise TokenError(f"a read token named {name!r} exists already; revoke it first")
            _bump(conn)
        return token

    def revoke(self, name: str) -> bool:
        """Remove ``name``'s token; False when there was none."""
        with self._session.transaction("revoke a read token in") as conn:
            gone = conn.execute(
                "DELETE FROM holmtray_read_tokens WHERE name = %s", (name,)
            ).rowcount
            if gone:
                _bump(conn)
        return bool(gone)

    def list(self) -> list[TokenInfo]:
        with self._session.reading() as conn:
            rows = conn.execute(
                'SELECT name, created_at FROM holmtray_read_tokens ORDER BY name COLLATE "C"'
            ).fetchall()
        return [TokenInfo(str(n), from_us(int(c))) for n, c in rows]

    def hashes(self) -> dict[str, str]:
        """Every token's hash and its name."""
        with self._session.reading() as conn:
            rows = conn.execute("SELECT hash, name FROM holmtray_read_tokens").fetchall()
        return {str(h): str(n) for h, n in rows}

    def version(self) -> int:
        """Changes whenever a token is added or revoked (through any relay)."""
        with self._session.reading() as conn:
            row = conn.execute(
                "SELECT value FROM holmtray_meta WHERE key = 'tokens_version'"
            ).fetchone()
        return int(row[0]) if row is not None else 0


def _bump(conn: Conn) -> None:
    conn.execute(_BUMP)
