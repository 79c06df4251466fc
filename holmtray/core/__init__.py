"""The Qt-free core, one package per stage of a webhook's route.

``ingest`` (webhooks in over HTTP) -> ``parsing`` (bytes -> Event) -> ``history`` (durable
store, one writer) -> ``relay`` (the stored events out to subscribers) -> ``subscribe`` (a tray
app's mirror of a relay) -> ``alerts`` (what notifies, and how it reads); ``config`` holds the
settings.
Shared leaves sit here: ``events`` (the model), ``clock``, ``fileio`` (atomic writes),
``logsetup``, ``netfilter`` (address sets) and ``text`` (bidi controls, plurals).

Nothing in this package may import Qt; ``tests/core/test_no_qt.py`` proves it.
"""
