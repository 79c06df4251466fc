"""holmtray: desktop tray alerts and a durable history for Holm Security webhooks."""

__version__ = "0.1.0"
