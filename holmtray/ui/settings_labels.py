"""The words of the Settings dialog: a plain label and help text for every setting.

The schema's descriptions are written for the config file and name other keys; the dialog
speaks to people instead. :data:`WORDS` holds, per setting key, its label, its help (tooltip
and grey caption), the unit its spin box counts in and, for a choice, the words for each
choice. :func:`plain_words` rewrites a message from the settings code (which names keys such
as ``setting 'listener.port'``) into the same words, naming the field by its label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from holmtray.core.config.schema import SCHEMA


@dataclass(frozen=True, slots=True)
class Words:
    """How the dialog names and explains one setting."""

    label: str
    help: str
    unit: str = ""  # spin box suffix
    inline: str = ""  # the label when the editor follows another on the same line
    special: str = ""  # shown instead of the minimum, where the minimum means something else
    example: str = ""  # grey text in an empty editor
    choices: dict[str, str] = field(default_factory=dict)  # value -> words
    choice_help: dict[str, str] = field(default_factory=dict)  # value -> one line under it


_SEVERITIES = {
    "info": "Info",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "critical": "Critical",
}
SAME_AS_ABOVE = "Same as above"
_KIND_SEVERITIES = {"default": SAME_AS_ABOVE, **_SEVERITIES}
_SENDER_LIST = "One IP address or network per line, such as 203.0.113.0/24 or 2001:db8::/32."

WORDS: dict[str, Words] = {
    # General → Source ---------------------------------------------------------------------
    "source.mode": Words(
        "Get events",
        "Where this computer gets its events from.",
        choices={"direct": "Receive directly", "relay": "Subscribe to a relay"},
        choice_help={
            "direct": "This computer runs its own webhook listener, so Security Center must be "
            "able to reach it (office network or VPN). Set it up under Listener (advanced).",
            "relay": "An always-on computer receives the webhooks and keeps them; this one "
            "fetches them from it, including everything it missed while asleep or offline.",
        },
    ),
    "subscribe.urls": Words(
        "Relay address",
        "The relay's web address, such as https://hooks.example.org. With more than one (one "
        "per line) they are tried in order.",
        example="https://hooks.example.org",
    ),
    "subscribe.token": Words(
        "Read token",
        "Your own token for reading from the relay; it starts with htr_. Whoever runs the "
        "relay makes one for you with the command: holmtray relay token add YOUR-NAME",
    ),
    "subscribe.ca_file": Words(
        "CA certificate",
        "Only for a relay whose certificate comes from your organisation's own certificate "
        "authority: that authority's certificate (a PEM file). Empty: the certificates this "
        "computer trusts anyway.",
    ),
    "subscribe.allow_http": Words(
        "Allow an unencrypted (http://) relay on another computer",
        "Not recommended: your read token and the events would cross the network readable "
        "by anyone on the way.",
    ),
    "subscribe.read_timeout": Words(
        "Reconnect after",
        "When the relay has sent nothing at all for this long (it normally says something "
        "every 20 seconds), the connection is assumed dead and made again.",
        unit=" s of silence",
    ),
    "ui.start_at_login": Words(
        "Start holmtray when you log in",
        "Start holmtray when you log in, so no event waits unseen.",
    ),
    # Notifications -------------------------------------------------------------------------
    "notifications.enabled": Words(
        "Show desktop notifications",
        "Pop-ups for new events. Every event is stored and listed whatever you choose here.",
    ),
    "notifications.min_severity": Words(
        "Minimum severity",
        "Notify only about events at least this severe. Each kind below can set its own "
        "minimum instead. A finished scan that needs attention always notifies.",
        choices=_SEVERITIES,
    ),
    "notifications.finished_scan": Words("Finished scans", "Notify when a scan finishes."),
    "notifications.min_severity_finished_scan": Words(
        "Minimum severity for finished scans",
        "Judged by the scan's most severe finding. A scan that needs attention always notifies.",
        inline="at least",
        choices=_KIND_SEVERITIES,
    ),
    "notifications.scheduled_scan": Words(
        "Scheduled scans", "Notify when a scan is scheduled to run."
    ),
    "notifications.ticket": Words(
        "Tickets", "Notify about tickets; the two boxes below choose opened, closed or both."
    ),
    "notifications.ticket_opened": Words("Opened", "Notify when a ticket is opened."),
    "notifications.min_severity_ticket_opened": Words(
        "Minimum severity for opened tickets",
        "Notify only about opened tickets at least this severe.",
        inline="at least",
        choices=_KIND_SEVERITIES,
    ),
    "notifications.ticket_closed": Words("Closed", "Notify when a ticket is closed."),
    "notifications.min_severity_ticket_closed": Words(
        "Minimum severity for closed tickets",
        "Notify only about closed tickets at least this severe.",
        inline="at least",
        choices=_KIND_SEVERITIES,
    ),
    "notifications.custom": Words(
        "Custom webhooks",
        "Notify about webhooks that are not a Security Center scan or ticket (your own "
        "templates, chat cards).",
    ),
    "notifications.min_severity_custom": Words(
        "Minimum severity for custom webhooks",
        "Notify only about custom webhooks at least this severe.",
        inline="at least",
        choices=_KIND_SEVERITIES,
    ),
    "notifications.quiet_enabled": Words(
        "Hold back notifications during quiet hours",
        "Events keep arriving and wait in the event list as unread.",
    ),
    "notifications.quiet_start": Words(
        "From",
        "When quiet hours begin (your local time). A start later than the end runs past "
        "midnight; the same start and end means the whole day.",
    ),
    "notifications.quiet_end": Words(
        "Until", "When quiet hours end (your local time).", inline="until"
    ),
    "notifications.quiet_days": Words(
        "On",
        "The days quiet hours begin on. Hours past midnight belong to the day they began, "
        "so Friday 22:00 until 07:00 covers Saturday morning too.",
    ),
    "notifications.critical_bypass": Words(
        "Critical events break through quiet hours and snooze",
        "A critical event notifies even during quiet hours or while notifications are paused.",
    ),
    "notifications.burst_threshold": Words(
        "Summarise after",
        "When more events than this arrive close together, they are shown as one summary "
        "that keeps itself up to date, instead of one pop-up each.",
        unit=" events",
    ),
    "notifications.burst_window_s": Words(
        "Close together means within",
        "A burst ends once this long passes without a new event.",
        unit=" s",
    ),
    "notifications.max_per_minute": Words(
        "At most",
        "New pop-ups in any minute, summaries included; what is over the limit is counted "
        "into the summary.",
        unit=" per minute",
    ),
    "notifications.missed_scan": Words(
        "Warn when a scheduled scan does not report",
        "A scan that never reports may have failed without telling anyone, and then it "
        "found nothing.",
    ),
    "notifications.missed_scan_default_grace_h": Words(
        "Warn after",
        "Counted from the scan's start, while its usual duration is not known yet; after "
        "that a scan may take twice as long as its last run.",
        unit=" h",
    ),
    # Security Center hosts -----------------------------------------------------------------
    "links.hosts": Words(
        "Trusted hosts",
        "Links in events to these hosts (and their subdomains) open in your browser at once. "
        "A link to any other host is shown to you first, with its address highlighted. One "
        "host per line, such as sc.example.org.",
    ),
    # Storage -------------------------------------------------------------------------------
    "storage.retention_days": Words(
        "Keep events for",
        "Older events are deleted. Turned all the way down it reads Forever: nothing is "
        "deleted for its age.",
        unit=" days",
        special="Forever",
    ),
    "storage.retention_count": Words(
        "Keep at most",
        "When there are more, the oldest are deleted. Turned all the way down it reads No limit.",
        unit=" events",
        special="No limit",
    ),
    "storage.data_dir": Words(
        "Data folder",
        "Where the event database is kept. Empty: the standard folder shown in grey.",
    ),
    # Listener (advanced) -------------------------------------------------------------------
    "listener.host": Words(
        "Listen on",
        "127.0.0.1 takes webhooks from this computer only. For Security Center to reach you, "
        "use 0.0.0.0 (every network, IPv4) or :: (IPv6 too), or one of this computer's "
        "addresses.",
    ),
    "listener.port": Words(
        "Port",
        "The network port in the webhook URL. Turned all the way down it reads Any free port: "
        "a new one at every start (for tests; Security Center needs a fixed one).",
        special="Any free port",
    ),
    "listener.token": Words(
        "Webhook token",
        "The secret part of the webhook URL. A new token makes a new URL; the old one stops "
        "working.",
    ),
    "listener.username": Words(
        "User name",
        "When set, Security Center must send this user name and password with every webhook "
        "(HTTP Basic authentication). Empty: not asked for.",
    ),
    "listener.password": Words("Password", "The password that goes with the user name above."),
    "listener.tls_cert": Words(
        "Certificate file",
        "The server certificate as a PEM file; it may include the chain.",
    ),
    "listener.tls_key": Words(
        "Private key file",
        "The certificate's private key as a PEM file, not protected by a passphrase.",
    ),
    "listener.allow_from": Words(
        "Accept webhooks only from",
        f"{_SENDER_LIST} Empty: from anywhere.",
    ),
    "listener.trusted_proxies": Words(
        "Trusted reverse proxies",
        "Proxies in front of holmtray whose X-Forwarded-For header is believed to name the "
        f"real sender. {_SENDER_LIST} Empty: that header is ignored.",
    ),
    "listener.max_body_bytes": Words(
        "Largest webhook",
        "Bigger webhooks are refused.",
        unit=" bytes",
    ),
    "listener.keepalive_timeout": Words(
        "Close idle connections after",
        "How long a connection may stay open waiting for its next webhook.",
        unit=" s",
    ),
    "listener.header_timeout": Words(
        "Time to send the headers",
        "How long a sender has for a request's first line and headers.",
        unit=" s",
    ),
    "listener.read_timeout": Words(
        "Time to send the body",
        "How long a sender has to send a whole webhook once its headers have arrived.",
        unit=" s",
    ),
    "listener.rate_per_minute": Words(
        "Webhooks per minute",
        "The average one sender may keep up after a burst; faster senders are told to retry "
        "later. Turned all the way down it reads No limit.",
        unit=" per sender",
        special="No limit",
    ),
    "listener.rate_burst": Words(
        "Burst",
        "Webhooks one sender may send at once before the per-minute limit applies.",
        unit=" per sender",
    ),
    "listener.rate_exempt": Words(
        "Never limited",
        f"Senders no per-sender limit applies to. {_SENDER_LIST} By default: this computer.",
    ),
    "listener.max_concurrent": Words(
        "Webhooks handled at once",
        "Over all senders together; more are told to retry later.",
    ),
    "listener.max_connections_per_source": Words(
        "Connections per sender",
        "Open connections one sender may hold; more are closed at once. Trusted proxies are "
        "not limited. Turned all the way down it reads No limit.",
        special="No limit",
    ),
    "relay.enabled": Words(
        "Relay events to other computers",
        "Other holmtray apps, such as analysts' laptops, may subscribe to the events this "
        "computer receives and fetch what they missed. Each needs its own read token, made "
        "on this computer with the command: holmtray relay token add NAME",
    ),
    "relay.allow_from": Words(
        "Subscribers only from",
        f"{_SENDER_LIST} Empty: from anywhere (a read token is still needed). Who may send "
        "webhooks is set above, separately.",
    ),
    "relay.max_subscribers": Words(
        "Subscribers at once",
        "More are told to retry later. Subscribers never take places from webhooks.",
    ),
    "relay.ping_interval": Words(
        "Keep-alive every",
        "An idle subscription gets a sign of life this often; keep it shorter than the idle "
        "timeout of any proxy in between.",
        unit=" s",
    ),
    "relay.queue_size": Words(
        "Buffer per subscriber",
        "Events held for a subscriber that falls behind; beyond that it is disconnected and "
        "resumes where it was.",
        unit=" events",
    ),
    "ui.welcome_shown": Words(
        "Welcome shown", "Whether the first-run welcome dialog has been shown."
    ),
}


def words_for(key: str) -> Words:
    """The words for ``key``; a key missing from :data:`WORDS` gets a label made from it."""
    if key in WORDS:
        return WORDS[key]
    name = key.split(".", 1)[-1]
    for ending in ("_s", "_h"):
        if name.endswith(ending) and len(name) > len(ending):
            name = name[: -len(ending)]
    return Words(name.replace("_", " ").capitalize(), "")


def label_for(key: str) -> str:
    return words_for(key).label


def help_for(key: str) -> str:
    return words_for(key).help


# A key in a message: "setting 'a.b'", "settings 'a.b' and 'c.d'", "'a.b'", "(a.b)" or a.b.
_KEYS = sorted((s.key for s in SCHEMA), key=len, reverse=True)
_KEY_RE = re.compile(
    r"(?:\bsettings? )?'?(" + "|".join(re.escape(k) for k in _KEYS) + r")'?(?![\w.])"
)
_PREFIX_RE = re.compile(r"^invalid value (.*?) for “([^”]+)”: ", re.DOTALL)


def plain_words(message: str) -> str:
    """``message`` with every setting key replaced by the field's label in quotes.

    ``invalid value 70000 for setting 'listener.port': expected …`` becomes
    ``70000 is not accepted: expected …`` — the field it belongs to is shown next to it.
    """
    text = _KEY_RE.sub(lambda m: f"“{label_for(m.group(1))}”", message)
    return _PREFIX_RE.sub(lambda m: f"{m.group(1)} is not accepted: ", text)


def keys_in(message: str) -> list[str]:
    """The setting keys a message names, in order of appearance."""
    return [m.group(1) for m in _KEY_RE.finditer(message)]
