"""The one sanitiser: what reaches a terminal or a log never holds a control, bidi or format
character raw, and JSON output holds them as escapes that decode to the same data."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holmtray.core.text import (
    BIDI_CONTROLS,
    ESCAPED_CATEGORIES,
    json_text,
    needs_escape,
    printable,
    show_bidi_controls,
)

# The characters the attack run used, and their relatives.
HOSTILE = {
    "CSI (C1)": "\u009b",
    "right-to-left override": "\u202e",
    "ESC": "\x1b",
    "NUL": "\x00",
    "BEL": "\x07",
    "DEL": "\x7f",
    "NEL (C1)": "\x85",
    "OSC (C1)": "\x9d",
    "newline": "\n",
    "carriage return": "\r",
    "tab": "\t",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "byte-order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "Arabic letter mark": "\u061c",
    "first strong isolate": "\u2068",
    "tag letter A": "\U000e0041",
    "lone surrogate": "\udcff",
}


def _raw(text: str) -> list[str]:
    return [c for c in text if needs_escape(c)]


@pytest.mark.parametrize("char", HOSTILE.values(), ids=HOSTILE.keys())
def test_each_hostile_character_is_shown_in_the_one_visible_form(char: str) -> None:
    out = printable(f"a{char}b")
    assert out == f"a[U+{ord(char):04X}]b"
    assert out.isprintable()


def test_an_x_forwarded_for_as_the_attack_sent_it_is_escaped() -> None:
    assert printable("1.2.3.4\u009b31m\u202eevil") == "1.2.3.4[U+009B]31m[U+202E]evil"
    assert printable("fe80::1%\x1b]0;title\x07") == "fe80::1%[U+001B]]0;title[U+0007]"


def test_ordinary_text_is_untouched() -> None:
    for text in ("plain ASCII ~!", "Skanning klar: 3 kritiska", "日本語のタイトル ✓ 🙂", ""):
        assert printable(text) == text


def test_ascii_only_escapes_every_other_character_the_same_way() -> None:
    assert printable("ä\u202e x", ascii_only=True) == "[U+00E4][U+202E] x"


def test_bidi_controls_are_shown_in_the_same_form_everywhere() -> None:
    for code in BIDI_CONTROLS:
        assert show_bidi_controls(chr(code)) == printable(chr(code))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=60))
def test_printable_leaves_nothing_raw_and_keeps_every_other_character(text: str) -> None:
    out = printable(text)
    assert not _raw(out)
    assert "\n" not in out
    # Everything else is kept, and each escape is the code point in hex.
    shown = "".join(f"[U+{ord(c):04X}]" if needs_escape(c) else c for c in text)
    assert out == shown


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_ascii_only_output_is_printable_ascii(text: str) -> None:
    out = printable(text, ascii_only=True)
    assert out.isascii()
    assert out.isprintable()


def test_the_categories_cover_what_a_terminal_acts_on() -> None:
    assert {"Cc", "Cf", "Cs", "Zl", "Zp"} <= ESCAPED_CATEGORIES
    for code in range(0x80, 0xA0):
        assert needs_escape(chr(code)), hex(code)
    assert all(unicodedata.category(chr(c)) == "Cf" for c in BIDI_CONTROLS)


def test_json_text_escapes_and_round_trips_the_attack_characters() -> None:
    value = {"title": "a\u009b[31m\u202eevil", "fields": ["\x1b]0;x\x07", "\U000e0041\udcff"]}
    out = json_text(value, indent=2)
    assert not _raw(out.replace("\n", ""))
    assert "\\u009b" in out
    assert "\\u202e" in out
    assert "\\udb40\\udc41" in out  # a tag character as its surrogate pair
    assert json.loads(out) == value
    out.encode("utf-8")  # no lone surrogate left to fail on


def test_json_text_keeps_readable_text_readable() -> None:
    assert json_text({"t": "Skanning ✓"}) == '{"t": "Skanning ✓"}'


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.characters(codec=None)),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(alphabet=st.characters(codec=None), max_size=8), inner, max_size=4
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_JSON, st.sampled_from([None, 2]))
def test_json_text_decodes_to_the_same_value_and_holds_nothing_raw(
    value: object, indent: int | None
) -> None:
    out = json_text(value, indent=indent)
    assert json.loads(out) == value
    assert not _raw(out.replace("\n", ""))
