"""What compiling the parser with mypyc would save: ``parse_event`` pure Python vs compiled.

A copy of the ``holmtray`` package goes to a temporary folder, where mypyc compiles the parser
and the modules it runs through (``--modules``; default: the parser, its card rules, the event
model, the text helpers and the event types) into C extensions. Then, in alternating child
processes, each copy parses the same benchmark bodies (``_bodies.py``: finished scans and
tickets, as ``post_unique.lua`` sends them) and reports CPU per event (``process_time``, the
best and the median of 7 passes over 2,000 bodies). The parser's results are checked equal
between the two copies first, so a compiled copy that behaves differently is not timed.

Needs mypyc (it comes with mypy, a test dependency), a C compiler and Python's headers.

Run: python bench/parser_compiled.py [--runs 3] [--modules a.py,b.py]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
MODULES = (
    "holmtray/core/parsing/parser.py",
    "holmtray/core/parsing/cards.py",
    "holmtray/core/events.py",
    "holmtray/core/text.py",
    "holmtray/core/eventtypes.py",
)
BODIES = 2000


def child(root: Path) -> None:
    """Time ``parse_event`` of the copy at ``root``; print one JSON line. (Nothing may import
    ``holmtray`` before ``root`` leads the path, so the child never imports ``_common``.)"""
    sys.path.insert(0, str(root))
    sys.path.insert(1, str(Path(__file__).resolve().parent))
    from _bodies import body  # noqa: PLC0415

    from holmtray.core.parsing import parser  # noqa: PLC0415

    payloads = [json.loads(body(i, "compiled")) for i in range(BODIES)]
    passes = []
    for _ in range(7):
        t = time.process_time()
        for p in payloads:
            parser.parse_event(p)
        passes.append(1e6 * (time.process_time() - t) / BODIES)
    digest = [repr(parser.parse_event(p)) for p in payloads[:200]]
    print(
        json.dumps(
            {
                "compiled": not parser.__file__.endswith(".py"),
                "best": min(passes),
                "median": statistics.median(passes),
                "results": digest,
            }
        )
    )


def run_child(root: Path) -> dict[str, object]:
    out = subprocess.run(
        [PY, __file__, "--child", str(root)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--runs", type=int, default=3, help="alternating pairs of child processes")
    p.add_argument("--modules", default=",".join(MODULES), help="files to compile, comma-separated")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child)
        return 0
    from _common import machine  # noqa: PLC0415

    mypyc = shutil.which("mypyc", path=str(Path(PY).parent)) or shutil.which("mypyc")
    if mypyc is None:
        print("mypyc not found (pip install mypy)", file=sys.stderr)
        return 2
    print(machine())
    with tempfile.TemporaryDirectory(prefix="holmtray-mypyc-") as tmp:
        copy = Path(tmp)
        shutil.copytree(ROOT / "holmtray", copy / "holmtray")
        modules = [m for m in args.modules.split(",") if m]
        t = time.monotonic()
        built = subprocess.run(
            [mypyc, *modules], cwd=copy, capture_output=True, text=True, check=False
        )
        if built.returncode != 0:
            print(built.stdout[-3000:] + built.stderr[-3000:], file=sys.stderr)
            return 1
        print(f"compiled {len(modules)} modules with mypyc in {time.monotonic() - t:.0f} s")
        pure, compiled = run_child(ROOT), run_child(copy)
        if not compiled["compiled"]:
            print("the compiled copy imported its .py files", file=sys.stderr)
            return 1
        if pure["results"] != compiled["results"]:
            print("the compiled parser's results differ from the pure one's", file=sys.stderr)
            return 1
        rows = []
        for _ in range(args.runs):
            for name, root in (("pure", ROOT), ("compiled", copy)):
                res = run_child(root)
                rows.append((name, res["best"], res["median"]))
                print(f"{name:9s} parse_event best {res['best']:.1f} median {res['median']:.1f} µs")
    for name in ("pure", "compiled"):
        best = [b for n, b, _ in rows if n == name]
        print(f"{name}: best {min(best):.1f} µs, median of runs {statistics.median(best):.1f}")
    pure_best = statistics.median(b for n, b, _ in rows if n == "pure")
    comp_best = statistics.median(b for n, b, _ in rows if n == "compiled")
    saved = pure_best - comp_best
    print(f"compiled / pure: {comp_best / pure_best:.2f} (saves {saved:.1f} µs per event)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
