"""The two enumerations an event is classified by: what happened (:class:`Kind`) and how bad
it is (:class:`Severity`).

They live apart from the event model (:mod:`holmtray.core.events`, which re-exports them) so
that the settings schema, the command line and the tray icon can use them without importing
the model's dataclasses and JSON encoders: the tray app's start-up to its icon (issue 16.3).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Kind(StrEnum):
    """What happened, by the top-level key Holm sends (``custom`` for anything else)."""

    FINISHED_SCAN = "finished_scan"
    SCHEDULED_SCAN = "scheduled_scan"
    TICKET = "ticket"
    CUSTOM = "custom"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    Kind.FINISHED_SCAN: "Finished scan",
    Kind.SCHEDULED_SCAN: "Scheduled scan",
    Kind.TICKET: "Ticket",
    Kind.CUSTOM: "Custom",
}


class Severity(IntEnum):
    """Holm's five levels; the integer values match the v2 API (0 = info .. 4 = critical)."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def word(self) -> str:
        """The lower-case word used in storage, settings and the command line."""
        return self.name.lower()

    @property
    def label(self) -> str:
        """The capitalised word shown to people."""
        return self.name.capitalize()

    @classmethod
    def from_word(cls, word: str) -> Severity:
        """Parse ``critical``/``High``/``4``...; raises ``ValueError`` naming the bad value."""
        text = word.strip().lower()
        if text.isdigit() and int(text) in range(5):
            return cls(int(text))
        try:
            return cls[text.upper()]
        except KeyError:
            allowed = ", ".join(s.word for s in cls)
            raise ValueError(f"unknown severity {word!r} (allowed: {allowed})") from None
