"""The receiver: the group-commit writer and the HTTP listener, started and stopped together.

It runs on whatever asyncio loop calls :meth:`Receiver.start` — the main loop in ``holmtray
serve``, a dedicated thread's loop in the tray app. Stopping answers in-flight requests
first (the listener stops accepting, waits for its handlers), then commits what the writer
still holds, then closes the database; so every 2xx has its row.

The tray app keeps its writer running while the listener is not (a taken port must not stop
the event window's writes): it makes the writer with :func:`history_writer`, starts it, and
hands it to :class:`Receiver`, which then uses it as it is and neither starts nor closes it.

The listener speaks HTTPS when ``listener.tls_cert`` and ``listener.tls_key`` are set; a bad
certificate or key is a :class:`ListenerError` naming the file, raised before anything that is
running is touched.

With ``relay.enabled`` it is also a relay (:mod:`holmtray.core.relay.server`): every committed
batch is handed to the relay's hub as well as to ``on_commit``, the store's health changes to
its streams, and ``/v1/`` is mounted on the listener. The events go to the store
``relay.store`` names (:func:`log_backend`): this host's SQLite file, or a PostgreSQL database
that several relays share; then ``/healthz`` also fails while that database cannot be read.
Stopping (or rebinding) says ``bye`` to the streams and closes them first, so it never waits
for them.

It also writes a small runtime file (``listener.json`` in the data folder) naming the bound
address, scheme and process id, so ``holmtray url`` and ``send-test`` find a listener started with
port 0, and a second tray instance can tell whether the first one is alive.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import ssl
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from aiohttp import web

from holmtray.core.clock import utc_now
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.events import StoredEvent
from holmtray.core.fileio import write_atomically
from holmtray.core.history.database import StoreError
from holmtray.core.history.eventlog import LogBackend
from holmtray.core.history.places import direct_database_path, log_backend
from holmtray.core.history.writer import GroupCommitWriter
from holmtray.core.ingest.connections import ListenerSite
from holmtray.core.ingest.endpoint import RUNTIME_FILE, Endpoint, read_runtime
from holmtray.core.ingest.listener import STATE_KEY, ListenerConfig, LiveConfig, create_app
from holmtray.core.ingest.rejected import RejectedLog
from holmtray.core.ingest.tls import TLSConfigError, server_context
from holmtray.core.netfilter import NetSet
from holmtray.core.relay.server import Relay, RelayConfig

log = logging.getLogger("holmtray.ingest.receiver")

SHUTDOWN_GRACE_S = 10.0


class ListenerError(Exception):
    """The listener could not start (or rebind); the message says why in plain words."""


def listener_config(settings: Settings) -> ListenerConfig:
    return ListenerConfig(
        token=settings.text("listener.token"),
        username=settings.text("listener.username"),
        password=settings.text("listener.password"),
        max_body_bytes=settings.integer("listener.max_body_bytes"),
        read_timeout=settings.number("listener.read_timeout"),
        header_timeout=settings.number("listener.header_timeout"),
        allow_from=NetSet(settings.strings("listener.allow_from")),
        trusted_proxies=NetSet(settings.strings("listener.trusted_proxies")),
        rate_exempt=NetSet(settings.strings("listener.rate_exempt")),
        rate_per_minute=settings.integer("listener.rate_per_minute"),
        rate_burst=settings.integer("listener.rate_burst"),
        max_concurrent=settings.integer("listener.max_concurrent"),
        max_connections_per_source=settings.integer("listener.max_connections_per_source"),
    )


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server TLS context the settings ask for (None: plain HTTP); ListenerError if bad."""
    cert, key = settings.text("listener.tls_cert"), settings.text("listener.tls_key")
    if not (cert or key):
        return None
    try:
        return server_context(Path(cert), Path(key))
    except TLSConfigError as exc:
        raise ListenerError(f"cannot serve HTTPS: {exc}") from None


def _binding(settings: Settings) -> tuple[str, int, str, str]:
    """What needs a new socket when it changes: address and TLS files."""
    return (
        settings.text("listener.host"),
        settings.integer("listener.port"),
        settings.text("listener.tls_cert"),
        settings.text("listener.tls_key"),
    )


