"""*Test connection* for the Settings dialog: ask a relay for its status, report in words.

:func:`probe` is one ``GET /v1/status`` per relay address (first answer wins) through
:mod:`holmtray.core.subscribe.relayconn`, turned into a sentence for a person ("Connected to
hooks.example.org: relay 3f2a1b2c…, 1,204 events kept." / "The relay refused the read
token." / "Could not connect: …"). :class:`ConnectionTester` runs it on a short-lived thread
with its own event loop, so it works whether or not the GUI runs on an asyncio loop and never
blocks the GUI; the outcome arrives as a signal on the GUI thread. No token reaches any text.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from holmtray.core.subscribe.relayconn import (
    RelayBusy,
    RelayConfigError,
    RelayError,
    RelayRefused,
    RelayTarget,
    RelayTLSError,
    fetch_status,
    new_session,
)
from holmtray.core.subscribe.relaymsg import RelayStatus
from holmtray.core.text import plural
from holmtray.ui.gui_thread import deliver_to
from holmtray.ui.settings_labels import plain_words

log = logging.getLogger("holmtray.ui.relay_probe")

PROBE_TIMEOUT_S = 15.0
"""The longest a test waits for one relay (the subscription itself waits longer)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    words: str


def connected(host: str, status: RelayStatus) -> str:
    """The sentence for a relay that answered."""
    if status.oldest_id is None:
        kept = "no events kept yet"
    else:
        count = status.last_id - status.oldest_id + 1
        kept = f"{plural(count, 'event')} kept"
    text = f"Connected to {host}: relay {status.relay_id[:8]}…, {kept}."
    if status.store:
        text += f" But the relay cannot store new events: {status.store}."
    return text


def failed(exc: RelayError) -> str:
    """The sentence for a relay that could not be used."""
    said = plain_words(str(exc)).rstrip(".")
    if isinstance(exc, RelayRefused):
        if exc.status == 401:
            return "The relay refused the read token. Check it, or ask for a new one."
        return (
            "The relay refused this computer or its token: it may take subscribers only "
            f"from certain networks ({said})."
        )
    if isinstance(exc, RelayTLSError):
        return f"Could not connect securely: {said}."
    if isinstance(exc, RelayBusy):
        return f"The relay is busy; try again shortly ({said})."
    if isinstance(exc, RelayConfigError):
        return f"{said}."
    return f"Could not connect: {said}."


async def probe_one(target: RelayTarget) -> Outcome:
    try:
        target.check()
        async with new_session(target) as session:
            async with asyncio.timeout(target.read_timeout + 1):
                status = await fetch_status(session, target)
    except RelayError as exc:
        return Outcome(False, failed(exc))
    except TimeoutError:
        return Outcome(False, f"Could not connect: no answer from {target.host} in time.")
    return Outcome(True, connected(target.host, status))


async def probe(targets: list[RelayTarget]) -> Outcome:
    """The first relay that answers, or why none did (each address named when several)."""
    if not targets:
        return Outcome(False, "Enter the relay's address first.")
    failures: list[str] = []
    for target in targets:
        outcome = await probe_one(target)
        if outcome.ok:
            return outcome
        failures.append(outcome.words if len(targets) == 1 else f"{target.host}: {outcome.words}")
    return Outcome(False, " ".join(failures))


class ConnectionTester(QObject):
    """Runs :func:`probe` off the GUI thread; ``finished(ok, words)`` arrives on the GUI thread.

    The worker thread holds no Qt object: it hands its outcome to the GUI thread through
    :func:`~holmtray.ui.gui_thread.deliver_to`, which drops it when this tester (and the dialog
    that owns it) has been closed and deleted meanwhile.
    """

    finished = Signal(bool, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None

    def join(self, timeout: float) -> bool:
        """Wait for the last test's thread to end; whether it did (for tests)."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def start(self, targets: list[RelayTarget]) -> None:
        bounded = [
            RelayTarget(
                url=t.url,
                token=t.token,
                ca_file=t.ca_file,
                allow_http=t.allow_http,
                read_timeout=min(t.read_timeout, PROBE_TIMEOUT_S),
            )
            for t in targets
        ]
        report = deliver_to(self, lambda tester: tester.finished.emit)
        self._thread = threading.Thread(
            target=_run, args=(bounded, report), name="holmtray-relay-test", daemon=True
        )
        self._thread.start()


def _run(targets: list[RelayTarget], report: Callable[[bool, str], None]) -> None:
    """The worker thread: probe, then report on the GUI thread."""
    try:
        outcome = asyncio.run(probe(targets))
    except Exception as exc:  # never let the thread die silently
        log.exception("testing the relay connection failed")
        outcome = Outcome(False, f"Could not test the connection: {type(exc).__name__}")
    report(outcome.ok, outcome.words)
