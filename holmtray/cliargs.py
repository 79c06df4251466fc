"""Range-checked numeric options for the ``holmtray`` command line.

Every whole-number option of :mod:`holmtray.cli` is added with :func:`add_whole_number`, so
``--limit -1`` or ``--limit 9223372036854775808`` is refused by argparse (exit 2, usage
first) with a message that names the option and what it accepts — ``--limit must be 0 or
more (0: all), not '-1'``, ``--limit must be at most 1000000 …``, ``--port must be a whole
number from 0 to 65535 (as listener.port), not 'x'`` — and never reaches a slice or a query.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from holmtray.core.config.schema import Setting
from holmtray.core.text import printable

MAX_LIMIT = 1_000_000
MAX_EVENT_ID = 2**63 - 1  # SQLite's largest row id


def refusal(option: str, text: str, *, low: int, high: int, note: str = "") -> str | None:
    """Why ``text`` is not a whole number from ``low`` to ``high`` for ``option``, or None."""
    shown = printable(repr(text))
    try:
        value = int(text.strip(), 10)
    except ValueError:
        return f"{option} must be a whole number from {low} to {high}{note}, not {shown}"
    if value < low:
        return f"{option} must be {low} or more{note}, not {shown}"
    if value > high:
        return f"{option} must be at most {high}{note}, not {shown}"
    return None


class WholeNumber(argparse.Action):
    """Stores a whole number from ``low`` to ``high``; anything else is a usage error."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        *,
        low: int,
        high: int,
        note: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.low, self.high, self.note = low, high, note

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        text = str(values)
        option = option_string or self.dest
        why = refusal(option, text, low=self.low, high=self.high, note=self.note)
        if why is not None:
            parser.error(why)
        setattr(namespace, self.dest, int(text.strip(), 10))


def add_whole_number(
    parser: argparse.ArgumentParser,
    *names: str,
    low: int,
    high: int,
    note: str = "",
    **kwargs: Any,
) -> None:
    """``parser.add_argument(*names, ...)`` for a whole number from ``low`` to ``high``."""
    parser.add_argument(*names, action=WholeNumber, low=low, high=high, note=note, **kwargs)


def add_setting_number(
    parser: argparse.ArgumentParser, *names: str, setting: Setting, **kwargs: Any
) -> None:
    """A whole-number option that overrides ``setting``: its range, and named after it."""
    if setting.minimum is None or setting.maximum is None:
        raise ValueError(f"setting {setting.key} has no range")
    add_whole_number(
        parser,
        *names,
        low=int(setting.minimum),
        high=int(setting.maximum),
        note=f" (as {setting.key})",
        **kwargs,
    )
