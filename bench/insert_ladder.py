"""What slicing batches into a few INSERT sizes (``codec.insert_chunks``) costs per event.

Two fresh databases side by side, the same batches to each, alternating which goes first:
one with the ladder, one with a statement of exactly the batch's size (the code before).
CPU time (``process_time``) per event of ``Store.insert_many``: first for batches of one size
repeated (the statement of that size stays cached: the ladder's extra statements show), then
for batches of random sizes 1-300 (each new size had to be prepared: what bursts do).

Run: python bench/insert_ladder.py [--rounds 13] [--batches 400]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import machine
from unread_cost import events

from holmtray.core.history import store as store_module
from holmtray.core.history.store import NewEvent, Store

LADDER = store_module.insert_chunks


def exact(n: int) -> list[tuple[int, int]]:
    return [(i, min(i + 500, n)) for i in range(0, n, 500)]


def timed(name: str, s: Store, batch: list[NewEvent]) -> float:
    store_module.insert_chunks = LADDER if name == "ladder" else exact  # type: ignore[assignment]
    t = time.process_time()
    s.insert_many(batch)
    return time.process_time() - t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--rounds", type=int, default=13)
    p.add_argument("--batches", type=int, default=400)
    args = p.parse_args()
    print(machine())
    tmp = Path(tempfile.mkdtemp(prefix="holmtray-bench-ladder-"))
    stores = {"exact": Store.open(tmp / "a.db"), "ladder": Store.open(tmp / "b.db")}
    counter = 0
    print("| batch | statements (ladder) | exact size µs/event | ladder µs/event | extra |")
    print("|---|---|---|---|---|")
    for size in (5, 20, 50, 150, 300):
        got: dict[str, list[float]] = {"exact": [], "ladder": []}
        for r in range(args.rounds + 1):
            batch = events(counter, size)
            counter += size
            for name in ("exact", "ladder") if r % 2 else ("ladder", "exact"):
                dt = timed(name, stores[name], batch) / size * 1e6
                if r:
                    got[name].append(dt)
        a, b = statistics.median(got["exact"]), statistics.median(got["ladder"])
        print(f"| {size} | {len(LADDER(size))} | {a:.1f} | {b:.1f} | {b - a:+.1f} |")
    rng = random.Random(17)
    sizes = [rng.choice([rng.randint(1, 15), rng.randint(16, 300)]) for _ in range(args.batches)]
    cpu = {"exact": 0.0, "ladder": 0.0}
    for i, size in enumerate(sizes):
        batch = events(counter, size)
        counter += size
        for name in ("exact", "ladder") if i % 2 else ("ladder", "exact"):
            cpu[name] += timed(name, stores[name], batch)
    total = sum(sizes)
    print(
        f"\n{len(sizes)} batches of random sizes 1-300 ({total:,} events): exact size "
        f"{cpu['exact'] / total * 1e6:.1f} µs/event, ladder {cpu['ladder'] / total * 1e6:.1f}"
    )
    for s in stores.values():
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
