"""GET /healthz on the management port: the product README's health document,
503 "degraded" when the database is unreachable, 404 on the JMAP port."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client

from tests.jmapsite.processes import children, dead_pid, supervisor_state

pytestmark = pytest.mark.django_db


def test_healthz_without_supervisor_describes_this_process(mgmt_client: Client) -> None:
    response = mgmt_client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"status", "uptime", "children", "pid", "processes"}
    assert body["status"] == "ok"
    assert body["pid"] == os.getpid()
    assert body["children"] == 0
    assert body["processes"] == {}
    assert isinstance(body["uptime"], int) and body["uptime"] >= 0


def test_healthz_reports_supervisor_and_live_children(mgmt_client: Client) -> None:
    with children(2) as (web, worker), supervisor_state(
        pid=os.getpid(),
        started=time.time() - 3600,
        children={"web": web.pid, "worker": worker.pid, "beat": dead_pid()},
    ):
        body = mgmt_client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["children"] == 2  # beat's pid is gone
    assert body["processes"] == {"web": web.pid, "worker": worker.pid}
    assert body["pid"] == os.getpid()
    assert 3600 <= body["uptime"] <= 3660


def test_healthz_counts_a_child_that_died(mgmt_client: Client) -> None:
    with children(2) as (web, worker), supervisor_state(
        pid=os.getpid(), started=time.time(), children={"web": web.pid, "worker": worker.pid}
    ):
        assert mgmt_client.get("/healthz").json()["children"] == 2
        worker.kill()
        worker.wait()
        assert mgmt_client.get("/healthz").json()["children"] == 1


def test_healthz_ignores_state_left_by_a_dead_supervisor(mgmt_client: Client) -> None:
    with children(1) as (web,), supervisor_state(
        pid=dead_pid(), started=time.time() - 99999, children={"web": web.pid}
    ):
        body = mgmt_client.get("/healthz").json()
    assert body["pid"] == os.getpid()
    assert body["children"] == 0
    assert body["uptime"] < 99999


@pytest.fixture
def unreachable_database(tmp_path: Path) -> Iterator[None]:
    """Point this thread's default connection at a database that cannot be opened
    (an SQLite file in a directory that does not exist), then restore it."""
    original = connections["default"]
    settings_dict = {**original.settings_dict, "NAME": str(tmp_path / "missing-dir" / "db.sqlite3")}
    broken = type(original)(settings_dict, "default")
    connections["default"] = broken
    try:
        yield
    finally:
        broken.close()
        connections["default"] = original


def test_healthz_degraded_when_database_unreachable(mgmt_client: Client, unreachable_database: None) -> None:
    response = mgmt_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert set(body["failed"]) == {"database"}
    assert body["failed"]["database"].startswith("unreachable")
    assert body["pid"] == os.getpid()


def test_healthz_recovers_when_database_returns(mgmt_client: Client, tmp_path: Path) -> None:
    original = connections["default"]
    broken = type(original)({**original.settings_dict, "NAME": str(tmp_path / "nope" / "db.sqlite3")}, "default")
    connections["default"] = broken
    try:
        assert mgmt_client.get("/healthz").status_code == 503
    finally:
        broken.close()
        connections["default"] = original
    assert mgmt_client.get("/healthz").status_code == 200


def test_healthz_rejects_other_methods(mgmt_client: Client) -> None:
    assert mgmt_client.post("/healthz").status_code == 405


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_monitoring_not_on_jmap_port(jmap_client: Client, path: str) -> None:
    assert jmap_client.get(path).status_code == 404


def test_healthz_answers_head(mgmt_client: Client) -> None:
    assert mgmt_client.head("/healthz").status_code == 200
