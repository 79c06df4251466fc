"""Stage 1 — ingest: how webhooks come in over HTTP.

The listener's contract and answers (``listener``), the checks made on the request line and
headers before any of the body is read (``admission``, ``connections``, ``ratelimit``), the
bodies' memory budget and off-loop decoding (``bodies``), the rejected-request log
(``rejected``), HTTPS (``tls``), the endpoint and webhook URL (``endpoint``), the receiver
lifecycle (``receiver``) and the one test-send helper (``sendtest``). The relay's ``/v1/`` is
mounted on the same listener (stage ``relay``).
"""
