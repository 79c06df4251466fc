"""The order rules of one relay stream, shared by the mirroring client and ``holmtray subscribe``.

A stream must begin with ``hello`` that resumes where it was asked to (a proxy that dropped
``Last-Event-ID`` and the query would otherwise turn a resume into "new events only" and skip
the backlog without a word). After it, :class:`StreamOrder` admits each message:

- event ids ascend: an id at or below what the reader has already kept is skipped (it has it,
  or deleted it); one below an id seen on this stream but not yet kept means the relay sent
  them out of order, and the stream is dropped (the reader resumes by id);
- after ``live`` the relay has sent everything up to its last id at ``hello`` (the backlog is
  read after the subscriber was registered) and up to ``caught_up_to``;
- a ``ping`` whose last id is beyond what was delivered is allowed once — the event may be on
  its way — but if the next ping finds it still missing the stream is dropped: the relay has
  an event this stream did not bring.

Violations raise :class:`~holmtray.core.subscribe.relayconn.StreamLost`.
"""

from __future__ import annotations

from holmtray.core.subscribe.relayconn import StreamLost
from holmtray.core.subscribe.relaymsg import CaughtUp, Hello, Message, Ping, RelayedEvent


def expect_hello(messages: list[Message], *, after: int | None) -> Hello:
    """The stream's opening ``hello``, checked against the ``after`` asked for."""
    hello = messages[0] if messages else None
    if not isinstance(hello, Hello):
        raise StreamLost("the relay did not begin the stream with hello")
    if after is not None and hello.after != after:
        raise StreamLost(f"the relay resumed after event {hello.after}, not after {after} as asked")
    return hello


class StreamOrder:
    """Admits a stream's messages in order (see the module docstring)."""

    def __init__(self, hello: Hello) -> None:
        self.hello = hello
        self.last = hello.after  # the highest event id seen on this stream
        self.delivered = hello.after  # everything up to here has been sent
        self.live = False
        self._behind: int | None = None  # a ping's last id past ``delivered``

    def admit(self, message: Message, *, kept: int) -> Message | None:
        """``message`` if the reader should act on it, ``None`` to skip it. ``kept`` is the
        highest id the reader already has (stored, or printed)."""
        if isinstance(message, RelayedEvent):
            if message.id <= self.last:
                if message.id <= kept:
                    return None
                raise StreamLost(
                    f"event {message.id} came after event {self.last}: ids must ascend"
                )
            self.last = message.id
            return message
        if isinstance(message, CaughtUp):
            self.live = True
            self.delivered = max(
                self.delivered, self.last, self.hello.last_id, message.caught_up_to
            )
            self._behind = None
        elif isinstance(message, Ping) and self.live:
            self.delivered = max(self.delivered, self.last)
            if self._behind is not None and self.delivered < self._behind:
                raise StreamLost(
                    f"the relay has events up to {self._behind} that this stream did not bring"
                )
            self._behind = message.last_id if message.last_id > self.delivered else None
        elif isinstance(message, Hello):
            raise StreamLost("the relay sent a second hello")
        return message
