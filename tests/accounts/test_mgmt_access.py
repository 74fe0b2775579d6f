"""Who may use the management API: loopback without credentials by default,
everyone with JMAP_MGMT_TOKEN once it is set, nobody on the JMAP port."""
from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings

from tests.accounts.mgmt import PortClient, management_client

pytestmark = pytest.mark.django_db

TOKEN = "mgmt-" + "s3cret" * 6


def test_loopback_needs_no_credentials() -> None:
    response = management_client().get("/api/accounts")
    assert response.status_code == 200
    assert response.json() == []
    assert management_client(REMOTE_ADDR="::1").get("/api/accounts").status_code == 200


def test_remote_clients_are_refused_without_a_token() -> None:
    response = management_client(REMOTE_ADDR="192.0.2.10", HTTP_HOST="jmap.example.com:8080").get("/api/accounts")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert "JMAP_MGMT_TOKEN" in response.json()["detail"]


def test_a_local_reverse_proxy_does_not_make_remote_clients_local() -> None:
    client = management_client(HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert client.get("/api/accounts").status_code == 403


def test_dns_rebinding_host_is_refused() -> None:
    assert management_client(HTTP_HOST="attacker.example:8080").get("/api/accounts").status_code == 403
    assert management_client(HTTP_HOST="127.0.0.1:8080").get("/api/accounts").status_code == 200
    assert management_client(HTTP_HOST="[::1]:8080").get("/api/accounts").status_code == 200


def test_allowed_networks_come_from_settings(settings: Settings) -> None:
    settings.JMAP_MGMT_ALLOW = ("127.0.0.0/8", "172.17.0.0/16")
    docker_host = management_client(REMOTE_ADDR="172.17.0.1", HTTP_HOST="proxy:8080")
    assert docker_host.get("/api/accounts").status_code == 200
    assert management_client(REMOTE_ADDR="172.18.0.1").get("/api/accounts").status_code == 403


def test_with_a_token_everyone_must_send_it(settings: Settings) -> None:
    settings.JMAP_MGMT_TOKEN = TOKEN
    missing = management_client().get("/api/accounts")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    wrong = management_client(HTTP_AUTHORIZATION="Bearer " + TOKEN[:-1] + "x").get("/api/accounts")
    assert wrong.status_code == 403
    basic = management_client(HTTP_AUTHORIZATION="Basic " + TOKEN).get("/api/accounts")
    assert basic.status_code == 401
    right = management_client(HTTP_AUTHORIZATION="Bearer " + TOKEN).get("/api/accounts")
    assert right.status_code == 200
    remote = management_client(
        REMOTE_ADDR="198.51.100.4", HTTP_HOST="mgmt.example.com", HTTP_AUTHORIZATION="Bearer " + TOKEN
    )
    assert remote.get("/api/accounts").status_code == 200


def test_docs_follow_the_same_rule(settings: Settings) -> None:
    docs = management_client().get("/api/docs")
    assert docs.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in docs.content.decode()  # served here, not from a CDN
    schema = management_client().get("/api/openapi.json")
    assert schema.status_code == 200
    assert "/api/accounts/{accountid}/tokens" in schema.json()["paths"]
    assert management_client(REMOTE_ADDR="192.0.2.10").get("/api/docs").status_code == 403
    settings.JMAP_MGMT_TOKEN = TOKEN
    assert management_client().get("/api/openapi.json").status_code == 401


def test_not_reachable_on_the_jmap_port(jmap_port_client: PortClient) -> None:
    for path in ("/api/accounts", "/api/docs", "/api/openapi.json", "/api/accounts/alice/tokens"):
        assert jmap_port_client.get(path).status_code == 404
