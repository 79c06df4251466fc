"""Choosing the event log's backend from ``relay.store``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from holmtray.core.history.backends import SqliteBackend, backend_for
from holmtray.core.history.database import StoreError


def test_empty_is_this_hosts_sqlite_file(tmp_path: Path) -> None:
    backend = backend_for("", sqlite_path=tmp_path / "events.db")
    assert isinstance(backend, SqliteBackend)
    assert backend.path == tmp_path / "events.db"
    assert not backend.shared
    with backend.token_table() as tokens:
        tokens.add("alice")
    store = backend.open()
    try:
        assert store.is_current()
    finally:
        store.close()


def test_without_psycopg_a_postgresql_store_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(sys.modules):
        if name == "psycopg" or name.startswith(("psycopg.", "holmtray.core.history.pg.")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg", None)  # an import of it fails
    with pytest.raises(StoreError, match=r"pip install 'holmtray\[postgres\]'") as info:
        backend_for("postgresql://holm:pw-x1@db/holm", sqlite_path=tmp_path / "x.db")
    assert "pw-x1" not in str(info.value)
