"""/metrics and /healthz of the scale-out processes report real values
(issue 4 item 7): open streams per web process, tasks waiting in the Redis
broker, syncs running in any worker, each account's sync age; /healthz lists
the live processes of its own supervisor."""
from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.jmapcore.push.clients import eventsource, person_add
from tests.scaleout.cluster import (
    Cluster,
    RoleProcess,
    account_get,
    imap_person,
    mailbox_seed,
    sync_request,
    wait_for,
)
from tests.scaleout.test_push_across_web import on
from tests.servers.dovecot import DovecotServer

pytestmark = pytest.mark.slow


def metric(web: RoleProcess, name: str, **labels: str) -> float | None:
    response = httpx.get(web.mgmt_url + "/metrics", timeout=10)
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def test_sse_connections_active_counts_open_streams(cluster: Cluster) -> None:
    erin = person_add(cluster.a.as_proxy(), "erin")
    assert metric(cluster.a, "jmap_sse_connections_active") == 0
    assert metric(cluster.b, "jmap_sse_connections_active") == 0
    with eventsource(on(erin, cluster.b)), eventsource(on(erin, cluster.b)), eventsource(erin):
        assert metric(cluster.b, "jmap_sse_connections_active") == 2
        assert metric(cluster.a, "jmap_sse_connections_active") == 1
    for web in (cluster.a, cluster.b):

        def closed(web: RoleProcess = web) -> bool:
            return metric(web, "jmap_sse_connections_active") == 0

        wait_for(closed, timeout=10, what="streams closed")


def test_queue_depth_rises_while_the_worker_is_stopped(cluster: Cluster) -> None:
    people = [person_add(cluster.a.as_proxy(), f"frank{i}") for i in range(3)]
    cluster.worker_node.stop()
    before = metric(cluster.a, "jmap_backend_queue_depth")
    assert before is not None
    for person in people:
        sync_request(cluster.b, person.account_id)
    depth_a = metric(cluster.a, "jmap_backend_queue_depth")
    depth_b = metric(cluster.b, "jmap_backend_queue_depth")
    assert depth_a is not None and depth_b is not None
    # Beat may add its own periodic tasks meanwhile; ours are there in any case.
    assert depth_a >= before + 3 and depth_b >= before + 3
    cluster.worker_start()
    wait_for(lambda: metric(cluster.a, "jmap_backend_queue_depth") == 0, timeout=60, what="queue drained")


def test_workers_active_and_sync_age_follow_a_real_sync(cluster: Cluster, dovecot: DovecotServer) -> None:
    grace = imap_person(cluster.a, dovecot, "grace")
    mailbox_seed(dovecot, grace.login, count=5000, tag="metrics")
    assert metric(cluster.b, "jmap_backend_workers_active") == 0
    # Never synced: the age counts from the account's creation.
    first_age = metric(cluster.b, "jmap_account_last_sync_age_seconds", accountid=grace.account_id)
    assert first_age is not None and 0 <= first_age < 120
    sync_request(cluster.a, grace.account_id)
    seen = wait_for(
        lambda: metric(cluster.b, "jmap_backend_workers_active") == 1,
        timeout=60, every=0.05, what="the running sync in jmap_backend_workers_active",
    )  # fmt: skip
    assert seen
    wait_for(
        lambda: account_get(cluster.a, grace.account_id)["syncProgress"].get("state") == "done",
        timeout=120, every=0.2, what="the sync to finish",
    )  # fmt: skip
    finished = time.monotonic()
    wait_for(lambda: metric(cluster.b, "jmap_backend_workers_active") == 0, timeout=30, what="no sync running")
    age = metric(cluster.a, "jmap_account_last_sync_age_seconds", accountid=grace.account_id)
    assert age is not None and 0 <= age <= time.monotonic() - finished + 5


def test_healthz_lists_each_supervisors_processes(cluster: Cluster) -> None:
    for web in (cluster.a, cluster.b):
        body = httpx.get(web.mgmt_url + "/healthz", timeout=10).json()
        assert body["status"] == "ok"
        assert body["pid"] == web.process.pid
        assert body["processes"] == web.children() and set(body["processes"]) == {"web"}
        assert body["children"] == 1
    assert {"worker"} <= set(cluster.worker_node.children())
    assert cluster.beat is not None and set(cluster.beat.children()) == {"beat"}
