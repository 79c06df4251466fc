"""The receiver's lifecycle: rebinding on new settings, refusing a taken port, stopping."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.ingest.receiver import (
    Endpoint,
    ListenerError,
    Receiver,
    history_writer,
    read_runtime,
)

TOKEN = "R" * 43


async def _status(base: str) -> int | None:
    try:
        async with (
            aiohttp.ClientSession() as s,
            s.post(f"{base}/hooks/{TOKEN}", json={"subject": "ping"}) as r,
        ):
            return r.status
    except aiohttp.ClientConnectionError:
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_new_port_rebinds_and_the_old_one_is_released(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path)
    settings = Settings({"listener.token": TOKEN, "listener.port": 0})
    receiver = Receiver(settings=settings, paths=paths)
    old = await receiver.start()
    try:
        new_port = _free_port()
        await receiver.apply_settings(settings.with_values({"listener.port": new_port}))
        assert receiver.endpoint.port == new_port
        assert await _status(receiver.endpoint.local_url()) == 200
        assert await _status(old.local_url()) is None  # nobody listens there any more
        running = read_runtime(paths)
        assert running is not None
        assert running[0].port == new_port
    finally:
        await receiver.stop()
    assert read_runtime(paths) is None


async def test_a_taken_port_is_refused_and_the_old_listener_keeps_running(
    tmp_path: Path,
) -> None:
    settings = Settings({"listener.token": TOKEN, "listener.port": 0})
    receiver = Receiver(settings=settings, paths=Paths.under(tmp_path))
    old = await receiver.start()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    taken = blocker.getsockname()[1]
    try:
        with pytest.raises(ListenerError, match=f"port {taken} on 127.0.0.1 is already in use"):
            await receiver.apply_settings(settings.with_values({"listener.port": taken}))
        assert receiver.endpoint == old
        assert await _status(old.local_url()) == 200
    finally:
        blocker.close()
        await receiver.stop()


async def test_start_on_a_taken_port_names_the_port(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        receiver = Receiver(
            settings=Settings({"listener.token": TOKEN, "listener.port": port}),
            paths=Paths.under(tmp_path),
        )
        with pytest.raises(ListenerError, match=f"port {port}"):
            await receiver.start()


def test_webhook_url_carries_percent_encoded_credentials_and_brackets_ipv6() -> None:
    ep = Endpoint(host="::1", port=8747)
    assert ep.webhook_url("tok", username="holm", password="p@ss:wörd") == (
        "http://holm:p%40ss%3Aw%C3%B6rd@[::1]:8747/hooks/tok"
    )
    assert ep.masked_url() == "http://[::1]:8747/hooks/<token>"
    assert Endpoint(host="0.0.0.0", port=1).local_url() == "http://127.0.0.1:1"


async def test_a_writer_handed_in_is_used_and_left_running_when_the_listener_stops_or_fails(
    tmp_path: Path,
) -> None:
    paths = Paths.under(tmp_path)
    settings = Settings({"listener.token": TOKEN, "listener.port": 0})
    writer = history_writer(settings=lambda: settings, paths=paths)
    await writer.start()
    try:
        receiver = Receiver(settings=settings, paths=paths, writer=writer)
        endpoint = await receiver.start()
        assert receiver.writer is writer
        assert await _status(endpoint.local_url()) == 200
        await receiver.stop()
        assert await writer.set_read([1]) == 1  # still open: the caller closes it

        with socket.socket() as blocker:
            blocker.bind(("127.0.0.1", 0))
            blocker.listen()
            port = blocker.getsockname()[1]
            taken = Receiver(
                settings=settings.with_values({"listener.port": port}), paths=paths, writer=writer
            )
            with pytest.raises(ListenerError, match=f"port {port}"):
                await taken.start()
        assert await writer.set_read([1], False) == 1
        assert [op.name for op in writer.operations if op.name != "retention"] == [
            "insert",
            "set_read",
            "set_read",
        ]
    finally:
        await writer.close()
