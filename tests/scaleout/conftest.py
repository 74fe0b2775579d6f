"""One scale-out cluster for the package: migrations run once against a fresh
PostgreSQL database, then web A, web B, a worker and beat start as real
processes on it and on a fresh Redis database; all are stopped at the end,
also when a test or the start-up fails.

JMAP_SYNC_INTERVAL is 600 s here so that periodic syncs do not run in the
middle of a test's measurements; tests trigger syncs through the management
API (the README's `POST /api/accounts/ID/sync`) or the IMAP IDLE listener.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scaleout.cluster import Cluster, cluster_env
from tests.servers.dovecot import DovecotServer
from tests.servers.postgres import PostgresServer
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.slow

SYNC_INTERVAL = 600


@pytest.fixture(scope="package")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer, redis_server: RedisServer,
    dovecot: DovecotServer,
) -> Iterator[Cluster]:  # fmt: skip
    root = tmp_path_factory.mktemp("scaleout")
    datadir = root / "data"
    datadir.mkdir()
    env = cluster_env(
        datadir=datadir,
        database_url=postgres.database_new("scaleout"),
        redis_url=redis_server.database_new(),
        extra={"JMAP_SYNC_INTERVAL": str(SYNC_INTERVAL), "JMAP_TLS_CA_FILE": str(dovecot.ca_file)},
    )
    cluster = Cluster(datadir=datadir, env=env)
    try:
        cluster.manage("migrate", "--noinput", "-v", "0")
        # Beat does the rest of the one-time set-up (periodic task rows,
        # dashboard user); the others start with --no-setup.
        cluster.beat = cluster.role_start("beat", setup=True)
        cluster.beat.wait_ready()
        cluster.web_a = cluster.role_start("web", name="web-a")
        cluster.web_b = cluster.role_start("web", name="web-b")
        cluster.worker = cluster.role_start("worker")
        for process in (cluster.web_a, cluster.web_b, cluster.worker):
            process.wait_ready()
        yield cluster
    finally:
        cluster.stop_all()
