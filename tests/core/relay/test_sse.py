"""SSE framing: what the relay writes, the parser reads back, however the bytes are cut."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holmtray.core.relay.sse import (
    Frame,
    FrameError,
    FrameParser,
    encode,
    encode_comment,
    encode_retry,
)

BODY = '{"ticket": {"title": "line\\nbreak \u202e"}, "x": "\\u0000"}'


def frames_of(data: bytes, cuts: list[int]) -> list[Frame]:
    p = FrameParser()
    out: list[Frame] = []
    prev = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        out += p.feed(data[prev:cut])
        prev = cut
    return out


def test_an_event_frame_round_trips_with_its_id_and_verbatim_body() -> None:
    wire = encode("event", {"id": 7, "body": BODY}, event_id=7)
    assert wire.count(b"\n\n") == 1  # one frame, one data line: JSON escaped the newline
    [frame] = FrameParser().feed(wire)
    assert (frame.event, frame.id) == ("event", "7")
    assert frame.json() == {"id": 7, "body": BODY}


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=20))
def test_any_cutting_of_the_stream_gives_the_same_frames(cuts: list[int]) -> None:
    wire = (
        encode_retry(3000)
        + encode("hello", {"relay_id": "r", "last_id": 2})
        + encode_comment("keep-alive")
        + encode("event", {"id": 1, "body": BODY}, event_id=1)
        + encode("event", {"id": 2, "body": "é" * 50}, event_id=2)
        + encode("live", {"caught_up_to": 2})
    )
    got = frames_of(wire, cuts)
    assert [f.event for f in got] == ["retry", "hello", "event", "event", "live"]
    assert got[0].retry_ms == 3000
    assert [f.json()["id"] for f in got if f.event == "event"] == [1, 2]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_of_the_standard_is_understood(eol: bytes) -> None:
    wire = eol.join([b"id: 5", b"event: event", b'data: {"a":', b"data: 1}", b"", b""])
    frames = frames_of(wire, list(range(len(wire))))  # one byte at a time, CR/LF split too
    assert [(f.event, f.id, f.data) for f in frames] == [("event", "5", '{"a":\n1}')]


def test_a_line_over_the_limit_is_refused_not_buffered() -> None:
    p = FrameParser(max_line=100)
    with pytest.raises(FrameError, match="longer than 100"):
        p.feed(b"data: " + b"x" * 200)


def test_bad_utf8_is_refused() -> None:
    with pytest.raises(FrameError, match="UTF-8"):
        FrameParser().feed(b"data: \xff\n\n")
