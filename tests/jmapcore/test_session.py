"""The Session resource (RFC 8620 §2) and its discovery redirect (§2.2)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from accounts.models import Account
from jmapcore.limits import CORE_CAPABILITY, LIMITS
from jmapcore.registry import CAPABILITIES, CapabilitySpec
from tests.jmapcore.apiclient import api_post, jmap_request
from tests.personas import Persona

EXTRA = "urn:example:test-only"


def fetch_session(client: Client, persona: Persona) -> dict[str, Any]:
    response = client.get("/session", HTTP_AUTHORIZATION=persona.basic)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def test_session_shape(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    session = fetch_session(jmap_client, alice)
    assert set(session) == {
        "capabilities",
        "accounts",
        "primaryAccounts",
        "username",
        "apiUrl",
        "downloadUrl",
        "uploadUrl",
        "eventSourceUrl",
        "state",
    }
    core = session["capabilities"][CORE_CAPABILITY]
    assert core["maxCallsInRequest"] == LIMITS.maxCallsInRequest
    assert core["maxSizeRequest"] == LIMITS.maxSizeRequest
    assert core["maxConcurrentRequests"] == LIMITS.maxConcurrentRequests
    assert "i;unicode-casemap" in core["collationAlgorithms"]
    assert list(session["accounts"]) == [alice.account_id]  # not bob's
    account = session["accounts"][alice.account_id]
    assert account["name"] == alice.account.name
    assert account["isPersonal"] is True and account["isReadOnly"] is False
    assert account["accountCapabilities"][CORE_CAPABILITY] == {}
    # Every capability the account offers, as its registered account value, and nothing else.
    offered = {urn for urn, spec in CAPABILITIES.items() if spec.account_value(alice.account) is not None}
    assert set(account["accountCapabilities"]) == offered
    assert set(session["capabilities"]) == set(CAPABILITIES)
    assert session["primaryAccounts"] == dict.fromkeys(offered, alice.account_id)
    assert session["username"] == alice.login
    assert isinstance(session["state"], str) and session["state"]


def test_session_with_bearer_token(jmap_client: Client, bob: Persona) -> None:
    response = jmap_client.get("/session", HTTP_AUTHORIZATION=bob.bearer)
    assert response.status_code == 200
    assert list(json.loads(response.content)["accounts"]) == [bob.account_id]


@pytest.mark.parametrize("base", ["http://testserver", "https://mail.example.org/jmap-proxy"])
def test_urls_are_absolute_from_baseurl(jmap_client: Client, alice: Persona, base: str) -> None:
    with override_settings(BASEURL=base):
        session = fetch_session(jmap_client, alice)
    assert session["apiUrl"] == f"{base}/jmap/"
    assert session["downloadUrl"] == f"{base}/download/{{accountId}}/{{blobId}}/{{name}}?type={{type}}"
    assert session["uploadUrl"] == f"{base}/upload/{{accountId}}/"
    assert session["eventSourceUrl"] == f"{base}/eventsource/?types={{types}}&closeafter={{closeafter}}&ping={{ping}}"


def test_urls_ignore_the_host_header(jmap_client: Client, alice: Persona) -> None:
    with override_settings(BASEURL="https://jmap.example.com"):
        response = jmap_client.get("/session", HTTP_AUTHORIZATION=alice.basic, HTTP_HOST="evil.example.net")
    assert json.loads(response.content)["apiUrl"] == "https://jmap.example.com/jmap/"


def test_state_is_stable_and_follows_accounts(jmap_client: Client, alice: Persona) -> None:
    first = fetch_session(jmap_client, alice)["state"]
    assert fetch_session(jmap_client, alice)["state"] == first
    Account.objects.create(
        accountid="alice-archive", pool=alice.pool, email="archive@example.test", name="", is_read_only=True
    )
    session = fetch_session(jmap_client, alice)
    assert session["state"] != first
    assert list(session["accounts"]) == [alice.account_id, "alice-archive"]
    assert session["accounts"]["alice-archive"]["isReadOnly"] is True
    assert session["accounts"]["alice-archive"]["name"] == "archive@example.test"  # no name: the address
    assert session["primaryAccounts"][CORE_CAPABILITY] == alice.account_id
    # The API reports the same state as the session it now serves.
    api_state = json.loads(api_post(jmap_client, alice.basic, jmap_request()).content)["sessionState"]
    assert api_state == session["state"]


def test_capability_offered_by_some_accounts_only(
    jmap_client: Client, alice: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = fetch_session(jmap_client, alice)["state"]
    Account.objects.create(accountid="alice-zz", pool=alice.pool, email="zz@example.test")
    monkeypatch.setitem(
        CAPABILITIES,
        EXTRA,
        CapabilitySpec(
            urn=EXTRA,
            session_value=lambda: {"maxThings": 3},
            account_value=lambda account: {"flavour": account.accountid} if account.accountid == "alice-zz" else None,
        ),
    )
    session = fetch_session(jmap_client, alice)
    assert session["capabilities"][EXTRA] == {"maxThings": 3}
    assert EXTRA not in session["accounts"][alice.account_id]["accountCapabilities"]
    assert session["accounts"]["alice-zz"]["accountCapabilities"][EXTRA] == {"flavour": "alice-zz"}
    assert session["primaryAccounts"][CORE_CAPABILITY] == alice.account_id
    assert session["primaryAccounts"][EXTRA] == "alice-zz"
    assert session["state"] != before


def test_session_needs_authentication(jmap_client: Client, alice: Persona) -> None:
    for auth in (None, "Bearer nope"):
        headers: dict[str, Any] = {"HTTP_AUTHORIZATION": auth} if auth else {}
        response = jmap_client.get("/session", **headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="jmap"'
        assert "accounts" not in json.loads(response.content)


def test_session_rejects_post(jmap_client: Client, alice: Persona) -> None:
    assert jmap_client.post("/session", HTTP_AUTHORIZATION=alice.basic).status_code == 405


@pytest.mark.parametrize("authenticated", [False, True])
def test_well_known_redirects_to_session(jmap_client: Client, alice: Persona, authenticated: bool) -> None:
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": alice.basic} if authenticated else {}
    with override_settings(BASEURL="https://jmap.example.com"):
        response = jmap_client.get("/.well-known/jmap", **headers)
    assert response.status_code == 302
    assert response["Location"] == "https://jmap.example.com/session"


def test_session_is_on_the_jmap_port_only(mgmt_client: Client, alice: Persona) -> None:
    # SERVER_PORT per request: the test client resets it to 80 in every request it builds.
    port = str(settings.JMAP_MGMT_PORT)
    response = mgmt_client.get("/session", HTTP_AUTHORIZATION=alice.basic, SERVER_PORT=port)
    # The management side owns every path there (the admin catches the rest): no Session object.
    assert response.status_code != 200
    assert b"apiUrl" not in response.content
