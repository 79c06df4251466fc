"""``Event.fields_json`` (the store's direct serializer) against ``dumps_compact(fields_dict())``.

The store writes ``fields_json()``; rows written before it and every reader assume the general
encoder's text. The two must give the same text for every event: the parsed samples and
events built from every kind of field value hypothesis can make.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import holmtray.core.events as events_module
from holmtray.core.events import (
    Asset,
    Counts,
    Event,
    Kind,
    Severity,
    TicketInfo,
    Vulnerability,
    dumps_compact,
)
from holmtray.core.parsing.decode import decode_body
from holmtray.core.parsing.parser import parse_event

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"

# Every character class the encoder treats differently: quotes, backslashes, controls,
# non-ASCII, lone surrogates (which the JSON escapes in a payload can produce).
_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from('"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u202e\ud800\udfff€é'),
        st.characters(codec=None),
        st.sampled_from(string.printable),
    ),
    max_size=30,
)
_OPT_TEXT = st.none() | _TEXT
_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
_WHEN = st.none() | st.datetimes(
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), None])
)


@dataclass(frozen=True, slots=True)
class _SubEvent(Event):
    """A subclass: ``fields_json`` must take the general path for it."""

    extra: str = "x"


def _events() -> st.SearchStrategy[Event]:
    return st.builds(
        Event,
        kind=st.sampled_from(Kind),
        title=_TEXT,
        severity=st.sampled_from(Severity),
        attention=st.booleans(),
        counts=st.none() | st.builds(Counts, *[st.integers(-(2**70), 2**70)] * 4),
        scan_name=_OPT_TEXT,
        scan_type=_OPT_TEXT,
        scan_status=_OPT_TEXT,
        errors=st.lists(_TEXT, max_size=3).map(tuple),
        started=_WHEN,
        finished=_WHEN,
        starts_at=_WHEN,
        due=_WHEN,
        duration=st.none() | st.timedeltas(),
        link=_OPT_TEXT,
        asset=st.builds(Asset, _OPT_TEXT, _OPT_TEXT, _OPT_TEXT, _OPT_TEXT, _OPT_TEXT),
        vulnerability=st.builds(
            Vulnerability, _OPT_TEXT, _OPT_TEXT, st.none() | _FLOAT, _OPT_TEXT, _OPT_TEXT
        ),
        ticket=st.builds(TicketInfo, _OPT_TEXT, _OPT_TEXT),
    )


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_fields_json_is_the_general_encoding_on_every_sample(name: str) -> None:
    event = parse_event(decode_body((SAMPLES / name).read_bytes()))
    assert event.fields_json() == dumps_compact(event.fields_dict())


@settings(max_examples=400, deadline=None)
@given(_events())
def test_fields_json_is_the_general_encoding_on_any_event(event: Event) -> None:
    assert event.fields_json() == dumps_compact(event.fields_dict())


@settings(max_examples=50, deadline=None)
@given(_events())
def test_a_subclass_takes_the_general_path(event: Event) -> None:
    from dataclasses import asdict, fields  # noqa: PLC0415

    values = {f.name: getattr(event, f.name) for f in fields(Event)}
    sub = _SubEvent(**values, extra='"sub"')
    assert sub.fields_json() == dumps_compact(sub.fields_dict())
    assert '"extra":"\\"sub\\""' in sub.fields_json()
    assert asdict(sub)  # a plain dataclass still


def test_the_direct_path_is_taken_for_plain_events(monkeypatch: pytest.MonkeyPatch) -> None:
    # Else the tests above would compare the general encoder with itself.
    def general(obj: object) -> str:
        raise AssertionError("fields_json took the general path")

    event = parse_event(decode_body((SAMPLES / "ticket_opened_nested.json").read_bytes()))
    expected = dumps_compact(event.fields_dict())
    monkeypatch.setattr(events_module, "dumps_compact", general)
    assert event.fields_json() == expected
