"""The listener's answer to a test event, in words rather than JSON."""

from __future__ import annotations

from holmtray.ui.setup_flow import answer_words as words


def test_a_stored_test_event_is_a_sentence_with_its_number() -> None:
    assert words(200, '{"id": 12}') == (
        True,
        "Test event stored as #12. A notification should appear.",
    )
    ok, text = words(200, '{"id": 12, "duplicate": true}')
    assert ok
    assert "had been received before" in text
    assert "{" not in text


def test_a_refusal_names_the_status_and_the_listeners_reason() -> None:
    ok, text = words(503, '{"error": "cannot store events: the disk is full"}')
    assert not ok
    assert text == (
        "The listener refused the test event (HTTP 503: cannot store events: the disk is full)."
    )
    assert words(404, "<html>nope</html>") == (
        False,
        "The listener refused the test event (HTTP 404).",
    )
