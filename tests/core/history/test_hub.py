"""The fan-out hub: every subscriber gets every published frame in order, a full queue ends
only its own subscriber, and closing ends streams with their reasons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from holmtray.core.events import Event, Kind, Severity, StoredEvent
from holmtray.core.history.hub import (
    REVOKED,
    SHUTDOWN,
    SLOW,
    Hub,
    HubClosed,
    HubFull,
    Item,
    Subscriber,
)


def stored(i: int) -> StoredEvent:
    return StoredEvent(
        id=i,
        received_at=datetime(2026, 11, 29, tzinfo=UTC),
        read=False,
        event=Event(kind=Kind.CUSTOM, title=f"e{i}", severity=Severity.LOW),
        body=f'{{"n": {i}}}',
    )


class Renders:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, event: StoredEvent) -> bytes:
        self.calls.append(event.id)
        return f"frame {event.id}\n".encode()


def register(hub: Hub, name: str = "alice", *, queue: int = 100, cap: int = 100) -> Subscriber:
    return hub.register(
        token_name=name, token_hash=f"hash-{name}", queue_size=queue, max_subscribers=cap
    )


def test_every_subscriber_gets_each_batch_in_order_and_each_event_is_rendered_once() -> None:
    render = Renders()
    hub = Hub(render=render)
    a, b = register(hub, "a"), register(hub, "b")
    hub.publish([stored(1), stored(2)])
    hub.publish([stored(3)])
    for sub in (a, b):
        assert sub.wake.is_set()
        assert [i.id for i in sub.take()] == [1, 2, 3]
        assert not sub.wake.is_set()
        assert sub.take() == []
    assert render.calls == [1, 2, 3]  # once per event, not per subscriber
    assert hub.last_id == 3


def test_publishing_with_no_subscriber_renders_nothing_but_tracks_the_last_id() -> None:
    render = Renders()
    hub = Hub(render=render)
    hub.publish([stored(7), stored(8)])
    assert render.calls == []
    assert hub.last_id == 8


def test_a_full_queue_ends_only_that_subscriber_as_slow_and_wakes_it() -> None:
    hub = Hub(render=Renders())
    ended: list[str] = []
    slow = register(hub, "slow", queue=3)
    slow.on_end = ended.append
    fast = register(hub, "fast", queue=3)
    hub.publish([stored(1), stored(2)])
    assert [i.id for i in fast.take()] == [1, 2]  # fast keeps up; slow does not
    hub.publish([stored(3), stored(4)])  # slow would hold 4 > 3
    assert slow.ended == SLOW
    assert ended == [SLOW]
    assert slow.wake.is_set()
    assert len(slow) == 0  # its queue is dropped at once
    assert slow not in hub.subscribers()
    assert hub.dropped_slow == 1
    assert [i.id for i in fast.take()] == [3, 4]
    hub.publish([stored(5)])
    assert [i.id for i in fast.take()] == [5]
    assert slow.take() == []  # nothing more is queued for an ended subscriber


def test_status_frames_reach_everyone_in_line_with_the_events() -> None:
    hub = Hub(render=Renders())
    sub = register(hub)
    hub.publish([stored(1)])
    hub.announce(b"status\n")
    hub.publish([stored(2)])
    assert sub.take() == [Item(1, b"frame 1\n"), Item(None, b"status\n"), Item(2, b"frame 2\n")]
    assert sub.first_id() is None


def test_first_id_is_the_oldest_queued_event() -> None:
    hub = Hub(render=Renders())
    sub = register(hub)
    hub.announce(b"s\n")
    hub.publish([stored(4), stored(5)])
    assert sub.first_id() == 4


def test_register_refuses_beyond_the_cap_and_after_close_all() -> None:
    hub = Hub(render=Renders())
    register(hub, "a", cap=2)
    b = register(hub, "b", cap=2)
    with pytest.raises(HubFull):
        register(hub, "c", cap=2)
    hub.unregister(b)
    register(hub, "c", cap=2)  # a slot is free again
    assert hub.close_all() == 2
    with pytest.raises(HubClosed):
        register(hub, "d")


def test_close_all_ends_everyone_with_shutdown_and_the_first_reason_wins() -> None:
    hub = Hub(render=Renders())
    a, b = register(hub, "a"), register(hub, "b")
    hub.close_token("a")
    hub.close_all()
    assert (a.ended, b.ended) == (REVOKED, SHUTDOWN)
    assert a.wake.is_set()
    assert b.wake.is_set()


def test_close_token_and_close_revoked_end_only_the_streams_of_those_tokens() -> None:
    hub = Hub(render=Renders())
    a1, a2, b, c = register(hub, "a"), register(hub, "a"), register(hub, "b"), register(hub, "c")
    assert hub.close_token("a") == 2
    assert (a1.ended, a2.ended, b.ended, c.ended) == (REVOKED, REVOKED, None, None)
    assert hub.close_revoked({"hash-b"}) == 1  # c's hash is gone: revoked (or replaced)
    assert (b.ended, c.ended) == (None, REVOKED)


def test_a_failing_end_callback_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    hub = Hub(render=Renders())
    a, b = register(hub, "a"), register(hub, "b")

    def boom(reason: str) -> None:
        raise RuntimeError("boom")

    a.on_end = boom
    assert hub.close_all() == 2
    assert (a.ended, b.ended) == (SHUTDOWN, SHUTDOWN)
    assert "end callback failed" in caplog.text


def test_drop_through_forgets_queued_events_the_stream_sent_from_the_database() -> None:
    hub = Hub(render=Renders())
    sub = register(hub, queue=4)
    hub.publish([stored(1), stored(2), stored(3)])
    sub.drop_through(2)
    assert sub.first_id() == 3
    hub.publish([stored(4), stored(5), stored(6)])  # fits now: 3 queued + 3 > 4 otherwise
    assert sub.ended is None
    assert [i.id for i in sub.take()] == [3, 4, 5, 6]
