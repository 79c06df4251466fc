"""The Settings dialog's building blocks: one editor per schema key and the words around it.

:func:`editor_for` picks a key's editor by its type; :func:`tab_for`, :func:`label_for` and
:func:`unit_for` say on which tab it goes, what it is called and in which unit it counts, read
from the key itself so that a new setting gets sensible ones without touching this file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from holmtray.core.config.schema import Setting

GENERAL = "General"
TAB_ORDER = ("Listener", "Notifications", "Storage", "Security Center hosts", GENERAL)
_TAB_OF_SECTION = {
    "listener": "Listener",
    "notifications": "Notifications",
    "storage": "Storage",
    "links": "Security Center hosts",
    "ui": GENERAL,
}

LABELS = {
    "listener.host": "Bind address",
    "listener.port": "Port",
    "listener.token": "Webhook token",
    "listener.username": "User name",
    "listener.password": "Password",
    "listener.max_body_bytes": "Largest body",
    "listener.keepalive_timeout": "Keep-alive timeout",
    "listener.read_timeout": "Read timeout",
    "storage.retention_days": "Keep events for",
    "storage.retention_count": "Keep at most",
    "storage.data_dir": "Data folder",
    "links.hosts": "Trusted hosts",
    "notifications.enabled": "Show desktop notifications",
    "notifications.finished_scan": "Finished scans",
    "notifications.scheduled_scan": "Scheduled scans",
    "notifications.ticket": "Tickets",
    "notifications.ticket_opened": "Opened tickets",
    "notifications.ticket_closed": "Closed tickets",
    "notifications.custom": "Custom payloads",
    "notifications.min_severity": "Minimum severity",
    "notifications.min_severity_finished_scan": "… for finished scans",
    "notifications.min_severity_ticket_opened": "… for opened tickets",
    "notifications.min_severity_ticket_closed": "… for closed tickets",
    "notifications.min_severity_custom": "… for custom payloads",
    "notifications.quiet_enabled": "Quiet hours",
    "notifications.quiet_start": "Quiet from",
    "notifications.quiet_end": "Quiet until",
    "notifications.quiet_days": "Quiet days",
    "notifications.critical_bypass": "Critical events break through quiet hours and snooze",
    "notifications.burst_threshold": "Burst threshold",
    "notifications.max_per_minute": "At most per minute",
    "notifications.missed_scan": "Warn about missed scheduled scans",
    "notifications.missed_scan_default_grace_h": "Missed-scan grace",
    "ui.start_at_login": "Start holmtray when you log in",
}
# Units, read from the end of a key's name so that new settings get them too.
_UNITS = (
    ("_bytes", " bytes"),
    ("_timeout", " s"),
    ("_s", " s"),
    ("_h", " h"),
    ("_days", " days"),
    ("retention_count", " events"),
)
# Shown instead of the minimum, where the minimum means something special.
_SPECIAL_MINIMUM = {
    "listener.port": "any free port (0)",
    "storage.retention_days": "forever (0)",
    "storage.retention_count": "no limit (0)",
}
_INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int


def tab_for(key: str) -> str:
    """The tab a key is shown on."""
    return _TAB_OF_SECTION.get(key.split(".", 1)[0], GENERAL)


def label_for(key: str) -> str:
    """A short label: from :data:`LABELS`, else made from the key's name (unit dropped)."""
    if key in LABELS:
        return LABELS[key]
    name = key.split(".", 1)[-1]
    for ending in ("_s", "_h"):
        if name.endswith(ending) and len(name) > len(ending):
            name = name[: -len(ending)]
    return name.replace("_", " ").capitalize()


def unit_for(key: str) -> str:
    """The spin box suffix for a number setting, from the end of its name."""
    name = key.split(".", 1)[-1]
    return next((unit for ending, unit in _UNITS if name.endswith(ending)), "")


class WheelGuard(QObject):
    """Lets the mouse wheel scroll the page instead of changing a value under the pointer."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Wheel
            and isinstance(watched, QWidget)
            and not watched.hasFocus()
        ):
            event.ignore()  # ignored events travel on to the scroll area
            return True
        return super().eventFilter(watched, event)


@dataclass(slots=True)
class Field:
    """One key's editor and how to read and set the value it shows."""

    setting: Setting
    editor: QWidget  # what gets focus when the value is refused
    get: Callable[[], object]
    set: Callable[[object], None]


def editor_for(s: Setting) -> Field:
    """An editor chosen by the setting's type: check box (labelled), combo box for choices,
    spin box for numbers, one-per-line text for lists, else a line edit."""
    if s.type is bool:
        return _check_box(s, label_for(s.key))
    if s.choices:
        return _combo_box(s)
    if s.type in (int, float):
        return _spin_box(s)
    if s.type is list:
        return _lines(s)
    return _line_edit(s)


def hbox(*widgets: QWidget, grow: int | None = None) -> QWidget:
    """Widgets in a row; ``grow`` is the index of the one that takes the spare width (None:
    nobody, the row ends in empty space)."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        layout.addWidget(w, 1 if i == grow else 0)
    if grow is None:
        layout.addStretch(1)
    return row


def _check_box(s: Setting, label: str) -> Field:
    box = QCheckBox(label)
    return Field(s, box, box.isChecked, lambda v: box.setChecked(bool(v)))


def _combo_box(s: Setting) -> Field:
    combo = QComboBox()
    combo.addItems(list(s.choices or ()))
    return Field(
        s, combo, combo.currentText, lambda v: combo.setCurrentIndex(combo.findText(str(v)))
    )


def _spin_box(s: Setting) -> Field:
    spin: QSpinBox | QDoubleSpinBox
    if s.type is int:
        spin = QSpinBox()
        spin.setRange(
            int(s.minimum) if s.minimum is not None else -_INT_LIMIT,
            min(int(s.maximum), _INT_LIMIT) if s.maximum is not None else _INT_LIMIT,
        )
        spin.setGroupSeparatorShown(spin.maximum() >= 100_000)
    else:
        spin = QDoubleSpinBox()
        fine = s.minimum is not None and round(s.minimum, 1) != s.minimum
        spin.setDecimals(2 if fine else 1)
        spin.setRange(
            s.minimum if s.minimum is not None else -1e9,
            s.maximum if s.maximum is not None else 1e9,
        )
    spin.setSuffix(unit_for(s.key))
    if s.key in _SPECIAL_MINIMUM:
        spin.setSpecialValueText(_SPECIAL_MINIMUM[s.key])
    spin.setMinimumWidth(150)

    def set_value(v: object) -> None:
        assert isinstance(v, (int, float)), v
        if isinstance(spin, QSpinBox):
            spin.setValue(int(v))
        else:
            spin.setValue(float(v))

    return Field(s, spin, spin.value, set_value)


def _lines(s: Setting) -> Field:
    text = QPlainTextEdit()
    text.setTabChangesFocus(True)
    text.setPlaceholderText("one per line")
    text.setFixedHeight(text.fontMetrics().lineSpacing() * 5 + 12)

    def set_lines(v: object) -> None:
        assert isinstance(v, list)
        text.setPlainText("\n".join(str(x) for x in v))

    return Field(s, text, lambda: text.toPlainText().splitlines(), set_lines)


def _line_edit(s: Setting) -> Field:
    line = QLineEdit()
    return Field(s, line, line.text, lambda v: line.setText(str(v)))
