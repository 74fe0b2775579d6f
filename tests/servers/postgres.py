"""A private PostgreSQL cluster on 127.0.0.1 for the scale-out path.

`initdb` writes a fresh cluster into a temporary directory (trust
authentication, nothing from /etc/postgresql is read) and `postgres` runs it
listening on 127.0.0.1 at a free port, with its Unix socket in the same
directory. PostgreSQL refuses to run as root, so when the suite is root the
cluster belongs to the `postgres` system account the Debian package creates
(else `nobody`) and the binaries run through `runuser`.

The session-scoped `postgres` fixture starts the cluster once;
`PostgresServer.database_new()` creates an empty database per use and
returns its DATABASE_URL. Everything is removed at the end of the session.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers.dovecot import free_port
from tests.servers.require import server_missing

SUPERUSER = "postgres"


def postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin with initdb, or $JMAP_TEST_PG_BINDIR."""
    configured = os.environ.get("JMAP_TEST_PG_BINDIR")
    if configured:
        return Path(configured)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged account the cluster runs as; None: as the caller."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("no unprivileged account (postgres/nobody) to run the test PostgreSQL")


def _argv(user: pwd.struct_passwd | None, argv: list[str]) -> list[str]:
    return ["runuser", "-u", user.pw_name, "--", *argv] if user is not None else argv


@dataclass
class PostgresServer:
    """A running cluster; connect as SUPERUSER over TCP without a password."""

    bindir: Path
    directory: Path
    port: int
    user: pwd.struct_passwd | None
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    databases: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        return self.directory / "postgres.log"

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, *, database: str = "postgres") -> str:
        done = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", self.host,
             "-p", str(self.port), "-U", SUPERUSER, "-d", database, "-c", sql],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode()

    def database_new(self, prefix: str = "jmap") -> str:
        """CREATE DATABASE with a fresh name; returns its DATABASE_URL."""
        name = f"{prefix}_{secrets.token_hex(4)}"
        self.psql(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return self.url(name)

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.process is None:
            return
        # SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, stop now.
        # Signal the postmaster itself (its pid is in postmaster.pid): runuser in
        # between may ignore SIGINT when it was started with SIGINT ignored (a
        # background job), and would then leave the server running.
        postmaster = _postmaster_pid(self.data_dir)
        targets = [postmaster] if postmaster else []
        self.process.send_signal(signal.SIGINT)
        for pid in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        deadline = time.monotonic() + 10
        for pid in targets:
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _pid_alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        self.process = None


def _postmaster_pid(data_dir: Path) -> int:
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def postgres_available() -> str | None:
    """None when a PostgreSQL server can be started here, else why not."""
    bindir = postgres_bindir()
    if bindir is None or not (bindir / "initdb").exists() or not (bindir / "postgres").exists():
        return "PostgreSQL is not installed (apt-get install postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is missing: PostgreSQL cannot be started as root"
    return None


def postgres_start() -> PostgresServer:
    """initdb + postgres on a free 127.0.0.1 port; waits until it accepts logins."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed")
    user = _run_as()
    directory = Path(tempfile.mkdtemp(prefix="jmap-postgres-"))
    directory.chmod(0o755)
    server = PostgresServer(bindir=bindir, directory=directory, port=free_port(), user=user)
    server.data_dir.mkdir(mode=0o700)
    if user is not None:
        os.chown(directory, user.pw_uid, user.pw_gid)
        os.chown(server.data_dir, user.pw_uid, user.pw_gid)
    initdb = subprocess.run(
        _argv(user, [str(bindir / "initdb"), "-D", str(server.data_dir), "-U", SUPERUSER, "-A", "trust",
                     "-E", "UTF8", "--locale=C", "--no-sync"]),
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    if initdb.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {initdb.stdout.decode()}{initdb.stderr.decode()}")
    log = server.log_file.open("ab")
    if user is not None:
        os.chown(server.log_file, user.pw_uid, user.pw_gid)
    # Throwaway data: no fsync, no full-page writes; enough connections for
    # several proxy processes with their thread pools.
    server.process = subprocess.Popen(
        _argv(user, [str(bindir / "postgres"), "-D", str(server.data_dir), "-h", server.host,
                     "-p", str(server.port), "-k", str(directory), "-c", "fsync=off",
                     "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                     "-c", "max_connections=300", "-c", "shared_buffers=64MB"]),
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        ready = subprocess.run(
            [str(bindir / "pg_isready"), "-q", "-h", server.host, "-p", str(server.port), "-U", SUPERUSER],
            capture_output=True, timeout=10, check=False,
        )  # fmt: skip
        if ready.returncode == 0:
            return server
        time.sleep(0.1)
    text = server.log_text()
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)
    raise RuntimeError(f"PostgreSQL did not start:\n{text[-3000:]}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    reason = postgres_available()
    if reason:
        server_missing(reason)
    server = postgres_start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
