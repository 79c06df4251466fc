"""What the event window can undo: a delete, or a "mark all read".

This module owns the undo entries and their wording: :class:`Deleted` holds the deleted events
whole (a restore puts them back with their ids and read flags), :class:`MarkedRead` exactly the
ids a "mark all read" changed (setting them unread again undoes it, and touches no event that
was read before). :class:`UndoStack` keeps them, says in the undo bar what the latest did, and
runs an undo through the writer; what the rows do then is the window's (``undone``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from holmtray.core.events import StoredEvent
from holmtray.core.text import plural
from holmtray.ui.events.bars import UndoBar
from holmtray.ui.history_writes import HistoryWrites


@dataclass(frozen=True, eq=False)
class Deleted:
    """Events deleted together; undone by restoring them."""

    events: list[StoredEvent]

    @property
    def done_text(self) -> str:
        return f"{plural(len(self.events), 'event')} deleted"

    @property
    def action(self) -> str:
        return "Undo delete"


@dataclass(frozen=True, eq=False)
class MarkedRead:
    """The events one "mark all read" changed; undone by marking exactly them unread."""

    ids: list[int]

    @property
    def done_text(self) -> str:
        return f"{plural(len(self.ids), 'event')} marked read"

    @property
    def action(self) -> str:
        return "Undo mark all read"


UndoEntry = Deleted | MarkedRead


class UndoStack:
    """The undo entries, newest last; :meth:`undo` takes back the newest once it is stored.

    ``undone(entry)`` runs on the GUI thread after the writer stored the undo; ``changed()``
    after any change to the stack (the window updates its Undo action).
    """

    def __init__(
        self,
        *,
        writes: HistoryWrites,
        bar: UndoBar,
        undone: Callable[[UndoEntry], None],
        changed: Callable[[], None],
    ) -> None:
        self._writes = writes
        self._bar = bar
        self._undone = undone
        self._changed = changed
        self._entries: list[UndoEntry] = []
        self._running: UndoEntry | None = None  # the entry on its way back
        bar.undo_button.clicked.connect(self.undo)
        bar.dismiss_button.clicked.connect(self.dismiss)

    def __bool__(self) -> bool:
        return bool(self._entries)

    @property
    def latest(self) -> UndoEntry | None:
        return self._entries[-1] if self._entries else None

    def push(self, entry: UndoEntry) -> None:
        self._entries.append(entry)
        self._show()

    def undo(self) -> None:
        """Undo the newest entry (one at a time: a second request waits for the first)."""
        entry = self.latest
        if entry is None or self._running is not None:
            return
        self._running = entry

        def failed(_exc: BaseException) -> None:
            self._running = None  # the entry stays on the stack: undo may be tried again

        def done(_result: object) -> None:
            self._running = None
            self._entries = [e for e in self._entries if e is not entry]  # others may follow
            self._undone(entry)
            self._show()

        if isinstance(entry, Deleted):
            self._writes.restore(entry.events, done=done, failed=failed)
        else:
            self._writes.set_read(entry.ids, False, done=done, failed=failed)

    def dismiss(self) -> None:
        self._entries.clear()
        self._show()

    def _show(self) -> None:
        latest = self.latest
        if latest is None:
            self._bar.setVisible(False)
        else:
            self._bar.show_text(latest.done_text)
        self._changed()
