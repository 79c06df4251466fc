"""Schema v3: the relay id, the relay's reading of the log, the mirror and its cursor, and the
read tokens — on real SQLite files."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from holmtray.core.history.query import EventQuery
from holmtray.core.history.relaylog import Replicated
from holmtray.core.history.schema import SCHEMA_VERSION
from holmtray.core.history.store import Store
from holmtray.core.history.tokens import TokenError, find, looks_like_read_token, token_hash
from tests.core.history.test_store import T0, build_v1, new


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


def replicated(i: int) -> Replicated:
    n = new(i)
    return Replicated(id=i, received_at=T0 + timedelta(seconds=i), body=n.body, event=n.event)


# ---- relay side ------------------------------------------------------------------------------


def test_relay_id_is_a_uuid_made_once_and_kept_across_opens(db: Path) -> None:
    with Store.open(db) as s:
        first = s.log.relay_id()
    uuid.UUID(first)  # raises if it is not one
    with Store.open(db, readonly=True) as s:
        assert s.log.relay_id() == first
    other = db.with_name("other.db")
    with Store.open(other) as s:
        assert s.log.relay_id() != first  # a new history is a new relay


def test_a_v1_database_migrates_to_v3_with_a_relay_id_and_its_events_kept(db: Path) -> None:
    build_v1(db, 5)
    with Store.open(db) as s:
        uuid.UUID(s.log.relay_id())
        assert s.log.bounds() == (1, 5)
        assert [e.id for e in s.log.entries_after(0, 10)] == [1, 2, 3, 4, 5]
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    con.close()


def test_bounds_and_entries_after_follow_inserts_and_deletion(db: Path) -> None:
    with Store.open(db) as s:
        assert s.log.bounds() == (None, 0)
        results = s.insert_many([new(i) for i in range(10)])
        ids = [r.id for r in results]
        assert s.log.bounds() == (ids[0], ids[-1])
        page = s.log.entries_after(ids[2], 4)
        assert [e.id for e in page] == ids[3:7]
        assert [e.body for e in page] == [new(i).body for i in range(3, 7)]
        assert page[0].received_at == results[3].stored.received_at  # type: ignore[union-attr]
        s.delete(ids[:4])  # as retention would
        assert s.log.bounds() == (ids[4], ids[-1])
        s.delete(ids[4:])
        # Empty, but the last id ever given stays: a subscriber past it is not "ahead".
        assert s.log.bounds() == (None, ids[-1])
        assert s.log.entries_after(0, 100) == []


# ---- mirror side -----------------------------------------------------------------------------


def test_mirror_keeps_the_relays_ids_and_moves_the_cursor(db: Path) -> None:
    with Store.open(db) as s:
        assert s.mirror.cursor("R") == 0
        stored = s.mirror.store("R", [replicated(i) for i in (3, 5, 9)])
        assert [e.id for e in stored] == [3, 5, 9]
        assert s.mirror.cursor("R") == 9
        assert s.mirror.cursor("other") == 0
        assert [e.id for e in s.query(EventQuery(limit=None, oldest_first=True))] == [3, 5, 9]
        assert [e.body for e in stored] == [replicated(i).body for i in (3, 5, 9)]


def test_redelivered_and_deleted_events_do_not_come_back(db: Path) -> None:
    with Store.open(db) as s:
        s.mirror.store("R", [replicated(i) for i in range(1, 6)])
        s.delete([2, 4])  # the analyst deleted two
        # A resume repeats what was already stored (a crash between commit and answer).
        again = s.mirror.store("R", [replicated(i) for i in range(1, 8)])
        assert [e.id for e in again] == [6, 7]
        ids = s.query_ids(EventQuery(limit=None, oldest_first=True))
        assert ids == [1, 3, 5, 6, 7]
        assert s.mirror.cursor("R") == 7  # not MAX(id) semantics: 2 and 4 stay deleted


def test_the_cursor_never_moves_back(db: Path) -> None:
    with Store.open(db) as s:
        s.mirror.store("R", [replicated(10)])
        assert s.mirror.store("R", [replicated(4)]) == []
        assert s.mirror.cursor("R") == 10


def test_rows_and_cursor_commit_together_or_not_at_all(db: Path) -> None:
    with Store.open(db) as s:
        s.mirror.store("R", [replicated(1)])
    # A trigger that fails the insert of id 3 makes the whole transaction roll back.
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON events WHEN new.id = 3"
        " BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    con.commit()
    con.close()
    with Store.open(db) as s:
        with pytest.raises(sqlite3.IntegrityError):
            s.mirror.store("R", [replicated(2), replicated(3)])
        assert s.mirror.cursor("R") == 1
        assert s.query_ids(EventQuery(limit=None)) == [1]


# ---- read tokens -----------------------------------------------------------------------------


def test_tokens_are_shown_once_and_stored_as_hashes_only(db: Path) -> None:
    with Store.open(db) as s:
        v0 = s.tokens.version()
        token = s.tokens.add("alice")
        assert looks_like_read_token(token)
        assert s.tokens.version() > v0
        assert [t.name for t in s.tokens.list()] == ["alice"]
        assert s.tokens.hashes() == {token_hash(token): "alice"}
        assert find(s.tokens.hashes(), token) == "alice"
        assert find(s.tokens.hashes(), token + "x") is None
    raw = db.read_bytes() + (Path(f"{db}-wal").read_bytes() if Path(f"{db}-wal").exists() else b"")
    assert token.encode() not in raw


def test_revoking_removes_the_token_and_bumps_the_version(db: Path) -> None:
    with Store.open(db) as s:
        token = s.tokens.add("bob")
        v = s.tokens.version()
        assert s.tokens.revoke("bob") is True
        assert s.tokens.version() > v
        assert find(s.tokens.hashes(), token) is None
        assert s.tokens.revoke("bob") is False


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 65, "ünï", "a/b"])
def test_bad_token_names_are_refused_with_the_rule(db: Path, name: str) -> None:
    with Store.open(db) as s, pytest.raises(TokenError, match="letters, digits"):
        s.tokens.add(name)


def test_a_taken_name_is_refused(db: Path) -> None:
    with Store.open(db) as s:
        s.tokens.add("carol")
        with pytest.raises(TokenError, match="exists already"):
            s.tokens.add("carol")
        assert len(s.tokens.hashes()) == 1
