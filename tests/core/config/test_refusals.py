"""Settings refuse nonsense clearly: non-finite numbers, and config files that are not UTF-8,
absurdly nested, huge or unreadable give an error naming the file and the problem."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from holmtray.core.config import file as config_file
from holmtray.core.config.edit import parse_value
from holmtray.core.config.schema import SCHEMA, Setting, SettingsError
from holmtray.core.config.settings import Settings

FLOATS = [s for s in SCHEMA if s.type is float]
NUMBERS = [s for s in SCHEMA if s.type in (int, float)]


def test_there_are_number_settings_to_check() -> None:
    keys = {s.key for s in FLOATS}
    assert {"listener.read_timeout", "listener.header_timeout"} <= keys


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, float("-nan")])
@pytest.mark.parametrize("s", NUMBERS, ids=lambda s: s.key)
def test_non_finite_numbers_are_refused_by_every_number_setting(s: Setting, value: float) -> None:
    with pytest.raises(SettingsError) as err:
        s.validate(value)
    assert s.key in str(err.value)


@pytest.mark.parametrize("s", FLOATS, ids=lambda s: s.key)
def test_an_integer_too_large_for_a_float_is_refused(s: Setting) -> None:
    with pytest.raises(SettingsError):
        s.validate(10**400)


@pytest.mark.parametrize("word", ["nan", "inf", "-inf", "+inf", "+nan", "-nan"])
def test_nan_and_inf_in_the_file_are_refused_with_file_and_key(tmp_path: Path, word: str) -> None:
    path = tmp_path / "holmtray.toml"
    path.write_text(f"[listener]\nread_timeout = {word}\n")
    with pytest.raises(SettingsError) as err:
        config_file.load(path)
    assert str(path) in str(err.value)
    assert "listener.read_timeout" in str(err.value)


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "1e400"])
def test_config_set_refuses_non_finite_numbers(text: str) -> None:
    with pytest.raises(SettingsError):
        parse_value("listener.read_timeout", text)


def test_a_refused_value_is_quoted_short() -> None:
    with pytest.raises(SettingsError) as err:
        Settings({"listener.host": "h" * 100_000})
    assert len(str(err.value)) < 400


def _refusal(path: Path) -> str:
    with pytest.raises(SettingsError) as err:
        config_file.load(path)
    message = str(err.value)
    assert str(path) in message
    return message


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "holmtray.toml"
    path.write_bytes(b'[listener]\nhost = "\xff\xfe127.0.0.1"\n')
    assert "not UTF-8" in _refusal(path)


def test_generated_non_utf8_files_are_refused_cleanly(tmp_path: Path) -> None:
    rng = random.Random(8)
    path = tmp_path / "holmtray.toml"
    for _ in range(50):
        good = b"[listener]\nport = 8747\n"
        at = rng.randrange(len(good) + 1)
        bad = bytes([rng.choice([0x80, 0xC0, 0xFF, 0xED, 0xF5])])
        path.write_bytes(good[:at] + bad + good[at:])
        assert "not UTF-8" in _refusal(path)


@pytest.mark.parametrize("depth", [9, 100, 999, 1000, 5000, 100_000])
@pytest.mark.parametrize("shape", ["array", "inline table"])
def test_an_absurdly_nested_file_is_named_not_a_traceback(
    tmp_path: Path, depth: int, shape: str
) -> None:
    path = tmp_path / "holmtray.toml"
    nested = {"array": ("[", "", "]"), "inline table": ("{a = ", "1", "}")}
    opening, middle, closing = nested[shape]
    value = opening * depth + middle + closing * depth
    path.write_text(f"[listener]\nallow_from = {value}\n")
    assert "deep" in _refusal(path)


def test_a_deep_section_name_is_named_too(tmp_path: Path) -> None:
    path = tmp_path / "holmtray.toml"
    path.write_text("[" + ".".join(["a"] * 50) + "]\nx = 1\n")
    assert "deep" in _refusal(path)


def test_a_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "holmtray.toml"
    path.write_text("# " + "x" * (config_file.MAX_BYTES + 10) + "\n")
    assert "larger than" in _refusal(path)


def test_a_folder_in_place_of_the_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "holmtray.toml"
    path.mkdir()
    assert "cannot read" in _refusal(path)
