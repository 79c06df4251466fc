"""Choosing the event log's backend: this host's SQLite file, or a shared PostgreSQL database.

:func:`backend_for` reads ``relay.store``'s value: empty is the SQLite file the settings name
(:class:`SqliteBackend`, the default); ``postgresql://…`` is a database several relays share
(:class:`~holmtray.core.history.pg.backend.PgBackend`, from the optional extra
``holmtray[postgres]``; without it the error says what to install). Nothing is opened here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from holmtray.core.dsn import is_postgres
from holmtray.core.history.database import StoreError
from holmtray.core.history.eventlog import Follower, LogBackend, LogEntry, ReadRunner
from holmtray.core.history.readpool import ReadPool
from holmtray.core.history.store import Store
from holmtray.core.history.tokens import ReadTokens


class SqliteBackend:
    """The event log in one SQLite file, written by this process only."""

    def __init__(self, *, path: Path, busy_timeout_s: float = 5.0) -> None:
        self._path = Path(path)
        self._busy_timeout_s = busy_timeout_s

    @property
    def where(self) -> str:
        return str(self._path)

    @property
    def shared(self) -> bool:
        return False

    @property
    def path(self) -> Path:
        return self._path

    def open(self) -> Store:
        return Store.open(self._path, busy_timeout_s=self._busy_timeout_s)

    def readers(self, *, threads: int, name: str) -> ReadPool[Store]:
        return ReadPool(open_view=self._open_readonly, threads=threads, name=name)

    def _open_readonly(self) -> Store:
        return Store.open(
            self._path, readonly=True, check=False, busy_timeout_s=self._busy_timeout_s
        )

    def follower(
        self,
        *,
        reads: ReadRunner,
        publish: Callable[[list[LogEntry]], None],
        on_health: Callable[[str | None], None],
    ) -> Follower | None:
        return None  # one writer: its on_commit sees every event

    @contextlib.contextmanager
    def token_table(self) -> Iterator[ReadTokens]:
        store = Store.open(self._path, check=False)
        try:
            yield store.tokens
        finally:
            store.close()


def backend_for(store: str, *, sqlite_path: Path) -> LogBackend:
    """The backend ``relay.store`` names: ``""`` the SQLite file at ``sqlite_path``, or a
    ``postgresql://`` URI. :class:`StoreError` when PostgreSQL support is not installed."""
    if not is_postgres(store):
        return SqliteBackend(path=sqlite_path)
    try:
        from holmtray.core.history.pg.backend import PgBackend  # noqa: PLC0415 - optional
    except ImportError as exc:
        raise StoreError(
            "relay.store names a PostgreSQL database, but PostgreSQL support is not installed "
            f"({exc.name or exc}): pip install 'holmtray[postgres]'"
        ) from None
    return PgBackend(uri=store)
