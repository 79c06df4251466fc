"""The command line refuses nonsense clearly (issue 12, item 8): every numeric option is
range-checked, and a config file or log folder that cannot be used ends in exit 2 with a
message naming the file and the problem, never a traceback."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from holmtray import cli
from holmtray.cliargs import MAX_EVENT_ID, MAX_LIMIT
from holmtray.core.config.file import save
from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings

# Every whole-number option: (command words, option, lowest, highest).
OPTIONS = [
    (["events"], "--limit", 0, MAX_LIMIT),
    (["rejected"], "--limit", 0, MAX_LIMIT),
    (["serve"], "--port", 0, 65535),
    (["subscribe", "https://relay.example"], "--after", 0, MAX_EVENT_ID),
]


def test_every_int_option_of_the_parser_is_in_the_table() -> None:
    """A new numeric option must be added here (and so range-checked) to pass."""
    parser = cli._parser()
    found = set()
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for name, sub in action.choices.items():  # type: ignore[union-attr]
            for opt in sub._actions:
                if opt.type is int or type(opt).__name__ == "WholeNumber":
                    found.add((name, opt.option_strings[0]))
                    assert type(opt).__name__ == "WholeNumber", (name, opt.option_strings)
    assert found == {(words[0], option) for words, option, _, _ in OPTIONS}


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        cli._parser().parse_args(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err


def _bad_values(low: int, high: int, rng: random.Random) -> list[str]:
    values = [
        str(low - 1),
        str(high + 1),
        "9223372036854775808",
        "-9223372036854775809",
        str(10**30),
        "-1",
        "1e3",
        "0x10",
        "",
        " ",
        "nan",
        "inf",
        "1.5",
        "ten",
        "\u0661\u0662\u202e",
    ]
    values += [str(high + rng.randrange(1, 10**20)) for _ in range(5)]
    values += [str(low - rng.randrange(1, 10**20)) for _ in range(5)]
    return [v for v in values if v.strip() not in (str(low), str(high))]


@pytest.mark.parametrize(("words", "option", "low", "high"), OPTIONS)
def test_out_of_range_and_non_numbers_are_refused_with_the_range(
    capsys: pytest.CaptureFixture[str], words: list[str], option: str, low: int, high: int
) -> None:
    rng = random.Random(f"{words}{option}")
    for value in _bad_values(low, high, rng):
        err = _refused(capsys, [*words, f"{option}={value}"])
        assert f"{option} must be" in err, (value, err)
        assert "Traceback" not in err
        assert "\u202e" not in err
        assert str(low) in err or str(high) in err, err


@pytest.mark.parametrize(("words", "option", "low", "high"), OPTIONS)
def test_the_range_itself_is_accepted(words: list[str], option: str, low: int, high: int) -> None:
    for value in (low, high, (low + high) // 2):
        args = cli._parser().parse_args([*words, option, str(value)])
        assert getattr(args, option.removeprefix("--")) == value


def test_the_exact_inputs_of_the_issue(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save(Settings({"listener.token": "x" * 43}), Paths.under(home).config_file)
    for argv in (["events", "--limit", "9223372036854775808"], ["rejected", "--limit", "-1"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert "--limit must be" in err
    err = _refused(capsys, ["rejected", "--limit", "-1"])
    assert "--limit must be 0 or more" in err
    err = _refused(capsys, ["events", "--limit", "9223372036854775808"])
    assert f"--limit must be at most {MAX_LIMIT}" in err


def _config_refused(capsys: pytest.CaptureFixture[str], home: Path, *argv: str) -> str:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    assert str(Paths.under(home).config_file) in err
    assert "Traceback" not in err
    return err


BAD_CONFIGS = {
    "not UTF-8": b"[listener]\nhost = '\xff\xfe'\n",
    "deep": b"[listener]\nallow_from = " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "listener.read_timeout": b"[listener]\nread_timeout = nan\n",
    "listener.header_timeout": b"[listener]\nheader_timeout = inf\n",
    "listener.keepalive_timeout": b"[listener]\nkeepalive_timeout = -inf\n",
}


@pytest.mark.parametrize("what", BAD_CONFIGS)
@pytest.mark.parametrize(
    "command", [["url"], ["serve"], ["events"], ["config", "get", "listener.port"]]
)
def test_a_config_file_that_cannot_be_used_is_named_with_the_problem(
    home: Path, capsys: pytest.CaptureFixture[str], what: str, command: list[str]
) -> None:
    config = Paths.under(home).config_file
    config.parent.mkdir(parents=True)
    config.write_bytes(BAD_CONFIGS[what])
    err = _config_refused(capsys, home, *command)
    assert what in err


def test_an_unusable_log_folder_is_named_not_a_traceback(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = Paths.under(home)
    save(Settings({"listener.token": "x" * 43, "listener.port": 0}), paths.config_file)
    paths.log_dir.parent.mkdir(parents=True, exist_ok=True)
    paths.log_dir.write_text("a file where the log folder should be")
    code = cli.main(["serve"])
    _, err = capsys.readouterr()
    assert code == 2
    assert str(paths.log_dir / "serve.log") in err
    assert "cannot write the log file" in err
    assert "Traceback" not in err
