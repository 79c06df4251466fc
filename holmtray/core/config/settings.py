"""The immutable :class:`Settings` mapping: a validated value for every key of the schema.

:meth:`Settings.with_values` returns a changed copy; values are checked one by one against
:data:`~holmtray.core.config.schema.SCHEMA`, then together (:func:`_check_together`). Reading
and writing the config file is :mod:`holmtray.core.config.file`'s job.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from holmtray.core.config.checks import relay_url_is_local
from holmtray.core.config.schema import (
    SCHEMA,
    SettingsError,
    Value,
    setting,
)

TOKEN_BYTES = 32  # 256 random bits; the issue asks for at least 128


def _check_together(values: Mapping[str, Value]) -> None:
    """Checks that involve more than one key."""
    if bool(values["listener.tls_cert"]) != bool(values["listener.tls_key"]):
        raise SettingsError(
            "settings 'listener.tls_cert' and 'listener.tls_key' go together: set both (a "
            "certificate and its private key) for HTTPS, or leave both empty for plain HTTP"
        )
    if not values["subscribe.allow_http"]:
        for url in values["subscribe.urls"]:  # type: ignore[union-attr]
            if url.startswith("http://") and not relay_url_is_local(url):
                raise SettingsError(
                    f"setting 'subscribe.urls': {url!r} is plain HTTP to another computer, so "
                    "your read token and the events would cross the network unencrypted; use "
                    "https:// (or allow it with subscribe.allow_http)"
                )


class Settings(Mapping[str, Value]):
    """An immutable, validated set of values for every key in :data:`SCHEMA`."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        merged: dict[str, Value] = {s.key: _copy(s.default) for s in SCHEMA}
        for key, value in (values or {}).items():
            merged[key] = setting(key).validate(value)
        _check_together(merged)
        self._values = merged

    def __getitem__(self, key: str) -> Value:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        shown = {
            k: ("********" if setting(k).secret and v else setting(k).shown(v))
            for k, v in self.items()
        }
        return f"Settings({shown})"

    # Typed accessors for the values the code reads most; they never hide a 0 or False.
    def text(self, key: str) -> str:
        value = self._values[key]
        assert isinstance(value, str), key
        return value

    def integer(self, key: str) -> int:
        value = self._values[key]
        assert isinstance(value, int), key
        assert not isinstance(value, bool), key
        return value

    def number(self, key: str) -> float:
        value = self._values[key]
        assert isinstance(value, float), key
        return value

    def flag(self, key: str) -> bool:
        value = self._values[key]
        assert isinstance(value, bool), key
        return value

    def strings(self, key: str) -> list[str]:
        value = self._values[key]
        assert isinstance(value, list), key
        return list(value)

    def with_values(self, changes: Mapping[str, Any]) -> Settings:
        """A copy with dotted-key ``changes`` applied."""
        values: dict[str, Any] = dict(self._values)
        values.update(changes)
        return Settings(values)


def _copy(value: Value) -> Value:
    return list(value) if isinstance(value, list) else value


def new_token() -> str:
    """A fresh URL-safe token with 256 random bits."""
    import secrets  # noqa: PLC0415 (only for a new config: the tray app starts without it)

    return secrets.token_urlsafe(TOKEN_BYTES)
