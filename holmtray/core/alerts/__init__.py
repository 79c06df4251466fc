"""Stage 4 — alerts: which stored events notify and how they read.

The notification policy (``policy``), bursts and their summary wording (``bursts``),
missed-scan expectations (``expectations``), the notification texts (``notices``), and link
safety (``links``). Pure logic over events, settings and an injected clock.
"""
