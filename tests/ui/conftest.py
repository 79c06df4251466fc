"""Fixtures for the GUI tests: a qasync loop like the tray app's, and Qt garbage collected
at the end of the test that made it."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication


@pytest.fixture
def run(qapp: QApplication) -> Iterator[Callable[[Coroutine[Any, Any, None]], None]]:
    """Runs a coroutine to the end on a qasync loop (the app's own kind of loop)."""
    quits = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)  # as run() sets it: closing a dialog ends nothing
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop.run_until_complete
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        qapp.setQuitOnLastWindowClosed(quits)


@pytest.fixture(autouse=True)
def _collect_qt_garbage(qapp: QApplication) -> Iterator[None]:
    """Collect the test's Qt objects (and their posted events) before the next test starts.

    Python's cycle collector otherwise deletes a test's widgets and models at whatever moment
    a later test allocates enough; a fault in that deletion then surfaces in the wrong test.
    """
    yield
    gc.collect()
    qapp.processEvents()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Free each test's QObjects here, on the GUI thread, once pytest has let go of them.

    A tray app (or a window) is kept in reference cycles by the lambdas it connects; left to
    the cyclic garbage collector, it may be freed on whichever thread allocates next — a
    receiver or relay thread, in this test or a later one — and Qt cannot stop a QObject's
    timers from another thread: they stay registered, dangling, and the next event loop
    crashes when one fires. The fixture above is too early for that: the test item still
    holds its arguments then.
    """
    yield
    gc.collect()
