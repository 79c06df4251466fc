"""Fixtures shared by the whole suite: a private HOLMTRAY_HOME, the sample bodies, and the
rule that desktop tests may skip on a laptop but never in CI (HOLMTRAY_REQUIRE_DESKTOP=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# A real PostgreSQL server for the tests marked ``pg`` (fixtures pg_cluster and pg_uri).
pytest_plugins = ["tests.pgcluster"]

SAMPLES = Path(__file__).parent / "data" / "samples"
ARTIFACTS = Path(os.environ.get("HOLMTRAY_ARTIFACTS", Path(__file__).parents[1] / "artifacts"))


def require_or_skip(reason: str) -> None:
    """Skip, unless CI said the desktop is required; then it is a failure."""
    if os.environ.get("HOLMTRAY_REQUIRE_DESKTOP") == "1":
        pytest.fail(f"required in this run (HOLMTRAY_REQUIRE_DESKTOP=1) but {reason}")
    pytest.skip(reason)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOLMTRAY_HOME for this test."""
    h = tmp_path / "home"
    monkeypatch.setenv("HOLMTRAY_HOME", str(h))
    return h


@pytest.fixture(scope="session")
def sample_files() -> list[Path]:
    files = sorted(SAMPLES.glob("*.json"))
    assert files, f"no samples in {SAMPLES}"
    return files


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
