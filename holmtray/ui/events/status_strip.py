"""The strip at the top of the event window that says events are not being received.

Hidden while all is well. When the app has an alarm (the listener is not running, the store
cannot commit, the relay is unreachable or refuses the token, the relay cannot store), it
shows one sentence saying so and the buttons that fix it ("Change port…", "Retry",
"Reconnect now", "Settings…"); a click emits :attr:`StatusStrip.action` with the button's
:class:`~holmtray.ui.source_status.StripAction`. The text is plain (it may quote a relay's
words) and wraps rather than widening the window.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from holmtray.ui.icons import TrayState, render
from holmtray.ui.source_status import StripAction

TONES = {
    # background, border, text
    "error": ("#fef2f2", "#f87171", "#7f1d1d"),
    "warning": ("#fffbeb", "#f59e0b", "#78350f"),
    "offline": ("#f3f4f6", "#9ca3af", "#1f2937"),
}
MARKS = {
    # The tray icon's own look for the same state, so the two read as one.
    "error": TrayState(error="not receiving"),
    "warning": TrayState(offline=True),
    "offline": TrayState(offline=True),
}
MARK_PX = 20


class StatusStrip(QFrame):
    """A one-line (wrapping) notice with buttons; see the module docstring."""

    action = Signal(str)  # a StripAction's value

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusStrip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.glyph = QLabel()
        self.glyph.setObjectName("statusGlyph")
        self.label = QLabel()
        self.label.setObjectName("statusText")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 8, 6)
        self._layout.setSpacing(8)
        self._layout.addWidget(self.glyph, 0, Qt.AlignmentFlag.AlignTop)
        self._layout.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        self._shown: tuple[str, tuple[StripAction, ...], str] | None = None
        self.setVisible(False)

    def show_status(
        self, text: str | None, actions: Sequence[StripAction] = (), *, tone: str = "error"
    ) -> None:
        """Show ``text`` with a button per action; ``None`` hides the strip."""
        if text is None:
            self._shown = None
            self.setVisible(False)
            return
        shown = (text, tuple(actions), tone)
        if shown == self._shown:
            return
        self._shown = shown
        background, border, foreground = TONES.get(tone, TONES["error"])
        self.setStyleSheet(
            f"QFrame#statusStrip {{ background: {background}; border: 1px solid {border};"
            " border-radius: 4px; }"
            f" QLabel#statusText {{ color: {foreground}; font-weight: 600; }}"
        )
        self.glyph.setPixmap(render(MARKS.get(tone, MARKS["error"]), MARK_PX))
        self.label.setText(text)
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        for act in actions:
            button = QPushButton(act.value)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _=False, a=act: self.action.emit(a.value))
            self._layout.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
            self.buttons.append(button)
        self.setVisible(True)

    def text(self) -> str | None:
        """What the strip says while shown (``None`` while hidden)."""
        return self._shown[0] if self._shown is not None else None

    def button(self, act: StripAction) -> QPushButton:
        for button in self.buttons:
            if button.text() == act.value:
                return button
        raise KeyError(act.value)
