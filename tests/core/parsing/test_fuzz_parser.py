"""CI's bounded run of the parser fuzzer (``tests/fuzz/fuzz_parser.py``), in a subprocess.

It runs for ``HOLMTRAY_FUZZ_SECONDS`` (default 20) with atheris where it is installed, else with
the hypothesis engine; any input breaking the property fails this test, and a failing input is
kept in the artifacts folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.procs import run_fuzzer

FUZZER = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_parser.py"
MIN_INPUTS = 2000  # ~1,200/s with atheris and ~800/s with hypothesis on a 2-core box


@pytest.mark.slow
def test_parser_fuzzer_finds_nothing_in_a_bounded_run(artifacts: Path) -> None:
    r, seconds = run_fuzzer(FUZZER, artifacts)
    output = r.stdout + r.stderr
    assert r.returncode == 0, output[-6000:]
    m = re.search(r"Done (\d+) runs|fuzz_parser: (\d+) inputs", output)
    assert m, output[-3000:]
    ran = int(m[1] or m[2])
    assert ran > MIN_INPUTS * seconds / 20, f"only {ran} inputs in {seconds} s"
