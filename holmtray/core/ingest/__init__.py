"""Stage 1 — ingest: how events come in over HTTP, and how a relay hands them on.

The listener's contract and answers (``listener``), the connection guards (``connections``),
per-source limits (``ratelimit``), the rejected-request log (``rejected``), HTTPS (``tls``), the
endpoint and webhook URL (``endpoint``), the receiver lifecycle (``receiver``), the one test-send
helper (``sendtest``), and the relay protocol's framing (``sse``).
"""
