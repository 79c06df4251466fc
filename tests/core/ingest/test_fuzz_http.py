"""CI's bounded run of the HTTP fuzzer (``tests/fuzz/fuzz_http.py``) against ``holmtray serve``.

It runs for ``HOLMTRAY_FUZZ_SECONDS`` (default 20): random and mutated raw requests over
sockets, asserting no 5xx but a 503 with ``Retry-After``, JSON errors, no hang, and no
traceback or ERROR line in serve's log. Failing requests are kept in the artifacts folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.procs import run_fuzzer

FUZZER = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_http.py"
MIN_REQUESTS = 1500  # ~5,000 in 20 s on a 2-core box with other suites running


@pytest.mark.slow
def test_http_fuzzer_finds_no_500_and_no_traceback_in_a_bounded_run(artifacts: Path) -> None:
    r, seconds = run_fuzzer(FUZZER, artifacts)
    output = r.stdout + r.stderr
    assert r.returncode == 0, output[-6000:]
    m = re.search(
        r"fuzz_http: (\d+) requests in [\d.]+ s \(seed (\d+)\); 0 failures, 0 log", output
    )
    assert m, output[-3000:]
    assert int(m[1]) > MIN_REQUESTS * seconds / 20, f"only {m[1]} requests in {seconds} s"
    assert re.search(r"answers .*200: \d+", output), "no request got through to be stored"
