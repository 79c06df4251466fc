"""The Qt-free core, one package per stage of a webhook's route.

``ingest`` (HTTP in, relay out) -> ``parsing`` (bytes -> Event) -> ``history`` (durable store,
one writer) -> ``alerts`` (what notifies, and how it reads); ``config`` holds the settings.
Shared leaves sit here: ``events`` (the model), ``clock``, ``fileio`` (atomic writes),
``logsetup``, ``netfilter`` (address sets) and ``text`` (bidi controls, plurals).

Nothing in this package may import Qt; ``tests/core/test_no_qt.py`` proves it.
"""