def _bind_problem(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use (another holmtray or another program)"
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port} on {host} (ports below 1024 need privileges)"
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
        return f"address {host} is not an address of this machine"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def history_writer(
    *,
    settings: Callable[[], Settings],
    paths: Paths,
    on_commit: Callable[[list[StoredEvent]], None] | None = None,
    clock: Callable[[], datetime] = utc_now,
    on_health: Callable[[str | None], None] | None = None,
    backend: LogBackend | None = None,
) -> GroupCommitWriter:
    """The (not yet started) writer for ``backend`` (default: the SQLite database the settings
    name); its retention limits are read from ``settings()`` each time it runs, so settings
    applied later count."""
    return GroupCommitWriter(
        store_path=direct_database_path(settings(), paths) if backend is None else None,
        backend=backend,
        on_commit=on_commit,
        retention=lambda: (
            settings().integer("storage.retention_days"),
            settings().integer("storage.retention_count"),
        ),
        clock=clock,
        on_health=on_health,
    )


class Receiver:
    """The writer plus the HTTP listener, on the running asyncio loop.

    ``writer``: an already started writer that the caller owns and closes (then ``on_commit``,
    ``clock`` and ``on_health`` are the writer's business and not used here); without it the
    receiver makes, starts and closes its own.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        paths: Paths,
        on_commit: Callable[[list[StoredEvent]], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
        on_health: Callable[[str | None], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        writer: GroupCommitWriter | None = None,
    ) -> None:
        self._settings = settings
        self._paths = paths
        self._on_commit = on_commit
        self._clock = clock
        self._on_health = on_health
        self._monotonic = monotonic
        self._writer: GroupCommitWriter | None = writer
        self._owns_writer = writer is None
        self._runner: web.AppRunner | None = None
        self._endpoint: Endpoint | None = None
        self._config = LiveConfig(listener_config(settings))
        self._relay: Relay | None = None

    @property
    def endpoint(self) -> Endpoint:
        if self._endpoint is None:
            raise RuntimeError("receiver not started")
        return self._endpoint

    @property
    def writer(self) -> GroupCommitWriter:
        if self._writer is None:
            raise RuntimeError("receiver not started")
        return self._writer

    @property
    def relay(self) -> Relay | None:
        """The relay (present once started, serving ``/v1/`` while ``relay.enabled``)."""
        return self._relay

    @property
    def health(self) -> str | None:
        """``None`` while events can be stored (see ``GroupCommitWriter``) and, with a shared
        log, read back for the subscribers; else why not."""
        health = self._writer.health if self._writer else None
        if health is None and self._relay is not None:
            health = self._relay.feed_health
        return health

    @property
    def recovered_from(self) -> Path | None:
        return self._writer.recovered_from if self._writer else None

    async def start(self) -> Endpoint:
        """Open the store (unless given a writer), then listen; :class:`ListenerError` or
        ``StoreError`` if either fails."""
        s = self._settings
        if self._owns_writer:
            writer = history_writer(
                settings=lambda: self._settings,
                paths=self._paths,
                on_commit=self.committed,
                clock=self._clock,
                on_health=self.health_changed,
                backend=log_backend(s, self._paths),
            )
            await writer.start()
            self._writer = writer
        self._relay = Relay(
            config=RelayConfig.from_settings(s),
            backend=self.writer.backend,
            health=lambda: self.health,
        )
        try:
            await self._relay.start()
            self._runner, self._endpoint = await self._listen(s, tls_context(s))
        except BaseException:
            await self._relay.close()
            self._relay = None
            if self._owns_writer and self._writer is not None:
                await self._writer.close()
                self._writer = None
            raise
        self._write_runtime()
        log.info("listening on %s", self._endpoint.masked_url())
        if self.writer.backend.shared:
            log.info("storing events in %s, shared with the other relays", self.writer.where)
        if s.flag("relay.enabled"):
            log.info("relaying stored events to subscribers under /v1/")
        return self._endpoint

    def committed(self, events: list[StoredEvent]) -> None:
        """Committed events: to the relay's streams, then to ``on_commit``. The writer calls
        this; a writer handed in is its owner's, who calls it (see ``ReceiverThread``)."""
        if self._relay is not None:
            try:
                self._relay.publish(events)  # never blocks: each stream has its own queue
            except Exception:
                log.exception("handing committed events to the relay failed")
        if self._on_commit is not None:
            self._on_commit(events)

    def health_changed(self, health: str | None) -> None:
        """The writer's health changed: to the relay's streams, then to ``on_health``."""
        if self._relay is not None:
            self._relay.health_changed(health)
        if self._on_health is not None:
            self._on_health(health)

    async def _listen(
        self, settings: Settings, context: ssl.SSLContext | None
    ) -> tuple[web.AppRunner, Endpoint]:
        host, port = settings.text("listener.host"), settings.integer("listener.port")
        app = create_app(
            config=self._config,
            ingest=self.writer.submit,
            health=lambda: self.health,
            rejected=RejectedLog(self._paths.rejected_log),
            clock=self._monotonic,
            mount=self._relay,
        )
        runner = web.AppRunner(
            app,
            access_log=None,  # its lines would carry the token
            handle_signals=False,
            keepalive_timeout=self._settings.number("listener.keepalive_timeout"),
            shutdown_timeout=SHUTDOWN_GRACE_S,
        )
        await runner.setup()
        site = ListenerSite(
            runner,
            host,
            port,
            state=app[STATE_KEY],
            ssl_context=context,
            keepalive_timeout=settings.number("listener.keepalive_timeout"),
            handshake_timeout=settings.number("listener.header_timeout"),
        )
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ListenerError(_bind_problem(exc, host, port)) from None
        scheme = "https" if context is not None else "http"
        return runner, Endpoint(host=host, port=int(runner.addresses[0][1]), scheme=scheme)

    async def apply_settings(self, settings: Settings) -> None:
        """Take new settings while running.

        Token, credentials and limits apply from the next request. A new address is bound
        before the old listener is let go; if binding fails the old one keeps running, the
        old settings stay in force and :class:`ListenerError` says why. A new certificate or
        key is checked first (a bad one changes nothing); on the same fixed port the old
        socket is closed just before the new one is bound, since one port cannot be bound
        twice, and reopened with the old settings if that fails.
        """
        old = self._settings
        if _binding(settings) != _binding(old) and self._runner is not None:
            context = tls_context(settings)
            same_port = (
                settings.text("listener.host") == old.text("listener.host")
                and settings.integer("listener.port") == old.integer("listener.port") != 0
            )
            old_runner = self._runner
            if self._relay is not None:
                # Streams would hold the old runner's cleanup; they resume on the new address.
                await self._relay.end_streams(group=old_runner.app)
            if same_port:
                for site in list(old_runner.sites):
                    await site.stop()  # in-flight requests still finish in cleanup() below
            try:
                runner, endpoint = await self._listen(settings, context)
            except ListenerError:
                if same_port:
                    self._runner = None  # stays None if the old settings cannot bind either
                    try:
                        self._runner, self._endpoint = await self._listen(old, tls_context(old))
                    finally:
                        await old_runner.cleanup()
                raise
            self._runner, self._endpoint = runner, endpoint
            await old_runner.cleanup()
            self._write_runtime()
            log.info("listening on %s", endpoint.masked_url())
        self._settings = settings
        self._config.update(listener_config(settings))
        if self._relay is not None:
            await self._relay.apply(RelayConfig.from_settings(settings))

    async def stop(self) -> None:
        """Say bye to the relay's streams, answer in-flight requests, commit what is pending,
        close the database."""
        if self._relay is not None:
            await self._relay.shutdown_streams()  # else cleanup() would wait for them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._relay is not None:
            await self._relay.close()
            self._relay = None
        if self._owns_writer and self._writer is not None:
            await self._writer.close()
            self._writer = None
        with contextlib.suppress(OSError):
            runtime = self._paths.data_dir / RUNTIME_FILE
            data = json.loads(runtime.read_text(encoding="utf-8"))
            if data.get("pid") == os.getpid():
                runtime.unlink()
        log.info("receiver stopped")

    def _write_runtime(self) -> None:
        ep = self.endpoint
        path = self._paths.data_dir / RUNTIME_FILE
        try:
            write_atomically(
                path,
                json.dumps(
                    {"host": ep.host, "port": ep.port, "scheme": ep.scheme, "pid": os.getpid()}
                ),
            )
        except OSError as exc:
            log.warning("cannot write %s: %s", path, exc.strerror)


__all__ = [
    "Endpoint",
    "ListenerError",
    "Receiver",
    "StoreError",
    "read_runtime",
]
