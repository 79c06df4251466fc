"""The shared PostgreSQL event log as a :class:`~holmtray.core.history.eventlog.LogBackend`.

:class:`PgBackend` is what ``relay.store = "postgresql://…"`` chooses. Every relay that names
the same database writes to and reads from the same log: a second relay is set up by copying
the first one's settings file and starting it. Each connection is its own: the writer's
(opened on the writer thread, the schema migrated first under the advisory lock), one per read
thread (:class:`PgView`), the follower's doorbell, and a short one for ``holmtray relay token``.
A connection that broke is replaced on its next use, so the relay recovers by itself when the
database is back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from holmtray.core.history.eventlog import LogEntry, ReadRunner
from holmtray.core.history.pg import schema
from holmtray.core.history.pg.connect import PgTarget
from holmtray.core.history.pg.follow import LogFollower
from holmtray.core.history.pg.log import PgEventLog, PgRelayLog, PgSession
from holmtray.core.history.pg.tokens import PgTokens
from holmtray.core.history.readpool import ReadPool


class PgView:
    """One read thread's connection: the relay's reading and the token table (a LogView)."""

    def __init__(self, session: PgSession) -> None:
        self._session = session
        self._log = PgRelayLog(session)
        self._tokens = PgTokens(session)

    @property
    def log(self) -> PgRelayLog:
        return self._log

    @property
    def tokens(self) -> PgTokens:
        return self._tokens

    def is_current(self) -> bool:
        return self._session.is_current()

    def close(self) -> None:
        self._session.close()


class PgBackend:
    """The event log in the PostgreSQL database at ``uri``, shared by several relays."""

    def __init__(self, *, uri: str) -> None:
        self._target = PgTarget(uri)

    @property
    def where(self) -> str:
        return self._target.where

    @property
    def shared(self) -> bool:
        return True

    @property
    def path(self) -> None:
        return None

    def _session(self, purpose: str, *, migrate: bool) -> PgSession:
        conn = self._target.connect(purpose)
        try:
            if migrate:
                with self._target.failures("migrate"):
                    schema.migrate(conn, where=self.where)
        except BaseException:
            conn.close()
            raise
        return PgSession(conn, self._target)

    def open(self) -> PgEventLog:
        return PgEventLog(self._session("writer", migrate=True))

    def readers(self, *, threads: int, name: str) -> ReadPool[PgView]:
        return ReadPool(
            open_view=lambda: PgView(self._session("reader", migrate=False)),
            threads=threads,
            name=name,
        )

    def follower(
        self,
        *,
        reads: ReadRunner,
        publish: Callable[[list[LogEntry]], None],
        on_health: Callable[[str | None], None],
    ) -> LogFollower:
        return LogFollower(target=self._target, reads=reads, publish=publish, on_health=on_health)

    @contextlib.contextmanager
    def token_table(self) -> Iterator[PgTokens]:
        session = self._session("tokens", migrate=True)
        try:
            yield PgTokens(session)
        finally:
            session.close()
