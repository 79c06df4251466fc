"""The event log's interface: what the receiver and the relay need from a store, whatever it is.

Two backends implement it: this host's SQLite file (:class:`~holmtray.core.history.store.Store`,
the default, and the only one the tray app uses) and a PostgreSQL database shared by several
relays (:mod:`holmtray.core.history.pg`, chosen by ``relay.store = "postgresql://…"``).
:mod:`holmtray.core.history.backends` picks one.

- :class:`EventLog` — the writer's side, used on the writer thread only: append a group-commit
  batch and return the ids (with deduplication of identical bodies), prove a commit is
  possible, apply retention, close.
- :class:`LogView` — the reader's side: the relay's reading (:class:`RelayReads`: relay id,
  id bounds, entries after an id in order) and the read tokens (:class:`TokenStore`).
- :class:`ReadRunner` — runs a function with a :class:`LogView` on a worker thread, so readers
  neither wait for the writer nor slow it.
- :class:`LogBackend` — one configured store: opens an :class:`EventLog` for the writer, makes
  read runners, opens the token table for the command line, and says whether other processes
  append to the same log (then the relay learns of their events from the backend's follower
  rather than from its own writer alone).

Ids are handed out so that they become visible in id order: a reader that has seen id ``N``
never later finds a new event below ``N``. SQLite has one writer; PostgreSQL takes a counter
row's lock in each appending transaction (see :mod:`holmtray.core.history.pg.log`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

from holmtray.core.events import Event, StoredEvent

_T = TypeVar("_T")


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


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One event as a relay serves it: its id, when it arrived, and the verbatim body."""

    id: int
    received_at: datetime
    body: str


class EventLog(Protocol):
    """The writer's store; every method runs on the writer thread."""

    def insert_many(self, items: Sequence[NewEvent]) -> list[InsertResult]:
        """Append a batch in one transaction; results in input order. A body identical to one
        stored (or earlier in the batch) within the deduplication window adds no row."""
        ...

    def check_writable(self) -> None:
        """Commit one tiny write; :class:`StoreUnavailable` when a commit fails now."""
        ...

    def apply_retention(
        self, *, now: datetime, max_age_days: int, max_count: int, max_rows: int | None = None
    ) -> int:
        """Delete the oldest events beyond the limits (0: none), at most ``max_rows``."""
        ...

    def is_current(self) -> bool:
        """False once this handle cannot be written through any more (reopen it)."""
        ...

    def close(self) -> None: ...


class RelayReads(Protocol):
    """The relay's reading of the log."""

    def relay_id(self) -> str: ...

    def bounds(self) -> tuple[int | None, int]:
        """(oldest retained id or ``None``; the last id ever given, 0 before the first)."""
        ...

    def entries_after(
        self, after_id: int, limit: int, *, max_chars: int | None = None
    ) -> list[LogEntry]:
        """Up to ``limit`` retained events above ``after_id``, ascending (see RelayLog)."""
        ...


class TokenInfoLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


class TokenStore(Protocol):
    """The read tokens: kept as hashes, with a version bumped on every change."""

    def add(self, name: str) -> str: ...

    def revoke(self, name: str) -> bool: ...

    def list(self) -> Sequence[TokenInfoLike]: ...

    def hashes(self) -> dict[str, str]: ...

    def version(self) -> int: ...


class LogView(Protocol):
    """What a reader works with: the log as the relay reads it, and the token table."""

    @property
    def log(self) -> RelayReads: ...

    @property
    def tokens(self) -> TokenStore: ...


class ReadRunner(Protocol):
    """Worker threads each holding a :class:`LogView` (see ``readpool.ReadPool``)."""

    async def run(self, fn: Callable[[LogView], _T]) -> _T: ...

    async def close(self) -> None: ...


class Follower(Protocol):
    """Feeds one relay's hub with every event appended to a shared log, by any process, in id
    order (see ``pg.follow``)."""

    @property
    def health(self) -> str | None:
        """``None`` while the log can be read, else why not (shown by ``/healthz``)."""
        ...

    def kick(self) -> None:
        """This process committed events: read them now rather than at the next doorbell."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LogBackend(Protocol):
    """One configured store (see the module docstring)."""

    @property
    def where(self) -> str:
        """Where the log is, for log lines and errors: a path, or a URI without password."""
        ...

    @property
    def shared(self) -> bool:
        """True when other processes append to the same log (several relays)."""
        ...

    @property
    def path(self) -> Path | None:
        """The SQLite file, or ``None`` for a database server."""
        ...

    def open(self) -> EventLog:
        """Open (creating or migrating as needed) the log for writing; on the writer thread."""
        ...

    def readers(self, *, threads: int, name: str) -> ReadRunner: ...

    def follower(
        self,
        *,
        reads: ReadRunner,
        publish: Callable[[list[LogEntry]], None],
        on_health: Callable[[str | None], None],
    ) -> Follower | None:
        """For a shared log, what feeds the relay's hub (own commits included, in id order,
        read through ``reads``); ``None`` when the writer's own commits are all there is."""
        ...

    def token_table(self) -> contextlib.AbstractContextManager[TokenStore]:
        """The read tokens for a one-off change (``holmtray relay token …``)."""
        ...
