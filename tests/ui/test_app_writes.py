"""The tray app's one write path: the event window changes the history only through the
receiver thread's writer, and that writer runs even when the listener cannot.

A real ``TrayApp`` (offscreen) started as ``run()`` starts it, on a qasync loop, with its real
receiver thread. The events are in the database before the app starts.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from holmtray.core.clock import utc_now
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.events import StoredEvent
from holmtray.core.history.database import StoreError
from holmtray.core.history.query import EventQuery
from holmtray.core.history.store import Store
from holmtray.core.history.writer import GroupCommitWriter, Operation
from holmtray.ui.app import TrayApp
from holmtray.ui.events.window import EventWindow
from tests.stored_events import insert, make_event
from tests.ui.events.test_window_writes import select_rows
from tests.ui.test_app_settings import until

TOKEN = "T0ken-for-app-writes-0123456789abcdefgh"
HOUR = timedelta(hours=1)
Run = Callable[[Coroutine[Any, Any, None]], None]


@pytest.fixture(autouse=True)
def no_dwell_marking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the actions a test takes write: the current row is not marked read on its own."""
    monkeypatch.setattr(EventWindow, "MARK_READ_DELAY_MS", 3_600_000)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths.under(tmp_path / "home")


@pytest.fixture
def stored(paths: Paths) -> list[StoredEvent]:
    """Four unread events of the last hour (retention keeps them), ids 1 to 4, stored before
    the app starts."""
    with Store.open(paths.database) as s:
        return insert(s, [make_event(f"e{i}") for i in range(4)], start=utc_now() - HOUR)


@pytest.fixture
def make_app(paths: Paths, stored: list[StoredEvent]) -> Iterator[Callable[[int], TrayApp]]:
    apps: list[TrayApp] = []

    def make(port: int) -> TrayApp:
        settings = {"listener.token": TOKEN, "listener.port": port, "ui.welcome_shown": True}
        app = TrayApp(settings=Settings(settings), paths=paths, quit_event=asyncio.Event())
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.shutdown()


async def shown_window(app: TrayApp) -> EventWindow:
    """The app's event window, shown, once its rows have been read (the view asks for them)."""
    app.show_window()
    w = app.window
    assert w is not None
    await until(lambda: w.model.rowCount() == 4)
    return w


def writer_of(app: TrayApp) -> GroupCommitWriter:
    writer = app.receiver.current_writer()
    assert writer is not None
    return writer


def named_operations(writer: GroupCommitWriter) -> list[Operation]:
    """The writer's log without retention's own steps (nothing here inserts)."""
    return [op for op in writer.operations if op.name != "retention"]


async def act(w: EventWindow, action: Callable[[], None]) -> None:
    """Take the action, then wait until its write has been answered on the GUI thread."""
    action()
    assert w.writes.pending == 1  # submitted, not done: the GUI did not wait for it
    await until(lambda: w.writes.pending == 0)


def read_flags(paths: Paths) -> dict[int, bool]:
    with Store.open(paths.database, readonly=True, check=False) as s:
        return {e.id: e.read for e in s.query(EventQuery(limit=None))}


def test_the_windows_changes_go_through_the_receivers_writer_only(
    make_app: Callable[[int], TrayApp], paths: Paths, run: Run
) -> None:
    app = make_app(0)

    async def scenario() -> None:
        await app.start()
        assert app.receiver.endpoint is not None
        w = await shown_window(app)
        assert app.store is not None
        with pytest.raises(StoreError, match=r"read-only|readonly"):
            app.store.set_read([1])  # the GUI's connection cannot write at all
        writer = writer_of(app)

        select_rows(w, 0, 1)
        await act(w, w.act_read.trigger)
        assert app.tray.view.unread == 2  # the badge follows once the write is stored
        await act(w, w.act_unread.trigger)
        await act(w, w.act_all_read.trigger)
        assert app.tray.view.unread == 0
        select_rows(w, 3)
        await act(w, w.act_delete.trigger)
        assert w.model.rowCount() == 3
        await act(w, w.act_undo.trigger)
        assert w.model.rowCount() == 4

        ops = named_operations(writer)
        assert [op.name for op in ops] == [
            "set_read",
            "set_read",
            "mark_all_read",
            "delete",
            "restore",
        ]
        assert [op.rows for op in ops] == [2, 2, 4, 1, 1]
        assert read_flags(paths) == dict.fromkeys(range(1, 5), True)

    run(scenario())


def test_with_the_port_taken_the_window_still_marks_read_deletes_and_undoes(
    make_app: Callable[[int], TrayApp], paths: Paths, run: Run
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        app = make_app(int(taken.getsockname()[1]))

        async def scenario() -> None:
            await app.start()
            assert app.receiver.endpoint is None
            assert "already in use" in (app.receiver.error or "")
            w = await shown_window(app)
            select_rows(w, 0)
            await act(w, w.act_read.trigger)
            assert w.model.event_at(0).read
            assert app.tray.view.unread == 3
            select_rows(w, 1)
            await act(w, w.act_delete.trigger)
            await act(w, w.act_undo.trigger)
            assert [op.name for op in named_operations(writer_of(app))] == [
                "set_read",
                "delete",
                "restore",
            ]
            assert read_flags(paths) == {1: False, 2: False, 3: False, 4: True}

        run(scenario())
