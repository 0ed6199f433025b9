"""A throwaway PostgreSQL cluster for the tests of team mode, started once per test session.

``postgres_cluster`` runs ``initdb`` and ``pg_ctl`` from PATH or from Debian's
/usr/lib/postgresql/<version>/bin (as the ``postgres`` user when the tests run as root:
PostgreSQL refuses root), listening on 127.0.0.1 on a free port. ``postgres_url`` is a fresh,
empty database per test, ``postgres_head_url`` one at the head revision. Without the binaries
the tests that need them skip, saying why.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"
START_TIMEOUT_S = 60
# Durability is not under test: without fsync a test database costs a few milliseconds.
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200 -c shared_buffers=32MB"
)


@dataclass(frozen=True)
class PostgresCluster:
    """A running cluster: ``url(name)`` addresses one of its databases (no password: trust auth)."""

    port: int
    bin_dir: Path
    run_as: tuple[str, ...]

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with psql (for set-up only); return what it printed."""
        done = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()


def postgres_bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: on PATH, or in Debian's versioned directory."""
    candidates: list[Path] = []
    if (found := shutil.which("initdb")) is not None:
        candidates.append(Path(found).resolve().parent)
    candidates += [Path(d) for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for directory in candidates:
        if all((directory / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres", "psql")):
            return directory
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_cluster() -> Generator[PostgresCluster]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (initdb, pg_ctl): apt-get install postgresql")
    run_as: tuple[str, ...] = ()
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
        run_as = ("runuser", "-u", "postgres", "--")
    root = Path(tempfile.mkdtemp(prefix="tether-pg-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data = root / "data"
    port = _free_port()
    try:
        subprocess.run(
            [
                *run_as,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            check=True,
            timeout=START_TIMEOUT_S,
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {SERVER_OPTIONS}"
        subprocess.run(
            [
                *run_as,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "log"),
                "-o",
                options,
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "start",
            ],
            capture_output=True,
            check=True,
            timeout=START_TIMEOUT_S + 5,
        )
    except subprocess.CalledProcessError as error:
        log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {error.stderr!r}\n{log}") from error
    try:
        yield PostgresCluster(port=port, bin_dir=bin_dir, run_as=run_as)
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            subprocess.run(
                [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=START_TIMEOUT_S,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


_database_numbers = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """The URL of a new, empty database on the test cluster."""
    return postgres_cluster.url(_new_database(postgres_cluster, "template0"))


@pytest.fixture(scope="session")
def _postgres_head_template(postgres_cluster: PostgresCluster) -> str:
    """A database migrated to head by a tether process once, to copy: copying beats migrating."""
    name = _new_database(postgres_cluster, "template0")
    code = (
        "import anyio, sys\n"
        "from tether.store import upgrade_database\n"
        "anyio.run(upgrade_database, sys.argv[1])"
    )
    subprocess.run(
        [sys.executable, "-c", code, postgres_cluster.url(name)], check=True, capture_output=True, timeout=60
    )
    return name


@pytest.fixture
def postgres_head_url(postgres_cluster: PostgresCluster, _postgres_head_template: str) -> str:
    """The URL of a new database already at the head revision, with no data."""
    return postgres_cluster.url(_new_database(postgres_cluster, _postgres_head_template))


def _new_database(cluster: PostgresCluster, template: str) -> str:
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    cluster.psql(f"CREATE DATABASE {name} TEMPLATE {template}")
    return name
