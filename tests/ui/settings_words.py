"""What "plain words" means for the Settings dialog's tests: no setting key in sight.

A text fails when it holds a schema key (``listener.port``), a key's own name
(``rate_burst``) or any other ``snake_case`` word, since people read these, not config files.
"""

from __future__ import annotations

import re

from holmtray.core.config.schema import SCHEMA

SNAKE_CASE = re.compile(r"\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b")
KEY_NAMES = {s.key for s in SCHEMA} | {s.name for s in SCHEMA if "_" in s.name}


def key_names_in(text: str) -> list[str]:
    """Every key or ``snake_case`` word in ``text``."""
    found = [k for k in KEY_NAMES if re.search(rf"(?<![\w.]){re.escape(k)}(?![\w])", text)]
    return found + SNAKE_CASE.findall(text)


def assert_plain(text: str) -> None:
    assert text.strip(), "empty text"
    assert not key_names_in(text), f"key names {key_names_in(text)} in {text!r}"
