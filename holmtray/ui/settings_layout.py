"""Where each setting sits in the Settings dialog, and when it applies.

:data:`TABS` lists the tabs in order, each as headed groups of rows; a row holds one or more
keys (a check box and the severity it asks for share a line). Names starting with ``@`` are
rows the dialog builds itself (the HTTPS switch, *Test connection*, the log folder, …).
A schema key no tab mentions still appears, under "More" on the tab of its section, so a new
setting is never hidden. :func:`conditions` says which other values must hold for a key's
editor to be enabled: the relay's fields only when subscribing, the listener's only when
receiving directly, quiet hours only with quiet hours on, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass

from holmtray.core.config.schema import SCHEMA

GENERAL = "General"
NOTIFICATIONS = "Notifications"
HOSTS = "Security Center hosts"
STORAGE = "Storage"
LISTENER = "Listener (advanced)"
TAB_ORDER = (GENERAL, NOTIFICATIONS, HOSTS, STORAGE, LISTENER)

HIDDEN_KEYS = frozenset(
    {
        "ui.welcome_shown",  # bookkeeping, not a preference
        # Read by `holmtray serve` only (the tray app always keeps its own SQLite file); set on
        # a relay host with `holmtray config set relay.store …`, where its password stays masked.
        "relay.store",
    }
)
HTTPS = "@https"  # the "Serve HTTPS" switch: on when a certificate is set
TEST_CONNECTION = "@test-connection"
LOGS = "@logs"


@dataclass(frozen=True, slots=True)
class Row:
    """Editors on one line; the first key's label names the row, the others use ``inline``."""

    keys: tuple[str, ...]
    indent: int = 0  # steps to the right, under the switch it depends on (label-less rows)
    caption: bool = True  # the first key's help as grey text under the row


@dataclass(frozen=True, slots=True)
class Group:
    title: str
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Tab:
    title: str
    groups: tuple[Group, ...]


def _rows(*keys: str) -> tuple[Row, ...]:
    return tuple(Row((k,)) for k in keys)


TABS: tuple[Tab, ...] = (
    Tab(
        GENERAL,
        (
            Group(
                "Source",
                (
                    Row(("source.mode",), caption=False),
                    # Under the choice, in the editors' column (no indent): every field here
                    # belongs to "Subscribe to a relay" and is disabled without it.
                    *_rows("subscribe.urls", "subscribe.token"),
                    Row((TEST_CONNECTION,), caption=False),
                    *_rows("subscribe.ca_file", "subscribe.allow_http", "subscribe.read_timeout"),
                ),
            ),
            Group("Startup", (Row(("ui.start_at_login",), caption=False),)),
        ),
    ),
    Tab(
        NOTIFICATIONS,
        (
            Group("All events", _rows("notifications.enabled", "notifications.min_severity")),
            Group(
                "What to notify about",
                (
                    Row(
                        ("notifications.finished_scan", "notifications.min_severity_finished_scan"),
                        caption=False,
                    ),
                    Row(("notifications.scheduled_scan",), caption=False),
                    Row(("notifications.ticket",), caption=False),
                    Row(
                        ("notifications.ticket_opened", "notifications.min_severity_ticket_opened"),
                        indent=1,
                        caption=False,
                    ),
                    Row(
                        ("notifications.ticket_closed", "notifications.min_severity_ticket_closed"),
                        indent=1,
                        caption=False,
                    ),
                    Row(("notifications.custom", "notifications.min_severity_custom")),
                ),
            ),
            Group(
                "Quiet hours",
                (
                    Row(("notifications.quiet_enabled",)),
                    Row(("notifications.quiet_start", "notifications.quiet_end"), indent=1),
                    Row(("notifications.quiet_days",), indent=1),
                    Row(("notifications.critical_bypass",), caption=False),
                ),
            ),
            Group(
                "Bursts",
                _rows(
                    "notifications.burst_threshold",
                    "notifications.burst_window_s",
                    "notifications.max_per_minute",
                ),
            ),
            Group(
                "Missed scans",
                (
                    Row(("notifications.missed_scan",)),
                    Row(("notifications.missed_scan_default_grace_h",), indent=1),
                ),
            ),
        ),
    ),
    Tab(HOSTS, (Group("Links that open without asking", _rows("links.hosts")),)),
    Tab(
        STORAGE,
        (
            Group(
                "Events",
                _rows("storage.retention_days", "storage.retention_count", "storage.data_dir"),
            ),
            Group("Logs", (Row((LOGS,)),)),
        ),
    ),
    Tab(
        LISTENER,
        (
            Group("Webhook URL", _rows("listener.host", "listener.port", "listener.token")),
            Group(
                "HTTPS",
                (
                    Row((HTTPS,), caption=False),
                    Row(("listener.tls_cert",), indent=1),
                    Row(("listener.tls_key",), indent=1),
                ),
            ),
            Group("Sign-in for the sender", _rows("listener.username", "listener.password")),
            Group(
                "Who may send",
                _rows("listener.allow_from", "listener.trusted_proxies"),
            ),
            Group(
                "Limits",
                _rows(
                    "listener.max_body_bytes",
                    "listener.rate_per_minute",
                    "listener.rate_burst",
                    "listener.rate_exempt",
                    "listener.max_concurrent",
                    "listener.max_connections_per_source",
                    "listener.header_timeout",
                    "listener.read_timeout",
                    "listener.keepalive_timeout",
                ),
            ),
            Group(
                "Relay for other computers",
                (
                    Row(("relay.enabled",)),
                    Row(("relay.allow_from",), indent=1),
                    Row(("relay.max_subscribers",), indent=1),
                    Row(("relay.ping_interval",), indent=1),
                    Row(("relay.queue_size",), indent=1),
                ),
            ),
        ),
    ),
)

