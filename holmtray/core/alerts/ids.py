"""Event ids held as runs of consecutive ids, with a bound on how many are kept.

A summary notification stands for many events, and a click on it shows them. The ids of a
burst are almost always consecutive (the history writer numbers events as they commit), so
they are kept as ``(first, last)`` runs: a steady stream costs one run, not one entry per
event. :class:`IdLog` collects ids as they arrive and keeps at most ``keep`` of the newest;
:class:`IdRuns` is an immutable snapshot of it that behaves as a set of ints (it compares
equal to a ``frozenset`` with the same members), cheap to take after every arrival.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Set
from typing import Any


class IdRuns(Set[int]):
    """An immutable set of ids stored as sorted, disjoint, non-adjacent ``(first, last)`` runs.

    ``total`` is how many events the summary it belongs to counted: more than ``len(self)``
    when older ids were dropped to keep the set small (see :class:`IdLog`).
    """

    __slots__ = ("_firsts", "_len", "_runs", "total")

    def __init__(self, runs: Iterable[tuple[int, int]] = (), *, total: int | None = None) -> None:
        self._runs: tuple[tuple[int, int], ...] = tuple(runs)
        self._firsts = [a for a, _ in self._runs]
        self._len = sum(b - a + 1 for a, b in self._runs)
        self.total = self._len if total is None else total

    @classmethod
    def of(cls, ids: Iterable[int]) -> IdRuns:
        log = IdLog(keep=None)
        for i in sorted(set(ids)):
            log.add(i)
        return log.snapshot()

    @classmethod
    def _from_iterable(cls, it: Iterable[Any]) -> frozenset[Any]:
        # Set operators (|, &, -) give plain frozensets: they are for tests and small sets.
        return frozenset(it)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        i = bisect.bisect_right(self._firsts, value) - 1
        return i >= 0 and value <= self._runs[i][1]

    def __iter__(self) -> Iterator[int]:
        for a, b in self._runs:
            yield from range(a, b + 1)

    def __len__(self) -> int:
        return self._len

    def __hash__(self) -> int:
        return self._hash()

    def __repr__(self) -> str:
        runs = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in self._runs[:8])
        more = ", …" if len(self._runs) > 8 else ""
        return f"IdRuns({runs}{more}; {self._len} of {self.total})"

    @property
    def runs(self) -> tuple[tuple[int, int], ...]:
        return self._runs


class IdLog:
    """Ids as they arrive, as runs; at most ``keep`` of them (the highest), ``None``: all.

    Adding the next id of the last run (the usual case) is O(1); an id out of order is
    merged into its place. ``total`` counts every distinct id added, kept or not.
    """

    __slots__ = ("_keep", "_len", "_runs", "total")

    def __init__(self, *, keep: int | None) -> None:
        if keep is not None and keep < 1:
            raise ValueError(f"keep must be at least 1, not {keep}")
        self._keep = keep
        self._runs: list[list[int]] = []  # [first, last], sorted, disjoint, non-adjacent
        self._len = 0
        self.total = 0

    def __len__(self) -> int:
        return self._len

    @property
    def run_count(self) -> int:
        return len(self._runs)

    def add(self, i: int) -> None:
        runs = self._runs
        if runs and runs[-1][1] + 1 == i:
            runs[-1][1] = i
        elif not runs or i > runs[-1][1]:
            runs.append([i, i])
        elif not self._insert(i):
            return  # already there
        self._len += 1
        self.total += 1
        if self._keep is not None and self._len > self._keep:
            self._drop_lowest(self._len - self._keep)

    def _insert(self, i: int) -> bool:
        runs = self._runs
        pos = bisect.bisect_right(runs, i, key=lambda r: r[0])  # runs[pos - 1][0] <= i
        if pos and runs[pos - 1][1] >= i:
            return False
        joins_left = pos > 0 and runs[pos - 1][1] + 1 == i
        joins_right = pos < len(runs) and runs[pos][0] - 1 == i
        if joins_left and joins_right:
            runs[pos - 1][1] = runs[pos][1]
            del runs[pos]
        elif joins_left:
            runs[pos - 1][1] = i
        elif joins_right:
            runs[pos][0] = i
        else:
            runs.insert(pos, [i, i])
        return True

    def _drop_lowest(self, n: int) -> None:
        runs = self._runs
        while n > 0:
            first, last = runs[0]
            size = last - first + 1
            if size <= n:
                del runs[0]
                n -= size
                self._len -= size
            else:
                runs[0][0] = first + n
                self._len -= n
                n = 0

    def snapshot(self) -> IdRuns:
        return IdRuns(((a, b) for a, b in self._runs), total=self.total)
