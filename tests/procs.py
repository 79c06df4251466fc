"""Helpers to run holmtray as a real subprocess and wait on what it prints (never on sleep)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

LISTENING = re.compile(r"listening on https?://(?P<host>[^/]+):(?P<port>\d+)/hooks/<token>")


def holmtray_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["HOLMTRAY_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_cli(
    home: Path, *args: str, timeout: float = 60, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "holmtray", *args],
        env=holmtray_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cli_outputs(home: Path, *commands: tuple[str, ...]) -> dict[str, str]:
    """Run each command; its words joined -> its stdout and stderr (for a search of them all).

    A command that ends in a traceback fails the test: a tool must say what went wrong.
    """
    outputs = {}
    for args in commands:
        r = run_cli(home, *args)
        assert "Traceback (most recent call last)" not in r.stderr, (args, r.stderr)
        outputs[" ".join(args)] = r.stdout + r.stderr
    return outputs


class Proc:
    """A holmtray subprocess whose stderr is collected line by line in the background."""

    def __init__(self, home: Path, *args: str, module: str = "holmtray", **extra: str) -> None:
        """``python -m MODULE ARGS`` (``holmtray``, or a test's wrapper around it)."""
        self.home = home
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=holmtray_env(home, **extra),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 30) -> re.Match[str]:
        """The first stderr line matching ``pattern``; fails with the output if none comes."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    m = pattern.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.popen.poll() is not None and not self._reader.is_alive()):
                    out = "\n".join(self.lines[-40:])
                    raise AssertionError(f"no line matching {pattern.pattern!r}; output:\n{out}")
                self._cond.wait(min(left, 0.5))

    def port(self, timeout: float = 30) -> int:
        return int(self.wait_for(LISTENING, timeout)["port"])

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def stop(self, timeout: float = 30) -> int:
        if self.popen.poll() is None:
            self.popen.terminate()
        rc = self.popen.wait(timeout)
        self._reader.join(5)
        return rc

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait(10)
        self._reader.join(5)


def run_fuzzer(script: Path, artifacts: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run a fuzzer script of ``tests/fuzz/`` for ``HOLMTRAY_FUZZ_SECONDS`` (default 20).

    Its result (output as text) and the seconds it was given; failing inputs go to ``artifacts``.
    """
    seconds = int(os.environ.get("HOLMTRAY_FUZZ_SECONDS", "20"))
    result = subprocess.run(
        [sys.executable, str(script), "--seconds", str(seconds), "--artifacts", str(artifacts)],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
    )
    return result, seconds


def wait_until(cond: Callable[[], bool], timeout: float = 10, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
