"""The event log in a PostgreSQL database that several relays share (``holmtray[postgres]``).

``connect`` opens connections and turns the driver's failures into the store's errors (never
with the password), ``schema`` creates and migrates the tables under an advisory lock (safe
from several relays starting at once), ``log`` appends batches with ids that become visible
in id order and reads them back, ``tokens`` keeps the read tokens all relays check, ``follow``
feeds one relay's subscribers with every relay's events, and ``backend`` puts them together as
the :class:`~holmtray.core.history.eventlog.LogBackend` that ``relay.store`` chooses. Every
module but this one imports psycopg 3.
"""
