"""orjson where it agrees with ``json.loads``: the same values, or the standard path.

:func:`fast_loads` may refuse (``NotFast``) whatever it likes, but a value it returns must be
exactly ``json.loads``'s: same types (an ``int`` is not a ``float``), same numbers, same
strings. :func:`decode_body` with the fast path must answer every body as it does without it:
the same object, or the same ``PayloadError`` text.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import holmtray.core.parsing.decode as decode_module
from holmtray.core.jsonload import NotFast, fast_loads, loads
from holmtray.core.parsing.decode import PayloadError, decode_body

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (``1 == 1.0 == True`` does not count)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


_NUMBERS = st.one_of(
    st.integers(),
    st.integers(-(2**64), 2**65),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, 10**18, 10**19]),
    st.floats(allow_nan=False, allow_infinity=False),
)
_STRINGS = st.text(alphabet=st.characters(codec=None), max_size=20) | st.sampled_from(
    ["\ud800", "a\udfffb", "\x00", "\u2028", '"\\']
)
_VALUES = st.recursive(
    st.none() | st.booleans() | _NUMBERS | _STRINGS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_STRINGS, inner, max_size=4),
    max_leaves=20,
)
# Texts json.loads may or may not accept: numbers in every spelling, odd constants, escapes.
_PIECES = st.sampled_from(
    [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        '"a"',
        '"\\ud800"',
        '"\\u00e9"',
        '"\\"',
        "1",
        "-0",
        "0.5",
        "1e400",
        "-1e400",
        "1E5",
        "1e-400",
        "00",
        "1.",
        ".5",
        "NaN",
        "Infinity",
        "-Infinity",
        "true",
        "false",
        "null",
        " ",
        "\t",
        "\n",
        "\ufeff",
        "12345678901234567890",
        "1234567890123456789",
        "123456789012345678",
        "-9223372036854775809",
        '"x"',
        "é",
    ]
)


@settings(max_examples=500, deadline=None)
@given(_VALUES, st.booleans(), st.sampled_from([None, 0, 2]))
def test_fast_values_are_json_loads_values(
    value: Any, ascii_only: bool, indent: int | None
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    expected = json.loads(text)
    try:
        got = fast_loads(text)
    except NotFast:
        return
    assert same(got, expected), text
    assert same(loads(text), expected)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_fast_never_accepts_what_json_loads_reads_otherwise(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except (ValueError, RecursionError):
        expected = NotFast
    try:
        got = fast_loads(text)
    except NotFast:
        return
    assert expected is not NotFast, f"orjson accepted {text!r}, json.loads does not"
    assert same(got, expected), text


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 12345678901234567890123}',
        '{"a": -9223372036854775809}',
        '{"a": NaN}',
        '{"a": 1e400}',
        '{"a": "\\ud800"}',
        "[" * 2000 + "]" * 2000,
        "\ud800",
    ],
)
def test_texts_orjson_reads_differently_take_the_standard_path(text: str) -> None:
    with pytest.raises(NotFast):
        fast_loads(text)


def _standard_decode(body: bytes, monkeypatch: pytest.MonkeyPatch) -> Any:
    def never(text: str) -> Any:
        raise NotFast

    with monkeypatch.context() as m:
        m.setattr(decode_module, "fast_loads", never)
        try:
            return decode_body(body)
        except PayloadError as exc:
            return ("PayloadError", str(exc))


def _decode(body: bytes) -> Any:
    try:
        return decode_body(body)
    except PayloadError as exc:
        return ("PayloadError", str(exc))


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_decode_body_answers_every_sample_as_the_standard_path(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (SAMPLES / name).read_bytes()
    assert same(_decode(body), _standard_decode(body, monkeypatch))


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        _VALUES.map(lambda v: json.dumps(v, ensure_ascii=False)),
        st.lists(_PIECES, max_size=12).map("".join),
        st.dictionaries(_STRINGS, _VALUES, max_size=5).map(json.dumps),
    ).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_decode_body_answers_every_body_as_the_standard_path(body: bytes) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert same(_decode(body), _standard_decode(body, monkeypatch))


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_holm_bodies_take_the_fast_path(name: str) -> None:
    # Else the comparisons above would hold for want of anything to compare.
    text = (SAMPLES / name).read_text(encoding="utf-8")
    assert same(fast_loads(text), json.loads(text))


@pytest.mark.parametrize("text", ['{"a": "é"}', '{"a": "\\u00e9"}', '["\\u0041"]'])
def test_non_ascii_text_takes_the_standard_path(text: str) -> None:
    # orjson makes a new object per such string; the listener's memory model counts on
    # json.loads sharing the one-character ones (tests/core/ingest/test_listener_load.py).
    with pytest.raises(NotFast):
        fast_loads(text)
