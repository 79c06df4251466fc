"""Which relay this computer mirrors, and in which file: ``subscription.json`` and the names.

A subscriber keeps one mirror database per relay history, ``relay-<first 8 of relay id>.db``
in the data folder. ``subscription.json`` beside it names the active one
(``{"url": …, "relay_id": …, "database": "relay-xxxxxxxx.db"}``), so that ``holmtray events``
and the event window read the mirror the tray is filling. The file is written atomically; a
missing, unreadable or hand-broken one reads as "not subscribed yet", and a ``database`` entry
that is not a mirror name of this form is refused (it would otherwise name any file).

No HTTP here: the command line imports this to find the database without loading aiohttp.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from holmtray.core.fileio import write_atomically

SUBSCRIPTION_FILE = "subscription.json"
_MIRROR_NAME = re.compile(r"^relay-[0-9a-f]{8}\.db$")


def mirror_name(relay_id: str) -> str:
    """``relay-<8 hex>.db`` for a relay id (a UUID: :class:`ValueError` otherwise)."""
    return f"relay-{uuid.UUID(relay_id).hex[:8]}.db"


@dataclass(frozen=True, slots=True)
class Subscription:
    """The relay being mirrored: its address, its history's id, and the mirror's file name."""

    url: str
    relay_id: str
    database: str

    def path(self, data_dir: Path) -> Path:
        return data_dir / self.database


def read_subscription(data_dir: Path) -> Subscription | None:
    """The recorded subscription, or ``None`` when there is none (or it is not usable)."""
    try:
        data = json.loads((data_dir / SUBSCRIPTION_FILE).read_text(encoding="utf-8"))
        sub = Subscription(
            url=str(data["url"]), relay_id=str(data["relay_id"]), database=str(data["database"])
        )
        uuid.UUID(sub.relay_id)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _MIRROR_NAME.match(sub.database):
        return None
    return sub


def write_subscription(data_dir: Path, sub: Subscription) -> None:
    payload = {"url": sub.url, "relay_id": sub.relay_id, "database": sub.database}
    write_atomically(data_dir / SUBSCRIPTION_FILE, json.dumps(payload, indent=2) + "\n")
