"""The tray app with a short *Offline* delay, for desktop tests that cannot wait two minutes.

``python -m tests.e2e.tray_quick_offline tray --verbose``: ``holmtray`` itself, except that a
relay subscription without a stream turns from *Reconnecting* into *Offline* after
``HOLMTRAY_TEST_OFFLINE_AFTER_S`` seconds (default 6) instead of two minutes.
"""

from __future__ import annotations

import os
import sys

from holmtray.cli import main
from holmtray.ui.receiver_thread import ReceiverThread

ReceiverThread.OFFLINE_AFTER_S = float(os.environ.get("HOLMTRAY_TEST_OFFLINE_AFTER_S", "6"))

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
