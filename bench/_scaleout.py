"""The scale-out cluster of tests/scaleout for benchmarks, without pytest: a
private PostgreSQL (tests/servers/postgres.py) and Redis (tests/servers/redis.py)
on 127.0.0.1, migrations, then `runproxy --beat-only` (which does the one-time
set-up), two `--web-only` (A, B) and one `--worker-only` (Celery worker and the
IMAP IDLE listener), all from tests/scaleout/cluster.py. The same start-up as
the `cluster` fixture of tests/scaleout/conftest.py, with the README's
defaults (no JMAP_SYNC_INTERVAL override) unless `extra` says otherwise.

Everything started is stopped, and its directories removed (unless `keep`),
when the `with` block ends, also on error or Ctrl-C; a second Ctrl-C (or
SIGTERM) during that teardown is ignored rather than leave processes behind.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.scaleout.cluster import Cluster, cluster_env
from tests.servers.postgres import PostgresServer, postgres_available, postgres_bindir, postgres_start
from tests.servers.redis import RedisServer, redis_available, redis_start


def scaleout_unavailable() -> str | None:
    """None when PostgreSQL and redis-server can be started here, else why not."""
    return postgres_available() or redis_available()


def versions() -> str:
    """`PostgreSQL 15.x, Redis 7.x` of the binaries the cluster would use."""
    bindir = postgres_bindir()
    postgres = ""
    if bindir is not None:
        postgres = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    redis = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, timeout=10, check=False
    ).stdout.split()
    redis_version = next((w.split("=", 1)[1] for w in redis if w.startswith("v=")), "?")
    return f"{postgres.replace('postgres (PostgreSQL) ', 'PostgreSQL ') or 'PostgreSQL ?'}, Redis {redis_version}"


@contextmanager
def uninterrupted() -> Iterator[None]:
    """SIGINT and SIGTERM ignored inside (a teardown that must finish)."""
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _postgres_stop(server: PostgresServer) -> None:
    """server.stop(), and then the postmaster itself, by the pid in its postmaster.pid:
    when root runs it through `runuser` and SIGINT was ignored on entry (started
    in the background), runuser ignores the SIGINT too and is killed, leaving
    the postmaster behind."""
    try:
        postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        postmaster = 0
    if postmaster:
        _signal(postmaster, signal.SIGINT)  # PostgreSQL's fast shutdown
    server.stop()
    deadline = time.monotonic() + 20
    while postmaster and _alive(postmaster):
        if time.monotonic() > deadline:
            _signal(postmaster, signal.SIGKILL)
            break
        time.sleep(0.1)
    shutil.rmtree(server.directory, ignore_errors=True)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _redis_stop(server: RedisServer) -> None:
    server.stop()
    shutil.rmtree(server.directory, ignore_errors=True)


def _roles_stop(cluster: Cluster) -> None:
    """Cluster.stop_all, but one failing stop does not leave the others running."""
    for process in cluster.processes():
        try:
            process.stop()
        except Exception as error:  # report it and go on with the rest
            print(f"stopping {process.role} (pid {process.process.pid}) failed: {error!r}", file=sys.stderr)


@contextmanager
def scaleout_cluster(*, extra: dict[str, str] | None = None, keep: bool = False) -> Iterator[Cluster]:
    """PostgreSQL + Redis + web A, web B, worker (with listener), beat; the
    role processes' logs are in cluster.datadir.parent."""
    reason = scaleout_unavailable()
    if reason:
        raise RuntimeError(f"scale-out needs PostgreSQL and Redis: {reason}")
    stack = ExitStack()
    try:
        root = Path(tempfile.mkdtemp(prefix="jmap-bench-scaleout-"))
        if not keep:
            stack.callback(shutil.rmtree, root, ignore_errors=True)
        postgres = postgres_start()
        stack.callback(_postgres_stop, postgres)
        redis = redis_start(Path(tempfile.mkdtemp(prefix="jmap-bench-redis-")))
        stack.callback(_redis_stop, redis)
        datadir = root / "data"
        datadir.mkdir()
        env = cluster_env(
            datadir=datadir,
            database_url=postgres.database_new("bench"),
            redis_url=redis.database_new(),
            extra=extra,
        )
        cluster = Cluster(datadir=datadir, env=env)
        stack.callback(_roles_stop, cluster)  # runs before the servers stop (LIFO)
        cluster.manage("migrate", "--noinput", "-v", "0")
        cluster.beat = cluster.role_start("beat", setup=True)
        cluster.beat.wait_ready()
        cluster.web_a = cluster.role_start("web", name="web-a")
        cluster.web_b = cluster.role_start("web", name="web-b")
        cluster.worker = cluster.role_start("worker")
        for process in (cluster.web_a, cluster.web_b, cluster.worker):
            process.wait_ready()
        yield cluster
    finally:
        with uninterrupted():
            stack.close()
