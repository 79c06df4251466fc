"""The test event (welcome dialog, empty event window) reports its result in words, never as
the raw JSON answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.ui.app import TrayApp
from holmtray.ui.setup_flow import answer_words as describe_test_answer

Run = Callable[[Coroutine[Any, Any, None]], None]


@pytest.mark.parametrize(
    ("status", "text", "ok", "words"),
    [
        (
            200,
            '{"id": 12}',
            True,
            "Test event stored as #12. A notification should appear.",
        ),
        (
            200,
            '{"id": 12, "duplicate": true}',
            True,
            "The test event was already stored as #12; it was not stored again.",
        ),
        (200, "not json", True, "Test event stored. A notification should appear."),
        (
            401,
            '{"error": "unauthorized"}',
            False,
            "The listener refused the test event: the user name or password is wrong.",
        ),
        (
            404,
            '{"error": "not found"}',
            False,
            "The listener did not recognise the webhook URL (has the token changed?).",
        ),
        (
            503,
            '{"error": "cannot store the event: the disk is full"}',
            False,
            "The listener could not store the test event: "
            "cannot store the event: the disk is full.",
        ),
        (
            429,
            '{"error": "too many requests"}',
            False,
            "The listener answered the test event with HTTP 429: too many requests.",
        ),
        (500, "", False, "The listener answered the test event with HTTP 500: no details."),
    ],
)
def test_answers_are_put_in_words(status: int, text: str, ok: bool, words: str) -> None:
    assert describe_test_answer(status, text) == (ok, words)
    assert "{" not in describe_test_answer(status, text)[1]


def test_the_test_event_round_trip_reads_as_a_sentence(tmp_path: Path, run: Run) -> None:
    settings = Settings(
        {
            "listener.token": "T0ken-for-welcome-result-0123456789abcd",
            "listener.port": 0,
            "ui.welcome_shown": True,
        }
    )
    app = TrayApp(
        settings=settings, paths=Paths.under(tmp_path / "home"), quit_event=asyncio.Event()
    )
    result: list[tuple[bool, str]] = []

    async def go() -> None:
        await app.start()
        result.append(await app.setup.post_test())

    try:
        run(go())
    finally:
        app.shutdown()
    assert result == [(True, "Test event stored as #1. A notification should appear.")]
