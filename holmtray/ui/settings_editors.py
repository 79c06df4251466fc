"""The Settings dialog's editors: one widget per schema key, chosen by what the key holds.

:func:`editor_for` picks by type and check: a check box for a switch, radio buttons for a
choice that explains each option, a combo box for other choices (showing words, keeping the
value), a time picker for a clock time, seven day boxes for weekdays, a spin box for a number
(unit and special minimum from the dialog's words), one-per-line text for a list, a password
box with *Show* for a secret, a line with *Browse…* for a file or folder, else a line edit.
Each :class:`Field` reads and sets its value in the schema's form and reports changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTime, SignalInstance
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QTimeEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from holmtray.core.config import checks
from holmtray.core.config.schema import Setting
from holmtray.ui.settings_labels import Words, words_for

FILE_KEYS = frozenset({"listener.tls_cert", "listener.tls_key", "subscribe.ca_file"})
FOLDER_KEYS = frozenset({"storage.data_dir"})
LIST_LINES = {"subscribe.urls": 2}  # lines shown; more scroll (usually one relay address)
PEM_FILTER = "Certificates and keys (*.pem *.crt *.cer *.key);;All files (*)"
CAPTION_STYLE = "color: palette(placeholder-text);"
_INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int
_TIME_FORMAT = "HH:mm"
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

Watch = Callable[[Callable[[], None]], None]


@dataclass(slots=True)
class Field:
    """One key's editor: ``editor`` takes focus and names the key; ``widget`` goes in the
    layout (the editor plus its Show or Browse… button, if any)."""

    setting: Setting
    editor: QWidget
    widget: QWidget
    get: Callable[[], object]
    set: Callable[[object], None]
    watch: Watch  # calls its argument whenever the shown value changes


def _on(signal: SignalInstance) -> Watch:
    """A :data:`Watch` that calls back, without arguments, whenever ``signal`` fires."""

    def watch(callback: Callable[[], None]) -> None:
        signal.connect(lambda *_args: callback())

    return watch


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


def hbox(*widgets: QWidget, grow: int | None = None, spacing: int | None = None) -> QWidget:
    """Widgets in a row; ``grow`` is the index of the one that takes the spare width (None:
    nobody, the row ends in empty space)."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    if spacing is not None:
        layout.setSpacing(spacing)
    for i, w in enumerate(widgets):
        layout.addWidget(w, 1 if i == grow else 0)
    if grow is None:
        layout.addStretch(1)
    return row


def expanding(widget: QWidget) -> QWidget:
    """Let ``widget`` take a row's spare width (wrapped text in it then needs fewer lines)."""
    widget.setSizePolicy(QSizePolicy.Policy.Expanding, widget.sizePolicy().verticalPolicy())
    return widget


