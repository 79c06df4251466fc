"""The log's secrets follow the settings: a token changed in Settings is masked from then on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

from holmtray.core import logsetup
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.ui.app import TrayApp

Run = Callable[[Coroutine[Any, Any, None]], None]
OLD = "Old-token-for-the-secrets-test-0123456789ab"
NEW = "New-token-for-the-secrets-test-0123456789ab"


def test_a_changed_token_is_masked_in_the_log_before_it_can_appear(
    tmp_path: Path, run: Run
) -> None:
    formatter = logsetup.RedactingFormatter("%(message)s")
    told: list[list[str]] = []

    def redact(secrets: Iterable[str]) -> None:
        told.append(list(secrets))
        formatter.set_secrets(secrets)

    settings = Settings({"listener.token": OLD, "listener.port": 0, "ui.welcome_shown": True})
    app = TrayApp(
        settings=settings,
        paths=Paths.under(tmp_path / "home"),
        quit_event=asyncio.Event(),
        redact=redact,
    )

    async def go() -> None:
        await app.start()
        assert await app.put_into_effect(settings.with_values({"listener.token": NEW})) is None

    try:
        run(go())
    finally:
        app.shutdown()
    assert told
    assert NEW in told[-1]
    record = logging.LogRecord("t", logging.INFO, __file__, 1, f"url /hooks/{NEW}", None, None)
    assert NEW not in formatter.format(record)
