"""A webhook body's bytes to a JSON object: the listener's 400 contract.

:func:`decode_body` accepts UTF-8 JSON whose top level is an object, nested at most
:data:`MAX_DEPTH` levels, with finite numbers; anything else raises :class:`PayloadError` whose
message says plainly what is wrong and never quotes the body (it goes back in a 400 answer).
Turning the object into an :class:`~holmtray.core.events.Event` is
:mod:`holmtray.core.parsing.parser`'s job, and never fails.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from holmtray.core.jsonload import NotFast, fast_loads

MAX_DEPTH: int = 64
"""Deepest nesting of objects/arrays :func:`decode_body` accepts (``{}`` is depth 1)."""


class PayloadError(ValueError):
    """The body is not a JSON object we can read.

    The message says plainly what is wrong and is safe to send back in a 400 JSON error body:
    it never quotes the body.
    """


# --------------------------------------------------------------------------------------------
# Decoding


_JSON_WS = " \t\r\n"


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _reject_constant(name: str) -> Any:
    raise PayloadError(f"JSON contains {name}, which is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError("JSON contains a number too large to represent")
    return value


def decode_body(body: bytes, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Decode a webhook body into a JSON object; raise :class:`PayloadError` if it is not one."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("body is not valid UTF-8") from None
    # Some senders (and Windows tools users test with) prepend a BOM; it carries no meaning.
    text = text.removeprefix("\ufeff")
    if not text.strip(_JSON_WS):
        raise PayloadError("body is empty")
    too_deep = f"JSON is nested too deeply (limit: {max_depth} levels)"
    try:
        # orjson's value where it is json.loads's; every text it refuses (or might read
        # differently) takes the standard path below, with its hooks and its error messages.
        value = fast_loads(text)
    except NotFast:
        value = _standard_loads(text, too_deep)
    if not isinstance(value, dict):
        raise PayloadError(f"expected a JSON object, got {_type_name(value)}")
    # Each level of nesting needs its own "{" or "[" in the text, so a body with no more of them
    # than the limit cannot be too deep; counting them (in C) spares the walk for every real one.
    if text.count("{") + text.count("[") > max_depth and _depth_exceeds(value, max_depth):
        raise PayloadError(too_deep)
    return value


def _standard_loads(text: str, too_deep: str) -> Any:
    """``json.loads`` with NaN, infinities and infinite numbers refused, errors as PayloadError."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except PayloadError:
        raise
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        # The C decoder recurses per nesting level; hostile input ("[" * 1 MiB) lands here.
        raise PayloadError(too_deep) from None
    except ValueError:
        # Integers longer than sys.get_int_max_str_digits() end up here, not as JSONDecodeError.
        raise PayloadError("body contains a number too long to read") from None


def _depth_exceeds(root: object, limit: int) -> bool:
    """Whether containers nest deeper than ``limit``; iterative so depth cannot blow the stack."""
    stack: list[tuple[object, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children: Iterable[object]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
