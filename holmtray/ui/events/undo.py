"""What the event window can undo: a delete, or a "mark all read".

This module owns the undo entries and their wording: :class:`Deleted` holds the deleted events
whole (a restore puts them back with their ids and read flags), :class:`MarkedRead` exactly the
ids a "mark all read" changed (setting them unread again undoes it, and touches no event that
was read before). The window keeps them on a stack and runs the undo through the writer.
"""

from __future__ import annotations

from dataclasses import dataclass

from holmtray.core.events import StoredEvent


def _events(n: int) -> str:
    return f"{n:,} event{'s' if n != 1 else ''}"


@dataclass(frozen=True, eq=False)
class Deleted:
    """Events deleted together; undone by restoring them."""

    events: list[StoredEvent]

    @property
    def done_text(self) -> str:
        return f"{_events(len(self.events))} deleted"

    @property
    def action(self) -> str:
        return "Undo delete"


@dataclass(frozen=True, eq=False)
class MarkedRead:
    """The events one "mark all read" changed; undone by marking exactly them unread."""

    ids: list[int]

    @property
    def done_text(self) -> str:
        return f"{_events(len(self.ids))} marked read"

    @property
    def action(self) -> str:
        return "Undo mark all read"


UndoEntry = Deleted | MarkedRead
