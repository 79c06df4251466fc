"""The one test-send helper: where it posts, what it shows, which credentials it sends."""

from __future__ import annotations

import json
from pathlib import Path

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.history.query import EventQuery
from holmtray.core.history.store import Store
from holmtray.core.ingest.endpoint import Endpoint
from holmtray.core.ingest.receiver import Receiver
from holmtray.core.ingest.sendtest import SampleTarget, send_sample

TOKEN = "S" * 43


def test_a_given_url_is_shown_without_its_token_or_credentials() -> None:
    t = SampleTarget.given_url(f"https://bob:hunter2@hooks.example.org:8443/hooks/{TOKEN}")
    assert t.url.endswith(TOKEN)
    assert t.shown == "https://hooks.example.org:8443/hooks/<token>"
    assert t.verify is True


def test_a_given_url_without_a_hook_path_is_shown_as_typed() -> None:
    assert SampleTarget.given_url("http://127.0.0.1:9/x").shown == "http://127.0.0.1:9/x"


def test_own_listener_uses_a_local_address_the_token_and_the_credentials() -> None:
    settings = Settings(
        {"listener.token": TOKEN, "listener.username": "holm", "listener.password": "pw"}
    )
    t = SampleTarget.own_listener(Endpoint("0.0.0.0", 8747, "https"), settings)
    assert t.url == f"https://127.0.0.1:8747/hooks/{TOKEN}"
    assert t.shown == "https://127.0.0.1:8747/hooks/<token>"
    assert (t.username, t.password, t.verify) == ("holm", "pw", False)


async def test_send_sample_is_stored_by_a_real_listener_with_basic_auth(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path)
    settings = Settings(
        {
            "listener.token": TOKEN,
            "listener.port": 0,
            "listener.username": "holm",
            "listener.password": "pw",
        }
    )
    receiver = Receiver(settings=settings, paths=paths)
    ep = await receiver.start()
    try:
        status, text = await send_sample(SampleTarget.own_listener(ep, settings), "ticket")
        wrong = SampleTarget.own_listener(ep, settings.with_values({"listener.password": "no"}))
        assert (await send_sample(wrong, "ticket"))[0] == 401
    finally:
        await receiver.stop()
    assert status == 200
    event_id = json.loads(text)["id"]
    with Store.open(paths.database) as store:
        rows = store.query(EventQuery())
    assert [r.id for r in rows] == [event_id]
    assert rows[0].event.kind.value == "ticket"
