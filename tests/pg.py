"""A throw-away PostgreSQL server for the ledger tests: real PostgreSQL, never a mock.

When the distribution's server binaries are installed (`initdb` and `pg_ctl`; Debian keeps
them in /usr/lib/postgresql/*/bin, `.ci/run` installs them), `postgres_server` creates a
cluster in a temporary folder, starts it listening only on a unix socket there (no port is
taken from other jobs on the machine), and stops it at the end of the session. Each test gets
a database of its own from `new_database`. Without the binaries the PostgreSQL cases skip;
the SQLite cases always run. PostgreSQL refuses to run as root, so as root the server runs as
the `postgres` user the package creates.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

_numbers = itertools.count(1)


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    return None


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    pwd.getpwnam("postgres")  # KeyError: no user to run the server as
    return ["runuser", "-u", "postgres", "--"] + command


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The socket folder of a running server (skips when PostgreSQL is not installed)."""
    pytest.importorskip("psycopg")
    bin_dir = _binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
    root = Path(tempfile.mkdtemp(prefix="yibao-pg-"))  # not under pytest's folder: root-only, and
    # a unix socket path must stay short
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (root, sock):
            os.chown(path, user.pw_uid, user.pw_gid)
    run = lambda *args: subprocess.run(_as_server_user(list(args)), check=True, capture_output=True)  # noqa: E731
    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    options = f"-c listen_addresses='' -k {sock} -c fsync=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start")
    try:
        yield str(sock)
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def new_database(sock: str) -> str:
    """A new empty database on the server: its SQLAlchemy URL."""
    import psycopg

    name = f"ledger_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(host=sock, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@/{name}?host={sock}"
