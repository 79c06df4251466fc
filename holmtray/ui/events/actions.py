"""The event window's commands as actions: their names, shortcuts, toolbar and context menu.

This module owns how a person reaches each command of the event window: the text, keyboard
shortcuts and tooltip of every action, where a shortcut works (anywhere in the window, or only
in the table: Enter and Delete), which actions the toolbar and the table's context menu offer
in which order, and when an action is enabled. What a command does is the window's
(:class:`Commands`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QMainWindow, QMenu, QToolBar, QWidget

Shortcut = QKeySequence | QKeySequence.StandardKey | str


class Commands(Protocol):
    """What the actions trigger (the event window)."""

    def open_selected(self, *args: Any) -> None: ...
    def copy_link(self) -> None: ...
    def mark_selected_read(self) -> None: ...
    def mark_selected_unread(self) -> None: ...
    def mark_all_read(self) -> None: ...
    def delete_selected(self) -> None: ...
    def undo(self) -> None: ...
    def export_dialog(self, fmt: str) -> None: ...
    def focus_search(self) -> None: ...
    def escape(self) -> None: ...


def make_action(
    parent: QWidget,
    text: str,
    slot: Callable[[], object],
    shortcuts: Sequence[Shortcut] = (),
    *,
    context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut,
    tip: str | None = None,
) -> QAction:
    """An action triggering ``slot``, its tooltip naming its first shortcut."""
    action = QAction(text, parent)
    if shortcuts:
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    action.setShortcutContext(context)
    shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    tip = tip or text
    action.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
    action.triggered.connect(slot)
    return action


class EventActions:
    """Every action of the event window, added to ``window`` (and ``table``), with its toolbar."""

    def __init__(
        self, *, window: QMainWindow, commands: Commands, table: QAbstractItemView
    ) -> None:
        self._window = window
        self._table = table
        on_table = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.open = make_action(
            window,
            "Open in Security Center",
            commands.open_selected,
            ("Return", "Enter"),
            context=on_table,
        )
        self.copy = make_action(window, "Copy link", commands.copy_link, ("Ctrl+Shift+C",))
        self.read = make_action(window, "Mark read", commands.mark_selected_read, ("Ctrl+R",))
        self.unread = make_action(window, "Mark unread", commands.mark_selected_unread, ("Ctrl+U",))
        self.all_read = make_action(
            window,
            "Mark all read",
            commands.mark_all_read,
            ("Ctrl+Shift+R",),
            tip="Mark every event matching the filter read",
        )
        self.delete = make_action(
            window,
            "Delete",
            commands.delete_selected,
            (QKeySequence.StandardKey.Delete,),
            context=on_table,
        )
        self.undo = make_action(window, "Undo", commands.undo, (QKeySequence.StandardKey.Undo,))
        self.export_csv = make_action(
            window,
            "Export CSV…",
            lambda: commands.export_dialog("csv"),
            ("Ctrl+E",),
            tip="Export the events matching the filter to CSV",
        )
        self.export_json = make_action(
            window,
            "Export JSON…",
            lambda: commands.export_dialog("json"),
            ("Ctrl+Shift+E",),
            tip="Export the events matching the filter to JSON",
        )
        self.find = make_action(
            window, "Find", commands.focus_search, (QKeySequence.StandardKey.Find,)
        )
        self.escape = make_action(window, "Clear filter or hide", commands.escape, ("Esc",))

        for action in (self.open, self.delete):
            table.addAction(action)
        for action in (
            self.copy,
            self.read,
            self.unread,
            self.all_read,
            self.undo,
            self.export_csv,
            self.export_json,
            self.find,
            self.escape,
        ):
            window.addAction(action)

        toolbar = QToolBar("Actions")
        toolbar.setObjectName("actionsToolbar")
        toolbar.setMovable(False)
        toolbar.setFloatable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        # Open and Copy link live on the detail pane's buttons, Enter and the context menu.
        for action in (self.read, self.unread, self.all_read):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.delete)
        toolbar.addAction(self.undo)
        toolbar.addSeparator()
        toolbar.addAction(self.export_csv)
        toolbar.addAction(self.export_json)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar

    def update(self, *, selected: bool, has_link: bool, has_rows: bool, undo: str | None) -> None:
        """Enable what applies: to a selection, to the current event's link, to the rows
        listed (none: nothing to mark read or export), and to an undo (``undo`` names it)."""
        self.open.setEnabled(has_link)
        self.copy.setEnabled(has_link)
        self.read.setEnabled(selected)
        self.unread.setEnabled(selected)
        self.delete.setEnabled(selected)
        self.all_read.setEnabled(has_rows)
        self.export_csv.setEnabled(has_rows)
        self.export_json.setEnabled(has_rows)
        self.undo.setEnabled(undo is not None)
        # The text stays "Undo" (the toolbar must not shift); the tooltip says what it undoes.
        shortcut = self.undo.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self.undo.setToolTip(f"{undo or 'Undo'} ({shortcut})")

    def context_menu(self, pos: QPoint) -> None:
        """The table's context menu at ``pos`` (viewport coordinates)."""
        menu = QMenu(self._window)
        for action in (
            self.open,
            self.copy,
            None,
            self.read,
            self.unread,
            self.all_read,
            None,
            self.delete,
            self.undo,
        ):
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.exec(self._table.viewport().mapToGlobal(pos))
        menu.deleteLater()
