"""The parser's fast path for already-normalised objects gives what the general path gives.

Holm's own objects have keys that are their own normalised form (``name``, ``cve_id``,
``critical_cnt``); ``_nd`` copies such an object instead of normalising key by key. With the
fast path switched off (no key is known to be its own form) every payload must parse into
the same event: the samples, Holm-shaped objects, and any object at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holmtray.core.events import Event
from holmtray.core.parsing import parser
from holmtray.core.parsing.decode import decode_body
from holmtray.core.parsing.parser import parse_event
from tests.core.parsing.test_parser import _JSON, _OBJECTS

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


class _NoSelfKeys(set[str]):
    """A ``_SELF_KEYS`` that never learns a key: every object takes the general path."""

    def add(self, key: str) -> None:
        return None


def _general(payload: dict[str, Any]) -> Event:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(parser, "_SELF_KEYS", _NoSelfKeys())
        return parse_event(payload)


def _same_event(payload: dict[str, Any]) -> None:
    parse_event(payload)  # the keys it holds are known from now on
    fast = parse_event(payload)
    general = _general(payload)
    assert fast == general
    assert fast.fields_json() == general.fields_json()
    assert fast.payload is general.payload is payload


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_every_sample_parses_the_same_on_both_paths(name: str) -> None:
    _same_event(decode_body((SAMPLES / name).read_bytes()))


def test_holm_objects_take_the_fast_path() -> None:
    payload = decode_body((SAMPLES / "ticket_opened_nested.json").read_bytes())
    parse_event(payload)
    assert payload["ticket"]["asset"].keys() <= parser._SELF_KEYS


# Keys Holm sends (their own normalised form), a few that are not, the empty key, and keys
# that normalise to the same one ("name"/"Name", "cve_id"/"CVE ID").
_HOLM_KEYS = st.sampled_from(
    [
        "name",
        "type",
        "status",
        "started",
        "finished",
        "duration",
        "critical_cnt",
        "high_cnt",
        "medium_cnt",
        "low_cnt",
        "errors",
        "link",
        "number",
        "severity",
        "due_date",
        "teams",
        "url",
        "asset",
        "hostname",
        "ipv4",
        "ipv6",
        "os",
        "tags",
        "vulnerability",
        "summary",
        "solution",
        "cvss3",
        "cvss2",
        "cve_id",
        "hid",
        "run",
        "asset_name",
        "counts",
        "title",
        "Name",
        "CVE ID",
        "cveId",
        "",
        "  name",
        "name_",
        "ticket_number",
    ]
)
_HOLM_OBJECT = st.recursive(
    st.dictionaries(_HOLM_KEYS, _JSON, max_size=12),
    lambda inner: st.dictionaries(_HOLM_KEYS, _JSON | inner, max_size=12),
    max_leaves=6,
)
_HOLM_PAYLOADS = st.builds(
    lambda kind, body, extra: {kind: body, **extra},
    st.sampled_from(["finished_scan", "scheduled_scan", "ticket", "Ticket", "custom"]),
    _HOLM_OBJECT,
    st.dictionaries(_HOLM_KEYS, _HOLM_OBJECT | _JSON, max_size=3),
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_HOLM_PAYLOADS)
def test_holm_shaped_objects_parse_the_same_on_both_paths(payload: dict[str, Any]) -> None:
    _same_event(payload)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OBJECTS)
def test_any_object_parses_the_same_on_both_paths(payload: dict[str, Any]) -> None:
    _same_event(payload)


def _clean_title_general(text: str, limit: int = parser.TITLE_MAX) -> str:
    """``_clean_title`` as it was before its printable-ASCII shortcut: always translated."""
    text = text.strip()[: limit * 8]
    text = " ".join(text.translate(parser._TITLE_TABLE).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    return text


def test_the_title_table_maps_no_printable_ascii() -> None:
    # What the shortcut relies on: translating printable ASCII changes nothing.
    assert not any(0x20 <= code <= 0x7E for code in parser._TITLE_TABLE)


@given(
    st.text(
        st.characters(codec="utf-8")
        | st.sampled_from(["\t", "\n", "\x1c", "\x7f", "\x85", "\u202e", "\ud800", " "]),
        max_size=80,
    ),
    st.integers(min_value=1, max_value=300),
)
def test_clean_title_is_the_general_cleaning(text: str, limit: int) -> None:
    assert parser._clean_title(text, limit) == _clean_title_general(text, limit)


@pytest.mark.parametrize(
    "text",
    ["Ticket 12 opened: OpenSSH < 9.6", "  a \t b\n c ", "x\x00y", "x\x7fy", "\x1c", "caf\u00e9"],
)
def test_clean_title_on_chosen_texts(text: str) -> None:
    assert parser._clean_title(text) == _clean_title_general(text)
    assert parser._clean_title(text, 5) == _clean_title_general(text, 5)
