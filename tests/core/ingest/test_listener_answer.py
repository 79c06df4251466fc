"""The answer to a stored event, built directly, is ``web.json_response``'s to the byte."""

from __future__ import annotations

from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from holmtray.core.history.store import InsertResult
from holmtray.core.ingest.listener import _stored_answer


@given(st.integers(min_value=0, max_value=2**63 - 1), st.booleans())
def test_the_stored_answer_is_json_responses(event_id: int, duplicate: bool) -> None:
    general: dict[str, object] = {"id": event_id}
    if duplicate:
        general["duplicate"] = True
    expected = web.json_response(general)
    got = _stored_answer(InsertResult(id=event_id, duplicate=duplicate, stored=None))
    assert got.body == expected.body
    assert got.status == expected.status == 200
    assert dict(got.headers) == dict(expected.headers)
    assert got.content_type == expected.content_type
    assert got.charset == expected.charset
