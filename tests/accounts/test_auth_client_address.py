"""Every way in counts failures against the same client address
(jmapsite.client_address): a WebSocket upgrade (RFC 8887 §4.1) and the JSON
login page from an untrusted peer cannot dodge the address limit by writing
X-Forwarded-For, so mallory's later Basic request is refused too."""
from __future__ import annotations

import base64
import json

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from pytest_django.fixtures import Settings

from accounts.auth import AuthenticationFailed, authenticate_request
from jmapcore.push.ws_auth import websocket_authenticate
from tests.personas import Persona

PER_ADDRESS = 6
MALLORY = "172.17.0.9"  # a private peer: once trusted for X-Forwarded-For, no longer


@pytest.fixture(autouse=True)
def limits(settings: Settings, clean_cache: None) -> None:
    settings.JMAP_AUTH_WINDOW = 300
    settings.JMAP_AUTH_MAX_FAILURES_PER_ADDRESS = PER_ADDRESS
    settings.JMAP_AUTH_MAX_FAILURES_PER_LOGIN = 100


def _basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def _upgrade_scope(authorization: str, forwarded: str) -> dict[str, object]:
    return {
        "type": "websocket",
        "path": "/jmap/ws/",
        "query_string": b"",
        "client": (MALLORY, 40000),
        "server": ("127.0.0.1", settings.JMAP_PORT),
        "headers": [
            (b"host", b"localhost"),
            (b"authorization", authorization.encode()),
            (b"x-forwarded-for", forwarded.encode()),
        ],
    }


def _basic_status(authorization: str) -> int:
    request = RequestFactory().get("/session", HTTP_AUTHORIZATION=authorization, REMOTE_ADDR=MALLORY)
    try:
        authenticate_request(request)
    except AuthenticationFailed as exc:
        return exc.status
    return 200


def test_websocket_upgrades_count_against_the_peer(db: None, alice: Persona, bob: Persona) -> None:
    for i in range(PER_ADDRESS):
        with pytest.raises(AuthenticationFailed) as failed:
            websocket_authenticate(scope=_upgrade_scope(_basic(f"user{i}@example.test", "guess"), f"10.8.0.{i}"))
        assert failed.value.status == 401
    with pytest.raises(AuthenticationFailed) as blocked:
        websocket_authenticate(scope=_upgrade_scope(bob.basic, "10.8.9.9"))
    assert blocked.value.status == 429
    assert _basic_status(bob.basic) == 429


def test_the_login_page_counts_against_the_peer(db: None, alice: Persona) -> None:
    client = Client(SERVER_PORT=str(settings.JMAP_PORT), REMOTE_ADDR=MALLORY)
    for i in range(PER_ADDRESS):
        body = json.dumps({"username": f"user{i}@example.test", "password": "guess"})
        response = client.post("/auth/login", body, content_type="application/json", HTTP_X_FORWARDED_FOR=f"10.7.0.{i}")
        assert response.status_code == 401
    assert _basic_status(alice.basic) == 429