def caption(text: str) -> QLabel:
    """Grey, slightly smaller, wrapped help text."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    # Wrapped labels may be given more height than they need; keep the text by its editor.
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.setStyleSheet(CAPTION_STYLE)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.9)
    label.setFont(font)
    return label


def editor_for(s: Setting, *, default_folder: Path | None = None) -> Field:
    """The editor for ``s`` (see the module's docstring for which one)."""
    words = words_for(s.key)
    if s.type is bool:
        return _check_box(s, words)
    if s.choices and words.choice_help:
        return _radio_buttons(s, words)
    if s.choices:
        return _combo_box(s, words)
    if s.type in (int, float):
        return _spin_box(s, words)
    if s.check is checks.check_weekdays:
        return _weekdays(s)
    if s.type is list:
        return _lines(s, words)
    if s.check is checks.check_clock_time:
        return _time(s)
    field = _line_edit(s)
    line = field.editor
    assert isinstance(line, QLineEdit)
    line.setPlaceholderText(words.example)
    if s.secret:
        line.setEchoMode(QLineEdit.EchoMode.Password)
        field.widget = hbox(line, show_toggle(line), grow=0)
    elif s.key in FOLDER_KEYS or s.key in FILE_KEYS:
        if default_folder is not None:
            line.setPlaceholderText(f"default: {default_folder}")
        field.widget = hbox(line, browse_button(line, folder=s.key in FOLDER_KEYS), grow=0)
    return field


def show_toggle(line: QLineEdit) -> QToolButton:
    show = QToolButton()
    show.setText("Show")
    show.setCheckable(True)
    show.setToolTip("Show or hide what is typed here")
    show.toggled.connect(
        lambda on: line.setEchoMode(
            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
        )
    )
    return show


def browse_button(line: QLineEdit, *, folder: bool) -> QPushButton:
    """A *Browse…* button that puts a chosen file (or folder) into ``line``."""
    browse = QPushButton("Browse…")
    browse.setAutoDefault(False)
    browse.setObjectName("browse")

    def pick() -> None:
        current = line.text().strip() or line.placeholderText().removeprefix("default: ")
        start = str(Path(current).expanduser()) if current else str(Path.home())
        if folder:
            chosen = QFileDialog.getExistingDirectory(line.window(), "Choose a folder", start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(
                line.window(), "Choose a file", start, PEM_FILTER
            )
        if chosen:
            line.setText(chosen)

    browse.clicked.connect(pick)
    return browse


def _check_box(s: Setting, words: Words) -> Field:
    box = QCheckBox(words.label)
    return Field(s, box, box, box.isChecked, lambda v: box.setChecked(bool(v)), _on(box.toggled))


def _combo_box(s: Setting, words: Words) -> Field:
    combo = QComboBox()
    for value in s.choices or ():
        combo.addItem(words.choices.get(value, value), value)

    def set_value(v: object) -> None:
        combo.setCurrentIndex(max(0, combo.findData(v)))

    return Field(s, combo, combo, combo.currentData, set_value, _on(combo.currentIndexChanged))


def _radio_buttons(s: Setting, words: Words) -> Field:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    group = QButtonGroup(box)
    buttons: dict[str, QRadioButton] = {}
    for value in s.choices or ():
        radio = QRadioButton(words.choices.get(value, value))
        radio.setObjectName(f"{s.key}={value}")
        group.addButton(radio)
        buttons[value] = radio
        layout.addWidget(radio)
        if value in words.choice_help:
            help_text = caption(words.choice_help[value])
            help_text.setContentsMargins(radio.iconSize().width() + 8, 0, 0, 6)
            layout.addWidget(help_text)
    first = next(iter(buttons.values()))
    box.setFocusProxy(first)
    expanding(box)

    def get() -> object:
        return next((v for v, b in buttons.items() if b.isChecked()), s.default)

    def set_value(v: object) -> None:
        buttons.get(str(v), first).setChecked(True)
        box.setFocusProxy(buttons.get(str(v), first))

    def watch(callback: Callable[[], None]) -> None:
        group.buttonToggled.connect(lambda _button, on: callback() if on else None)

    return Field(s, box, box, get, set_value, watch)


def _spin_box(s: Setting, words: Words) -> Field:
    spin: QSpinBox | QDoubleSpinBox
    if s.type is int:
        spin = QSpinBox()
        spin.setRange(
            int(s.minimum) if s.minimum is not None else -_INT_LIMIT,
            min(int(s.maximum), _INT_LIMIT) if s.maximum is not None else _INT_LIMIT,
        )
        spin.setGroupSeparatorShown(spin.maximum() >= 100_000)
    else:
        spin = _NumberBox()
        fine = s.minimum is not None and round(s.minimum, 1) != s.minimum
        spin.setDecimals(2 if fine else 1)
        spin.setRange(
            s.minimum if s.minimum is not None else -1e9,
            s.maximum if s.maximum is not None else 1e9,
        )
    spin.setSuffix(words.unit)
    if words.special:
        spin.setSpecialValueText(words.special)
    spin.setMinimumWidth(150)
    spin.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)

    def set_value(v: object) -> None:
        assert isinstance(v, (int, float)), v
        if isinstance(spin, QSpinBox):
            spin.setValue(int(v))
        else:
            spin.setValue(float(v))

    return Field(s, spin, spin, spin.value, set_value, _on(spin.valueChanged))


class _NumberBox(QDoubleSpinBox):
    """A decimal spin box that writes 60 as "60", not "60.0" (30.5 stays "30.5")."""

    def textFromValue(self, value: float) -> str:
        text = super().textFromValue(value)
        point = self.locale().decimalPoint()
        if point in text:
            text = text.rstrip("0").removesuffix(point)
        return text


def _time(s: Setting) -> Field:
    edit = QTimeEdit()
    edit.setDisplayFormat(_TIME_FORMAT)
    edit.setMinimumWidth(90)

    def set_value(v: object) -> None:
        when = checks.parse_clock_time(str(v))
        edit.setTime(QTime(when.hour, when.minute))

    return Field(
        s,
        edit,
        edit,
        lambda: edit.time().toString(_TIME_FORMAT),
        set_value,
        _on(edit.timeChanged),
    )


def _weekdays(s: Setting) -> Field:
    """Seven boxes, Monday first; reads back the list it was given while the same days are
    ticked (``["mon"]`` stays ``["mon"]``), else full day names in week order."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    boxes: list[QCheckBox] = []
    for index, name in enumerate(DAY_NAMES):
        box = QCheckBox(name)
        box.setObjectName(f"{s.key}.{checks.WEEKDAYS[index]}")
        box.setToolTip(checks.WEEKDAYS[index].capitalize())
        boxes.append(box)
        layout.addWidget(box)
    layout.addStretch(1)
    row.setFocusProxy(boxes[0])
    given: list[str] = []

    def ticked() -> set[int]:
        return {i for i, box in enumerate(boxes) if box.isChecked()}

    def get() -> object:
        days = ticked()
        try:
            if {checks.weekday_index(d) for d in given} == days:
                return list(given)
        except ValueError:
            pass
        return [checks.WEEKDAYS[i] for i in sorted(days)]

    def set_value(v: object) -> None:
        assert isinstance(v, list)
        given[:] = [str(d) for d in v]
        days = {checks.weekday_index(d) for d in given}
        for i, box in enumerate(boxes):
            box.setChecked(i in days)

    def watch(callback: Callable[[], None]) -> None:
        for box in boxes:
            box.toggled.connect(lambda _on: callback())

    return Field(s, row, row, get, set_value, watch)


def _lines(s: Setting, words: Words) -> Field:
    text = QPlainTextEdit()
    text.setTabChangesFocus(True)
    text.setPlaceholderText(words.example or "one per line")
    lines = LIST_LINES.get(s.key, 4)
    text.setFixedHeight(text.fontMetrics().lineSpacing() * lines + 12)

    def set_lines(v: object) -> None:
        assert isinstance(v, list)
        text.setPlainText("\n".join(str(x) for x in v))

    return Field(
        s,
        text,
        text,
        lambda: text.toPlainText().splitlines(),
        set_lines,
        _on(text.textChanged),
    )


def _line_edit(s: Setting) -> Field:
    line = QLineEdit()
    return Field(s, line, line, line.text, lambda v: line.setText(str(v)), _on(line.textChanged))
