"""Fixtures for the policy tests: a fake clock and a maker of events on it (see kit.py)."""

from __future__ import annotations

import pytest

from tests.core.alerts.kit import FakeClock, Maker


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mk(clock: FakeClock) -> Maker:
    return Maker(clock)
