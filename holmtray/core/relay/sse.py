"""Server-Sent Events framing, both ways: the relay writes frames, subscribers parse them.

The wire format is the WHATWG ``text/event-stream``: lines ``field: value`` ending in LF, CRLF
or CR, a blank line ending a frame, lines starting with ``:`` as comments. holmtray's frames
always carry JSON in one ``data:`` line (the JSON encoder escapes every line break), so a frame
is small and flat; the parser still follows the standard (several ``data:`` lines are joined
with LF) so that a proxy's reformatting does not break it.

:class:`FrameParser` is incremental and bounded: it is fed whatever bytes arrived and returns
the frames completed so far. A line longer than ``max_line`` (a relay sends at most one event
of at most 1 MiB, JSON-escaped) is refused with :class:`FrameError` rather than buffered
without end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_LINE = 8 * 1024 * 1024
"""The longest line accepted: a 1 MiB body JSON-escaped (``\\u0001`` is 6 bytes for 1) and
wrapped in its frame stays below this."""


class FrameError(ValueError):
    """The stream is not a usable event stream (a line over the limit, bad UTF-8)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One dispatched event: its type (``"message"`` when unnamed), data, and id if sent."""

    event: str
    data: str
    id: str | None = None
    retry_ms: int | None = None

    def json(self) -> Any:
        """The data as JSON (raises ``ValueError`` when it is not)."""
        return json.loads(self.data)


def encode(event: str, data: Any, *, event_id: int | None = None) -> bytes:
    """One frame with ``data`` as compact JSON; ``id:`` first when given."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {payload}\n\n".encode("utf-8", "surrogatepass")


def encode_retry(ms: int) -> bytes:
    return f"retry: {ms}\n\n".encode("ascii")


def encode_comment(text: str = "") -> bytes:
    return f":{text}\n\n".encode()


class FrameParser:
    """Bytes in, :class:`Frame` objects out, as the standard dispatches them."""

    def __init__(self, *, max_line: int = MAX_LINE) -> None:
        self._max_line = max_line
        self._buf = bytearray()
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None
        self._cr_pending = False  # the last chunk ended in CR: a following LF belongs to it

    def feed(self, chunk: bytes) -> list[Frame]:
        frames: list[Frame] = []
        if self._cr_pending and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._cr_pending = False
        self._buf += chunk
        start = 0
        buf = self._buf
        n = len(buf)
        while start < n:
            lf = buf.find(b"\n", start)
            cr = buf.find(b"\r", start)
            if lf < 0 and cr < 0:
                break
            end = lf if cr < 0 or (0 <= lf < cr) else cr
            line = bytes(buf[start:end])
            if buf[end] == 0x0D:  # CR, maybe CRLF
                if end + 1 < n:
                    start = end + 2 if buf[end + 1] == 0x0A else end + 1
                else:
                    start = end + 1
                    self._cr_pending = True
            else:
                start = end + 1
            frame = self._line(line)
            if frame is not None:
                frames.append(frame)
        del self._buf[:start]
        if len(self._buf) > self._max_line:
            raise FrameError(f"a line of the event stream is longer than {self._max_line} bytes")
        return frames

    def _line(self, raw: bytes) -> Frame | None:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError("the event stream is not UTF-8") from None
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> Frame | None:
        event, data, retry = self._event, self._data, self._retry
        self._event, self._data, self._retry = "", [], None
        if not data:
            return Frame("retry", "", self._id, retry) if retry is not None else None
        return Frame(event or "message", "\n".join(data), self._id, retry)
