"""Shared by the Settings dialog's tests: opening it, pressing its buttons, a stand-in for
the app's apply step, and what "plain words" means — no setting key in sight.

A text fails :func:`assert_plain` when it holds a schema key (``listener.port``), a key's own
name (``rate_burst``) or any other ``snake_case`` word: people read these, not config files.
"""

from __future__ import annotations

import re

from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from holmtray.core.config.paths import Paths
from holmtray.core.config.schema import SCHEMA
from holmtray.core.config.settings import Settings
from holmtray.ui.settings_dialog import Apply, ApplyDone, SettingsDialog


class Applier:
    """Stands in for the app's apply step: records what it got, reports ``answer`` at once."""

    def __init__(self, answer: str | None = None) -> None:
        self.answer = answer
        self.calls: list[Settings] = []

    def __call__(self, settings: Settings, done: ApplyDone) -> None:
        self.calls.append(settings)
        done(self.answer)


def open_dialog(qtbot: QtBot, settings: Settings, paths: Paths, applier: Apply) -> SettingsDialog:
    dialog = SettingsDialog(settings, paths=paths, apply=applier)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def press(dialog: SettingsDialog, which: QDialogButtonBox.StandardButton) -> None:
    button = dialog.buttons.button(which)
    assert button is not None
    button.click()


SNAKE_CASE = re.compile(r"\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b")
KEY_NAMES = {s.key for s in SCHEMA} | {s.name for s in SCHEMA if "_" in s.name}


def key_names_in(text: str) -> list[str]:
    """Every key or ``snake_case`` word in ``text``."""
    found = [k for k in KEY_NAMES if re.search(rf"(?<![\w.]){re.escape(k)}(?![\w])", text)]
    return found + SNAKE_CASE.findall(text)


def assert_plain(text: str) -> None:
    assert text.strip(), "empty text"
    assert not key_names_in(text), f"key names {key_names_in(text)} in {text!r}"
