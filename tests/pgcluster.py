"""A real PostgreSQL server for the ``pg`` tests (and the benchmark), started from Debian's
packages in a temporary folder and reachable only through a Unix socket in that folder.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user
(``runuser``) in a folder owned by it. No TCP port is opened (``listen_addresses=''``) and
local connections are trusted: nothing outside this machine can reach it. The tests skip
without PostgreSQL (or psycopg), unless ``HOLMTRAY_REQUIRE_PG=1`` (CI), where that fails.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

REQUIRE_ENV = "HOLMTRAY_REQUIRE_PG"
_DATABASES = itertools.count(1)  # numbers the test databases of one server


def require_or_skip(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"PostgreSQL is required in this run ({REQUIRE_ENV}=1) but {reason}")
    pytest.skip(reason)


def find_bin() -> Path | None:
    """The newest installed server's bin folder (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PgCluster:
    """One PostgreSQL server in ``folder`` (socket there too); ``start``/``stop`` at will."""

    def __init__(self, folder: Path, bindir: Path) -> None:
        self.folder = folder
        self.bindir = bindir
        self.data = folder / "data"
        self._as_postgres = os.geteuid() == 0
        self.user = "postgres" if self._as_postgres else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=self.folder
        )

    def init(self) -> None:
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        r = self._run(
            "initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8",
            "--no-locale", "--no-sync",
        )  # fmt: skip
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr or r.stdout}")

    def start(self) -> None:
        options = f"-c listen_addresses='' -k {self.folder} -c max_connections=200"
        r = self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {r.stderr or r.stdout}\n{self.log()}")

    def stop(self, mode: str = "fast") -> None:
        r = self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        if r.returncode != 0 and "not running" not in (r.stderr + r.stdout).lower():
            raise RuntimeError(f"pg_ctl stop failed: {r.stderr or r.stdout}")

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status").returncode == 0

    def log(self) -> str:
        try:
            return (self.folder / "server.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def uri(self, dbname: str = "postgres", *, password: str | None = None) -> str:
        """A ``postgresql://`` URI for ``dbname`` over the socket (a password is accepted and
        ignored by trust authentication: for the tests that prove it is never shown)."""
        auth = f"{self.user}:{quote(password, safe='')}@" if password else ""
        return f"postgresql://{auth}/{dbname}?host={quote(str(self.folder), safe='')}" + (
            "" if auth else f"&user={self.user}"
        )

    def connect(self, dbname: str = "postgres") -> Any:
        import psycopg  # noqa: PLC0415 - optional

        return psycopg.connect(self.uri(dbname), autocommit=True)

    def create_database(self, name: str) -> str:
        """A new, empty database; its URI."""
        with contextlib.closing(self.connect()) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.uri(name)


@contextlib.contextmanager
def running_cluster() -> Iterator[PgCluster]:
    """A started server in a new temporary folder, stopped and removed afterwards."""
    bindir = find_bin()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    folder = Path(tempfile.mkdtemp(prefix="holmtray-pg-"))
    cluster = PgCluster(folder, bindir)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    try:
        import psycopg  # noqa: F401, PLC0415 - optional
    except ImportError:
        require_or_skip("psycopg is not installed (pip install 'holmtray[postgres]')")
    if find_bin() is None:
        require_or_skip("PostgreSQL is not installed (apt-get install postgresql)")
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_uri(pg_cluster: PgCluster, request: pytest.FixtureRequest) -> str:
    """A fresh database for this test (the server restarted if an earlier test stopped it)."""
    if not pg_cluster.running():
        pg_cluster.start()
    name = "t_" + "".join(ch if ch.isalnum() else "_" for ch in request.node.name)[:40].lower()
    return pg_cluster.create_database(f"{name}_{next(_DATABASES)}")
