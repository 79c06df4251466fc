"""Deduplication of a batch: which events are copies of a stored one or of an earlier one.

Shared by both event-log backends, which run it inside their appending transaction after
reading the stored rows that may match (same body hash, received within the window), so the
rule is the same everywhere: an event is a duplicate of the newest stored row, or earlier item
of the batch, with the same body received within :data:`DEDUP_WINDOW` of it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from holmtray.core.events import StoredEvent
from holmtray.core.history.codec import from_us
from holmtray.core.history.eventlog import InsertResult, NewEvent

DEDUP_WINDOW = timedelta(minutes=10)
"""An identical body received within this time of a stored one is a duplicate."""
WINDOW_US = DEDUP_WINDOW // timedelta(microseconds=1)

Stored = dict[str, list[tuple[int, int]]]
"""Stored rows that may be duplicates: body hash -> [(received microseconds, id)]."""
DupOf = tuple[str, int] | None
"""Per item: ("db", id) a copy of a stored row, ("new", k) a copy of the k-th row the batch
inserts, or ``None``: inserted itself."""


def search_range(keys: Sequence[tuple[int, str]]) -> tuple[list[str], int, int]:
    """The sorted body hashes and the receive-time range to look up for ``keys``."""
    hashes = sorted({body_hash for _, body_hash in keys})
    lo = min(received for received, _ in keys) - WINDOW_US
    hi = max(received for received, _ in keys) + WINDOW_US
    return hashes, lo, hi


def plan(keys: Sequence[tuple[int, str]], stored: Stored) -> tuple[list[DupOf], list[int]]:
    """For ``keys`` (received microseconds, body hash) per item: what each one duplicates, and
    the indexes of the items to insert, in order (their ids ascend)."""
    dup_of: list[DupOf] = []
    fresh: list[int] = []
    batch: dict[str, list[tuple[int, int]]] = {}  # hash -> [(received, k)]
    for i, (received_us, body_hash) in enumerate(keys):
        lo, hi = received_us - WINDOW_US, received_us + WINDOW_US
        # As ORDER BY received_at DESC on the dedup index would pick: the latest received;
        # on a tie the highest id, and a row of this batch has a higher id than any stored row.
        best: tuple[int, int, int] | None = None
        for when, row_id in stored.get(body_hash, ()):
            if lo <= when <= hi and (best is None or (when, 0, row_id) > best):
                best = (when, 0, row_id)
        for when, k in batch.get(body_hash, ()):
            if lo <= when <= hi and (best is None or (when, 1, k) > best):
                best = (when, 1, k)
        if best is None:
            batch.setdefault(body_hash, []).append((received_us, len(fresh)))
            fresh.append(i)
            dup_of.append(None)
        else:
            dup_of.append(("new" if best[1] else "db", best[2]))
    return dup_of, fresh


def results(
    items: Sequence[NewEvent],
    received_us: Sequence[int],
    dup_of: Sequence[DupOf],
    new_ids: Sequence[int],
) -> list[InsertResult]:
    """The :class:`InsertResult` per item, once the fresh ones got ``new_ids`` (in order)."""
    out: list[InsertResult] = []
    inserted = iter(new_ids)
    for item, received, dup in zip(items, received_us, dup_of, strict=True):
        if dup is not None:
            dup_id = dup[1] if dup[0] == "db" else new_ids[dup[1]]
            out.append(InsertResult(id=dup_id, duplicate=True, stored=None))
            continue
        new_id = next(inserted)
        event = StoredEvent(
            id=new_id, received_at=from_us(received), read=False, event=item.event, body=item.body
        )
        out.append(InsertResult(id=new_id, duplicate=False, stored=event))
    return out
