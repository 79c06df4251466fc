"""Request bodies in flight: the memory they may hold, receiving them, decoding them.

It owns three things the listener does once a request has passed every header check:

- :class:`BodyBudget`: the memory held by bodies in flight, over all requests and per source.
  A body is charged what it may come to hold before a byte of it is read: :func:`max_cost` of
  its declared length (a chunked body: of what has arrived, as it arrives). Once it is whole
  the charge comes down to :func:`decoded_cost` of it, which holds until its answer is sent.
  A charge the budget cannot take is refused (the listener answers 503 with ``Retry-After``);
  one source may hold at most half the budget, so one sender cannot take it all.
- :func:`receive`: reads a body with the size cap and the read deadline. The deadline bounds
  how long the client takes to *send*: bytes that have already arrived are taken whenever the
  handler gets to them, so a server that is busy (and late to read) never blames the client.
- :class:`Decoder`: turns a body into the stored text, the JSON object and the parsed event.
  Small bodies are decoded inline; larger ones on a small dedicated thread pool, so that a body
  that is cheap to send and costly to decode does not stall the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from aiohttp import StreamReader

from holmtray.core.events import Event, Kind, Severity
from holmtray.core.parsing.decode import decode_body
from holmtray.core.parsing.parser import parse_event

log = logging.getLogger("holmtray.ingest.bodies")

COST_FACTOR_MAX = 64
"""The most :func:`decoded_cost` charges per body byte for decoding (measured worst: 47)."""

PARSE_ALLOWANCE = 8 * 1024 * 1024
"""The most it charges for parsing on top: the parser looks at a bounded part (measured: 4.2 MB)."""

BASE_COST = 8 * 1024
"""What any body costs besides its size: the event, the answer, the bookkeeping (~2 KB)."""

SMALL_ROOM = 64 * 1024 * 1024
"""Budget beyond two of the costliest bodies: room for thousands of ordinary webhooks."""

INLINE_DECODE_MAX = 16 * 1024
"""Bodies up to this size are decoded on the event loop (a few milliseconds at worst)."""

DECODE_WORKERS = 2


def max_cost(size: int) -> int:
    """The most :func:`decoded_cost` charges for a body of ``size`` bytes, whatever it holds."""
    decoding = COST_FACTOR_MAX * size
    return BASE_COST + decoding + min(decoding, PARSE_ALLOWANCE)


def default_budget(cap: int) -> int:
    """The budget for bodies of at most ``cap`` bytes.

    One source's half holds the costliest body there can be and room for ordinary ones.
    """
    return 2 * max_cost(cap) + SMALL_ROOM


def decoded_cost(body: bytes) -> int:
    """An upper bound of the memory decoding and parsing ``body`` takes, in bytes.

    Decoding JSON costs a Python object per value: a container costs ~100 bytes, a scalar or a
    key ~60, a body byte itself about two (the text copy). Every value but the first needs a
    ``,`` or a ``:`` before it and every container a ``{`` or ``[``, so counting those bytes
    (in C, fast) bounds the count of objects whatever the body says. Parsing then looks at a
    bounded part of that, and may copy it once. Never more than :func:`max_cost` of its size.
    """
    size = len(body)
    containers = body.count(b"{") + body.count(b"[")
    values = 2 * size + 112 * containers + 64 * body.count(b",") + 112 * body.count(b":")
    decoding = min(values, COST_FACTOR_MAX * size)
    return BASE_COST + decoding + min(decoding, PARSE_ALLOWANCE)


class BodyBudget:
    """Bytes charged to bodies in flight, in total and per source key.

    The limits are passed on every charge (from the live settings), like the rate limits'.
    Each source may hold at most half of ``total``.
    """

    __slots__ = ("_by_source", "_used", "peak", "peak_source")

    def __init__(self) -> None:
        self._used = 0
        self._by_source: dict[Hashable, int] = {}
        self.peak = 0  # the most ever held, in total and by one source: what the limits allowed
        self.peak_source = 0

    @property
    def used(self) -> int:
        return self._used

    def held_by(self, key: Hashable) -> int:
        return self._by_source.get(key, 0)

    def reserve(self, key: Hashable, size: int, *, total: int) -> Reservation | None:
        """A charge of ``size`` bytes to ``key``, or None when the budget cannot take it."""
        reservation = Reservation(self, key, total)
        return reservation if reservation.grow_to(size) else None

    def _charge(self, key: Hashable, delta: int, total: int) -> bool:
        if delta > 0:
            held = self._by_source.get(key, 0)
            if self._used + delta > total or held + delta > total // 2:
                return False
        held = self._by_source.get(key, 0) + delta
        if held > 0:
            self._by_source[key] = held
        else:
            self._by_source.pop(key, None)
        self._used += delta
        self.peak = max(self.peak, self._used)
        self.peak_source = max(self.peak_source, held)
        return True


class Reservation:
    """One request's charge on a :class:`BodyBudget`: resized as its body is known, released."""

    __slots__ = ("_budget", "_key", "_total", "size")

    def __init__(self, budget: BodyBudget, key: Hashable, total: int) -> None:
        self._budget = budget
        self._key = key
        self._total = total
        self.size = 0

    def grow_to(self, size: int) -> bool:
        """Hold at least ``size`` bytes in all; False (and no change) when that does not fit."""
        if size <= self.size:
            return True
        return self.resize(size)

    def resize(self, size: int) -> bool:
        """Hold exactly ``size`` bytes; False (and no change) when growing does not fit."""
        if not self._budget._charge(self._key, size - self.size, self._total):
            return False
        self.size = size
        return True

    def release(self) -> None:
        if self.size:
            self._budget._charge(self._key, -self.size, self._total)
            self.size = 0


class BodyTooLarge(Exception):
    """The body passed the size cap while it was being received."""


class BodyTooSlow(Exception):
    """The client did not send the whole body within the read deadline."""


class OverBudget(Exception):
    """The body grew past what the memory budget could hold for it."""


async def receive(
    content: StreamReader, *, cap: int, timeout: float, reservation: Reservation
) -> bytes:
    """The whole body, at most ``cap`` bytes, sent within ``timeout`` seconds.

    ``reservation`` grows to :func:`max_cost` of what has arrived (for a declared length it
    already holds that). Raises :class:`BodyTooLarge`, :class:`BodyTooSlow` or
    :class:`OverBudget`; a client that
    goes away mid-body raises what aiohttp raises then (``ConnectionError`` or
    ``RequestPayloadError``). Bytes already buffered are taken even after the deadline: they
    arrived in time, and only waiting for more is the client's to answer for.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = content.read_nowait()
        if not chunk:
            if content.is_eof():
                break
            try:
                async with asyncio.timeout_at(deadline):
                    chunk = await content.readany()
            except TimeoutError:
                # The deadline and the last bytes may come due in the same loop pass; what
                # arrived is the client's on time, what has not is late.
                chunk = content.read_nowait()
                if not chunk and not content.is_eof():
                    raise BodyTooSlow from None
            if not chunk:
                continue
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge
        if not reservation.grow_to(max_cost(size)):  # a chunked body: charged as it arrives
            raise OverBudget
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A body ready to store: its text, its JSON object and the event parsed from it."""

    text: str
    payload: dict[str, Any]
    event: Event


def decode(body: bytes) -> Decoded:
    """:func:`decode_body` (raising its ``PayloadError``) then :func:`parse_event`."""
    payload = decode_body(body)
    try:
        event = parse_event(payload)
    except Exception:
        # A parser bug must not lose the event: store it with a plain title and say so.
        log.exception(
            "parser failed on a %d-byte body; storing it as an unreadable event", len(body)
        )
        event = Event(
            kind=Kind.CUSTOM, title="Unreadable event", severity=Severity.INFO, payload=payload
        )
    return Decoded(text=body.decode("utf-8"), payload=payload, event=event)


class Decoder:
    """Decodes bodies: small ones inline, larger ones on a dedicated thread pool.

    The pool is made on first use and shut down by :meth:`close`. Its threads share the GIL
    with the event loop, which still gets a turn every few milliseconds (the switch interval);
    most of a costly body's decoding is the depth walk and the parser, which are Python.
    """

    __slots__ = ("_inline_max", "_pool", "_workers")

    def __init__(self, *, inline_max: int = INLINE_DECODE_MAX, workers: int = DECODE_WORKERS):
        self._inline_max = inline_max
        self._workers = workers
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    async def decode(self, body: bytes) -> Decoded:
        if len(body) <= self._inline_max:
            return decode(body)
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._workers, thread_name_prefix="holmtray-decode"
            )
        return await asyncio.get_running_loop().run_in_executor(self._pool, decode, body)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
