"""Event ids as runs: an id log keeps the newest ``keep`` ids exactly, in runs, however they
arrive; its snapshot behaves as the set of those ids."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holmtray.core.alerts.ids import IdLog, IdRuns


@given(ids=st.lists(st.integers(min_value=1, max_value=300), max_size=200))
def test_without_a_bound_the_snapshot_is_the_set_of_ids_added(ids: list[int]) -> None:
    log = IdLog(keep=None)
    for i in ids:
        log.add(i)
    snap = log.snapshot()
    assert snap == set(ids)
    assert len(snap) == len(log) == log.total == len(set(ids))
    assert list(snap) == sorted(set(ids))
    for probe in range(0, 302):
        assert (probe in snap) is (probe in set(ids))
    runs = snap.runs
    assert log.run_count == len(runs)
    for (_, last), (first, _) in itertools.pairwise(runs):
        assert last + 1 < first  # sorted, disjoint, and not adjacent (else one run)


@given(
    ids=st.lists(st.integers(min_value=1, max_value=300), max_size=200),
    keep=st.integers(min_value=1, max_value=40),
)
def test_with_a_bound_the_highest_ids_are_kept_and_all_are_counted(
    ids: list[int], keep: int
) -> None:
    log = IdLog(keep=keep)
    for i in ids:
        log.add(i)
    snap = log.snapshot()
    assert len(snap) == min(keep, len(set(ids)))
    assert snap.total == log.total >= len(snap)
    assert set(snap) <= set(ids)
    if ids == sorted(ids):  # in order, as the writer numbers them: exactly the newest
        assert set(snap) == set(sorted(set(ids))[-keep:])
        assert snap.total == len(set(ids))


def test_a_steady_stream_is_one_run_and_stays_within_the_bound() -> None:
    log = IdLog(keep=5_000)
    for i in range(1, 1_000_001):
        log.add(i)
    assert log.run_count == 1
    snap = log.snapshot()
    assert snap.runs == ((995_001, 1_000_000),)
    assert len(snap) == 5_000
    assert snap.total == 1_000_000


def test_runs_compare_equal_to_frozensets_and_combine_into_them() -> None:
    runs = IdRuns.of([5, 1, 2, 3, 9])
    assert runs == frozenset({1, 2, 3, 5, 9})
    assert frozenset({1, 2, 3, 5, 9}) == runs
    assert runs | {4} == frozenset({1, 2, 3, 4, 5, 9})
    assert {2, 5} <= runs
    assert runs.runs == ((1, 3), (5, 5), (9, 9))
    assert hash(runs) == hash(IdRuns.of([1, 2, 3, 5, 9]))
    assert "x" not in runs


def test_keep_must_be_positive() -> None:
    with pytest.raises(ValueError, match="keep"):
        IdLog(keep=0)
