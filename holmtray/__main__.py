"""Entry point for ``python -m holmtray``."""

from holmtray.cli import main

raise SystemExit(main())
