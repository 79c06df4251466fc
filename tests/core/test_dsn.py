"""PostgreSQL addresses in ``relay.store``: checked, and never shown with their password."""

from __future__ import annotations

import pytest

from holmtray.core import dsn
from holmtray.core.config.edit import parse_value, show_value
from holmtray.core.config.schema import SettingsError
from holmtray.core.config.settings import Settings

SECRET = "s3cr%40t-pw"


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        (
            f"postgresql://holm:{SECRET}@db1:5432,db2:5432/holm?target_session_attrs=read-write",
            "postgresql://holm:********@db1:5432,db2:5432/holm?target_session_attrs=read-write",
        ),
        (
            f"postgres:///holm?host=/run/pg&password={SECRET}&user=holm",
            "postgres:///holm?host=/run/pg&password=********&user=holm",
        ),
        ("postgresql://holm@db/holm", "postgresql://holm@db/holm"),
        (f"mysql://u:{SECRET}@h/db", "mysql://u:********@h/db"),
        (f"host=db password={SECRET} dbname=x", "host=db password=******** dbname=x"),
    ],
)
def test_the_password_is_masked_wherever_it_is_written(uri: str, shown: str) -> None:
    assert dsn.masked(uri) == shown


def test_passwords_are_found_as_written_and_decoded_for_the_log_filter() -> None:
    assert dsn.passwords(f"postgresql://u:{SECRET}@h/db") == (SECRET, "s3cr@t-pw")
    assert dsn.passwords("postgresql://u@h/db?password=x%2By") == ("x%2By", "x+y")
    assert dsn.passwords("postgresql://u@h/db") == ()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", None),
        ("postgresql://holm@db.example.org/holm", None),
        ("postgresql:///holm?host=/run/postgresql", None),
        ("postgresql:///holm", None),  # libpq's default socket
        ("sqlite:///x.db", "PostgreSQL URI"),
        ("postgresql://holm@db/holm extra", "no spaces"),
        ("postgresql://holm@db/holm\n", "control characters"),
    ],
)
def test_check_accepts_empty_or_a_postgresql_uri(value: str, problem: str | None) -> None:
    found = dsn.check(value)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_config_shows_and_refuses_relay_store_without_its_password() -> None:
    uri = f"postgresql://holm:{SECRET}@db/holm"
    value = parse_value("relay.store", uri)
    assert value == uri
    assert show_value("relay.store", value) == "postgresql://holm:********@db/holm"
    assert show_value("relay.store", value, reveal=True) == uri
    assert SECRET not in repr(Settings({"relay.store": uri}))
    with pytest.raises(SettingsError) as info:
        parse_value("relay.store", f"postgresq://holm:{SECRET}@db/holm")
    assert SECRET not in str(info.value)
    assert "relay.store" in str(info.value)
