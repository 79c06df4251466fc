"""The store's health: whether events can be stored right now, told once per change.

This module owns :class:`StoreHealth`, the writer's record of why the last write failed:
``None`` while writes succeed, else a short cause without path, token or body (disk full,
read-only, locked, folder gone), fit for the tray and ``/healthz``. A failure is logged once as
a WARNING, its recovery once as an INFO, and ``on_health`` hears each change. While
unhealthy, a tiny probe write every ``probe_interval_s`` finds out that the fault has cleared
without waiting for the next webhook (Holm may send none for hours). Event-loop side only:
the probe itself runs wherever the given coroutine runs it (the writer thread).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from holmtray.core.history.database import StoreError, StoreUnavailable

log = logging.getLogger("holmtray.history.health")


class StoreHealth:
    """Why events cannot be stored (or ``None``), kept by the writer on the event loop."""

    def __init__(
        self,
        *,
        where: str,
        probe: Callable[[], Awaitable[None]],
        probe_interval_s: float,
        on_health: Callable[[str | None], None] | None = None,
    ) -> None:
        if probe_interval_s <= 0:
            raise ValueError(f"probe_interval_s must be positive, got {probe_interval_s}")
        self._where = where
        self._probe = probe
        self._probe_interval_s = probe_interval_s
        self._on_health = on_health
        self._text: str | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def text(self) -> str | None:
        """``None`` while events can be stored, else why not (see the module docstring)."""
        return self._text

    def failed(self, exc: Exception) -> None:
        """A write failed with ``exc``: unhealthy until a write or a probe succeeds."""
        if isinstance(exc, StoreUnavailable):
            text = f"cannot store events: {exc.cause}"
        elif isinstance(exc, StoreError):
            text = "cannot store events: the database cannot be used (see the log)"
        else:
            text = "cannot store events: unexpected error (see the log)"
        self._set(text, str(exc))

    def succeeded(self) -> None:
        """A commit went through: healthy again."""
        self._set(None, "")

    async def stop(self) -> None:
        """Stop probing (for good); the health stays as it is."""
        self._stopped = True
        task = self._probe_task
        if task is not None:
            task.cancel()
            await asyncio.wait([task])  # a cancel of the caller still works

    def _set(self, text: str | None, detail: str) -> None:
        previous, self._text = self._text, text
        if text == previous:
            return
        if text is None:
            log.info("storing events again in %s", self._where)
        elif previous is None:
            log.warning("%s; answering 503 until that is fixed (%s)", text, detail)
        else:
            log.warning("%s (%s)", text, detail)
        if (
            text is not None
            and not self._stopped
            and (self._probe_task is None or self._probe_task.done())
        ):
            self._probe_task = asyncio.create_task(
                self._probe_until_healthy(), name="holmtray-writer-probe"
            )
        if self._on_health is not None:
            try:
                self._on_health(text)
            except Exception:
                log.exception("on_health callback failed")

    async def _probe_until_healthy(self) -> None:
        while self._text is not None and not self._stopped:
            await asyncio.sleep(self._probe_interval_s)
            if self._text is None or self._stopped:
                break
            try:
                await self._probe()
            except StoreError as exc:
                self.failed(exc)
            except Exception as exc:
                log.exception("probing the database failed unexpectedly")
                self.failed(exc)
            else:
                self.succeeded()