_SECTION_TAB = {
    "listener": LISTENER,
    "relay": LISTENER,
    "notifications": NOTIFICATIONS,
    "storage": STORAGE,
    "links": HOSTS,
    "source": GENERAL,
    "subscribe": GENERAL,
    "ui": GENERAL,
}
MORE = "More"


def _placed() -> dict[str, str]:
    return {k: tab.title for tab in TABS for g in tab.groups for r in g.rows for k in r.keys}


_TAB_OF_KEY = _placed()


def tab_for(key: str) -> str:
    """The tab a key (or an ``@`` row) is shown on."""
    return _TAB_OF_KEY.get(key) or _SECTION_TAB.get(key.split(".", 1)[0], GENERAL)


def unplaced_keys() -> list[str]:
    """Schema keys no tab lists (they go under "More" on their section's tab)."""
    return [s.key for s in SCHEMA if s.key not in _TAB_OF_KEY and s.key not in HIDDEN_KEYS]


Condition = tuple[str, tuple[object, ...]]
"""(key, values it must have) for another key's editor to be enabled."""

_DIRECT: Condition = ("source.mode", ("direct",))
_RELAY: Condition = ("source.mode", ("relay",))
_NOTIFY: Condition = ("notifications.enabled", (True,))
_ON = (True,)
_EXTRA: dict[str, tuple[Condition, ...]] = {
    "listener.tls_cert": ((HTTPS, _ON),),
    "listener.tls_key": ((HTTPS, _ON),),
    "notifications.min_severity_finished_scan": (("notifications.finished_scan", _ON),),
    "notifications.ticket_opened": (("notifications.ticket", _ON),),
    "notifications.ticket_closed": (("notifications.ticket", _ON),),
    "notifications.min_severity_ticket_opened": (
        ("notifications.ticket", _ON),
        ("notifications.ticket_opened", _ON),
    ),
    "notifications.min_severity_ticket_closed": (
        ("notifications.ticket", _ON),
        ("notifications.ticket_closed", _ON),
    ),
    "notifications.min_severity_custom": (("notifications.custom", _ON),),
    "notifications.quiet_start": (("notifications.quiet_enabled", _ON),),
    "notifications.quiet_end": (("notifications.quiet_enabled", _ON),),
    "notifications.quiet_days": (("notifications.quiet_enabled", _ON),),
    "notifications.missed_scan_default_grace_h": (("notifications.missed_scan", _ON),),
}


def conditions(key: str) -> tuple[Condition, ...]:
    """What must hold for ``key``'s editor to be enabled (empty: always)."""
    section = key.split(".", 1)[0]
    found: list[Condition] = []
    if section == "listener" or key == HTTPS or section == "relay":
        found.append(_DIRECT)  # a subscriber binds no port: nothing to listen or relay on
    if section == "relay" and key != "relay.enabled":
        found.append(("relay.enabled", _ON))
    if section == "subscribe" or key == TEST_CONNECTION:
        found.append(_RELAY)
    if section == "notifications" and key != "notifications.enabled":
        found.append(_NOTIFY)
    found.extend(_EXTRA.get(key, ()))
    return tuple(found)
