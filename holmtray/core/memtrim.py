"""Giving the C heap's free memory back to the system, now and then (glibc only).

A tray app that runs for months takes bursts of events: each burst allocates and frees native
memory (SQLite pages, Qt, the notifier, the parser's strings). glibc's malloc keeps what was
freed in its arenas for reuse and returns it only from the top of the main heap, so the
resident size of a long-running process creeps up in steps although the memory it uses stays
flat (`bench/soak.py` measures both: RESULTS.md section 10). `malloc_trim(0)` hands the free
pages of every arena back with `madvise`.

`HeapTrimmer` decides when: once a burst has been quiet for `quiet_s` (the work is over and the
memory it freed will not be wanted soon), and every `idle_every_s` in any case (a quiet app
still allocates: timers, the tray, Qt). It never trims twice within `min_gap_s`. Where the C
library has no `malloc_trim` (macOS, Windows, musl) it does nothing. A trim takes ~1 ms, and
~15 ms when 100 MB are free (measured here), so the GUI thread may call it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
import time
from collections.abc import Callable

log = logging.getLogger("holmtray.memtrim")

QUIET_S = 10.0
IDLE_EVERY_S = 300.0
MIN_GAP_S = 60.0


def _load_malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        func = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_size_t]
    func.restype = ctypes.c_int
    trim: Callable[[int], int] = func
    return trim


class HeapTrimmer:
    """Calls `malloc_trim(0)` after bursts and now and then; `tick()` once a second or so."""

    def __init__(
        self,
        *,
        quiet_s: float = QUIET_S,
        idle_every_s: float = IDLE_EVERY_S,
        min_gap_s: float = MIN_GAP_S,
        clock: Callable[[], float] = time.monotonic,
        trim: Callable[[int], int] | None = None,
        load: Callable[[], Callable[[int], int] | None] = _load_malloc_trim,
    ) -> None:
        self._quiet_s = quiet_s
        self._idle_every_s = idle_every_s
        self._min_gap_s = min_gap_s
        self._clock = clock
        self._trim = trim if trim is not None else load()
        self._last_trim = clock()
        self._last_activity: float | None = None
        self._seen = 0
        self.trims = 0

    @property
    def available(self) -> bool:
        """True where the C library can trim (glibc)."""
        return self._trim is not None

    def tick(self, activity: int) -> bool:
        """Trim if it is time; `activity` is any counter that grows with the work done.

        Returns True when it trimmed.
        """
        now = self._clock()
        if activity != self._seen:
            self._seen = activity
            self._last_activity = now
        if self._trim is None or now - self._last_trim < self._min_gap_s:
            return False
        burst_over = self._last_activity is not None and now - self._last_activity >= self._quiet_s
        if not burst_over and now - self._last_trim < self._idle_every_s:
            return False
        started = time.perf_counter()
        self._trim(0)
        self._last_trim = now
        self._last_activity = None
        self.trims += 1
        log.debug("heap trimmed in %.1f ms", 1000 * (time.perf_counter() - started))
        return True
