"""Small file helpers shared by the core: atomic, private writes.

A file written here is either the old one or the complete new one, never half of each, even
if the process dies mid-write; and it is readable by its owner only unless asked otherwise.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(
    path: Path, data: str | bytes, *, mode: int = 0o600, dir_mode: int = 0o700
) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` via a synced temporary file and a rename;
    a missing parent folder is created with ``dir_mode``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=dir_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
