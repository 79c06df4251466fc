"""Diagnostic for history.py: what `holmtray events --search TEXT` costs with the recommended
changes -- no aiohttp import on that path (cli.py imports it, and the listener, at the top) and
``Store.open(..., check=False)`` -- doing the same work: settings, open, query, print rows.

Run: HOLMTRAY_HOME=... python bench/_cli_min.py TEXT
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from holmtray.core.config import file as settings_file
from holmtray.core.config.paths import Paths
from holmtray.core.history.query import EventQuery
from holmtray.core.history.store import Store


def main() -> int:
    paths = Paths.default()
    settings = settings_file.load_or_create(paths.config_file)
    custom = settings.text("storage.data_dir")
    db = Path(custom).expanduser() / "events.db" if custom else paths.database
    store = Store.open(db, check=False)
    try:
        rows = store.query(EventQuery(search=sys.argv[1], limit=20))
    finally:
        store.close()
    for e in rows:
        when = e.received_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{' ' if e.read else '*'}{e.id:>7}  {when}  {e.event.severity.label:<8} "
            f"{e.event.kind.value:<14} {e.event.title}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
