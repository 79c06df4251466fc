"""Fixtures for the event window's tests: a history, its writer, the window's read-only
connection to it, arranged as in the tray app, and windows made over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from holmtray.core.history.store import Store
from holmtray.ui.events.window import EventWindow
from tests.ui.writer_thread import WriterThread


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "events.db")
    yield s
    s.close()


@pytest.fixture
def writes(store: Store, tmp_path: Path) -> Iterator[WriterThread]:
    """The writer every change from the window goes through."""
    w = WriterThread(tmp_path / "events.db")
    yield w
    w.close()


@pytest.fixture
def gui_store(store: Store, tmp_path: Path) -> Iterator[Store]:
    """The window's own connection: read-only, as in the app."""
    s = Store.open(tmp_path / "events.db", readonly=True, check=False)
    yield s
    s.close()


class LinkRecorder:
    """Stands in for the app's safe link opener."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, QWidget]] = []

    def __call__(self, url: str, parent: QWidget) -> None:
        self.calls.append((url, parent))


@pytest.fixture
def links() -> LinkRecorder:
    return LinkRecorder()


@pytest.fixture
def make_window(
    qtbot: Any,
    gui_store: Store,
    writes: WriterThread,
    links: LinkRecorder,
    tmp_path: Path,
) -> Iterator[Any]:
    """Makes event windows over ``gui_store`` writing through ``writes``; keyword arguments
    go to :class:`EventWindow` (``open_link`` is ``links`` unless given)."""
    made: list[EventWindow] = []

    def make(*, show: bool = True, state_path: Path | None = None, **kw: Any) -> EventWindow:
        kw.setdefault("open_link", links)
        w = EventWindow(
            store=gui_store,
            write=writes.write,
            state_path=state_path or tmp_path / "window.ini",
            **kw,
        )
        qtbot.addWidget(w)
        made.append(w)
        if show:
            with qtbot.waitExposed(w):
                w.show()
            # Window shortcuts (Esc, Ctrl+Z, ...) only fire in the active window.
            w.activateWindow()
            qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=2000)
            w.table.setFocus()
        return w

    yield make
    # Answers still on their way are handled before the writer and the store close.
    qtbot.waitUntil(lambda: all(w.writes.pending == 0 for w in made), timeout=10_000)
