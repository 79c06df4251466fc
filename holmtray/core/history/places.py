"""Which database holds the active source's events: the listener's own, or a relay's mirror.

The embedded listener (and ``holmtray serve``) write ``events.db`` in the data folder, or the
PostgreSQL database ``relay.store`` names (:func:`log_backend`). In ``relay`` mode the tray
mirrors a relay instead (:func:`database_path` follows the mode).

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

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings
from holmtray.core.fileio import write_atomically
from holmtray.core.history.backends import backend_for
from holmtray.core.history.eventlog import LogBackend

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


def data_folder(settings: Settings, paths: Paths) -> Path:
    """Where the databases live: ``storage.data_dir`` when set, else the default data folder."""
    custom = settings.text("storage.data_dir")
    return Path(custom).expanduser() if custom else paths.data_dir


def direct_database_path(settings: Settings, paths: Paths) -> Path:
    """The embedded listener's own database (``events.db``), whichever source is active."""
    custom = settings.text("storage.data_dir")
    return Path(custom).expanduser() / "events.db" if custom else paths.database


def log_backend(settings: Settings, paths: Paths) -> LogBackend:
    """The event log ``holmtray serve`` writes: ``relay.store``'s PostgreSQL database, or by
    default this host's SQLite file. ``StoreError`` without PostgreSQL support."""
    return backend_for(
        settings.text("relay.store"), sqlite_path=direct_database_path(settings, paths)
    )


class NotSubscribed(Exception):
    """``source.mode`` is ``relay`` but no relay has been mirrored yet: no database to read."""


def database_path(settings: Settings, paths: Paths) -> Path:
    """The active source's event database: the listener's own in ``direct`` mode, the mirror
    ``subscription.json`` names in ``relay`` mode (:class:`NotSubscribed` before there is one)."""
    if settings.text("source.mode") != "relay":
        return direct_database_path(settings, paths)
    folder = data_folder(settings, paths)
    sub = read_subscription(folder)
    if sub is None:
        raise NotSubscribed("not subscribed to a relay yet")
    return sub.path(folder)
