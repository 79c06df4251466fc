"""The PostgreSQL event log against a real server: schema, appending, deduplication, reading,
retention, read tokens, failures as the store's errors, and migrations from two relays at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from holmtray.core.events import Event, Kind, Severity
from holmtray.core.history.database import StoreError, StoreUnavailable
from holmtray.core.history.pg import schema
from holmtray.core.history.pg.backend import PgBackend
from holmtray.core.history.pg.connect import PgTarget
from holmtray.core.history.pg.log import PgEventLog
from holmtray.core.history.store import DEDUP_WINDOW, NewEvent
from holmtray.core.history.tokens import TokenError
from tests.pgcluster import PgCluster

pytestmark = pytest.mark.pg

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def new(n: int, *, at: datetime = NOW, body: str | None = None) -> NewEvent:
    payload = {"ticket": {"n": n}}
    event = Event(kind=Kind.TICKET, title=f"Ticket {n}", severity=Severity.LOW, payload=payload)
    return NewEvent(body if body is not None else json.dumps(payload), event, at)


@contextlib.contextmanager
def writer(backend: PgBackend) -> Iterator[PgEventLog]:
    log = backend.open()
    try:
        yield log
    finally:
        log.close()


def test_a_batch_gets_consecutive_ids_and_reads_back_in_order(pg_uri: str) -> None:
    backend = PgBackend(uri=pg_uri)
    with writer(backend) as log:
        first = log.insert_many([new(i, at=NOW + timedelta(seconds=i)) for i in range(3)])
        second = log.insert_many([new(10)])
    assert [r.id for r in first] == [1, 2, 3]
    assert [r.id for r in second] == [4]
    assert all(not r.duplicate and r.stored is not None for r in first + second)
    assert first[1].stored is not None
    assert first[1].stored.received_at == NOW + timedelta(seconds=1)

    async def read() -> None:
        reads = backend.readers(threads=1, name="t")
        try:
            bounds = await reads.run(lambda v: v.log.bounds())
            page = await reads.run(lambda v: v.log.entries_after(1, 10))
            relay_id = await reads.run(lambda v: v.log.relay_id())
        finally:
            await reads.close()
        assert bounds == (1, 4)
        assert [e.id for e in page] == [2, 3, 4]
        assert page[0].body == new(1).body
        assert page[0].received_at == NOW + timedelta(seconds=1)
        assert len(relay_id) == 36

    asyncio.run(read())


def test_a_page_ends_after_the_body_that_reaches_max_chars(pg_uri: str) -> None:
    backend = PgBackend(uri=pg_uri)
    with writer(backend) as log:
        log.insert_many([new(i, body=json.dumps({"n": i, "pad": "x" * 100})) for i in range(5)])
    view = backend.readers(threads=1, name="t")._open_view()
    try:
        size = len(json.dumps({"n": 0, "pad": "x" * 100}))
        assert [e.id for e in view.log.entries_after(0, 10, max_chars=size * 2)] == [1, 2]
        assert [e.id for e in view.log.entries_after(0, 10, max_chars=1)] == [1]
        assert [e.id for e in view.log.entries_after(3, 10, max_chars=None)] == [4, 5]
        assert view.log.entries_after(5, 10) == []
    finally:
        view.close()


def test_duplicates_follow_the_same_rule_as_the_sqlite_store(pg_uri: str) -> None:
    with writer(PgBackend(uri=pg_uri)) as log:
        (a,) = log.insert_many([new(1)])
        again = log.insert_many([new(1, at=NOW + timedelta(minutes=5)), new(2), new(2)])
        late = log.insert_many([new(1, at=NOW + DEDUP_WINDOW * 2)])
    assert again[0].duplicate
    assert again[0].id == a.id
    assert again[0].stored is None
    assert not again[1].duplicate
    assert again[2].duplicate
    assert again[2].id == again[1].id
    assert not late[0].duplicate  # outside the window of the stored one
    assert late[0].id == again[1].id + 1  # duplicates take no id


def test_two_relays_given_the_same_body_at_once_store_it_once(
    pg_uri: str, pg_cluster: PgCluster
) -> None:
    backend = PgBackend(uri=pg_uri)
    with writer(backend):
        pass  # the schema
    pause_every_insert(pg_cluster, pg_uri, "holmtray_events")
    results: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def relay(k: int) -> None:
        with writer(backend) as log:
            start.wait()
            for n in range(40):
                (r,) = log.insert_many([new(n)])
                results[k].append(r.id)

    threads = [threading.Thread(target=relay, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results[0] == results[1]  # both were told the one id of each body
    with contextlib.closing(pg_cluster.connect(db_name(pg_uri))) as conn:
        assert conn.execute("SELECT count(*) FROM holmtray_events").fetchone() == (40,)


def test_retention_deletes_the_oldest_beyond_the_limits(pg_uri: str) -> None:
    with writer(PgBackend(uri=pg_uri)) as log:
        log.insert_many([new(i, at=NOW - timedelta(days=10 - i)) for i in range(10)])
        assert log.apply_retention(now=NOW, max_age_days=5, max_count=0) == 5
        assert log.apply_retention(now=NOW, max_age_days=0, max_count=3, max_rows=1) == 1
        assert log.apply_retention(now=NOW, max_age_days=0, max_count=3) == 1
        assert log.apply_retention(now=NOW, max_age_days=0, max_count=3) == 0
        log.check_writable()
    view = PgBackend(uri=pg_uri).readers(threads=1, name="t")._open_view()
    try:
        assert view.log.bounds() == (8, 10)  # the last id given stays
    finally:
        view.close()


def test_read_tokens_are_shared_through_the_database(pg_uri: str) -> None:
    one, two = PgBackend(uri=pg_uri), PgBackend(uri=pg_uri)
    with one.token_table() as tokens:
        token = tokens.add("alice")
        version = tokens.version()
        with pytest.raises(TokenError, match="exists already"):
            tokens.add("alice")
        with pytest.raises(TokenError, match="not allowed"):
            tokens.add("bad name")
    assert token.startswith("htr_")
    with two.token_table() as tokens:
        assert [t.name for t in tokens.list()] == ["alice"]
        assert token not in str(tokens.hashes())
        assert list(tokens.hashes().values()) == ["alice"]
        assert tokens.revoke("alice") is True
        assert tokens.revoke("alice") is False
        assert tokens.version() == version + 1
        assert tokens.hashes() == {}


def test_two_relays_migrating_an_empty_database_at_once_end_with_one_schema(
    pg_uri: str, pg_cluster: PgCluster
) -> None:
    target = PgTarget(pg_uri)
    start = threading.Barrier(2)
    found: list[int] = []
    failures: list[BaseException] = []

    def relay() -> None:
        conn = target.connect("test")
        try:
            start.wait()
            found.append(schema.migrate(conn, where=target.where))
        except BaseException as exc:
            failures.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    assert sorted(found) == [0, schema.SCHEMA_VERSION]  # one made it, the other found it made
    with contextlib.closing(pg_cluster.connect(db_name(pg_uri))) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE 'holmtray%'"
            ).fetchall()
        }
        meta = dict(conn.execute("SELECT key, value FROM holmtray_meta").fetchall())
        counter = conn.execute("SELECT id, last_id FROM holmtray_counter").fetchall()
    assert tables == {
        "holmtray_meta",
        "holmtray_counter",
        "holmtray_events",
        "holmtray_read_tokens",
    }
    assert set(meta) == {"schema_version", "relay_id", "tokens_version"}
    assert meta["schema_version"] == str(schema.SCHEMA_VERSION)
    assert counter == [(1, 0)]


def test_a_newer_schema_is_refused_and_left_untouched(pg_uri: str, pg_cluster: PgCluster) -> None:
    with writer(PgBackend(uri=pg_uri)):
        pass
    with contextlib.closing(pg_cluster.connect(db_name(pg_uri))) as conn:
        conn.execute("UPDATE holmtray_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer than this holmtray"):
        PgBackend(uri=pg_uri).open()
    with contextlib.closing(pg_cluster.connect(db_name(pg_uri))) as conn:
        assert conn.execute(
            "SELECT value FROM holmtray_meta WHERE key = 'schema_version'"
        ).fetchone() == ("99",)


def test_an_unreachable_server_is_unavailable_and_the_password_is_not_in_the_error(
    pg_cluster: PgCluster,
) -> None:
    secret = "pw-Never-Shown-7"
    uri = f"postgresql://holm:{secret}@/nodb?host=/nonexistent/socket/dir&connect_timeout=2"
    backend = PgBackend(uri=uri)
    with pytest.raises(StoreUnavailable) as info:
        backend.open()
    assert info.value.reopen
    assert "cannot be reached" in info.value.cause
    assert secret not in str(info.value)
    assert secret not in info.value.cause
    assert secret not in backend.where
    assert "********" in backend.where


def db_name(uri: str) -> str:
    return uri.split("/", 3)[3].split("?", 1)[0]


def pause_every_insert(cluster: PgCluster, uri: str, table: str) -> None:
    """A test-only trigger: each row inserted into ``table`` waits 0-4 ms before its
    transaction goes on, so concurrent transactions overlap and commit in mixed order."""
    with contextlib.closing(cluster.connect(db_name(uri))) as conn:
        conn.execute(
            """
            CREATE OR REPLACE FUNCTION holmtray_test_pause() RETURNS trigger AS $$
            BEGIN
                PERFORM pg_sleep(random() * 0.004);
                RETURN NULL;
            END $$ LANGUAGE plpgsql
            """
        )
        conn.execute(
            f"CREATE TRIGGER holmtray_test_pause AFTER INSERT ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION holmtray_test_pause()"
        )
