"""The Settings dialog speaks to people: every setting has a label and help without key
names, every text the dialog shows is free of them, and messages from the settings code are
rewritten into the same words."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QLineEdit, QPlainTextEdit, QWidget
from pytestqt.qtbot import QtBot

from holmtray.core.config.paths import Paths
from holmtray.core.config.schema import SCHEMA, SettingsError
from holmtray.core.config.settings import Settings, new_token
from holmtray.ui.settings_dialog import HIDDEN_KEYS, SettingsDialog
from holmtray.ui.settings_labels import WORDS, keys_in, plain_words
from holmtray.ui.settings_layout import TABS, unplaced_keys
from tests.ui.settings_tools import assert_plain, key_names_in

SHOWN = [s for s in SCHEMA if s.key not in HIDDEN_KEYS]


def test_the_check_itself_finds_key_names() -> None:
    assert key_names_in("after a burst of rate_burst") == ["rate_burst", "rate_burst"]
    assert "notifications.min_severity" in key_names_in("see notifications.min_severity")
    assert key_names_in("min_severity is 'default'")
    assert not key_names_in("Use https://hooks.example.org or sc.example.org; tokens start htr_")


@pytest.mark.parametrize("key", [s.key for s in SHOWN])
def test_every_shown_setting_has_a_plain_label_and_help(key: str) -> None:
    assert key in WORDS, f"add {key} to holmtray.ui.settings_labels.WORDS"
    words = WORDS[key]
    assert_plain(words.label)
    assert_plain(words.help)
    for text in (words.unit, words.inline, words.special, *words.choices.values()):
        if text.strip():
            assert_plain(text)
    for text in words.choice_help.values():
        assert_plain(text)


def test_every_shown_setting_has_a_place_on_a_tab() -> None:
    assert unplaced_keys() == []
    placed = [k for tab in TABS for g in tab.groups for r in g.rows for k in r.keys]
    assert len(placed) == len(set(placed)), "a key is placed twice"


def _texts(dialog: QWidget) -> list[tuple[str, str]]:
    """(where, text) for every text a person can read in the dialog."""
    found: list[tuple[str, str]] = []
    for widget in [dialog, *dialog.findChildren(QWidget)]:
        where = f"{type(widget).__name__} {widget.objectName()!r}"
        if widget.toolTip():
            found.append((where + " tooltip", widget.toolTip()))
        if isinstance(widget, QLabel) and widget.text():
            found.append((where, widget.text()))
        if isinstance(widget, QAbstractButton) and widget.text():
            found.append((where, widget.text()))
        if isinstance(widget, (QLineEdit, QPlainTextEdit)) and widget.placeholderText():
            found.append((where + " placeholder", widget.placeholderText()))
        if isinstance(widget, QComboBox):
            found.extend((where, widget.itemText(i)) for i in range(widget.count()))
    return found


def test_no_text_in_the_dialog_names_a_setting_key(qtbot: QtBot, tmp_path: Path) -> None:
    settings = Settings({"listener.token": new_token(), "source.mode": "relay"})
    dialog = SettingsDialog(
        settings, paths=Paths.under(tmp_path / "home"), apply=lambda s, done: done(None)
    )
    qtbot.addWidget(dialog)
    # The folders shown are this test's temporary ones, whose names are not the dialog's words.
    texts = [(where, text.replace(str(tmp_path), "/tmp")) for where, text in _texts(dialog)]
    assert len(texts) > 100
    bad = [(where, text, key_names_in(text)) for where, text in texts if key_names_in(text)]
    assert bad == []


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "invalid value 70000 for setting 'listener.port': expected a whole number from 0 "
            "to 65535",
            "70000 is not accepted: expected a whole number from 0 to 65535",
        ),
        (
            "settings 'listener.tls_cert' and 'listener.tls_key' go together: set both",
            "“Certificate file” and “Private key file” go together: set both",
        ),
        (
            "use https:// (or allow it with subscribe.allow_http)",
            "use https:// (or allow it with “Allow an unencrypted (http://) relay on another "
            "computer”)",
        ),
        ("no read token is set (subscribe.token)", "no read token is set (“Read token”)"),
    ],
)
def test_messages_are_rewritten_into_the_fields_words(message: str, expected: str) -> None:
    assert plain_words(message) == expected
    assert not key_names_in(plain_words(message))


@pytest.mark.parametrize("key", [s.key for s in SHOWN])
def test_every_refusal_from_the_schema_can_be_rewritten(key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings({key: object()})
    message = str(caught.value)
    assert keys_in(message)[0] == key  # the dialog finds the field from the message
    assert_plain(plain_words(message))
