"""HeapTrimmer: when it trims (a fake clock), and that a trim really gives memory back (glibc)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from holmtray.core.memtrim import HeapTrimmer, _load_malloc_trim


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock) -> tuple[HeapTrimmer, list[int]]:
    calls: list[int] = []

    def trim(pad: int) -> int:
        calls.append(pad)
        return 1

    trimmer = HeapTrimmer(quiet_s=10, idle_every_s=300, min_gap_s=60, clock=clock, trim=trim)
    return trimmer, calls


def test_a_burst_is_trimmed_once_it_has_been_quiet() -> None:
    clock = Clock()
    trimmer, calls = make(clock)
    clock.now += 61
    for n in range(1, 31):  # a burst: activity every second for 30 s
        clock.now += 1
        assert not trimmer.tick(n)
    clock.now += 9
    assert not trimmer.tick(30), "9 s of quiet is still the burst"
    clock.now += 1
    assert trimmer.tick(30)
    assert calls == [0]
    clock.now += 1
    assert not trimmer.tick(30), "one trim per burst"


def test_never_twice_within_the_minimum_gap() -> None:
    clock = Clock()
    trimmer, calls = make(clock)
    clock.now += 61
    trimmer.tick(1)
    clock.now += 10
    assert trimmer.tick(1)
    clock.now += 1
    trimmer.tick(2)  # a second burst right after
    clock.now += 15
    assert not trimmer.tick(2), "quiet again, but only 16 s after the last trim"
    clock.now += 45
    assert trimmer.tick(2)
    assert len(calls) == 2


def test_a_steady_stream_is_trimmed_every_idle_period() -> None:
    clock = Clock()
    trimmer, calls = make(clock)
    trims = 0
    for n in range(1, 1201):  # 20 minutes, an event every second: never quiet
        clock.now += 1
        trims += trimmer.tick(n)
    assert trims == 4 == len(calls)


def test_a_quiet_app_is_trimmed_every_idle_period_only() -> None:
    clock = Clock()
    trimmer, calls = make(clock)
    results: list[bool] = []
    for _ in range(900):
        clock.now += 1
        results.append(trimmer.tick(0))
    assert sum(results) == 3 == len(calls)
    assert results.index(True) == 299


def test_without_malloc_trim_nothing_happens() -> None:
    clock = Clock()
    trimmer = HeapTrimmer(clock=clock, load=lambda: None)
    assert not trimmer.available
    trimmer.tick(1)
    clock.now += 10_000
    assert not trimmer.tick(1)
    assert trimmer.trims == 0


@pytest.mark.skipif(_load_malloc_trim() is None, reason="needs glibc's malloc_trim")
def test_a_trim_gives_freed_heap_memory_back_to_the_system() -> None:
    # In a fresh process: fragment the heap (keep one block in 50), then trim.
    script = textwrap.dedent(
        """
        import ctypes, os
        from holmtray.core.memtrim import HeapTrimmer
        def rss():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc.restype = ctypes.c_void_p
        libc.free.argtypes = [ctypes.c_void_p]
        blocks = [libc.malloc(2000) for _ in range(60000)]
        kept = [b for i, b in enumerate(blocks) if i % 50 == 0]
        for i, b in enumerate(blocks):
            if i % 50:
                libc.free(b)
        before = rss()
        now = [1000.0]
        trimmer = HeapTrimmer(clock=lambda: now[0])
        assert trimmer.tick(1) is False
        now[0] += 60.0
        assert trimmer.tick(1) is True
        print(before, rss(), len(kept))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    before, after = int(out[0]), int(out[1])
    # ~115 MB were freed in holes malloc cannot give back from the top of its heap.
    assert before - after > 50_000_000, (before, after)
