"""Which URLs a request sees depends only on the port it arrived on."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.jmapsite.test_runproxy import MANAGEMENT_PATHS


@pytest.mark.django_db
@pytest.mark.parametrize("path", MANAGEMENT_PATHS)
def test_management_urls_answer_404_on_the_jmap_port(jmap_client: Client, path: str) -> None:
    assert jmap_client.get(path).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("port", ["80", "443", "9000", "1"])
def test_an_unknown_port_gets_the_jmap_urls_never_management(port: str) -> None:
    client = Client(SERVER_PORT=port, REMOTE_ADDR="127.0.0.1")
    assert client.get("/healthz").status_code == 404
    assert client.get("/api/accounts").status_code == 404
    assert client.get("/.well-known/jmap").status_code in (301, 302, 307, 308)


@pytest.mark.django_db
def test_jmap_urls_are_not_on_the_management_port(mgmt_client: Client) -> None:
    assert mgmt_client.get("/.well-known/jmap").status_code == 404
    assert mgmt_client.post("/jmap/", data="{}", content_type="application/json").status_code == 404


def test_the_two_ports_differ() -> None:
    assert settings.JMAP_PORT != settings.JMAP_MGMT_PORT
