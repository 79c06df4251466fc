"""The event window's writes go through the writer, fail in one way, and never block the GUI.

The window reads through a read-only store and writes through a real writer on its own thread
(as in the tray app). The faults are real: another connection holding the database's write
lock, so the writer's transaction waits for it (and, with a short busy timeout, gives up).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QTimer

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.events import StoredEvent
from holmtray.core.history.database import StoreError
from holmtray.core.history.query import EventQuery
from holmtray.core.history.store import Store
from holmtray.ui.events.window import EventWindow
from holmtray.ui.history_writes import Submit
from holmtray.ui.receiver_thread import ReceiverThread
from tests.core.history.test_writer import locker
from tests.stored_events import insert, make_event
from tests.ui.writer_thread import WriterThread

LOCKED = "the database is locked by another program"
TOKEN = "T0ken-for-window-writes-0123456789abcdefgh"


@pytest.fixture(autouse=True)
def no_dwell_marking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the actions a test takes write: the current row is not marked read on its own."""
    monkeypatch.setattr(EventWindow, "MARK_READ_DELAY_MS", 3_600_000)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
def stored(db: Path) -> list[StoredEvent]:
    """Four unread events, written before the window opens (newest first in the window)."""
    with Store.open(db) as s:
        return insert(s, [make_event(f"e{i}") for i in range(4)])


@pytest.fixture
def gui_store(stored: list[StoredEvent], db: Path) -> Iterator[Store]:
    s = Store.open(db, readonly=True, check=False)
    yield s
    s.close()


@pytest.fixture
def window(qtbot: Any, gui_store: Store, tmp_path: Path) -> Iterator[Any]:
    """make(write) -> an EventWindow writing through that route (e.g. WriterThread.write)."""
    made: list[EventWindow] = []

    def make(write: Submit) -> EventWindow:
        w = EventWindow(
            store=gui_store,
            write=write,
            open_link=lambda url, parent: None,
            state_path=tmp_path / "window.ini",
        )
        qtbot.addWidget(w)
        made.append(w)
        with qtbot.waitExposed(w):
            w.show()
        return w

    yield make
    qtbot.waitUntil(lambda: all(w.writes.pending == 0 for w in made), timeout=10_000)


@pytest.fixture
def writer(db: Path, stored: list[StoredEvent]) -> Iterator[WriterThread]:
    """Gives up on a locked database after 0.2 s."""
    w = WriterThread(db, busy_timeout_s=0.2)
    yield w
    w.close()


def select_rows(w: EventWindow, *rows: int) -> None:
    flags = QItemSelectionModel.SelectionFlag
    sm = w.table.selectionModel()
    sm.clearSelection()
    for r in rows:
        sm.select(w.model.index(r, 0), flags.Select | flags.Rows)
    sm.setCurrentIndex(w.model.index(rows[0], 0), flags.NoUpdate)


def read_flags(db: Path) -> dict[int, bool]:
    with Store.open(db, readonly=True, check=False) as s:
        return {e.id: e.read for e in s.query(EventQuery(limit=None))}


def shown_read(w: EventWindow) -> list[bool]:
    return [w.model.event_at(r).read for r in range(w.model.rowCount())]


def test_every_change_goes_through_the_writer_and_the_window_cannot_write(
    window: Any, writer: WriterThread, gui_store: Store, db: Path, qtbot: Any
) -> None:
    w = window(writer.write)
    with pytest.raises(StoreError, match=r"read-only|readonly"):
        gui_store.set_read([1])  # the window's own connection refuses any write

    select_rows(w, 0, 1)
    with qtbot.waitSignal(w.read_state_changed):
        w.act_read.trigger()
    with qtbot.waitSignal(w.read_state_changed):
        w.act_unread.trigger()
    with qtbot.waitSignal(w.read_state_changed):
        w.act_all_read.trigger()
    select_rows(w, 2)
    with qtbot.waitSignal(w.read_state_changed):
        w.act_delete.trigger()
    with qtbot.waitSignal(w.read_state_changed):
        w.act_undo.trigger()

    assert writer.named_operations() == [
        "set_read",
        "set_read",
        "mark_all_read",
        "delete",
        "restore",
    ]
    assert all(op.error is None for op in writer.writer.operations)
    assert read_flags(db) == dict.fromkeys(range(1, 5), True)
    assert w.model.rowCount() == 4
    assert shown_read(w) == [True] * 4


