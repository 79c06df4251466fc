"""Reading and changing one setting from text: ``holmtray config get KEY`` / ``set KEY VALUE``.

:func:`parse_value` turns the text a user types into the key's type (``true``/``false`` for a
switch, numbers, and for a list either comma-separated words or a TOML/JSON array) and then
through the schema's own validation, so the command line accepts exactly what the config file
and the Settings dialog accept; every refusal names the key, the value and what is allowed.
:func:`show_value` prints a value the way it would be typed back, and never shows a secret
unless asked to (nor the password inside a database address).
"""

from __future__ import annotations

import json
import math
import tomllib
from typing import Any

from holmtray.core.config.schema import Setting, SettingsError, Value, setting

MASK = "********"
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _refuse(s: Setting, text: str) -> SettingsError:
    shown = MASK if s.secret else repr(s.shown(text))
    return SettingsError(f"invalid value {shown} for setting '{s.key}': expected {s.allowed()}")


def _list(s: Setting, text: str) -> list[Any]:
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except ValueError:
            try:
                value = tomllib.loads(f"v = {stripped}")["v"]
            except tomllib.TOMLDecodeError:
                raise _refuse(s, text) from None
        if not isinstance(value, list):
            raise _refuse(s, text)
        return value
    return [part.strip() for part in stripped.split(",")]


def parse_value(key: str, text: str) -> Value:
    """``text`` as a value of setting ``key``, validated; :class:`SettingsError` otherwise."""
    s = setting(key)
    converted: Any
    if s.type is bool:
        word = text.strip().lower()
        if word not in _TRUE | _FALSE:
            raise _refuse(s, text)
        converted = word in _TRUE
    elif s.type is int:
        try:
            converted = int(text.strip())
        except ValueError:
            raise _refuse(s, text) from None
    elif s.type is float:
        try:
            converted = float(text.strip())
        except ValueError:
            raise _refuse(s, text) from None
        if not math.isfinite(converted):
            raise _refuse(s, text)
    elif s.type is list:
        converted = _list(s, text)
    else:
        converted = text
    return s.validate(converted)


def show_value(key: str, value: Value, *, reveal: bool = False) -> str:
    """``value`` as one would type it; a set secret (or the password in a database address)
    is ``********`` unless ``reveal``."""
    s = setting(key)
    if s.secret and value and not reveal:
        return MASK
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    return str(value if reveal else s.shown(value))
