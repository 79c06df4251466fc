"""Stage 5 — subscribe: a tray app's local mirror of a relay, complete across sleep and restarts.

The mirroring client (``client``: :class:`RelayClient`; which relay it mirrors in which file
is recorded through ``history.places``); one HTTP conversation with a relay (``relayconn``)
and its messages, checked and typed (``relaymsg``); the order rules of a stream (``order``);
the connection states the tray shows (``source``) and when they change (``state``); when to
try again (``backoff``, with the sleep detector); and ``holmtray subscribe``, the JSON-lines
pipe (``pipe``).
"""
