"""Stage 3 — history: the durable event log and the one path that writes to it.

The event log's interface (``eventlog``) and its backends (``backends`` chooses): this host's
SQLite file — opening, checking and recovering it (``database``), schema and migrations
(``schema``), the row codec (``codec``), the query and its filter rule (``query``), the
:class:`Store` (``store``), the relay's tables (``relaylog``, ``tokens``) and export to
CSV/JSON (``export``) — or a PostgreSQL database several relays share (``pg``). Shared by
both: deduplication (``dedupe``), the group-commit writer (``writer``) and its health
(``health``), the read threads (``readpool``), the relay's fan-out hub (``hub``), and which
database holds the active source's events (``places``). No module
outside this package opens the database for writing.
"""
