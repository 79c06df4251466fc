"""The Qt-free core: event model, parser, store, listener, settings and policies.

Nothing in this package may import Qt; ``tests/core/test_no_qt.py`` proves it.
"""
