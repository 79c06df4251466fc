"""A RelayClient in a process of its own, for tests that kill it.

``python -m tests.e2e.subscriber_proc URL DATA_DIR [BATCH]`` (the read token in
``HOLMTRAY_RELAY_TOKEN``; BATCH: events per transaction at most) mirrors the relay into
DATA_DIR until it is killed, printing one line per state change (``state live``...) and per
stored batch (``stored FIRST LAST backfill|live``), flushed at once.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from holmtray.core.config.settings import Settings
from holmtray.core.events import StoredEvent
from holmtray.core.subscribe.client import RelayClient
from holmtray.core.subscribe.source import RelayState


def _state(state: RelayState) -> None:
    print(f"state {state.kind.value}", flush=True)


def _events(events: list[StoredEvent], backfill: bool) -> None:
    print(f"stored {events[0].id} {events[-1].id} {'backfill' if backfill else 'live'}", flush=True)


async def main(url: str, data_dir: Path, batch_size: int) -> None:
    settings = Settings(
        {
            "source.mode": "relay",
            "subscribe.urls": [url],
            "subscribe.token": os.environ["HOLMTRAY_RELAY_TOKEN"],
        }
    )
    client = RelayClient(
        settings=settings,
        data_dir=data_dir,
        on_state=_state,
        on_events=_events,
        batch_size=batch_size,
    )
    await client.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]) if sys.argv[3:] else 500))
