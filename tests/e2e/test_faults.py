"""Storage faults against a real `holmtray serve`: disk full, read-only, locked, folder gone.

Every fault is real, made by the kernel or by another process, never by mocking SQLite:

* disk full: the data folder is a 4 MiB tmpfs filled to the last byte (needs ``mount``; where
  that is refused the test skips and ``tests/core/history/test_faults.py`` covers the same path with
  ``PRAGMA max_page_count``, a limit SQLite enforces as "disk full");
* read-only: the data folder is replaced by a restored copy whose database file is immutable
  (``chattr +i``, which binds root too; ``chmod 0444`` for anyone else). A read-only mount
  appearing *under* an open database is not a fault: SQLite keeps writing through the file it
  has open, and those rows are on disk. Read-only shows when the file must be opened anew;
* locked: another process holds ``BEGIN EXCLUSIVE`` on the database;
* folder removed: ``shutil.rmtree`` of the data folder while serving.

For each: the POST gets 503 (never a 2xx) with a JSON error naming the cause, ``/healthz``
answers 503 with the cause, the log says it once (WARNING) and its end once (INFO), and once the
fault clears ``/healthz`` turns ok and a POST gets 200 with no restart. Every acknowledged event
is checked in the database, body byte for byte. A removed folder takes the events in it along:
that is the user's action, and the events acknowledged after it are all in the new database.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.procs import Proc

TOKEN = "fault-test-token-0123456789abcdefghijklmnop"
PROBE_WAIT_S = 20.0  # the writer probes every 2 s while unhealthy; generous for a slow CI box
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy


def http(method: str, url: str, body: bytes | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with _OPENER.open(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Serve:
    """A `holmtray serve` subprocess and a ledger of what it acknowledged."""

    def __init__(self, home: Path, *, data_dir: Path | None = None) -> None:
        config = home / "config" / "holmtray.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        text = f'[listener]\ntoken = "{TOKEN}"\n'
        if data_dir is not None:
            text += f'[storage]\ndata_dir = "{data_dir}"\n'
        config.write_text(text)
        self.db = (data_dir or home / "data") / "events.db"
        self.proc = Proc(home, "serve", "--port", "0")
        base = f"http://127.0.0.1:{self.proc.port()}"
        self.hook = f"{base}/hooks/{TOKEN}"
        self.healthz = f"{base}/healthz"
        self.acked: dict[int, bytes] = {}

    def post(self, body: bytes | None = None) -> tuple[int, dict[str, object]]:
        if body is None:
            body = json.dumps({"subject": f"fault test {uuid.uuid4()}"}).encode()
        status, answer = http("POST", self.hook, body)
        if 200 <= status < 300:
            assert status == 200, answer
            assert not answer.get("duplicate"), answer
            self.acked[int(answer["id"])] = body  # type: ignore[call-overload]
        return status, answer

    def health(self) -> tuple[int, dict[str, object]]:
        return http("GET", self.healthz)

    def wait_healthy(self) -> float:
        """Seconds until ``/healthz`` says ok again (the writer's probe found the fault gone)."""
        start = time.monotonic()
        while self.health()[0] != 200:
            assert time.monotonic() - start < PROBE_WAIT_S, "never healthy again"
            time.sleep(0.1)
        return time.monotonic() - start

    def stored(self, ids: set[int] | None = None) -> dict[int, bytes]:
        con = sqlite3.connect(f"{self.db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT id, body FROM events").fetchall()
        finally:
            con.close()
        return {i: b.encode() for i, b in rows if ids is None or i in ids}

    def stop_and_check(self, cause: str) -> None:
        """Stop cleanly; every acknowledged event is stored verbatim; one WARNING, one INFO."""
        assert self.proc.stop() == 0
        assert self.stored(set(self.acked)) == self.acked
        out = self.proc.output()
        warnings = re.findall(r"WARNING holmtray\.history\.health: cannot store events: (.*)", out)
        assert len(warnings) == 1, out
        assert warnings[0].startswith(cause), warnings
        assert (
            len(re.findall(r"INFO +holmtray\.history\.health: storing events again", out)) == 1
        ), out

    def kill(self) -> None:
        if self.proc.popen.poll() is None:
            self.proc.kill()


@pytest.fixture
def servers() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for s in started:
        s.kill()


def assert_503(answer: tuple[int, dict[str, object]], *words: str) -> None:
    status, body = answer
    assert status == 503, answer
    for word in words:
        assert word in str(body["error"]), body
    assert "/" not in str(body["error"]), body  # no file path of the server's in an answer


# ---- disk full --------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs: a real filesystem that really runs out of space."""
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command; tests/core/history/test_faults.py covers disk full instead")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        pytest.skip(
            f"cannot mount a small tmpfs here ({r.stderr.strip()}); "
            "tests/core/history/test_faults.py covers disk full with PRAGMA max_page_count instead"
        )
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem says ENOSPC; removing it frees the space again."""
    filler = disk / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler


@pytest.mark.slow
def test_disk_full_gets_503_naming_it_and_recovers_without_a_restart(
    tmp_path: Path, small_disk: Path, servers: list[Serve]
) -> None:
    srv = Serve(tmp_path / "home", data_dir=small_disk / "data")
    servers.append(srv)
    for _ in range(3):
        assert srv.post()[0] == 200

    filler = fill(small_disk)
    # Bigger than the WAL has room for: it must grow, and there is no space to grow into.
    big = json.dumps({"subject": "big", "pad": "x" * 300_000}).encode()
    assert_503(srv.post(big), "disk is full")
    assert_503(srv.post(), "disk is full")
    assert srv.health() == (
        503,
        {"status": "error", "error": "cannot store events: the disk is full"},
    )

    filler.unlink()
    srv.wait_healthy()
    assert srv.health() == (200, {"status": "ok"})
    assert srv.post(big)[0] == 200
    assert srv.post()[0] == 200
    srv.stop_and_check("the disk is full")


# ---- read-only --------------------------------------------------------------------------------


def make_read_only(path: Path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o444)
        return
    # Root ignores permission bits; the immutable flag binds root too.
    r = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        pytest.skip(f"cannot make a file immutable here: {r.stderr.strip()}")


def make_writable(path: Path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o600)
    else:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.slow
def test_read_only_database_gets_503_naming_it_and_recovers_without_a_restart(
    tmp_path: Path, servers: list[Serve]
) -> None:
    home = tmp_path / "home"
    srv = Serve(home)
    servers.append(srv)
    for _ in range(3):
        assert srv.post()[0] == 200

    # The data folder is replaced by a restored copy whose database file is read-only. The
    # writer sees its file replaced and opens the new one, which SQLite can open only for
    # reading: a connection that then stays read-only unless the writer opens it anew.
    data = srv.db.parent
    data.rename(data.with_name("data.before-restore"))
    data.mkdir(mode=0o700)
    src = sqlite3.connect(data.with_name("data.before-restore") / "events.db")
    dst = sqlite3.connect(srv.db)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    make_read_only(srv.db)
    try:
        assert_503(srv.post(), "read-only")
        assert_503(srv.post(), "read-only")
        assert srv.health() == (
            503,
            {"status": "error", "error": "cannot store events: the database is read-only"},
        )
    finally:
        make_writable(srv.db)
    srv.wait_healthy()
    assert srv.post()[0] == 200
    srv.stop_and_check("the database is read-only")


# ---- locked -----------------------------------------------------------------------------------

_LOCKER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes our stdin
con.execute("ROLLBACK")
"""


