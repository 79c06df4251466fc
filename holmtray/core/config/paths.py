"""Where holmtray keeps its files: config, data and logs.

By default the platform's folders (platformdirs); ``HOLMTRAY_HOME=DIR`` puts all three under
DIR, which is what tests and portable installs use. Paths are computed, never created here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "holmtray"
HOME_ENV = "HOLMTRAY_HOME"


@dataclass(frozen=True, slots=True)
class Paths:
    """The folders of one holmtray installation (one per user, or one per ``HOLMTRAY_HOME``)."""

    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "holmtray.toml"

    @property
    def database(self) -> Path:
        return self.data_dir / "events.db"

    @property
    def rejected_log(self) -> Path:
        return self.log_dir / "rejected.jsonl"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "holmtray.log"

    @classmethod
    def under(cls, home: Path) -> Paths:
        """All three folders below one directory."""
        home = home.expanduser().resolve()
        return cls(config_dir=home / "config", data_dir=home / "data", log_dir=home / "logs")

    @classmethod
    def default(cls, environ: dict[str, str] | None = None) -> Paths:
        """``HOLMTRAY_HOME`` when set (and not empty), else the platform's folders."""
        env = os.environ if environ is None else environ
        home = env.get(HOME_ENV, "").strip()
        if home:
            return cls.under(Path(home))
        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    def ensure(self) -> None:
        """Create the folders, private to the user."""
        for d in (self.config_dir, self.data_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
