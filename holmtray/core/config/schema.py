"""The settings schema: every key with its type, default, description and checks.

:data:`SCHEMA` is the one list of settings; :class:`Setting` validates one value (type, range,
choices, a per-key check) and raises :class:`SettingsError` naming the key, the bad value and
what is allowed. The clock-time and weekday helpers here are shared with the notification
policy, which reads quiet hours with them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from holmtray.core import dsn
from holmtray.core.config import checks
from holmtray.core.eventtypes import Severity
from holmtray.core.netfilter import check_networks

DEFAULT_PORT = 8747
MAX_SHOWN = 80  # characters of a refused value quoted in the error
Value = str | int | float | bool | list[str]


class SettingsError(ValueError):
    """A setting (or the config file) is invalid; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One entry of the schema."""

    key: str
    type: type
    default: Value
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    check: Callable[[Any], str | None] | None = None  # returns a problem, or None
    secret: bool = False
    redact: Callable[[str], str] | None = None  # how a value that holds a secret part is shown

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    def allowed(self) -> str:
        """Plain words for what this setting accepts (used in error messages and the dialog)."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.type is bool:
            return "true or false"
        if self.type in (int, float):
            kind = "a whole number" if self.type is int else "a number"
            if self.minimum is not None and self.maximum is not None:
                return f"{kind} from {self.minimum:g} to {self.maximum:g}"
            if self.minimum is not None:
                return f"{kind} of at least {self.minimum:g}"
            return kind
        if self.type is list:
            return "a list of text values"
        return "text"

    def shown(self, value: Any) -> Any:
        """``value`` as it may be shown: with its secret part masked, for ``redact`` keys."""
        return self.redact(value) if self.redact is not None and isinstance(value, str) else value

    def validate(self, value: Any) -> Value:
        """Return the value converted to this setting's type, or raise :class:`SettingsError`."""
        shown = "********" if self.secret else _shown(self.shown(value))
        problem = f"invalid value {shown} for setting '{self.key}': expected {self.allowed()}"
        converted: Value
        if self.type is bool:
            if not isinstance(value, bool):
                raise SettingsError(problem)
            converted = value
        elif self.type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise SettingsError(problem)
            converted = value
        elif self.type is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SettingsError(problem)
            try:
                converted = float(value)
            except OverflowError:  # an integer too large for a float
                raise SettingsError(problem) from None
            if not math.isfinite(converted):
                # nan and inf: every comparison with nan is false, so no range would hold it.
                raise SettingsError(problem)
        elif self.type is list:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SettingsError(problem)
            converted = [v.strip() for v in value if v.strip()]
        else:
            if not isinstance(value, str):
                raise SettingsError(problem)
            converted = value.strip() if not self.secret else value
        if isinstance(converted, (int, float)) and not isinstance(converted, bool):
            if self.minimum is not None and converted < self.minimum:
                raise SettingsError(problem)
            if self.maximum is not None and converted > self.maximum:
                raise SettingsError(problem)
        if self.choices is not None and converted not in self.choices:
            raise SettingsError(problem)
        if any(
            not _encodable(v) for v in (converted if isinstance(converted, list) else [converted])
        ):
            raise SettingsError(
                f"invalid value {shown} for setting '{self.key}': it holds bytes that are not "
                "UTF-8 text"
            )
        if self.check is not None:
            why = self.check(converted)
            if why:
                raise SettingsError(f"invalid value {shown} for setting '{self.key}': {why}")
        return converted


def _encodable(value: object) -> bool:
    """False for text with a lone surrogate (bytes that were not UTF-8): no file can hold it."""
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(value: Any) -> str:
    """``value`` as an error quotes it: its repr, cut short."""
    try:
        text = repr(value)
    except RecursionError:
        return "(a value nested too deeply)"
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


_SEVERITY_WORDS = tuple(s.word for s in Severity)
_KIND_SEVERITY_WORDS = ("default", *_SEVERITY_WORDS)

