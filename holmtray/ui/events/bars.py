"""The notices around the event table: which events are picked, older rows, an undo.

This module owns three small bars and their wording: the chip over the table while
:meth:`~holmtray.ui.events.window.EventWindow.show_ids` limits it to a set of events (with
"Show all events"), the bar over the table while the newest rows are not loaded (with "Back to
newest"), and the bar under it after a delete (with "Undo" and "Dismiss"). Each starts hidden;
the window connects their buttons and says when they show.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class IdsChip(QFrame):
    """ "Showing only: <label>" with a "Show all events" button; hidden while unused."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.clear_button = QPushButton("Show all events")
        self.setObjectName("idsChip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#idsChip { background: rgba(37, 99, 235, 28); border: 1px solid rgba(37, 99, 235, 90);"
            " border-radius: 4px; }"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 2, 4, 2)
        row.addWidget(self.label, 1)
        row.addWidget(self.clear_button)
        self.setVisible(False)

    def show_label(self, label: str | None) -> None:
        """Show the chip saying ``label``, or hide it (``None``)."""
        self.label.setText(f"Showing only: {label}" if label is not None else "")
        self.setVisible(label is not None)


class OlderBar(QFrame):
    """The bar over the table while the newest rows are not loaded (after a jump)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("olderBar")
        self.setStyleSheet(
            "#olderBar { background: rgba(37, 99, 235, 28); border-bottom: 1px solid"
            " rgba(37, 99, 235, 90); }"
        )
        self.label = QLabel(
            "Showing older events; newer ones load as you scroll up. New events are counted,"
            " not shown, until you go back to the newest."
        )
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.newest_button = QPushButton("Back to newest")
        self.newest_button.setToolTip("Show the newest events (Ctrl+Home in the list)")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 3, 6, 3)
        row.addWidget(self.label, 1)
        row.addWidget(self.newest_button)
        self.setVisible(False)


class UndoBar(QFrame):
    """ "N events deleted" (or "marked read") with "Undo" and "Dismiss", under the table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("undoBar")
        self.setStyleSheet(
            "#undoBar { background: rgba(202, 138, 4, 40); border-top: 1px solid"
            " rgba(202, 138, 4, 120); }"
        )
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.undo_button = QPushButton("Undo")
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setFlat(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 3, 6, 3)
        row.addWidget(self.label, 1)
        row.addWidget(self.undo_button)
        row.addWidget(self.dismiss_button)
        self.setVisible(False)

    def show_text(self, text: str) -> None:
        """Say what the newest change that can be undone did ("3 events deleted")."""
        self.label.setText(text)
        self.setVisible(True)
