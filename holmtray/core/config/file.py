"""The config file: TOML, one ``[section]`` per key prefix, each value under its description.

The file is human-editable; it is written atomically with mode 0600 because it holds the
webhook token and the optional password. :func:`load` names the file and the key in every
error, and refuses a file that cannot be a config file in plain words (not UTF-8, over
:data:`MAX_BYTES`, values nested over :data:`MAX_DEPTH` deep, not TOML) instead of failing;
:func:`load_or_create` makes the file, with a fresh token, on first run;
:func:`update` changes some values (``holmtray config set``).
"""

from __future__ import annotations

import json
import logging
import tomllib
from pathlib import Path
from typing import Any

from holmtray.core.config.schema import SCHEMA, SettingsError, Value
from holmtray.core.config.settings import Settings, new_token
from holmtray.core.fileio import write_atomically

log = logging.getLogger("holmtray.config.file")

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 8
"""No setting nests so deep (a list of text is two levels: its section, the list)."""


def load(path: Path) -> Settings:
    """Read and validate the config file; a missing file gives the defaults."""
    values = _read_values(path)
    try:
        return Settings(values)
    except SettingsError as exc:
        raise SettingsError(f"config file {path}: {exc}") from None


def update(path: Path, changes: dict[str, Value]) -> Settings:
    """Apply ``changes`` to the file's values, validate them all, and save.

    Works on the file's raw values, so that a file with one bad value can be mended by
    setting that value; any other problem is reported as :func:`load` would.
    """
    values = _read_values(path)
    values.update(changes)
    try:
        settings = Settings(values)
    except SettingsError as exc:
        raise SettingsError(f"config file {path}: {exc}") from None
    if not settings.text("listener.token"):
        settings = settings.with_values({"listener.token": new_token()})
    save(settings, path)
    return settings


def _depth(value: Any) -> int:
    """How deep ``value`` nests (a scalar: 0), without recursion; stops past :data:`MAX_DEPTH`."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                stack.extend((child, level + 1) for child in children)
    return deepest


def _read_text(path: Path) -> str | None:
    """The file's text; ``None`` when it does not exist; :class:`SettingsError` naming it."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise SettingsError(f"cannot read config file {path}: {why}") from None
    if len(raw) > MAX_BYTES:
        raise SettingsError(
            f"config file {path} is larger than {MAX_BYTES // 1024} KiB: not a holmtray config"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"config file {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None


def _read_values(path: Path) -> dict[str, Any]:
    text = _read_text(path)
    if text is None:
        return {}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:
        data = None
    if data is None or _depth(data) > MAX_DEPTH:
        raise SettingsError(
            f"config file {path} nests tables or lists more than {MAX_DEPTH} deep; no setting does"
        )
    values: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise SettingsError(
                f"config file {path}: '{section}' must be a [section], found a plain value"
            )
        for name, value in table.items():
            values[f"{section}.{name}"] = value
    return values


def _toml_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # JSON string escapes (\", \\, \n, \uXXXX) are valid TOML basic-string escapes.
    return json.dumps(value, ensure_ascii=True)


def dumps(settings: Settings) -> str:
    """The config file text: every key, grouped by section, each with its description."""
    lines = ["# holmtray settings. Edit while holmtray is not running, or use Settings...", ""]
    section = None
    for s in SCHEMA:
        if s.section != section:
            if section is not None:
                lines.append("")
            lines.append(f"[{s.section}]")
            section = s.section
        lines.append(f"# {s.description}")
        lines.append(f"{s.name} = {_toml_value(settings[s.key])}")
    return "\n".join(lines) + "\n"


def save(settings: Settings, path: Path) -> None:
    """Write the config file atomically, readable by its owner only (mode 0600)."""
    write_atomically(path, dumps(settings), mode=0o600)


def load_or_create(path: Path) -> Settings:
    """Load the config, generating and saving a token on first run (or when it is empty)."""
    settings = load(path)
    if not settings.text("listener.token") or not path.exists():
        if not settings.text("listener.token"):
            settings = settings.with_values({"listener.token": new_token()})
        save(settings, path)
        log.info("wrote new config file %s", path)
    return settings
