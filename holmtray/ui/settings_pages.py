"""Lays the Settings dialog's editors out on its tabs, as :data:`settings_layout.TABS` says.

Each tab is a scroll area holding one grid: labels on the left (right-aligned, so they line
up across the whole tab), editors on the right, a bold heading above each group, the help as
grey text under its row, and an error line under every editor that stays hidden until a
value is refused. :func:`build_pages` returns, per key, the widgets to enable or disable
together and where its error goes, so the dialog never needs to know the grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from holmtray.ui.settings_editors import caption
from holmtray.ui.settings_labels import help_for, label_for, words_for
from holmtray.ui.settings_layout import MORE, TAB_ORDER, TABS, Group, Row, tab_for, unplaced_keys

ERROR_STYLE = "color: #b91c1c;"
INDENT_PX = 24


@dataclass(slots=True)
class Placed:
    """Where one key ended up: what to enable together, its row label and its error line."""

    tab: str
    parts: list[QWidget] = field(default_factory=list)
    label: QLabel | None = None
    error: QLabel | None = None


@dataclass(slots=True)
class Pages:
    scroll: dict[str, QScrollArea] = field(default_factory=dict)
    placed: dict[str, Placed] = field(default_factory=dict)


def error_line() -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)  # messages quote what the user typed
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def build_pages(
    tabs: QTabWidget,
    widgets: Mapping[str, QWidget],
    *,
    banners: Mapping[str, QWidget] | None = None,
) -> Pages:
    """Fill ``tabs`` with every key in ``widgets`` (a key's editor, or an ``@`` row's widget)."""
    pages = Pages()
    extra = [k for k in unplaced_keys() if k in widgets]
    for tab in TABS:
        groups = list(tab.groups)
        mine = tuple(Row((k,)) for k in extra if tab_for(k) == tab.title)
        if mine:
            groups.append(Group(MORE, mine))
        page = _Page(tab.title, pages)
        if banners and tab.title in banners:
            page.outer.insertWidget(0, banners[tab.title])
        for group in groups:
            page.add_group(group, widgets)
        if page.rows:
            tabs.addTab(page.scroll, tab.title)
            pages.scroll[tab.title] = page.scroll
    assert [tabs.tabText(i) for i in range(tabs.count())] == [
        t for t in TAB_ORDER if t in pages.scroll
    ]
    return pages


class _Page:
    def __init__(self, title: str, pages: Pages) -> None:
        self.title = title
        self.pages = pages
        inner = QWidget()
        self.outer = QVBoxLayout(inner)
        # A grid rather than a QFormLayout: the grid sizes rows by height-for-width, so wrapped
        # captions get exactly the lines they need.
        self.grid = QGridLayout()
        self.grid.setVerticalSpacing(8)
        self.grid.setColumnStretch(1, 1)
        self.outer.addLayout(self.grid)
        self.outer.addStretch(1)
        # Each tab scrolls on its own: the schema grows, the screen does not.
        self.scroll = QScrollArea()
        self.scroll.setWidget(inner)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.rows = 0
        self._line_height = 0

    def add_group(self, group: Group, widgets: Mapping[str, QWidget]) -> None:
        rows = [r for r in group.rows if all(k in widgets for k in r.keys)]
        if not rows:
            return
        heading = QLabel(group.title)
        heading.setTextFormat(Qt.TextFormat.PlainText)
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        if self.rows:
            heading.setContentsMargins(0, 14, 0, 0)
        self.grid.addWidget(heading, self.rows, 0, 1, 2)
        self.rows += 1
        for row in rows:
            self._add_row(row, widgets)
        self._line_up(rows, widgets)

    def _add_row(self, row: Row, widgets: Mapping[str, QWidget]) -> None:
        first = row.keys[0]
        takes_label = not (
            isinstance(widgets[first], QCheckBox) or first.startswith("@") or first in _NO_LABEL
        )
        cell = QWidget()
        box = QVBoxLayout(cell)
        # A labelled row stays in the editors' column: its label, right next to it, already
        # says what it is; only a switch under a switch moves right.
        box.setContentsMargins(0 if takes_label else INDENT_PX * row.indent, 0, 0, 0)
        box.setSpacing(2)
        line = QWidget()
        line_box = _hbox(line)
        placed: list[Placed] = []
        for index, key in enumerate(row.keys):
            here = Placed(self.title)
            widget = widgets[key]
            if index:
                inline = QLabel(words_for(key).inline or label_for(key))
                inline.setTextFormat(Qt.TextFormat.PlainText)
                inline.setBuddy(widget)
                line_box.addSpacing(6)
                line_box.addWidget(inline)
                here.parts.append(inline)
            line_box.addWidget(widget, 1 if _grows(widget) else 0)
            here.parts.append(widget)
            placed.append(here)
            self.pages.placed[key] = here
        if not any(_grows(widgets[k]) for k in row.keys):
            line_box.addStretch(1)
        box.addWidget(line)
        for here in placed:
            here.error = error_line()
            box.addWidget(here.error)
        text = help_for(first) if row.caption and not first.startswith("@") else ""
        if text and not _same_words(label_for(first), text):
            help_label = caption(text)
            box.addWidget(help_label)
            placed[0].parts.append(help_label)
        if takes_label:
            name = QLabel(label_for(first) + ":")
            name.setTextFormat(Qt.TextFormat.PlainText)
            name.setBuddy(widgets[first])
            # Line the label up with the editor's text, not with the top of its frame.
            if not self._line_height:
                self._line_height = QLineEdit().sizeHint().height()
            name.setMinimumHeight(min(widgets[first].sizeHint().height(), self._line_height))
            align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop
            self.grid.addWidget(name, self.rows, 0, align)
            placed[0].parts.append(name)
            placed[0].label = name
        self.grid.addWidget(cell, self.rows, 1)
        self.rows += 1

    def _line_up(self, rows: list[Row], widgets: Mapping[str, QWidget]) -> None:
        """In a group of "switch + its minimum" rows, start every second editor at one x."""
        shared = [r for r in rows if len(r.keys) > 1]
        if len(shared) < 2:
            return
        widest = max(r.indent * INDENT_PX + widgets[r.keys[0]].sizeHint().width() for r in shared)
        for r in shared:
            widgets[r.keys[0]].setMinimumWidth(widest - r.indent * INDENT_PX)


_NO_LABEL = frozenset({"source.mode"})  # radio buttons name themselves, under the heading


def _hbox(widget: QWidget) -> QHBoxLayout:
    layout = QHBoxLayout(widget)
    layout.setContentsMargins(0, 0, 0, 0)
    return layout


def _grows(widget: QWidget) -> bool:
    """Whether a row's editor takes the spare width (text does; small editors keep theirs)."""
    if widget.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Expanding:
        return True
    if isinstance(widget, (QLineEdit, QPlainTextEdit)):
        return True
    layout = widget.layout()
    if isinstance(layout, QHBoxLayout):
        items = (layout.itemAt(i) for i in range(layout.count()))
        return any(
            item is not None and isinstance(item.widget(), (QLineEdit, QPlainTextEdit))
            for item in items
        )
    return False


def _same_words(a: str, b: str) -> bool:
    return a.strip(" .").casefold() == b.strip(" .").casefold()
