"""Stage 2 — parsing: a body's bytes to a JSON object (the 400 contract), and any JSON object
to an :class:`~holmtray.core.events.Event` (never raises); the chat-card shapes custom payloads
reuse (``cards``); realistic sample bodies."""
