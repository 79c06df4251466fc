"""Read tokens: one per analyst, for subscribing to a relay, kept as SHA-256 only.

A read token (``htr_`` and 43 URL-safe characters: 256 random bits) is shown once, when it is
made; the database keeps its name, its SHA-256 and when it was made. Tokens have full entropy,
so a plain hash is enough (no salt or slow hash is needed against guessing). Every change bumps
``meta.tokens_version``, which running relays poll to notice an addition or a revocation made
by another process (``holmtray relay token revoke`` while ``holmtray serve`` runs).

Read tokens only read: the listener never accepts one as the webhook token, and the relay never
accepts the webhook token as a read token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from holmtray.core.clock import utc_now
from holmtray.core.history.codec import from_us, to_us
from holmtray.core.history.relaylog import ReadTx, WriteTx

TOKEN_PREFIX = "htr_"  # noqa: S105 - the prefix of every read token, not a secret
_TOKEN_RE = re.compile(r"^htr_[A-Za-z0-9_-]{43}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
NAME_RULE = "1–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"


class TokenError(ValueError):
    """A token operation that cannot be done (bad or taken name); the message says why."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    name: str
    created_at: datetime


def new_read_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def looks_like_read_token(text: str) -> bool:
    return bool(_TOKEN_RE.match(text))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def find(hashes: dict[str, str], token: str) -> str | None:
    """The name whose hash matches ``token``, compared in constant time per entry."""
    wanted = token_hash(token)
    found = None
    for stored, name in hashes.items():
        if hmac.compare_digest(stored, wanted):
            found = name
    return found


class ReadTokens:
    """The read-token table of one database."""

    def __init__(
        self, *, read: ReadTx, write: WriteTx, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._read = read
        self._write = write
        self._clock = clock

    def add(self, name: str) -> str:
        """Make a token for ``name``; returns it (shown once, never stored)."""
        if not NAME_RE.match(name):
            raise TokenError(f"token name {name!r} is not allowed: use {NAME_RULE}")
        token = new_read_token()
        with self._write("add a read token to") as conn:
            if conn.execute("SELECT 1 FROM read_tokens WHERE name = ?", (name,)).fetchone():
                raise TokenError(f"a read token named {name!r} exists already; revoke it first")
            conn.execute(
                "INSERT INTO read_tokens (name, hash, created_at) VALUES (?, ?, ?)",
                (name, token_hash(token), to_us(self._clock())),
            )
            _bump(conn)
        return token

    def revoke(self, name: str) -> bool:
        """Remove ``name``'s token; False when there was none."""
        with self._write("revoke a read token in") as conn:
            gone = conn.execute("DELETE FROM read_tokens WHERE name = ?", (name,)).rowcount
            if gone:
                _bump(conn)
        return bool(gone)

    def list(self) -> list[TokenInfo]:
        with self._read() as conn:
            rows = conn.execute("SELECT name, created_at FROM read_tokens ORDER BY name").fetchall()
        return [TokenInfo(str(n), from_us(int(c))) for n, c in rows]

    def hashes(self) -> dict[str, str]:
        """Every token's hash and its name."""
        with self._read() as conn:
            return {str(h): str(n) for h, n in conn.execute("SELECT hash, name FROM read_tokens")}

    def version(self) -> int:
        """Changes whenever a token is added or revoked."""
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'tokens_version'").fetchone()
        return int(row[0]) if row is not None else 0


def _bump(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tokens_version'")
