"""JSON text to Python values, through orjson (C) wherever its answer is ``json.loads``'s.

Every webhook body is decoded once on the event loop and once more on the writer thread (to
tell whether the payload column can be left empty); ``json.loads`` with hooks costs several
times what orjson does. orjson's answer is not always the standard library's, though:

- integers outside 64 bits become floats in orjson (``json.loads`` keeps them whole);
- orjson refuses what ``json.loads`` accepts: ``NaN``/``Infinity``, numbers too large for a
  float (``json.loads`` makes them ``inf``), lone surrogate escapes (``"\\ud800"``), nesting
  past 1024 levels, text that cannot be encoded as UTF-8;
- its error messages are its own.

And it makes a new string object for every non-ASCII string value, where ``json.loads``
shares the one-character ones: a body of ``"é"`` values would take more memory than the
listener's cost model (:func:`~holmtray.core.ingest.bodies.decoded_cost`) allows for it.

So :func:`fast_loads` answers only where the two agree: ASCII text without ``\\u`` escapes
(every string it holds is then ASCII), with no run of 19 digits or more (every integer orjson
keeps whole has at most 20 digits, and all of at most 18 fit), that orjson accepts. Anything
else raises :class:`NotFast`, and callers take the standard path, which gives the standard
value or the standard error. Holm's webhooks are ASCII JSON; the rest costs what it did.
``tests/core/test_jsonload.py`` holds the two to the same values on generated texts.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Every digit made a "9": a run of 19 digits is then a run of 19 nines, which ``in`` finds in C
# (a regular expression for it costs eight times as much on a webhook body).
_DIGITS_TO_NINE = bytes.maketrans(b"0123456789", b"9" * 10)
_LONG_RUN = b"9" * 19


class NotFast(ValueError):
    """orjson's answer could differ from ``json.loads``'s: take the standard path."""


def fast_loads(text: str) -> Any:
    """``json.loads(text)``'s value through orjson, or :class:`NotFast`."""
    if not text.isascii() or "\\u" in text:
        raise NotFast
    data = text.encode("ascii")
    if _LONG_RUN in data.translate(_DIGITS_TO_NINE):
        raise NotFast
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise NotFast from None


def loads(text: str) -> Any:
    """``json.loads(text)`` (its value, or its ``ValueError``), through orjson when it agrees."""
    try:
        return fast_loads(text)
    except NotFast:
        return json.loads(text)
