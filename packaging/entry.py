"""PyInstaller's entry script: the frozen ``holmtray`` executable runs the normal command line."""

from holmtray.cli import main

raise SystemExit(main())
