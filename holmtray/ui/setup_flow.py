"""The tray app's side of setting up a source: the welcome dialog's actions, answered in words.

:class:`SetupFlow` builds the :class:`~holmtray.ui.welcome.WelcomeDialog` and does what its
buttons ask, through the app's own paths and never on the GUI thread's time:

- *Send test event* posts a sample to the app's own listener (from the receiver's loop) and
  says what happened in a sentence ("Test event stored as #12…"), not the listener's JSON.
- *Test connection* asks the relay's ``/v1/status`` with the typed address and read token
  (:func:`~holmtray.ui.relay_probe.probe`, as the Settings dialog does), on the receiver's loop.
- *Subscribe* and *Receive directly instead* change ``source.mode`` (and the relay address and
  token) through the app's ``apply`` — the same asynchronous path as the Settings dialog, so
  the source switches without a restart and a failure is reported, not half-applied.

It also owns the webhook URL (:meth:`SetupFlow.webhook_url`, the tray's *Copy webhook URL*),
and turns the app's :class:`~holmtray.ui.source_status.SourceStatus` into what the dialog
shows (:meth:`SetupFlow.update`), so its headline never says "listening" when it is not.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QGuiApplication

from holmtray.core.config.schema import SettingsError
from holmtray.core.config.settings import Settings
from holmtray.ui.icons import app_icon
from holmtray.ui.receiver_thread import ReceiverThread
from holmtray.ui.source_status import SourceStatus

# The dialog, the HTTP client and the relay probe are imported when first used, not before
# the tray icon is shown (start-up, issue 16).
if TYPE_CHECKING:
    from holmtray.ui.welcome import TestDone, WelcomeDialog, WelcomeStatus

log = logging.getLogger("holmtray.ui.setup_flow")

ApplyDone = Callable[[str | None], None]
Apply = Callable[[Settings, ApplyDone], None]
Spawn = Callable[[Coroutine[Any, Any, None]], None]
Say = Callable[[str, str], None]


def answer_words(status: int, text: str) -> tuple[bool, str]:
    """The listener's answer to a test event, in words: ``(ok, message)``.

    The answer is JSON (``{"id": 12}``, ``{"error": "..."}``); people read a sentence, not the
    JSON. Anything unexpected still says what came back, shortly.
    """
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    answer = data if isinstance(data, dict) else {}
    event_id = answer.get("id")
    error = answer.get("error")
    why = error if isinstance(error, str) and error else (text.strip()[:200] or "no details")
    if 200 <= status < 300:
        at = f" as #{event_id}" if isinstance(event_id, int) else ""
        if answer.get("duplicate"):
            return True, f"The test event was already stored{at}; it was not stored again."
        return True, f"Test event stored{at}. A notification should appear."
    if status == 401:
        return False, "The listener refused the test event: the user name or password is wrong."
    if status == 404:
        return False, "The listener did not recognise the webhook URL (has the token changed?)."
    if status == 503:
        return False, f"The listener could not store the test event: {why}."
    return False, f"The listener answered the test event with HTTP {status}: {why}."


class SetupFlow:
    """The welcome dialog and its actions; see the module docstring."""

    def __init__(
        self,
        *,
        receiver: ReceiverThread,
        settings: Callable[[], Settings],
        apply: Apply,
        spawn: Spawn,
        open_settings: Callable[[], None],
    ) -> None:
        self._receiver = receiver
        self._settings = settings
        self._apply = apply
        self._spawn = spawn
        self._open_settings = open_settings
        self.dialog: WelcomeDialog | None = None

    # ---- the webhook URL ---------------------------------------------------------------------

    def webhook_url(self) -> str | None:
        """The URL to paste into Security Center (token and credentials in it), while the
        listener listens."""
        ep = self._receiver.endpoint
        if ep is None:
            return None
        s = self._settings()
        return ep.webhook_url(
            s.text("listener.token"),
            username=s.text("listener.username"),
            password=s.text("listener.password"),
        )

    def copy_url(self, say: Say) -> None:
        """The tray's *Copy webhook URL*: to the clipboard, and a word on where it goes."""
        url = self.webhook_url()
        if url is None:
            why = self._receiver.error or "this computer subscribes to a relay"
            say("Webhook URL not available", f"The listener is not running: {why}")
            return
        from holmtray.ui.welcome import REACHABILITY  # noqa: PLC0415 (see the imports)

        QGuiApplication.clipboard().setText(url)
        say(
            "Webhook URL copied",
            "Paste it into Security Center's webhook settings. " + REACHABILITY,
        )

    # ---- the dialog ------------------------------------------------------------------------

    def welcome_status(self, status: SourceStatus, mode: str) -> WelcomeStatus:
        from holmtray.ui.welcome import WelcomeStatus  # noqa: PLC0415 (see the imports)

        return WelcomeStatus(
            headline=status.headline,
            detail=status.alarm.body if status.alarm is not None else "",
            receiving=status.receiving,
            mode=mode,
            webhook_url=self.webhook_url() if status.has_url else None,
            can_test=status.can_test,
            look=status.look.value,
        )

    def show(self, status: SourceStatus, mode: str) -> WelcomeDialog:
        """Show the welcome dialog (raise it, if it is open already)."""
        if self.dialog is not None:
            self.dialog.set_status(self.welcome_status(status, mode))
            self.dialog.show()
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        from holmtray.ui.welcome import WelcomeDialog  # noqa: PLC0415 (see the imports)

        s = self._settings()
        urls = s.strings("subscribe.urls")
        dialog = WelcomeDialog(
            webhook_url=self.webhook_url() if status.has_url else None,
            send_test=self.send_test,
            status=self.welcome_status(status, mode),
            relay_url=urls[0] if urls else "",
            relay_token=s.text("subscribe.token"),
            test_relay=self._test_relay,
            subscribe=self._subscribe,
            use_direct=self._use_direct,
            open_settings=self._open_settings,
        )
        dialog.setWindowIcon(app_icon())
        dialog.show()
        self.dialog = dialog
        return dialog

    def update(self, status: SourceStatus, mode: str) -> None:
        """Keep an open dialog's headline, URL and buttons true."""
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.set_status(self.welcome_status(status, mode))

    # ---- actions -------------------------------------------------------------------------

    async def post_test(self, kind: str = "finished_scan") -> tuple[bool, str]:
        """Post a sample to our own listener (from the receiver's loop); (ok, message)."""
        ep = self._receiver.endpoint
        if ep is None:
            why = self._receiver.error or "this computer subscribes to a relay"
            return False, f"No webhook URL to test: {why}."
        import aiohttp  # noqa: PLC0415 (see the imports)

        from holmtray.core.ingest.sendtest import SampleTarget, send_sample  # noqa: PLC0415

        target = SampleTarget.own_listener(ep, self._settings())
        try:
            status, text = await asyncio.wrap_future(self._receiver.call(send_sample(target, kind)))
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return False, f"Could not reach the listener: {exc or type(exc).__name__}"
        return answer_words(status, text)

    def send_test(self, done: TestDone) -> None:
        """Post a test event to our own listener; ``done(ok, message)`` when answered."""

        async def run() -> None:
            ok, message = await self.post_test()
            done(ok, message)

        self._spawn(run())

    def _test_relay(self, url: str, token: str, done: TestDone) -> None:
        from holmtray.core.subscribe.relayconn import RelayTarget  # noqa: PLC0415 (see the imports)
        from holmtray.ui.relay_probe import PROBE_TIMEOUT_S, probe  # noqa: PLC0415

        s = self._settings()
        target = RelayTarget(
            url=url.rstrip("/"),
            token=token,
            ca_file=s.text("subscribe.ca_file"),
            allow_http=s.flag("subscribe.allow_http"),
            read_timeout=PROBE_TIMEOUT_S,
        )

        async def run() -> None:
            outcome = await asyncio.wrap_future(self._receiver.call(probe([target])))
            done(outcome.ok, outcome.words)

        self._spawn(run())

    def _subscribe(self, url: str, token: str, done: TestDone) -> None:
        values = {"source.mode": "relay", "subscribe.urls": [url], "subscribe.token": token}
        self._change(values, done, f"Subscribed to {url}: missed events are being fetched.")

    def _use_direct(self, done: TestDone) -> None:
        self._change({"source.mode": "direct"}, done, "Receiving directly.")

    def _change(self, values: dict[str, Any], done: TestDone, success: str) -> None:
        try:
            new = self._settings().with_values(values)
        except SettingsError as exc:
            from holmtray.ui.settings_labels import plain_words  # noqa: PLC0415 (see the imports)

            done(False, plain_words(str(exc)))
            return
        log.info("welcome dialog: switching the source to %s", values["source.mode"])
        self._apply(new, lambda problem: done(problem is None, problem or success))
