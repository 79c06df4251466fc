"""Stage 3 — history: the durable SQLite store and the one path that writes to it.

Opening, checking and recovering the file (``database``), schema and migrations (``schema``),
the row codec (``codec``), the query and its filter rule (``query``), the :class:`Store`
(``store``), the group-commit writer (``writer``) and its health (``health``), the relay's
tables (``relaylog``, ``tokens``) and export to CSV/JSON (``export``). No module outside this
package opens the database for writing.
"""
