"""GET /metrics is guarded like the management API (jmapsite.monitoring,
accounts.mgmt_auth): with a management token Prometheus must send it as a
bearer token; a foreign Host is refused; /healthz stays open for health checks."""
from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings

from tests.accounts.mgmt import management_client

pytestmark = pytest.mark.django_db

TOKEN = "metrics-" + "t0ken" * 8


def test_with_a_token_a_scrape_must_send_it(settings: Settings) -> None:
    settings.JMAP_MGMT_TOKEN = TOKEN
    missing = management_client().get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert b"jmap_uptime_seconds" not in missing.content
    wrong = management_client(HTTP_AUTHORIZATION="Bearer wrong").get("/metrics")
    assert wrong.status_code == 403
    assert b"jmap_uptime_seconds" not in wrong.content
    right = management_client(HTTP_AUTHORIZATION="Bearer " + TOKEN).get("/metrics")
    assert right.status_code == 200
    assert b"jmap_uptime_seconds" in right.content


def test_without_a_token_loopback_scrapes_as_before() -> None:
    response = management_client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"jmap_uptime_seconds" in response.content


def test_a_rebinding_page_cannot_read_the_metrics() -> None:
    response = management_client(HTTP_HOST="attacker.example:8080").get("/metrics")
    assert response.status_code == 403
    assert b"jmap_" not in response.content


def test_healthz_needs_no_token(settings: Settings) -> None:
    settings.JMAP_MGMT_TOKEN = TOKEN
    assert management_client().get("/healthz").status_code in (200, 503)
    assert management_client().get("/healthz").json()["status"] in ("ok", "degraded")