def test_a_failed_write_is_reported_and_the_rows_stay_as_they_were(
    window: Any, writer: WriterThread, db: Path, qtbot: Any
) -> None:
    w = window(writer.write)
    select_rows(w, 0)
    with qtbot.waitSignal(w.read_state_changed):
        w.delete_selected()  # succeeds: something to undo below
    assert w.model.rowCount() == 3
    changed: list[int] = []
    w.read_state_changed.connect(lambda: changed.append(1))
    messages: list[str] = []
    w.writes.failed.connect(messages.append)

    lock = locker(db)
    try:
        for act, doing in (
            (w.act_read, "Cannot change the read state"),
            (w.act_all_read, "Cannot mark events read"),
            (w.act_delete, "Cannot delete"),
            (w.act_undo, "Cannot undo the delete"),
        ):
            select_rows(w, 0, 1)
            rows_before = [w.model.event_at(r) for r in range(w.model.rowCount())]
            with qtbot.waitSignal(w.writes.failed) as failed:
                act.trigger()
            message = failed.args[0]
            assert message.startswith(f"{doing}: ")
            assert LOCKED in message
            assert w.statusBar().currentMessage() == message
            assert [w.model.event_at(r) for r in range(w.model.rowCount())] == rows_before
            assert w.undo_bar.isVisible()
            assert w.undo_label.text() == "1 event deleted"
        assert len(messages) == 4
        assert changed == []
        assert [op.error is not None for op in writer.writer.operations[-4:]] == [True] * 4
        assert read_flags(db) == dict.fromkeys((1, 2, 3), False)
    finally:
        lock.rollback()
        lock.close()

    # Once the lock is gone the same undo goes through.
    with qtbot.waitSignal(w.read_state_changed):
        w.act_undo.trigger()
    assert w.model.rowCount() == 4
    assert not w.undo_bar.isVisible()
    assert read_flags(db) == dict.fromkeys(range(1, 5), False)


def test_the_gui_keeps_running_while_a_write_waits_for_the_database(
    window: Any, db: Path, qtbot: Any
) -> None:
    patient = WriterThread(db, busy_timeout_s=60.0)  # waits as long as the lock is held
    try:
        w = window(patient.write)
        select_rows(w, 0)
        lock = locker(db)
        try:
            w.act_read.trigger()
            assert w.writes.pending == 1  # the call returned without waiting
            ticks: list[int] = []
            timer = QTimer(interval=5)
            timer.timeout.connect(lambda: ticks.append(1))
            timer.start()
            qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=10_000)
            timer.stop()
            assert w.writes.pending == 1  # still waiting for the lock
            assert not w.model.event_at(0).read
            w.search.setText("e1")  # the window still works meanwhile
            w.apply_filter_now()
            assert w.model.rowCount() == 1
        finally:
            with qtbot.waitSignal(w.read_state_changed, timeout=10_000):
                lock.rollback()
            lock.close()
        assert w.writes.pending == 0
        assert read_flags(db)[4]  # the newest, row 0 when it was selected
        assert patient.named_operations() == ["set_read"]
    finally:
        patient.close()


def test_a_write_with_no_writer_running_is_reported_not_raised(
    window: Any, writer: WriterThread, tmp_path: Path, qtbot: Any
) -> None:
    # The tray's receiver thread before it started (or after it stopped): no writer runs.
    idle = ReceiverThread(
        settings=Settings({"listener.token": TOKEN, "listener.port": 0}),
        paths=Paths.under(tmp_path / "home"),
    )
    writer.close()  # and a route whose loop is gone: submitting itself raises
    why: list[str] = []
    for route in (idle.write, writer.write):
        w = window(route)
        select_rows(w, 0)
        with qtbot.waitSignal(w.writes.failed) as failed:
            w.act_read.trigger()
        assert failed.args[0].startswith("Cannot change the read state: ")
        assert w.statusBar().currentMessage() == failed.args[0]
        assert not w.model.event_at(0).read
        why.append(failed.args[0])
    assert why[0] == "Cannot change the read state: the event store is not running"
