"""Connections to the shared PostgreSQL database, and its failures as the store's errors.

:class:`PgTarget` holds the ``relay.store`` URI and opens connections from it: autocommit (the
code opens its transactions itself), a connect timeout, TCP keep-alives (a dead server or a
cut network is noticed in seconds, not hours), a statement timeout (nothing waits forever on a
server that stopped answering) and an idle-in-transaction timeout (a relay that vanishes in the
middle of a transaction cannot hold the id counter's lock for long). libpq's multi-host URIs
(``host=a,b`` with ``target_session_attrs=read-write``) find the primary after a failover.

:func:`unavailable` maps what the driver reports to :class:`StoreUnavailable` with a plain
cause (server unreachable, connection lost, read-only server, disk full, timeout), flagged
``reopen`` when only a new connection can get past it; anything else becomes a
:class:`StoreError`. Messages never hold the password: :meth:`PgTarget.mask` removes it from
the driver's text, and places are named by :attr:`PgTarget.where` (the URI, masked).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import psycopg
from psycopg import errors
from psycopg.conninfo import make_conninfo
from psycopg.rows import TupleRow

from holmtray.core.dsn import MASK, masked, passwords
from holmtray.core.history.database import StoreError, StoreUnavailable

log = logging.getLogger("holmtray.history.pg.connect")

CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 30_000
IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000
_PARAMETERS = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}


class PgTarget:
    """The database ``relay.store`` names, and how to connect to it."""

    def __init__(self, uri: str) -> None:
        self._uri = uri
        self._secrets = passwords(uri)

    @property
    def where(self) -> str:
        """The URI without its password, for log lines and errors."""
        return masked(self._uri)

    def __repr__(self) -> str:
        return f"PgTarget({self.where!r})"

    def mask(self, text: str) -> str:
        """``text`` with the password removed wherever it appears."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def _conninfo(self, purpose: str) -> str:
        """The URI with the connection parameters set here (they win over the URI's)."""
        return make_conninfo(self._uri, application_name=f"holmtray {purpose}"[:63], **_PARAMETERS)

    def connect(self, purpose: str) -> psycopg.Connection[TupleRow]:
        """A new connection (``purpose`` shows in ``pg_stat_activity``);
        :class:`StoreUnavailable` when the server cannot be reached."""
        with self.failures("connect to"):
            conn = psycopg.connect(self._conninfo(purpose), autocommit=True)
        try:
            with self.failures("prepare"):
                conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
                conn.execute(
                    f"SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_TIMEOUT_MS}"
                )
        except BaseException:
            conn.close()
            raise
        return conn

    async def connect_async(self, purpose: str) -> psycopg.AsyncConnection[TupleRow]:
        """An asynchronous connection, for waiting on notifications."""
        with self.failures("connect to"):
            return await psycopg.AsyncConnection.connect(self._conninfo(purpose), autocommit=True)

    @contextlib.contextmanager
    def failures(self, doing: str) -> Iterator[None]:
        """Raise the driver's failures inside as the store's errors (see :func:`unavailable`)."""
        try:
            yield
        except psycopg.Error as exc:
            raise unavailable(exc, self, doing) from None


def _reason(exc: psycopg.Error, target: PgTarget) -> str:
    """The driver's own words, first line only, without host names' context or password."""
    text = target.mask(str(exc)).strip().splitlines()[0] if str(exc).strip() else ""
    # libpq: 'connection to server at "db" (10.0.0.5), port 5432 failed: Connection refused'
    _, failed, tail = text.rpartition(" failed: ")
    return (tail if failed else text)[:200] or type(exc).__name__


def unavailable(exc: psycopg.Error, target: PgTarget, doing: str) -> StoreError:
    """The store's error for a driver failure while ``doing`` (see the module docstring)."""
    reason = _reason(exc, target)
    message = f"cannot {doing} the PostgreSQL database {target.where}: {reason}"
    cause: str | None = None
    if isinstance(exc, errors.ReadOnlySqlTransaction):
        cause = "the PostgreSQL server is read-only (a standby, or failing over)"
    elif isinstance(exc, errors.DiskFull):
        cause = "the PostgreSQL server's disk is full"
    elif isinstance(exc, errors.QueryCanceled):
        cause = "the PostgreSQL database did not answer in time"
    elif isinstance(exc, (errors.AdminShutdown, errors.CannotConnectNow, errors.CrashShutdown)):
        cause = f"the PostgreSQL server is stopping or starting ({reason})"
    elif isinstance(exc, psycopg.OperationalError):
        cause = f"the PostgreSQL database cannot be reached ({reason})"
    if cause is None:
        return StoreError(message)
    return StoreUnavailable(message, cause=cause, reopen=True)
