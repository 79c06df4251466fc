"""Multi-row INSERTs come in a few sizes only (each connection caches its prepared statements,
~1.6 kB per row each), and every batch size still stores exactly its rows — on real SQLite."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from holmtray.core.history import codec
from holmtray.core.history import store as store_module
from holmtray.core.history.codec import (
    EXACT_INSERT_ROWS,
    MAX_INSERT_ROWS,
    insert_chunks,
)
from holmtray.core.history.query import EventQuery
from holmtray.core.history.relaylog import Replicated
from holmtray.core.history.store import Store
from tests.core.history.test_store import T0, new


def test_slices_cover_every_row_once_in_order_with_few_sizes_overall() -> None:
    sizes: set[int] = set()
    for n in range(0, 3000):
        chunks = insert_chunks(n)
        assert [s for s, _ in chunks] == ([0] + [e for _, e in chunks[:-1]] if n else [])
        assert (chunks[-1][1] if chunks else 0) == n
        assert all(0 < e - s <= MAX_INSERT_ROWS for s, e in chunks)
        assert len(chunks) <= 5 + n // MAX_INSERT_ROWS
        if 0 < n < EXACT_INSERT_ROWS:
            assert chunks == [(0, n)]  # a small batch is still one statement
        sizes.update(e - s for s, e in chunks)
    assert len(sizes) <= 20  # every batch size from 0 to 2,999: at most 20 statements


@pytest.mark.parametrize("n", [1, 15, 16, 17, 255, 256, 257, 300, 511, 600])
def test_a_batch_of_any_size_is_stored_whole_with_consecutive_ids(tmp_path: Path, n: int) -> None:
    with Store.open(tmp_path / "events.db") as s:
        s.insert_many([new(0)])
        results = s.insert_many([new(i) for i in range(1, n + 1)])
        assert [r.id for r in results] == list(range(2, n + 2))
        assert not any(r.duplicate for r in results)
        stored = s.query(EventQuery(limit=None, oldest_first=True))
        assert [e.id for e in stored] == list(range(1, n + 2))
        assert [e.body for e in stored] == [new(i).body for i in range(n + 1)]


@pytest.mark.parametrize("n", [7, 300])
def test_a_mirror_batch_of_any_size_is_stored_whole(tmp_path: Path, n: int) -> None:
    items = [
        Replicated(
            id=10 + 2 * i,
            received_at=T0 + timedelta(seconds=i),
            body=new(i).body,
            event=new(i).event,
        )
        for i in range(n)
    ]
    with Store.open(tmp_path / "mirror.db") as s:
        stored = s.mirror.store("R", items)
        assert [e.id for e in stored] == [10 + 2 * i for i in range(n)]
        assert s.query_ids(EventQuery(limit=None, oldest_first=True)) == [e.id for e in stored]


def test_only_the_ladders_statements_are_prepared_for_batches_of_many_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What bounds the memory: the INSERT statements (by rows) a writer prepares for batches
    of 1 to 300 rows. Without the ladder: one per batch size, 43 here. The real statements
    run; the spy only records which sizes were asked for."""
    asked: set[int] = set()

    def spy(n: int) -> str:
        asked.add(n)
        return codec.insert_rows_sql(n)

    monkeypatch.setattr(store_module, "insert_rows_sql", spy)
    with Store.open(tmp_path / "events.db") as s:
        counter = 0
        for n in range(1, 301, 7):
            s.insert_many([new(counter + i) for i in range(n)])
            counter += n
        assert s.count(EventQuery()) == counter
    assert len(asked) <= 20
    assert asked <= {1 << k for k in range(4, 9)} | set(range(1, EXACT_INSERT_ROWS))
