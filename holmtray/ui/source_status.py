"""Whether events reach this computer, in words: the one truth the tray, the event window's
status strip, the welcome dialog and the "not receiving" notifications all show.

Qt-free. :func:`source_status` turns the facts about the running event source
(:class:`SourceFacts`: the listener's endpoint or error, the store's health, the relay
subscription's state) into a :class:`SourceStatus`: a line for the tray, a headline for the
welcome dialog, whether events are being received, and — when they are not and that matters —
an :class:`Alarm` with the strip's text and its actions. :class:`ReceivingWatch` turns the
sequence of statuses into notifications: one when receiving stops, one when it resumes.

Brief relay drops are not alarms: *Reconnecting* is a tooltip; only *Offline* (two minutes
without a stream), a rejected token, a relay that cannot store, or a setting that makes
subscribing impossible are. In direct mode a listener that is not running or a store that
cannot commit are alarms at once: Security Center never retries, so events sent now are lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from holmtray.core.alerts.notices import Notice, Urgency
from holmtray.core.subscribe.source import (
    AuthFailed,
    CatchingUp,
    Live,
    Offline,
    Reconnecting,
    RelayDegraded,
    RelayState,
)

RECEIVING_KEY = "holmtray-receiving"
"""Replace key of the stop/resume notifications: each replaces the previous one."""
SETTINGS_SOURCE = "Settings → General → Source"
NOT_RECEIVING = "holmtray is not receiving events"
CANNOT_STORE = "holmtray cannot store events"
LOST_DIRECT = "Security Center does not resend: events sent meanwhile are lost."


class Look(StrEnum):
    """How the tray icon looks."""

    OK = "ok"
    ERROR = "error"  # a red mark: not receiving, something must change
    OFFLINE = "offline"  # grey: no connection to the relay, events wait there


class StripAction(StrEnum):
    """A button on the event window's status strip (the value is its label)."""

    CHANGE_PORT = "Change port…"
    SETTINGS = "Settings…"
    RETRY = "Retry"
    RECONNECT = "Reconnect now"


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """What is known about the running source (gathered by the app)."""

    mode: str  # "direct" or "relay"
    address: str | None = None  # the masked webhook URL while the listener listens
    listener_error: str | None = None
    store_error: str | None = None  # this computer's store cannot commit
    relay_state: RelayState | None = None
    relay_host: str = ""
    relay_problem: str | None = None  # the relay settings cannot work (no address, token)


@dataclass(frozen=True, slots=True)
class Alarm:
    """Receiving has stopped (or events are being lost): say so until it is fixed."""

    kind: str  # "listener", "store", "config", "auth", "offline", "degraded"
    title: str  # the notification's summary
    body: str  # the notification's body
    strip: str  # the event window's status strip
    actions: tuple[StripAction, ...] = ()
    urgency: Urgency = Urgency.CRITICAL


@dataclass(frozen=True, slots=True)
class SourceStatus:
    line: str  # the tray's status line (menu and tooltip)
    headline: str  # the welcome dialog's heading
    receiving: bool  # events reach this computer now (a backfill counts)
    look: Look = Look.OK
    alarm: Alarm | None = None
    has_url: bool = False  # direct mode: a webhook URL to copy
    can_test: bool = False  # direct mode: a test event would be stored
    reconnect: bool = False  # offer "Reconnect now"


def clock_time(when: datetime, now: datetime) -> str:
    """``09:12`` today, ``12 Nov 09:12`` on another day (local time)."""
    local, today = when.astimezone(), now.astimezone()
    if local.date() == today.date():
        return f"{local:%H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def wait_words(until: datetime, now: datetime) -> str:
    """``in 40 s``, ``in 3 min``, or ``now``."""
    seconds = (until - now).total_seconds()
    if seconds < 1:
        return "now"
    if seconds < 90:
        return f"in {math.ceil(seconds)} s"
    return f"in {math.ceil(seconds / 60)} min"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _no_connection(host: str, problem: str) -> str:
    """Why there is no stream, naming the relay once."""
    if not problem:
        return f"no connection to {host}"
    if host in problem:
        return problem
    return f"no connection to {host} ({problem})"


def source_status(facts: SourceFacts, now: datetime) -> SourceStatus:
    """The status to show for ``facts`` at ``now`` (an aware datetime)."""
    if facts.mode == "relay":
        return _relay_status(facts, now)
    return _direct_status(facts)


def _stopped(
    why: str,
    *,
    kind: str,
    body: str,
    title: str = "Not receiving events",
    headline: str = NOT_RECEIVING,
    strip: str = "",
    actions: tuple[StripAction, ...] = (),
    urgency: Urgency = Urgency.CRITICAL,
    has_url: bool = False,
) -> SourceStatus:
    """Events are not received because of ``why``: a red mark, an alarm, a strip."""
    alarm = Alarm(kind, title, body, strip or f"Not receiving: {why}", actions, urgency)
    line = f"Not receiving: {why}"
    return SourceStatus(line, headline, False, Look.ERROR, alarm, has_url=has_url)


def _cannot_store(
    why: str, short: str, long: str, *, urgency: Urgency = Urgency.CRITICAL, has_url: bool = False
) -> SourceStatus:
    """This computer's store cannot commit: ``short`` for the strip, ``long`` for the
    notification say what follows from it."""
    return _stopped(
        why,
        kind="store",
        headline=CANNOT_STORE,
        body=f"{_sentence(why)} {long}",
        strip=f"Not receiving: {why.rstrip('.')}. {short}",
        urgency=urgency,
        has_url=has_url,
    )