SCHEMA: tuple[Setting, ...] = (
    Setting(
        "listener.host",
        str,
        "127.0.0.1",
        "Address the webhook listener binds to. 127.0.0.1 accepts only this machine; "
        "0.0.0.0 (or ::) accepts every interface.",
        check=checks.check_bind,
    ),
    Setting(
        "listener.port",
        int,
        DEFAULT_PORT,
        "TCP port of the webhook listener (0 picks a free port at start).",
        minimum=0,
        maximum=65535,
    ),
    Setting(
        "listener.token",
        str,
        "",
        "Secret path segment of the webhook URL (/hooks/<token>). Generated on first run; "
        "empty means generate a new one.",
        check=checks.check_token,
        secret=True,
    ),
    Setting(
        "listener.username",
        str,
        "",
        "Optional HTTP Basic user name required from the sender (empty: none).",
        check=checks.check_username,
    ),
    Setting(
        "listener.password",
        str,
        "",
        "Optional HTTP Basic password required from the sender (empty: none).",
        secret=True,
    ),
    Setting(
        "listener.max_body_bytes",
        int,
        1024 * 1024,
        "Largest webhook body accepted, in bytes.",
        minimum=1024,
        maximum=64 * 1024 * 1024,
    ),
    Setting(
        "listener.keepalive_timeout",
        float,
        15.0,
        "Seconds an idle keep-alive connection stays open.",
        minimum=1,
        maximum=600,
    ),
    Setting(
        "listener.read_timeout",
        float,
        10.0,
        "Seconds a client has to send a whole request body.",
        minimum=1,
        maximum=600,
    ),
    Setting(
        "listener.header_timeout",
        float,
        10.0,
        "Seconds a client has to send the request line and headers, from connecting (or, on "
        "a kept-alive connection, from the first byte of the next request).",
        minimum=1,
        maximum=600,
    ),
    Setting(
        "listener.tls_cert",
        str,
        "",
        "Certificate file (PEM, chain allowed) to serve HTTPS; empty with tls_key empty: "
        "plain HTTP.",
    ),
    Setting(
        "listener.tls_key",
        str,
        "",
        "Private key file (PEM, unencrypted) of tls_cert.",
    ),
    Setting(
        "listener.allow_from",
        list,
        [],
        'Only these IP addresses or networks may send (e.g. ["203.0.113.0/24", '
        '"2001:db8::/32"]); empty: everyone.',
        check=check_networks,
    ),
    Setting(
        "listener.trusted_proxies",
        list,
        [],
        "Reverse proxies in front of holmtray whose X-Forwarded-For header is believed (IPs "
        "or networks); empty: the header is ignored.",
        check=check_networks,
    ),
    Setting(
        "listener.rate_per_minute",
        int,
        1200,
        "Requests per minute one source may make on average, after a burst of rate_burst "
        "(0: no limit). Over it: 429 with Retry-After.",
        minimum=0,
        maximum=10_000_000,
    ),
    Setting(
        "listener.rate_burst",
        int,
        600,
        "Requests one source may make at once before rate_per_minute applies.",
        minimum=1,
        maximum=10_000_000,
    ),
    Setting(
        "listener.rate_exempt",
        list,
        ["127.0.0.0/8", "::1"],
        "Sources never rate-limited nor capped per source (IPs or networks; default: this "
        "machine).",
        check=check_networks,
    ),
    Setting(
        "listener.max_concurrent",
        int,
        256,
        "Requests handled at once, over all sources; more get 503 with Retry-After.",
        minimum=1,
        maximum=100_000,
    ),
    Setting(
        "listener.max_connections_per_source",
        int,
        128,
        "Open connections one source may hold; more are closed at once (0: no limit). "
        "Trusted proxies are not capped.",
        minimum=0,
        maximum=100_000,
    ),
    Setting(
        "storage.retention_days",
        int,
        90,
        "Delete events older than this many days (0: keep forever).",
        minimum=0,
        maximum=36500,
    ),
    Setting(
        "storage.retention_count",
        int,
        100_000,
        "Keep at most this many events, deleting the oldest (0: no limit).",
        minimum=0,
        maximum=100_000_000,
    ),
    Setting(
        "storage.data_dir",
        str,
        "",
        "Folder for the event database (empty: the default data folder).",
    ),
    Setting(
        "links.hosts",
        list,
        ["holmsecurity.com"],
        "Security Center hosts whose links open without asking (subdomains included).",
        check=checks.check_hosts,
    ),
    Setting("notifications.enabled", bool, True, "Show desktop notifications."),
    Setting("notifications.finished_scan", bool, True, "Notify when a scan finishes."),
    Setting("notifications.scheduled_scan", bool, False, "Notify when a scan is scheduled."),
    Setting(
        "notifications.ticket",
        bool,
        True,
        "Notify about tickets at all (ticket_opened and ticket_closed choose which).",
    ),
    Setting("notifications.ticket_opened", bool, True, "Notify when a ticket is opened."),
    Setting("notifications.ticket_closed", bool, True, "Notify when a ticket is closed."),
    Setting("notifications.custom", bool, True, "Notify for custom (unrecognised) payloads."),
    Setting(
        "notifications.min_severity",
        str,
        "info",
        "Notify only for events at least this severe, for every kind whose own minimum is "
        "'default' (a finished scan that needs attention always notifies).",
        choices=_SEVERITY_WORDS,
    ),
    Setting(
        "notifications.min_severity_finished_scan",
        str,
        "default",
        "Minimum severity (highest finding) for finished-scan notifications; 'default' uses "
        "min_severity. A scan that needs attention notifies whatever this says.",
        choices=_KIND_SEVERITY_WORDS,
    ),
    Setting(
        "notifications.min_severity_ticket_opened",
        str,
        "default",
        "Minimum severity for opened-ticket notifications; 'default' uses min_severity.",
        choices=_KIND_SEVERITY_WORDS,
    ),
    Setting(
        "notifications.min_severity_ticket_closed",
        str,
        "default",
        "Minimum severity for closed-ticket notifications; 'default' uses min_severity.",
        choices=_KIND_SEVERITY_WORDS,
    ),
    Setting(
        "notifications.min_severity_custom",
        str,
        "default",
        "Minimum severity for custom-payload notifications; 'default' uses min_severity.",
        choices=_KIND_SEVERITY_WORDS,
    ),
    Setting(
        "notifications.quiet_enabled",
        bool,
        False,
        "Hold back notifications during quiet hours (the events are still stored, unread).",
    ),
    Setting(
        "notifications.quiet_start",
        str,
        "22:00",
        "Local time (HH:MM) quiet hours start. A start later than the end spans midnight; "
        "a start equal to the end means the whole day.",
        check=checks.check_clock_time,
    ),
    Setting(
        "notifications.quiet_end",
        str,
        "07:00",
        "Local time (HH:MM) quiet hours end.",
        check=checks.check_clock_time,
    ),
    Setting(
        "notifications.quiet_days",
        list,
        list(checks.WEEKDAYS),
        "Weekdays on which quiet hours start (a span past midnight belongs to the day it "
        'started), e.g. ["monday", "friday"] or ["mon", "fri"].',
        check=checks.check_weekdays,
    ),
    Setting(
        "notifications.critical_bypass",
        bool,
        True,
        "Let critical events through quiet hours and snooze.",
    ),
    Setting(
        "notifications.burst_threshold",
        int,
        3,
        "More notifiable events than this within burst_window_s are shown as one updating "
        "summary instead of one by one.",
        minimum=1,
        maximum=1000,
    ),
    Setting(
        "notifications.burst_window_s",
        float,
        10.0,
        "Seconds of the burst window; a burst ends once this long passes without new events.",
        minimum=1,
        maximum=600,
    ),
    Setting(
        "notifications.max_per_minute",
        int,
        6,
        "Hard cap on notifications (summary updates included) in any 60 seconds; events over "
        "the cap are counted into the summary.",
        minimum=1,
        maximum=60,
    ),
    Setting(
        "notifications.missed_scan",
        bool,
        True,
        "Warn when a scheduled scan has not reported as finished within its grace period.",
    ),
    Setting(
        "notifications.missed_scan_default_grace_h",
        float,
        6.0,
        "Hours after its start time a scheduled scan may take to report before the warning, "
        "when its duration is unknown (otherwise twice its last known duration).",
        minimum=0.1,
        maximum=24 * 14,
    ),
    Setting(
        "relay.enabled",
        bool,
        False,
        "Act as a relay: keep serving the stored events to subscribing holmtray apps under "
        "/v1/ (also `holmtray serve --relay`). Analysts read with their own read token "
        "(`holmtray relay token add NAME`).",
    ),
    Setting(
        "relay.store",
        str,
        "",
        "Where `holmtray serve` stores the events: empty for this host's own database, or a "
        "PostgreSQL database that several relays share "
        "(postgresql://USER@HOST/DBNAME; needs pip install 'holmtray[postgres]'). Prefer a "
        "~/.pgpass file to a password in the address; one here is never shown or logged.",
        check=dsn.check,
        redact=dsn.masked,
    ),
    Setting(
        "relay.allow_from",
        list,
        [],
        "Only these IP addresses or networks may subscribe (the analysts' networks); empty: "
        "everyone with a read token. The webhook's allow_from does not apply to /v1/.",
        check=check_networks,
    ),
    Setting(
        "relay.max_subscribers",
        int,
        200,
        "Event streams open at once; more get 503 with Retry-After. Streams never count "
        "against the webhook's max_concurrent.",
        minimum=1,
        maximum=100_000,
    ),
    Setting(
        "relay.ping_interval",
        float,
        20.0,
        "Seconds between keep-alive frames on an idle stream (keep it below any proxy's "
        "read timeout).",
        minimum=1,
        maximum=300,
    ),
    Setting(
        "relay.queue_size",
        int,
        10_000,
        "Events buffered for one subscriber that is not keeping up; beyond it the stream is "
        "closed and the subscriber resumes where it was.",
        minimum=16,
        maximum=1_000_000,
    ),
    Setting(
        "source.mode",
        str,
        "direct",
        "Where the tray app gets events: 'direct' (its own webhook listener, for a computer "
        "Holm can reach) or 'relay' (subscribe to a holmtray relay on an always-on host).",
        choices=("direct", "relay"),
    ),
    Setting(
        "subscribe.urls",
        list,
        [],
        "Address of the relay to subscribe to, e.g. https://hooks.example.org. Several relays "
        "sharing one database: list each; when one stops answering the next is used, resuming "
        "where the last one left off.",
        check=checks.check_relay_urls,
    ),
    Setting(
        "subscribe.token",
        str,
        "",
        "Your read token for the relay (htr_…), from `holmtray relay token add NAME` on the "
        "relay host.",
        check=checks.check_read_token,
        secret=True,
    ),
    Setting(
        "subscribe.ca_file",
        str,
        "",
        "CA certificate file (PEM) that signed the relay's certificate, for a private CA "
        "(empty: the system's trusted CAs).",
    ),
    Setting(
        "subscribe.allow_http",
        bool,
        False,
        "Allow plain http:// to a relay that is not on this machine (the token and events "
        "would cross the network unencrypted).",
    ),
    Setting(
        "subscribe.read_timeout",
        float,
        60.0,
        "Reconnect when the relay has sent nothing (not even a keep-alive) for this many seconds.",
        minimum=2,
        maximum=3600,
    ),
    Setting("ui.start_at_login", bool, False, "Start holmtray when you log in."),
    Setting("ui.welcome_shown", bool, False, "The first-run welcome dialog has been shown."),
)

_BY_KEY: dict[str, Setting] = {s.key: s for s in SCHEMA}


def setting(key: str) -> Setting:
    """The schema entry for ``key``; :class:`SettingsError` names unknown keys."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise SettingsError(f"unknown setting '{key}'") from None