@pytest.mark.slow
def test_database_locked_by_another_process_gets_503_and_recovers_when_it_lets_go(
    tmp_path: Path, servers: list[Serve]
) -> None:
    srv = Serve(tmp_path / "home")
    servers.append(srv)
    for _ in range(3):
        assert srv.post()[0] == 200

    locker = subprocess.Popen(
        [sys.executable, "-c", _LOCKER, str(srv.db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout is not None
        assert locker.stdout.readline().strip() == "locked"
        started = time.monotonic()
        assert_503(srv.post(), "locked by another program")
        waited = time.monotonic() - started
        assert 4.0 < waited < 15.0, waited  # the 5 s busy timeout, then a clear answer
        status, body = srv.health()
        assert status == 503
        assert body["error"] == (
            "cannot store events: the database is locked by another program (timed out waiting)"
        )
    finally:
        assert locker.stdin is not None
        locker.stdin.close()
        locker.wait(10)
    srv.wait_healthy()
    assert srv.post()[0] == 200
    srv.stop_and_check("the database is locked by another program")


# ---- data folder removed ----------------------------------------------------------------------


@pytest.mark.slow
def test_data_folder_removed_while_serving_never_acknowledges_into_the_removed_file(
    tmp_path: Path, servers: list[Serve]
) -> None:
    srv = Serve(tmp_path / "home")
    servers.append(srv)
    data = srv.db.parent
    before = [srv.post() for _ in range(3)]
    assert all(status == 200 for status, _ in before)
    gone = dict(srv.acked)  # stored in the folder that is about to be removed
    srv.acked.clear()

    # Removed, and something else where it was: the folder cannot be made again.
    shutil.rmtree(data)
    data.write_text("not a folder")
    try:
        answer = srv.post()
        assert_503(answer, "the database folder cannot be created", "File exists")
        assert str(data) not in str(answer[1]["error"])  # the cause, not the server's paths
        assert srv.health() == (
            503,
            {
                "status": "error",
                "error": "cannot store events: the database folder cannot be created (File exists)",
            },
        )
    finally:
        data.unlink()  # the fault clears: the folder can be made again
    srv.wait_healthy()  # the writer's probe has made a new, empty database
    assert srv.post()[0] == 200
    assert srv.stored() == srv.acked  # in the new database, and nothing else is
    srv.acked.clear()

    # Removed again, plainly: the next event goes into a new database, never into the
    # removed file (SQLite would write on into the unlinked inode and report success).
    shutil.rmtree(data)
    assert srv.post()[0] == 200
    assert srv.post()[0] == 200
    assert srv.health() == (200, {"status": "ok"})
    # Those went with the first folder (ids start again at 1 in a new database: compare bodies).
    assert not set(gone.values()) & set(srv.stored().values())
    srv.stop_and_check("the database folder cannot be created")
    assert len(srv.stored()) == 2  # only what was acknowledged after the last removal