def _direct_status(f: SourceFacts) -> SourceStatus:
    if f.listener_error:
        why = f.listener_error
        port_problem = why.startswith(("port ", "not allowed to listen on port"))
        fix = StripAction.CHANGE_PORT if port_problem else StripAction.SETTINGS
        body = f"The listener is not running: {why}. {LOST_DIRECT}"
        return _stopped(why, kind="listener", body=body, actions=(fix, StripAction.RETRY))
    if f.address is None:
        return SourceStatus("Starting…", "holmtray is starting…", receiving=False)
    if f.store_error:
        refused = "Webhooks are refused until it can."
        return _cannot_store(f.store_error, refused, f"{refused} {LOST_DIRECT}", has_url=True)
    line = f"Listening on {f.address}"
    return SourceStatus(line, "holmtray is listening", True, has_url=True, can_test=True)


def _relay_status(f: SourceFacts, now: datetime) -> SourceStatus:
    host = f.relay_host or "the relay"
    state = f.relay_state
    waits = Urgency.NORMAL  # the events wait on the relay: not lost
    if f.relay_problem:
        why = f.relay_problem
        body = f"Cannot subscribe to the relay: {why}. Change it in {SETTINGS_SOURCE}."
        return _stopped(
            why, kind="config", body=body, actions=(StripAction.SETTINGS,), urgency=waits
        )
    if isinstance(state, AuthFailed):
        return _stopped(
            f"{host} rejected the read token — see {SETTINGS_SOURCE}",
            kind="auth",
            title="Relay rejected the read token",
            body=(
                f"{_sentence(state.detail)} Events wait on the relay; set a valid read "
                f"token in {SETTINGS_SOURCE}."
            ),
            strip=f"Not receiving: {state.detail}. Events wait on the relay.",
            actions=(StripAction.SETTINGS,),
            urgency=waits,
        )
    if f.store_error:
        waiting = "Events wait on the relay until this computer can."
        return _cannot_store(f.store_error, waiting, waiting, urgency=waits)
    if isinstance(state, RelayDegraded):
        body = (
            f"The relay at {host} says: {state.cause}. Webhooks Security Center sends to it "
            "now are lost until it can store them again."
        )
        strip = f"The relay at {host} cannot store events: {state.cause}."
        alarm = Alarm("degraded", "Relay cannot store events", body, strip)
        line = f"The relay cannot store events: {state.cause}"
        return SourceStatus(line, "The relay cannot store events", True, Look.OFFLINE, alarm)
    if isinstance(state, Offline):
        since = clock_time(state.since, now)
        wait = wait_words(state.next_try, now)
        try_text = "trying now" if wait == "now" else f"next try {wait}"
        why = _no_connection(host, state.problem)
        alarm = Alarm(
            "offline",
            "Relay unreachable",
            f"Offline since {since}: {why}. Events wait on the relay and arrive here once the "
            "connection is back.",
            f"Offline since {since}: {why}. Events wait on the relay; {try_text}.",
            (StripAction.RECONNECT,),
            waits,
        )
        line = f"No connection to {host} since {since} — events wait there; {try_text}"
        headline = f"holmtray cannot reach {host}"
        return SourceStatus(line, headline, False, Look.OFFLINE, alarm, reconnect=True)
    connecting = f"holmtray is connecting to {host}"
    if isinstance(state, Reconnecting) and state.problem:
        line = f"Reconnecting: {_no_connection(host, state.problem)}"
        return SourceStatus(line, connecting, receiving=False)
    if isinstance(state, CatchingUp):
        n = state.remaining
        what = f"{n:,} missed events" if n else "missed events"
        headline = f"holmtray is fetching missed events from {host}"
        return SourceStatus(f"Fetching {what} from {host}…", headline, receiving=True)
    if isinstance(state, Live):
        line = f"Subscribed to {host} (live)"
        return SourceStatus(line, f"holmtray is subscribed to {host}", receiving=True)
    return SourceStatus(f"Connecting to {host}…", connecting, receiving=False)


class ReceivingWatch:
    """One notification when receiving stops, one when it resumes.

    A stop is an :class:`Alarm` appearing; another alarm of a different kind while stopped
    is told too (it needs a different fix); the same kind again with other words is not.
    Resuming is told once events are received again after an alarm.
    """

    def __init__(self) -> None:
        self._told: Alarm | None = None

    @property
    def stopped(self) -> bool:
        return self._told is not None

    def update(self, status: SourceStatus) -> Notice | None:
        alarm = status.alarm
        if alarm is not None:
            if self._told is not None and self._told.kind == alarm.kind:
                return None
            self._told = alarm
            return Notice(
                event_id=None,
                summary=alarm.title,
                body=alarm.body,
                urgency=alarm.urgency,
                link=None,
                replace_key=RECEIVING_KEY,
            )
        if self._told is not None and status.receiving:
            self._told = None
            return Notice(
                event_id=None,
                summary="Receiving events again",
                body=status.line,
                urgency=Urgency.LOW,
                link=None,
                replace_key=RECEIVING_KEY,
            )
        return None
