"""The ``holmtray`` command line: argument parsing and the headless sub-commands.

``holmtray`` alone starts the tray app; ``serve`` runs the receiver headless (``--relay``: and
serves the stored events to subscribing apps); ``url``, ``send-test``, ``events``,
``rejected`` and ``relay token add|list|revoke`` are small tools around a running or stopped
receiver; ``subscribe`` prints a relay's events as JSON lines; ``config get|set`` reads and
changes one setting. Exit codes: 0 success, 1 the operation failed, 2 bad usage or bad
configuration (every numeric option is range-checked; a config file or log folder that cannot
be used is named with the problem, never a traceback).

Everything printed that did not come from this file is escaped: text through
:func:`~holmtray.core.text.printable` (control, bidi and format characters as ``[U+XXXX]``),
JSON through :func:`~holmtray.core.text.json_text` (the same characters as ``\\uXXXX``), and
``rejected`` masks the token and password in every spelling even in entries an older version
wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from holmtray import __version__
from holmtray.cliargs import MAX_EVENT_ID, MAX_LIMIT, add_setting_number, add_whole_number
from holmtray.core import logsetup
from holmtray.core.config import file as settings_file
from holmtray.core.config.edit import parse_value, show_value
from holmtray.core.config.paths import Paths
from holmtray.core.config.schema import SettingsError, setting
from holmtray.core.config.settings import Settings
from holmtray.core.dsn import passwords
from holmtray.core.eventtypes import Kind, Severity
from holmtray.core.parsing.samples import KINDS
from holmtray.core.text import json_text, printable

# What only one command needs is imported by that command: the tray app's start-up (issue 16)
# and the small commands stay quick.
if TYPE_CHECKING:
    from holmtray.core.events import StoredEvent
    from holmtray.core.history.query import EventQuery
    from holmtray.core.ingest.endpoint import Endpoint
    from holmtray.core.redact import Redactor

log = logging.getLogger("holmtray.cli")

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
TOKEN_ENV = "HOLMTRAY_RELAY_TOKEN"  # noqa: S105 - the variable's name, not a token


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="holmtray",
        description="Desktop alerts and a searchable history for Holm Security webhooks. "
        "Without a command, starts the tray app.",
    )
    p.add_argument("--version", action="version", version=f"holmtray {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the webhook receiver headless (no GUI)")
    serve.add_argument("--host", help="address to bind (default: setting listener.host)")
    add_setting_number(
        serve, "--port", setting=setting("listener.port"), help="port to bind, 0 for any free port"
    )
    serve.add_argument(
        "--relay",
        action="store_true",
        help="also serve the stored events to subscribing holmtray apps under /v1/ "
        "(as relay.enabled = true, for this run)",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="log debug detail")

    sub.add_parser("url", help="print the webhook URL to paste into Security Center")

    send = sub.add_parser("send-test", help="post a realistic test event to the listener")
    send.add_argument("--kind", choices=KINDS, default="finished_scan")
    send.add_argument("--url", help="webhook URL (default: this installation's own)")

    ev = sub.add_parser("events", help="list stored events, newest first")
    add_whole_number(
        ev,
        "--limit",
        low=0,
        high=MAX_LIMIT,
        note=" (0: all)",
        default=20,
        help="how many (0: all; default 20)",
    )
    ev.add_argument("--json", action="store_true", help="print a JSON array")
    ev.add_argument("--search", metavar="TEXT", help="full-text search")
    ev.add_argument("--kind", choices=[k.value for k in Kind])
    ev.add_argument("--min-severity", choices=[s.word for s in Severity])
    ev.add_argument("--unread", action="store_true", help="only unread events")

    rej = sub.add_parser("rejected", help="show the rejected-requests log, newest first")
    add_whole_number(
        rej,
        "--limit",
        low=0,
        high=MAX_LIMIT,
        note=" (0: all)",
        default=50,
        help="how many (0: all; default 50)",
    )
    rej.add_argument("--json", action="store_true", help="print a JSON array")

    subscribe = sub.add_parser(
        "subscribe",
        help="print a relay's events as JSON lines as they arrive",
        description="Print a holmtray relay's events as JSON lines (id, received_at, kind, "
        "severity, title, link), in id order, as they arrive; a lost stream is resumed from "
        "the last id printed. The read token comes from the HOLMTRAY_RELAY_TOKEN environment "
        "variable or --token-file, never from an argument (process lists are readable). "
        "subscribe.ca_file, subscribe.allow_http and subscribe.read_timeout apply.",
    )
    subscribe.add_argument("url", metavar="URL", help="the relay's base address")
    add_whole_number(
        subscribe,
        "--after",
        low=0,
        high=MAX_EVENT_ID,
        metavar="N",
        help="start after event N (0: every event the relay keeps; default: new events only)",
    )
    subscribe.add_argument("--once", action="store_true", help="exit 0 once caught up")
    subscribe.add_argument("--token-file", metavar="F", help="read the token from this file")

    config = sub.add_parser("config", help="read or change a setting")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    get = config_sub.add_parser("get", help="print a setting's value")
    get.add_argument("key", metavar="KEY", help="e.g. subscribe.urls")
    get.add_argument("--reveal", action="store_true", help="show a secret instead of ********")
    put = config_sub.add_parser(
        "set",
        help="change a setting (checked as the config file is)",
        description="Change a setting. VALUE is read per the key's type: true/false, a "
        "number, text; a list as comma-separated words or a TOML/JSON array.",
    )
    put.add_argument("key", metavar="KEY", help="e.g. subscribe.urls")
    put.add_argument("value", metavar="VALUE")
    relay = sub.add_parser("relay", help="manage the relay's read tokens (one per analyst)")
    relay_sub = relay.add_subparsers(dest="relay_command", metavar="COMMAND", required=True)
    token = relay_sub.add_parser("token", help="add, list or revoke read tokens")
    token_sub = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = token_sub.add_parser("add", help="make a read token for NAME and print it (once)")
    add.add_argument("name", metavar="NAME", help="whose token, e.g. the analyst's name")
    token_sub.add_parser("list", help="list the read tokens' names (never the tokens)")
    revoke = token_sub.add_parser("revoke", help="revoke NAME's token; its streams end")
    revoke.add_argument("name", metavar="NAME")

    tray = sub.add_parser("tray", help="start the tray app (the default)")
    tray.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    return p


def _complain(who: str, text: str) -> None:
    """``who: text`` on standard error, ``text`` made printable (it may quote any input)."""
    print(f"{who}: {printable(text)}", file=sys.stderr)


def _endpoint(settings: Settings, paths: Paths) -> Endpoint:
    from holmtray.core.ingest.endpoint import Endpoint, read_runtime  # noqa: PLC0415

    running = read_runtime(paths)
    if running is not None:
        return running[0]
    return Endpoint.configured(settings)


def cmd_url(settings: Settings, paths: Paths, out: TextIO) -> int:
    ep = _endpoint(settings, paths)
    if ep.port == 0:
        print(
            "The listener picks its port at start (listener.port = 0) and is not running;", file=out
        )
        return EXIT_FAIL
    print(
        "Paste this URL into Security Center (Settings > Integrations > Webhooks).\n"
        "Holm's cloud must be able to reach it: this machine's address is usually private, so\n"
        "publish it through a reverse proxy or VPN, or run `holmtray serve` on an always-on host.",
        file=out,
    )
    print(
        ep.webhook_url(
            settings.text("listener.token"),
            username=settings.text("listener.username"),
            password=settings.text("listener.password"),
        ),
        file=out,
    )
    return EXIT_OK


def cmd_send_test(settings: Settings, paths: Paths, kind: str, url: str | None, out: TextIO) -> int:
    from holmtray.core.ingest import sendtest  # noqa: PLC0415 - keeps the CLI's start quick

    if url is None:
        target = sendtest.SampleTarget.own_listener(_endpoint(settings, paths), settings)
    else:
        target = sendtest.SampleTarget.given_url(url)
    import aiohttp  # noqa: PLC0415 - see above

    try:
        status, text = asyncio.run(sendtest.send_sample(target, kind))
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        why = printable(str(exc) or type(exc).__name__)
        print(f"send-test: could not reach {printable(target.shown)}: {why}", file=out)
        print("Is the receiver running (holmtray serve, or the tray app)?", file=out)
        return EXIT_FAIL
    print(f"POST {kind} to {printable(target.shown)}: HTTP {status} {printable(text)}", file=out)
    return EXIT_OK if 200 <= status < 300 else EXIT_FAIL


def _query(args: argparse.Namespace) -> EventQuery:
    from holmtray.core.history.query import EventQuery  # noqa: PLC0415

    return EventQuery(
        search=args.search,
        kinds=frozenset({Kind(args.kind)}) if args.kind else None,
        min_severity=Severity.from_word(args.min_severity) if args.min_severity else None,
        unread_only=args.unread,
        limit=None if args.limit == 0 else args.limit,
    )


def _format_row(e: StoredEvent) -> str:
    when = e.received_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    mark = " " if e.read else "*"
    flag = "!" if e.event.attention else " "
    return (
        f"{mark}{e.id:>7}  {when}  {e.event.severity.label:<8}{flag} "
        f"{e.event.kind.value:<14} {printable(e.event.title)}"
    )


def cmd_events(settings: Settings, paths: Paths, args: argparse.Namespace, out: TextIO) -> int:
    from holmtray.core.history.places import NotSubscribed, database_path  # noqa: PLC0415
    from holmtray.core.history.store import Store  # noqa: PLC0415

    try:
        db = database_path(settings, paths)
    except NotSubscribed:
        if args.json:
            out.write("[]\n")
        print(
            "No events yet — not subscribed to a relay yet", file=sys.stderr if args.json else out
        )
        return EXIT_OK
    if not db.exists():
        rows: list[StoredEvent] = []
    else:
        # Listing only: the integrity check (1.5 s at a million events) is the writer's job.
        store = Store.open(db, check=False)
        try:
            rows = store.query(_query(args))
        finally:
            store.close()
    if args.json:
        # Control, bidi and format characters and lone surrogates as \\u escapes: the same
        # data, and nothing a terminal acts on.
        out.write(json_text([r.to_json() for r in rows], indent=2) + "\n")
    elif not rows:
        print("No events.", file=out)
    else:
        for r in rows:
            print(_format_row(r), file=out)
    return EXIT_OK


def _secrets(settings: Settings) -> Redactor:
    from holmtray.core.redact import Redactor  # noqa: PLC0415

    return Redactor((settings.text("listener.token"), settings.text("listener.password")))


def cmd_rejected(settings: Settings, paths: Paths, limit: int, as_json: bool, out: TextIO) -> int:
    """The rejected-requests log, masked and escaped again: older versions wrote it raw."""
    from holmtray.core.ingest.rejected import RejectedLog, mask_path  # noqa: PLC0415

    redactor = _secrets(settings)
    entries = [
        dataclasses.replace(
            e,
            time=redactor.clean(e.time),
            remote=redactor.clean(e.remote),
            method=redactor.clean(e.method),
            path=mask_path(e.path, redactor),
            reason=redactor.clean(e.reason),
        )
        for e in RejectedLog(paths.rejected_log).newest(None if limit == 0 else limit)
    ]
    if as_json:
        out.write(json_text([dataclasses.asdict(e) for e in entries]) + "\n")
        return EXIT_OK
    if not entries:
        print("No rejected requests.", file=out)
    for e in entries:
        size = "-" if e.size is None else str(e.size)
        print(
            f"{e.time}  {e.remote:<39} {e.status}  {e.method:<6} {e.path}  {size:>8} B  {e.reason}",
            file=out,
        )
    return EXIT_OK


def _read_token(token_file: str | None) -> tuple[str | None, str]:
    """The read token and where it came from; ``None`` with the reason when there is none."""
    if token_file is not None:
        try:
            with open(token_file, encoding="utf-8") as fh:
                return fh.read(4096).strip(), f"the file {token_file}"
        except OSError as exc:
            return None, f"cannot read the token file {token_file}: {exc.strerror or exc}"
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return None, f"no read token: set {TOKEN_ENV} or use --token-file FILE"
    return token, TOKEN_ENV


def cmd_subscribe(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    token, source = _read_token(args.token_file)
    if token is None:
        _complain("holmtray subscribe", source)
        return EXIT_USAGE
    try:
        setting("subscribe.token").validate(token)
    except SettingsError:
        _complain(
            "holmtray subscribe",
            f"the token in {source} is not a read token "
            "('htr_' and 43 more characters; made by `holmtray relay token add NAME`)",
        )
        return EXIT_USAGE
    try:
        setting("subscribe.urls").validate([args.url])
    except SettingsError as exc:
        _complain("holmtray subscribe", str(exc))
        return EXIT_USAGE
    # The HTTP client is imported only by the command that needs it.
    from holmtray.core.subscribe import relayconn  # noqa: PLC0415
    from holmtray.core.subscribe.pipe import RelayPipe  # noqa: PLC0415

    target = relayconn.RelayTarget(
        url=args.url,
        token=token,
        ca_file=settings.text("subscribe.ca_file"),
        allow_http=settings.flag("subscribe.allow_http"),
        read_timeout=settings.number("subscribe.read_timeout"),
    )
    try:
        target.check()
        relayconn.tls_context(target.ca_file)
    except relayconn.RelayConfigError as exc:
        _complain("holmtray subscribe", str(exc))
        return EXIT_USAGE
    if hasattr(out, "reconfigure"):
        out.reconfigure(errors="backslashreplace")  # see cmd_events
    pipe = RelayPipe(target=target, after=args.after, once=args.once, out=out, err=sys.stderr)
    logsetup.configure(secrets=(token,), level=logging.WARNING)

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        task = asyncio.ensure_future(pipe.run())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return EXIT_OK
        return task.result()

    return asyncio.run(run())


def cmd_config(paths: Paths, args: argparse.Namespace, out: TextIO) -> int:
    try:
        if args.config_command == "get":
            settings = settings_file.load(paths.config_file)
            value = settings[setting(args.key).key]
            print(printable(show_value(args.key, value, reveal=args.reveal)), file=out)
            return EXIT_OK
        value = parse_value(args.key, args.value)
        changed = settings_file.update(paths.config_file, {args.key: value})
    except SettingsError as exc:
        _complain("holmtray config", str(exc))
        return EXIT_USAGE
    except OSError as exc:
        _complain("holmtray config", f"cannot write {paths.config_file}: {exc.strerror}")
        return EXIT_FAIL
    print(printable(f"{args.key} = {show_value(args.key, changed[args.key])}"), file=out)
    return EXIT_OK


def cmd_relay_token(settings: Settings, paths: Paths, args: argparse.Namespace, out: TextIO) -> int:
    """``relay token add|list|revoke`` on the database ``holmtray serve`` uses (running or not).

    ``add`` prints the token once, on the last line of its output; it is stored only as a hash.
    """
    from holmtray.core.history.places import log_backend  # noqa: PLC0415
    from holmtray.core.history.tokens import NAME_RE, TokenError  # noqa: PLC0415 - quick start

    with log_backend(settings, paths).token_table() as tokens:
        if args.action == "add":
            try:
                token = tokens.add(args.name)
            except TokenError as exc:
                _complain("relay token add", str(exc))
                return EXIT_USAGE if "not allowed" in str(exc) else EXIT_FAIL
            print(
                f"Read token for {printable(repr(args.name))}, shown only this once (the relay "
                "keeps a hash of it). Give it to its owner for Settings > Source, or "
                "HOLMTRAY_RELAY_TOKEN; "
                f"revoke it with `holmtray relay token revoke {printable(args.name)}`.",
                file=out,
            )
            if not settings.flag("relay.enabled"):
                print(
                    "The relay is off here: run `holmtray serve --relay` (or set "
                    "relay.enabled = true).",
                    file=out,
                )
            print(token, file=out)
            return EXIT_OK
        if args.action == "revoke":
            # A name no token can have (one from bytes that are not UTF-8, say) is not looked up.
            if not NAME_RE.match(args.name) or not tokens.revoke(args.name):
                _complain("relay token revoke", f"there is no read token named {args.name!r}")
                return EXIT_FAIL
            print(
                f"Revoked the read token of {printable(repr(args.name))}; its open streams end "
                "within a second.",
                file=out,
            )
            return EXIT_OK
        infos = tokens.list()
        if not infos:
            print("No read tokens. Make one with `holmtray relay token add NAME`.", file=out)
        for info in infos:
            when = info.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
            print(f"{printable(info.name):<32} made {when}", file=out)
        return EXIT_OK


async def _serve(settings: Settings, paths: Paths) -> int:
    # Signal handlers first: a SIGTERM right after the "listening" line must stop us cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # Windows' event loops have no signal handlers
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    # The HTTP server is imported only by the command that serves (the others stay quick).
    from holmtray.core.history.database import StoreError  # noqa: PLC0415
    from holmtray.core.ingest.receiver import ListenerError, Receiver  # noqa: PLC0415

    receiver = Receiver(settings=settings, paths=paths)
    try:
        endpoint = await receiver.start()
    except ListenerError as exc:
        log.error("cannot start the listener: %s", exc)
        return EXIT_FAIL
    except StoreError as exc:
        log.error("cannot open the event database: %s", exc)
        return EXIT_FAIL
    if receiver.recovered_from is not None:
        log.warning(
            "the event database was damaged and has been moved aside to %s; "
            "a new, empty database was started",
            receiver.recovered_from,
        )
    # The masked URL goes to the log; tests and scripts wait for this exact line.
    print(f"holmtray: listening on {endpoint.masked_url()}", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        log.info("stopping: answering in-flight requests, then closing the database")
        await receiver.stop()
    return EXIT_OK


def _load_settings(paths: Paths) -> Settings:
    return settings_file.load_or_create(paths.config_file)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    paths = Paths.default()
    if args.command == "config":
        # Before loading the settings: `config set` can mend a file with one bad value.
        return cmd_config(paths, args, sys.stdout)
    try:
        settings = _load_settings(paths)
    except SettingsError as exc:
        _complain("holmtray", str(exc))
        return EXIT_USAGE
    except OSError as exc:
        _complain("holmtray", f"cannot write the config file {paths.config_file}: {exc}")
        return EXIT_FAIL
    out = sys.stdout
    try:
        if args.command == "serve":
            overrides: dict[str, object] = {}
            if args.host is not None:
                overrides["listener.host"] = args.host
            if args.port is not None:
                overrides["listener.port"] = args.port
            if args.relay:
                overrides["relay.enabled"] = True
            try:
                settings = settings.with_values(overrides)
            except SettingsError as exc:
                _complain("holmtray serve", str(exc))
                return EXIT_USAGE
            try:
                logsetup.configure(
                    secrets=(
                        settings.text("listener.token"),
                        settings.text("listener.password"),
                        *passwords(settings.text("relay.store")),
                    ),
                    level=logging.DEBUG if args.verbose else logging.INFO,
                    log_file=paths.log_dir / "serve.log",
                )
            except logsetup.LogFileError as exc:
                _complain("holmtray serve", str(exc))
                return EXIT_USAGE
            return asyncio.run(_serve(settings, paths))
        if args.command == "url":
            return cmd_url(settings, paths, out)
        if args.command == "send-test":
            return cmd_send_test(settings, paths, args.kind, args.url, out)
        if args.command == "events":
            return cmd_events(settings, paths, args, out)
        if args.command == "rejected":
            return cmd_rejected(settings, paths, args.limit, args.json, out)
        if args.command == "subscribe":
            return cmd_subscribe(settings, args, out)
        if args.command == "relay":
            return cmd_relay_token(settings, paths, args, out)
        return _run_tray(args, settings, paths)
    except Exception as exc:
        # Imported here, not at the top: the tray app's icon comes before sqlite3 (issue 16.3).
        from holmtray.core.history.database import StoreError  # noqa: PLC0415

        if not isinstance(exc, StoreError):
            raise
        _complain("holmtray", str(exc))
        return EXIT_FAIL


def _run_tray(args: argparse.Namespace, settings: Settings, paths: Paths) -> int:
    try:
        from holmtray.ui.launch import run  # noqa: PLC0415 - keep Qt out of the headless commands
    except ImportError as exc:
        print(
            f"holmtray: the tray app is not available ({exc}). "
            "Use `holmtray serve` for the headless receiver.",
            file=sys.stderr,
        )
        return EXIT_FAIL
    try:
        return run(settings=settings, paths=paths, verbose=getattr(args, "verbose", False))
    except logsetup.LogFileError as exc:  # raised before any window opens
        _complain("holmtray", str(exc))
        return EXIT_USAGE
