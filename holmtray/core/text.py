"""Plain-text helpers shared by every layer: the one sanitiser, one table of bidi controls,
one plural rule, one way to say how long something took.

Payload text, header values and anything else a request carries are untrusted. A control
character can move a terminal's cursor, recolour it or retitle its window (``ESC``, the C1
``CSI`` U+009B); a bidirectional control can make ``"invoice\\u202egnp.exe"`` read as
``invoiceexe.png``; a zero-width or tag character hides text. Every string bound for a
terminal or a log goes through :func:`printable`, which writes each such character out in one
visible form, ``[U+202E]``; JSON that people read (``holmtray events --json``, the
rejected-requests log) is made by :func:`json_text`, which writes them as ``\\u202e`` escapes,
so the data is unchanged and a terminal never receives them raw. Where people read payload
text in windows, newlines are fine and only the bidi controls are shown
(:func:`show_bidi_controls`, the same visible form) or removed (:data:`BIDI_CONTROLS` as a
deletion table). Every module that treats them asks this one table, so a newly found control
is added once.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from datetime import timedelta
from typing import Any

BIDI_CONTROLS: frozenset[int] = frozenset(
    (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
)
"""Code points that change the display order of the text around them (ALM, LRM, RLM, the
embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069)."""

ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""What :func:`printable` and :func:`json_text` escape: C0 and C1 controls and DEL (Cc), format
characters (Cf: the bidi controls, zero-width characters, the BOM, soft hyphens, tag
characters), lone surrogates (Cs, bytes that were not UTF-8), and the line and paragraph
separators U+2028/U+2029 (Zl, Zp)."""

_NOT_PLAIN = re.compile(r"[^ -~]")  # anything but printable ASCII: the candidates
_SHOWN = {code: f"[U+{code:04X}]" for code in BIDI_CONTROLS}


def visible(char: str) -> str:
    """The one visible form of an escaped character: ``[U+202E]``, ``[U+001B]``, ``[U+E0041]``."""
    return f"[U+{ord(char):04X}]"


@functools.lru_cache(maxsize=4096)
def needs_escape(char: str) -> bool:
    """Whether ``char`` (one code point) is one that :func:`printable` writes out."""
    return ord(char) in BIDI_CONTROLS or unicodedata.category(char) in ESCAPED_CATEGORIES


def _shown(match: re.Match[str]) -> str:
    char = match[0]
    return visible(char) if needs_escape(char) else char


def _shown_ascii(match: re.Match[str]) -> str:
    return visible(match[0])


def printable(text: str, *, ascii_only: bool = False) -> str:
    """``text`` safe for a terminal or a log line: every character of
    :data:`ESCAPED_CATEGORIES` (newlines and tabs included) written as ``[U+XXXX]``;
    ``ascii_only``: every other non-ASCII character too (for values that are meant to be
    ASCII, such as an address)."""
    if text.isascii() and text.isprintable():
        return text
    return _NOT_PLAIN.sub(_shown_ascii if ascii_only else _shown, text)


def _json_escape(match: re.Match[str]) -> str:
    char = match[0]
    if char == "\n" or not needs_escape(char):
        return char  # a raw newline in json.dumps output is indentation, never inside a string
    code = ord(char)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_text(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON with every character :func:`printable` would escape as ``\\uXXXX``.

    Other non-ASCII text stays readable (``ensure_ascii=False``); the result decodes to the
    same value, holds no control, bidi or format character and no lone surrogate, and so is
    safe to print and to encode as UTF-8.
    """
    return _NOT_PLAIN.sub(_json_escape, json.dumps(value, ensure_ascii=False, indent=indent))


def show_bidi_controls(text: str) -> str:
    """``text`` with each bidi control written out as ``[U+202E]`` and the like."""
    return text.translate(_SHOWN)


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``"1 event"``, ``"2 events"``, ``"2,000 events"``; ``plural_form`` for words that do not
    just add an s."""
    return f"{n:,} {singular if n == 1 else (plural_form or singular + 's')}"


def duration_words(d: timedelta) -> str:
    """``"45 s"``, ``"57 min"``, ``"1 h 5 min"``, ``"2 h"``, ``"3 d 4 h"``: the largest two
    units that matter, rounded down."""
    total = max(0, int(d.total_seconds()))
    if total < 60:
        return f"{total} s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
