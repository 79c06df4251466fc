"""Who may read from the relay: read tokens in the ``Authorization`` header, and nothing else.

This module owns the relay's credential rules and the token table it checks against:

- A read token is accepted only as ``Authorization: Bearer htr_…``. A request that carries a
  token in its query string (a ``token``-like parameter, or any value shaped like a read token
  or equal to the webhook token) is refused with 400 before anything else, because URLs end up
  in proxies' access logs; the query string is never logged or echoed.
- The webhook token is never a read token: as a bearer, or as a segment of a ``/v1/`` path, it
  gets 401. (And a read token is never the webhook token: the listener compares ``/hooks/``
  paths with the webhook token only, so a read token there is an unknown path, 404.)
- :class:`TokenTable` keeps the names and SHA-256 hashes of the read tokens, read through the
  event log's read views (a read-only SQLite store, or the database several relays share),
  and polls the token version every ``poll_s`` seconds (a change made by ``holmtray relay
  token add|revoke`` in another process, or through another relay, is seen within that time);
  on a change it reloads and tells ``on_change`` the valid hashes, which the relay uses to end
  the streams of revoked tokens. Each request with a well-formed token also checks the version
  first (a re-read shared by the requests that arrive meanwhile), so a token added a moment ago
  works, and one revoked a moment ago is refused, at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from holmtray.core.history.database import StoreError
from holmtray.core.history.eventlog import LogView, ReadRunner
from holmtray.core.history.tokens import TOKEN_PREFIX, find, looks_like_read_token, token_hash

log = logging.getLogger("holmtray.relay.auth")

_QUERY_TOKEN_NAMES = frozenset(
    {"token", "access_token", "auth", "authorization", "bearer", "key", "read_token", "api_key"}
)


@dataclass(frozen=True, slots=True)
class Reader:
    """Whose read token a request carried: the token's name and hash (never the token)."""

    name: str
    hash: str


def same(a: str, b: str) -> bool:
    """Constant-time equality of two strings."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def bearer_token(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value, or ``None``."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    return value or None


def query_carries_token(query: Mapping[str, str], webhook_token: str) -> bool:
    """True when the query string holds something that looks like a credential."""
    for key, value in query.items():
        if key.lower() in _QUERY_TOKEN_NAMES:
            return True
        if value.startswith(TOKEN_PREFIX) or (webhook_token and same(value, webhook_token)):
            return True
    return False


def path_has_webhook_token(path: str, webhook_token: str) -> bool:
    """True when a segment of ``path`` is the webhook token."""
    return bool(webhook_token) and any(same(seg, webhook_token) for seg in path.split("/"))


def _load(view: LogView) -> tuple[int, dict[str, str]]:
    return view.tokens.version(), view.tokens.hashes()


def _version(view: LogView) -> int:
    return view.tokens.version()


class TokenTable:
    """The read tokens' hashes, kept in step with the database while :meth:`start`-ed."""

    def __init__(
        self,
        *,
        pool: ReadRunner,
        on_change: Callable[[dict[str, str]], None],
        poll_s: float = 0.25,
    ) -> None:
        self._pool = pool
        self._on_change = on_change
        self._poll_s = poll_s
        self._hashes: dict[str, str] = {}  # hash -> name
        self._version: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._refresh: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    async def start(self) -> None:
        """Load the table and keep polling it (no-op when running)."""
        if self._task is not None:
            return
        with contextlib.suppress(StoreError):
            await self._reload_if_changed()
        self._task = asyncio.create_task(self._poll(), name="holmtray-relay-tokens")

    async def stop(self) -> None:
        for task in (self._task, self._refresh):
            if task is not None:
                task.cancel()
                await asyncio.wait([task])
        self._task = self._refresh = None

    async def authenticate(self, token: str) -> Reader | None:
        """The reader ``token`` belongs to, or ``None`` (not a read token, unknown, revoked)."""
        if not looks_like_read_token(token):
            return None
        # The version is checked on every request (one tiny read, shared by the requests that
        # arrive meanwhile), so a token revoked a moment ago is refused and one added a moment
        # ago accepted; the poll is for the streams that are already open.
        await self._refresh_now()
        name = find(self._hashes, token)
        return Reader(name=name, hash=token_hash(token)) if name is not None else None

    async def _refresh_now(self) -> None:
        """One re-read, shared by every request that asks while it runs."""
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._reload_quietly())
        await asyncio.shield(self._refresh)

    async def _reload_quietly(self) -> None:
        with contextlib.suppress(StoreError):
            await self._reload_if_changed()

    async def _reload_if_changed(self) -> None:
        version = await self._pool.run(_version)
        if version == self._version:
            return
        version, hashes = await self._pool.run(_load)
        self._version, self._hashes = version, hashes
        self._on_change(dict(hashes))

    async def _poll(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self._poll_s)
            try:
                await self._reload_if_changed()
            except StoreError as exc:
                if not failing:
                    log.warning("cannot read the relay's read tokens: %s", exc)
                failing = True
            except Exception:
                log.exception("reading the relay's read tokens failed unexpectedly")
            else:
                failing = False
