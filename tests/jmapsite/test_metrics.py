"""GET /metrics on the management port: the product README's metric names with
real values, computed from the supervisor state, the task queue and the
accounts table; counters move when the JMAP API is used."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import Account
from accounts.sync import AccountSyncLock
from jmapsite.celery import app as celery_app
from tests.jmapsite.processes import children, supervisor_state
from tests.personas import Persona

pytestmark = pytest.mark.django_db

# The product README's "Key metrics" table: these exact names are a contract.
README_METRICS = {
    "jmap_uptime_seconds": "gauge",
    "jmap_backend_workers_active": "gauge",
    "jmap_backend_queue_depth": "gauge",
    "jmap_sse_connections_active": "gauge",
    "jmap_http_requests_total": "counter",
    "jmap_method_calls_total": "counter",
    "jmap_method_errors_total": "counter",
    "jmap_account_last_sync_age_seconds": "gauge",
}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: Client) -> tuple[Samples, dict[str, str]]:
    """(sample values by name and labels, family type by sample name)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
            types[sample.name] = family.type
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def jmap_call(client: Client, persona: Persona, calls: list[list[object]]) -> dict[str, Any]:
    response = client.post(
        "/jmap/",
        data=json.dumps({"using": ["urn:ietf:params:jmap:core"], "methodCalls": calls}),
        content_type="application/json",
        HTTP_AUTHORIZATION=persona.basic,
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_every_readme_metric_has_a_value(mgmt_client: Client, jmap_client: Client, alice: Persona) -> None:
    jmap_call(jmap_client, alice, [["Core/echo", {"hello": True}, "0"], ["Nope/nothing", {}, "1"]])
    with children(1) as (worker,), supervisor_state(
        pid=os.getpid(), started=time.time() - 3600, children={"worker": worker.pid}
    ), sync_running(alice):
        samples, types = scrape(mgmt_client)
    names = {name for name, _ in samples}
    missing = set(README_METRICS) - names
    assert not missing, f"not exposed: {sorted(missing)}"
    for name, kind in README_METRICS.items():
        assert types[name] == kind, name
    # Counter names are not doubled by prometheus_client's _total suffix.
    assert not any(name.endswith("_total_total") for name in names)
    assert 3600 <= value(samples, "jmap_uptime_seconds") <= 3660
    assert value(samples, "jmap_backend_workers_active") == 1
    assert value(samples, "jmap_backend_queue_depth") >= 0
    assert value(samples, "jmap_sse_connections_active") >= 0
    assert value(samples, "jmap_http_requests_total", endpoint="api") >= 1
    assert value(samples, "jmap_method_calls_total", method="Core/echo") >= 1
    assert total(samples, "jmap_method_errors_total") >= 1
    assert ("jmap_account_last_sync_age_seconds", frozenset({("accountid", "alice")})) in samples


def test_django_prometheus_metrics_are_exposed(mgmt_client: Client) -> None:
    mgmt_client.get("/healthz")
    samples, _ = scrape(mgmt_client)
    assert total(samples, "django_http_requests_total_by_method_total") >= 1


def test_counters_increase_after_a_core_echo_call(mgmt_client: Client, jmap_client: Client, alice: Persona) -> None:
    before, _ = scrape(mgmt_client)
    body = jmap_call(jmap_client, alice, [["Core/echo", {"ping": 1}, "a"], ["Nope/nothing", {}, "b"]])
    assert body["methodResponses"][0] == ["Core/echo", {"ping": 1}, "a"]
    after, _ = scrape(mgmt_client)

    def delta(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after[key] - before.get(key, 0.0)

    assert delta("jmap_http_requests_total", endpoint="api") == 1
    assert delta("jmap_method_calls_total", method="Core/echo") == 1
    assert total(after, "jmap_method_errors_total") - total(before, "jmap_method_errors_total") == 1


def test_sync_age_per_account(mgmt_client: Client, alice: Persona, bob: Persona) -> None:
    now = timezone.now()
    Account.objects.filter(pk=alice.account.pk).update(last_sync_at=now - timedelta(seconds=120))
    # bob has never synced: his age counts from the account's creation.
    Account.objects.filter(pk=bob.account.pk).update(created_at=now - timedelta(hours=1), last_sync_at=None)
    samples, _ = scrape(mgmt_client)
    assert 120 <= value(samples, "jmap_account_last_sync_age_seconds", accountid="alice") <= 130
    assert 3600 <= value(samples, "jmap_account_last_sync_age_seconds", accountid="bob") <= 3610


@contextmanager
def sync_running(persona: Persona) -> Iterator[AccountSyncLock]:
    """Hold the persona's sync lock, as a worker running its sync does."""
    lock = AccountSyncLock(account_id=persona.account.pk)
    assert lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


def test_workers_active_counts_running_syncs(mgmt_client: Client, alice: Persona, bob: Persona) -> None:
    """Per-account sync workers: the sync locks held in the shared cache, by any
    process (the scale-out version is tests/scaleout/test_metrics.py)."""
    assert value(scrape(mgmt_client)[0], "jmap_backend_workers_active") == 0
    with sync_running(alice):
        assert value(scrape(mgmt_client)[0], "jmap_backend_workers_active") == 1
        with sync_running(bob):
            assert value(scrape(mgmt_client)[0], "jmap_backend_workers_active") == 2
        assert value(scrape(mgmt_client)[0], "jmap_backend_workers_active") == 1
    assert value(scrape(mgmt_client)[0], "jmap_backend_workers_active") == 0


@pytest.fixture
def empty_queue() -> Iterator[None]:
    """The embedded filesystem broker's default queue, emptied before and after."""

    def purge() -> None:
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(celery_app.conf.task_default_queue)

    purge()
    yield
    purge()


def test_queue_depth_counts_pending_messages_filesystem_broker(
    mgmt_client: Client, alice: Persona, empty_queue: None
) -> None:
    from accounts.tasks import account_sync_task

    assert value(scrape(mgmt_client)[0], "jmap_backend_queue_depth") == 0
    account_sync_task.delay(alice.account.pk)
    account_sync_task.delay(alice.account.pk)
    assert value(scrape(mgmt_client)[0], "jmap_backend_queue_depth") == 2


def test_queue_depth_counts_pending_messages_redis_broker(mgmt_client: Client, redis_url: str) -> None:
    # redis_url: the session's redis-server (tests/servers/redis.py), a logical database of this module's own.
    with override_settings(CELERY_BROKER_URL=redis_url, CELERY_BROKER_TRANSPORT_OPTIONS={}):
        assert value(scrape(mgmt_client)[0], "jmap_backend_queue_depth") == 0
        with celery_app.connection_for_write(redis_url) as conn:
            celery_app.send_task("accounts.tasks.account_sync_task", args=[1], connection=conn)
            celery_app.send_task("accounts.tasks.account_sync_task", args=[2], connection=conn)
            # A prioritised message lands in another Redis list; still pending.
            celery_app.send_task("accounts.tasks.account_sync_task", args=[3], connection=conn, priority=9)
        assert value(scrape(mgmt_client)[0], "jmap_backend_queue_depth") == 3


def test_metrics_answer_when_database_unreachable(mgmt_client: Client, alice: Persona, tmp_path: Path) -> None:
    original = connections["default"]
    broken = type(original)({**original.settings_dict, "NAME": str(tmp_path / "missing" / "db.sqlite3")}, "default")
    connections["default"] = broken
    try:
        samples, _ = scrape(mgmt_client)
    finally:
        broken.close()
        connections["default"] = original
    names = {name for name, _ in samples}
    assert "jmap_uptime_seconds" in names
    assert "jmap_account_last_sync_age_seconds" not in names
