"""Settings: schema defaults, validation messages, the 0600 config file, HOLMTRAY_HOME."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from holmtray.core.config import file as s
from holmtray.core.config import schema
from holmtray.core.config.paths import Paths
from holmtray.core.config.schema import SCHEMA, SettingsError
from holmtray.core.config.settings import Settings


def test_defaults_bind_loopback_on_the_fixed_port() -> None:
    cfg = Settings()
    assert cfg.text("listener.host") == "127.0.0.1"
    assert cfg.integer("listener.port") == schema.DEFAULT_PORT
    assert cfg.integer("storage.retention_days") == 90
    assert cfg.integer("storage.retention_count") == 100_000
    assert cfg.integer("listener.max_body_bytes") == 1024 * 1024
    assert cfg.strings("links.hosts") == ["holmsecurity.com"]


def test_every_schema_entry_has_a_description_and_a_valid_default() -> None:
    for entry in SCHEMA:
        assert entry.description.strip(), entry.key
        assert entry.validate(entry.default) == entry.default


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("listener.port", 70000, "from 0 to 65535"),
        ("listener.port", "8080", "a whole number"),
        ("listener.port", True, "a whole number"),
        ("listener.host", "not a host!", "IP address"),
        ("notifications.min_severity", "urgent", "one of info, low, medium, high, critical"),
        ("storage.retention_days", -1, "from 0 to 36500"),
        ("notifications.enabled", "yes", "true or false"),
        ("links.hosts", ["ok.example", "bad host"], "not a host name"),
        ("listener.username", "a:b", "cannot contain ':'"),
    ],
)
def test_invalid_value_error_names_key_value_and_what_is_allowed(
    key: str, value: object, allowed: str
) -> None:
    with pytest.raises(SettingsError) as err:
        Settings({key: value})
    msg = str(err.value)
    assert key in msg
    assert repr(value) in msg
    assert allowed in msg


def test_secret_values_are_not_echoed_in_errors() -> None:
    with pytest.raises(SettingsError) as err:
        Settings({"listener.token": "short-but-secret"})
    assert "short-but-secret" not in str(err.value)
    assert "listener.token" in str(err.value)


def test_unknown_key_is_named() -> None:
    with pytest.raises(SettingsError, match=r"unknown setting 'listener\.prot'"):
        Settings({"listener.prot": 1})


def test_zero_and_false_survive_a_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    cfg = Settings({"storage.retention_days": 0, "notifications.enabled": False})
    s.save(cfg, path)
    back = s.load(path)
    assert back.integer("storage.retention_days") == 0
    assert back.flag("notifications.enabled") is False


def test_first_run_generates_a_256_bit_token_and_writes_0600(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "holmtray.toml"
    cfg = s.load_or_create(path)
    token = cfg.text("listener.token")
    assert len(token) >= 43  # 32 bytes in URL-safe base64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = s.load_or_create(path)
    assert again.text("listener.token") == token  # stable across starts
    assert s.load_or_create(tmp_path / "other.toml").text("listener.token") != token


def test_config_file_is_human_editable_toml_with_descriptions(tmp_path: Path) -> None:
    path = tmp_path / "holmtray.toml"
    s.save(Settings({"links.hosts": ["holmsecurity.com", "sc.corp.example"]}), path)
    text = path.read_text()
    assert "[listener]" in text
    assert "# TCP port of the webhook listener" in text
    edited = text.replace(f"port = {schema.DEFAULT_PORT}", "port = 9999")
    path.write_text(edited)
    assert s.load(path).integer("listener.port") == 9999
    assert s.load(path).strings("links.hosts") == ["holmsecurity.com", "sc.corp.example"]


def test_a_hand_edit_with_a_bad_value_names_file_key_and_value(tmp_path: Path) -> None:
    path = tmp_path / "holmtray.toml"
    path.write_text("[listener]\nport = 123456\n")
    with pytest.raises(SettingsError) as err:
        s.load(path)
    assert str(path) in str(err.value)
    assert "listener.port" in str(err.value)
    assert "123456" in str(err.value)


def test_broken_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "holmtray.toml"
    path.write_text("[listener\nport = 1\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        s.load(path)


def test_strings_with_quotes_and_unicode_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "holmtray.toml"
    pw = 'p"a\\s\ns wörd ✓'
    s.save(Settings({"listener.password": pw}), path)
    assert s.load(path).text("listener.password") == pw


def test_holmtray_home_puts_config_data_and_logs_under_it(tmp_path: Path) -> None:
    paths = Paths.default({"HOLMTRAY_HOME": str(tmp_path)})
    assert paths.config_file.is_relative_to(tmp_path)
    assert paths.database.is_relative_to(tmp_path)
    assert paths.log_dir.is_relative_to(tmp_path)
    assert len({paths.config_dir, paths.data_dir, paths.log_dir}) == 3


def test_without_holmtray_home_platform_folders_are_used(tmp_path: Path) -> None:
    paths = Paths.default({})
    assert "holmtray" in str(paths.config_dir)
    assert not paths.config_dir.is_relative_to(tmp_path)


# ---- relay and subscribe ---------------------------------------------------------------------

READ_TOKEN = "htr_" + "a" * 43


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("hooks.example.org", "not an http:// or https://"),
        ("ftp://hooks.example.org", "not an http:// or https://"),
        ("https://bob:pw@hooks.example.org", "user name or password"),
        ("https://hooks.example.org/?token=x", "query or fragment"),
        ("https://hooks.example.org:99999", "is not a URL"),
    ],
)
def test_relay_urls_are_checked_and_the_error_names_key_and_value(url: str, why: str) -> None:
    with pytest.raises(SettingsError, match=r"subscribe\.urls") as err:
        Settings({"subscribe.urls": [url]})
    assert why in str(err.value)


def test_plain_http_to_another_computer_needs_allow_http() -> None:
    with pytest.raises(SettingsError, match="unencrypted"):
        Settings({"subscribe.urls": ["http://relay.example.org:8747"]})
    allowed = Settings(
        {"subscribe.urls": ["http://relay.example.org:8747"], "subscribe.allow_http": True}
    )
    assert allowed.strings("subscribe.urls") == ["http://relay.example.org:8747"]
    for local in ("http://127.0.0.1:8747", "http://localhost:8747", "http://[::1]:8747"):
        assert Settings({"subscribe.urls": [local]}).strings("subscribe.urls") == [local]


def test_read_token_format_is_checked_and_never_echoed() -> None:
    assert Settings({"subscribe.token": READ_TOKEN}).text("subscribe.token") == READ_TOKEN
    with pytest.raises(SettingsError, match="htr_") as err:
        Settings({"subscribe.token": "htr_short-secret"})
    assert "short-secret" not in str(err.value)


def test_source_mode_has_two_choices() -> None:
    assert Settings().text("source.mode") == "direct"
    with pytest.raises(SettingsError, match="one of direct, relay"):
        Settings({"source.mode": "tunnel"})
