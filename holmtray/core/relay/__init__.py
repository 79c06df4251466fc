"""Stage 4 — relay: the stored events handed on to subscribing tray apps (``serve --relay``).

``/v1/stream`` (Server-Sent Events), ``/v1/events`` and ``/v1/status`` mounted on the listener
(``server``); who may read — read tokens in the ``Authorization`` header only (``auth``); the
frames and pages it sends, rendered without aiohttp (``pages``); and the ``text/event-stream``
framing both ends share (``sse``). The events come from the history stage's fan-out hub; a
relay never counts against the webhook's limits.
"""
