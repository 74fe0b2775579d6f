"""Who may use the management API: loopback without credentials only while the
port listens on loopback and no token exists, everyone with the token once
there is one, every client's Host header checked, nobody on the JMAP port."""
from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings

from accounts.models import ApiToken
from tests.accounts.mgmt import PortClient, management_client
from tests.personas import Persona

pytestmark = pytest.mark.django_db

TOKEN = "mgmt-" + "s3cret" * 6


def test_loopback_needs_no_credentials() -> None:
    response = management_client().get("/api/accounts")
    assert response.status_code == 200
    assert response.json() == []
    assert management_client(REMOTE_ADDR="::1").get("/api/accounts").status_code == 200


def test_remote_clients_are_refused_without_a_token(settings: Settings) -> None:
    settings.JMAP_MGMT_HOSTS = ("jmap.example.com",)
    response = management_client(REMOTE_ADDR="192.0.2.10", HTTP_HOST="jmap.example.com:8080").get("/api/accounts")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert "JMAP_MGMT_TOKEN" in response.json()["detail"]


def test_a_local_reverse_proxy_does_not_make_remote_clients_local() -> None:
    client = management_client(HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert client.get("/api/accounts").status_code == 403


def test_forwarded_for_from_an_untrusted_peer_is_not_believed(settings: Settings) -> None:
    # mallory, on a network allowed in by mistake, claims to be forwarding for 127.0.0.1:
    # the claim is ignored (10.0.0.0/8 is not a trusted proxy), so she stays 10.0.0.5.
    settings.JMAP_MGMT_ALLOW = ("127.0.0.0/8", "10.0.0.0/8")
    settings.JMAP_TRUSTED_PROXIES = ("127.0.0.0/8",)
    spoofing = management_client(REMOTE_ADDR="10.0.0.5", HTTP_HOST="localhost", HTTP_X_FORWARDED_FOR="192.0.2.66")
    assert spoofing.get("/api/accounts").status_code == 200  # judged by her own (allowed) address
    settings.JMAP_MGMT_ALLOW = ("127.0.0.0/8",)
    spoofing = management_client(REMOTE_ADDR="10.0.0.5", HTTP_HOST="localhost", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert spoofing.get("/api/accounts").status_code == 403


def test_dns_rebinding_host_is_refused() -> None:
    rebound = management_client(HTTP_HOST="attacker.example:8080").get("/api/accounts")
    assert rebound.status_code == 403
    assert "Host" in rebound.json()["detail"]
    assert management_client(HTTP_HOST="127.0.0.1:8080").get("/api/accounts").status_code == 200
    assert management_client(HTTP_HOST="[::1]:8080").get("/api/accounts").status_code == 200
    assert management_client(HTTP_HOST="localhost").get("/api/accounts").status_code == 200


def test_the_host_header_is_checked_for_every_peer(settings: Settings) -> None:
    # A Docker bridge peer allowed by address still needs a Host of ours: a
    # rebinding name that resolves to the bridge is refused.
    settings.JMAP_MGMT_ALLOW = ("127.0.0.0/8", "172.17.0.0/16")
    docker_host = management_client(REMOTE_ADDR="172.17.0.1", HTTP_HOST="proxy:8080")
    assert docker_host.get("/api/accounts").status_code == 403
    assert management_client(REMOTE_ADDR="172.18.0.1").get("/api/accounts").status_code == 403
    settings.JMAP_MGMT_HOSTS = ("proxy",)
    assert docker_host.get("/api/accounts").status_code == 200


def test_the_host_header_is_checked_even_with_the_token(settings: Settings) -> None:
    settings.JMAP_MGMT_TOKEN = TOKEN
    rebound = management_client(HTTP_HOST="attacker.example:8080", HTTP_AUTHORIZATION="Bearer " + TOKEN)
    assert rebound.get("/api/accounts").status_code == 403


def test_beyond_loopback_without_a_token_nobody_gets_in(settings: Settings) -> None:
    # A port bound to 0.0.0.0 (the Docker image) without a token must not fall
    # back to trusting addresses: a neighbour container is "private" too.
    settings.JMAP_MGMT_HOST = "0.0.0.0"  # noqa: S104 - the setting under test, nothing listens
    settings.JMAP_MGMT_TOKEN = ""
    settings.JMAP_MGMT_ALLOW = ("127.0.0.0/8", "172.16.0.0/12")
    for peer in ("127.0.0.1", "172.17.0.1"):
        response = management_client(REMOTE_ADDR=peer).get("/api/accounts")
        assert response.status_code == 403
        assert "beyond loopback" in response.json()["detail"]


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
    settings.JMAP_MGMT_HOSTS = ("mgmt.example.com",)
    remote = management_client(
        REMOTE_ADDR="198.51.100.4", HTTP_HOST="mgmt.example.com", HTTP_AUTHORIZATION="Bearer " + TOKEN
    )
    assert remote.get("/api/accounts").status_code == 200


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (None, None),  # fetch(url, {method: "POST", mode: "no-cors"}): no body, no content type
        ("application/x-www-form-urlencoded", "name=x"),  # a cross-site <form>
        ("multipart/form-data; boundary=B", "--B--\r\n"),
        ("text/plain", '{"name": "x"}'),  # the "simple request" trick
    ],
)
def test_changes_must_be_declared_json(alice: Persona, content_type: str | None, body: str | None) -> None:
    before = ApiToken.objects.filter(pool=alice.pool).count()
    client = management_client()
    path = f"/api/accounts/{alice.account_id}/tokens"
    if content_type is None:
        response = client.generic("POST", path)
    else:
        response = client.generic("POST", path, data=body or "", content_type=content_type)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupportedMediaType"
    assert ApiToken.objects.filter(pool=alice.pool).count() == before
    assert management_client().post_empty(path).status_code == 201  # the same request, declared JSON


def test_patch_and_delete_must_be_declared_json(alice: Persona) -> None:
    client = management_client()
    path = f"/api/accounts/{alice.account_id}"
    form = client.generic("PATCH", path, data="name=x", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    assert client.generic("DELETE", path).status_code == 415
    assert client.get(path).status_code == 200
    assert client.delete_json(path).status_code == 204


def test_access_is_decided_before_the_content_type(settings: Settings, alice: Persona) -> None:
    settings.JMAP_MGMT_TOKEN = TOKEN
    response = management_client().generic("POST", f"/api/accounts/{alice.account_id}/tokens")
    assert response.status_code == 401


def test_docs_follow_the_same_rule(settings: Settings) -> None:
    docs = management_client().get("/api/docs")
    assert docs.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in docs.content.decode()  # served here, not from a CDN
    schema = management_client().get("/api/openapi.json")
    assert schema.status_code == 200
    assert "/api/accounts/{accountid}/tokens" in schema.json()["paths"]
    assert management_client(REMOTE_ADDR="192.0.2.10").get("/api/docs").status_code == 403
    assert management_client(HTTP_HOST="attacker.example").get("/api/openapi.json").status_code == 403
    settings.JMAP_MGMT_TOKEN = TOKEN
    assert management_client().get("/api/openapi.json").status_code == 401


def test_not_reachable_on_the_jmap_port(jmap_port_client: PortClient) -> None:
    for path in ("/api/accounts", "/api/docs", "/api/openapi.json", "/api/accounts/alice/tokens"):
        assert jmap_port_client.get(path).status_code == 404
