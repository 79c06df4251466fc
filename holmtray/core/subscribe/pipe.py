"""``holmtray subscribe``: a relay's events as JSON lines on standard output.

A pipe tool: it keeps no mirror, prints one line per event in id order — the relay's ``id``
and ``received_at``, and the ``kind``, ``severity``, ``title`` and ``link`` this version's
parser makes of the body — and flushes each line. ``--once`` ends with exit 0 when the relay
says ``live``; otherwise a lost stream is resumed with backoff from the last id printed (the
same order rules as the mirroring client: :mod:`~holmtray.core.subscribe.order`).

Problems go to standard error in plain words and end it with exit 1 when retrying cannot
help: a refused token ("the relay refused the read token"), a TLS failure, an address that is
not a relay, or (with ``--once``, or before the first stream) an unreachable relay. Notices
about expired events and a reset relay history go to standard error too. Every line is safe
for a terminal: the JSON escapes control, bidi and format characters
(:func:`~holmtray.core.text.json_text`) and the notices are made printable.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import TextIO

import aiohttp

from holmtray.core.subscribe import relayconn, relaymsg
from holmtray.core.subscribe.backoff import Backoff
from holmtray.core.subscribe.order import StreamOrder, expect_hello
from holmtray.core.subscribe.relayconn import (
    RelayAhead,
    RelayBusy,
    RelayConfigError,
    RelayError,
    RelayRefused,
    RelayTarget,
    RelayTLSError,
)
from holmtray.core.subscribe.relaymsg import Bye, CaughtUp, RelayedEvent, StoreStatus
from holmtray.core.text import json_text, printable

EXIT_OK, EXIT_FAIL = 0, 1


class _Done(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def event_line(item: RelayedEvent) -> str:
    """One event as the JSON line ``holmtray subscribe`` prints."""
    event = relaymsg.replicated(item).event
    return json_text(
        {
            "id": item.id,
            "received_at": item.received_at.isoformat(),
            "kind": event.kind.value,
            "severity": event.severity.word,
            "title": event.title,
            "link": event.link,
        }
    )


class RelayPipe:
    """Follows one relay and prints its events; :meth:`run` returns the exit code."""

    def __init__(
        self,
        *,
        target: RelayTarget,
        after: int | None,
        once: bool,
        out: TextIO,
        err: TextIO,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._target = target
        self._position = after  # the last id printed (None: only events from now on)
        self._once = once
        self._out = out
        self._err = err
        self._backoff = Backoff(rng=rng)
        self._relay_id: str | None = None
        self._streamed = False  # a stream was up at least once
        self._degraded: str | None = None

    def _say(self, text: str) -> None:
        print(f"holmtray subscribe: {printable(text)}", file=self._err, flush=True)

    async def run(self) -> int:
        try:
            self._target.check()
            session = relayconn.new_session(self._target)
        except RelayConfigError as exc:
            self._say(str(exc))
            return EXIT_FAIL
        async with session:
            while True:
                try:
                    await self._follow(session)
                    delay = self._backoff.failure()
                except _Done as done:
                    return done.code
                except (RelayRefused, RelayConfigError, RelayTLSError) as exc:
                    self._say(str(exc))
                    return EXIT_FAIL
                except RelayAhead as exc:
                    last = f" ({exc.last_id})" if exc.last_id is not None else ""
                    self._say(
                        f"--after {self._position} is beyond the relay's last event{last}"
                        if not self._streamed
                        else f"{exc}: the relay's history went back; stopping"
                    )
                    return EXIT_FAIL
                except RelayError as exc:
                    if self._once or not self._streamed:
                        self._say(str(exc))
                        return EXIT_FAIL
                    retry_after = exc.retry_after if isinstance(exc, RelayBusy) else None
                    delay = self._backoff.failure(retry_after=retry_after)
                    self._say(f"{exc}; reconnecting in {delay:.0f} s")
                await asyncio.sleep(delay)

    async def _follow(self, session: aiohttp.ClientSession) -> None:
        async with relayconn.open_stream(session, self._target, after=self._position) as stream:
            messages = await stream.messages()
            hello = expect_hello(messages, after=None)
            if self._relay_id is not None and hello.relay_id != self._relay_id:
                self._say("the relay's history was reset; continuing from its first event")
                self._relay_id, self._position = hello.relay_id, 0
                return
            expect_hello(messages, after=self._position)
            self._relay_id = hello.relay_id
            if self._position is None:
                self._position = hello.after
            if hello.gap is not None and hello.gap.expired > 0 and hello.after > 0:
                self._say(
                    f"{hello.gap.expired} events expired on the relay before they could be fetched"
                )
            self._streamed = True
            self._backoff.connected()
            order = StreamOrder(hello)
            messages = messages[1:]
            while True:
                for received in messages:
                    message = order.admit(received, kept=self._position)
                    if isinstance(message, RelayedEvent):
                        self._print(message)
                    elif isinstance(message, CaughtUp) and self._once:
                        raise _Done(EXIT_OK)
                    elif isinstance(message, StoreStatus) and message.cause != self._degraded:
                        self._degraded = message.cause
                        self._say(f"the relay {message.cause or 'can store events again'}")
                    elif isinstance(message, Bye):
                        if message.reason == "revoked":
                            self._say("the relay revoked the read token")
                            raise _Done(EXIT_FAIL)
                        if self._once:
                            self._say(f"the relay closed the stream ({message.reason})")
                            raise _Done(EXIT_FAIL)
                        return
                messages = await stream.messages()

    def _print(self, item: RelayedEvent) -> None:
        try:
            self._out.write(event_line(item) + "\n")
            self._out.flush()
        except BrokenPipeError:
            raise _Done(EXIT_OK) from None  # the reader went away (e.g. `| head`)
        self._position = item.id
