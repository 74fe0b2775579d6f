"""A passthrough account with authType "oauth" created through the management
API (accounts.services.account_create): it takes the tokens of an OAuth grant
for the upstream (its password is only the JMAP login's), checks the upstream
with the access token, stores the tokens sealed and never shows them, and its
access token is refreshed when it expires (backends.jmap.oauth).

Real parts: the upstream is a second jmap-proxy with bob's IMAP account on
the suite's Dovecot, the authorization server tests/servers/oauth_token_server.py
(see tests/backends/jmap/test_oauth_refresh.py).
"""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.conf import settings

from accounts.models import Account
from accounts.secret_fields import account_secret_get
from tests.accounts.mgmt import PortClient
from tests.backends.jmap.conftest import UpstreamMailbox
from tests.servers.oauth_token_server import IssuedTokens, OAuthTokenServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]

LOGIN_PASSWORD = "bob-login-pw"


@pytest.fixture
def mgmt() -> PortClient:
    return PortClient(port=settings.JMAP_MGMT_PORT, REMOTE_ADDR="127.0.0.1")


def body(*, upstream: UpstreamMailbox, server: OAuthTokenServer, tokens: IssuedTokens, **extra: Any) -> dict[str, Any]:
    return {
        "accountid": "bob", "email": "bob@example.test", "sessionUrl": upstream.proxy.jmap_url + "/.well-known/jmap",
        "authType": "oauth", "oauthAccessToken": tokens.access_token, "oauthRefreshToken": tokens.refresh_token,
        "oauthTokenUrl": server.token_url, "oauthClientId": server.client_id, "password": LOGIN_PASSWORD,
        **extra,
    }  # fmt: skip


def test_an_oauth_account_is_created_checked_and_refreshed(
    mgmt: PortClient, upstream_bob: UpstreamMailbox, token_server: OAuthTokenServer
) -> None:
    tokens = token_server.tokens_issue()

    created = mgmt.post_json("/api/accounts", body(upstream=upstream_bob, server=token_server, tokens=tokens))

    assert created.status_code == 201, created.content
    shown = created.json()
    assert (shown["type"], shown["authType"], shown["passwordStorage"]) == ("jmap", "oauth", "none")
    assert [row["accountId"] for row in shown["upstreamAccounts"]] == ["bob"]
    assert tokens.access_token not in created.content.decode()
    assert tokens.refresh_token not in created.content.decode()
    account = Account.objects.get(accountid="bob")
    assert str(account.oauth_refresh_token).startswith(("enc1:", "vault:"))
    assert account_secret_get(account=account, field="oauth_refresh_token") == tokens.refresh_token
    assert (account.oauth_token_url, account.oauth_client_id) == (token_server.token_url, token_server.client_id)
    assert account.password == ""  # the login's password is not a backend credential here

    # The token expires; bob's JMAP client does not notice.
    token_server.access_revoke_all()
    pair = base64.b64encode(f"bob@example.test:{LOGIN_PASSWORD}".encode()).decode()
    answer = PortClient(port=settings.JMAP_PORT).post("/jmap/", data=json.dumps({
        "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
        "methodCalls": [["Mailbox/get", {"accountId": "bob", "properties": ["name"]}, "0"]],
    }), content_type="application/json", HTTP_AUTHORIZATION=f"Basic {pair}")  # fmt: skip
    assert answer.status_code == 200, answer.content
    assert answer.json()["methodResponses"][0][0] == "Mailbox/get"
    assert token_server.grants == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"oauthAccessToken": ""}, "oauthAccessToken"),
    ({"password": None}, "password"),
    ({"type": "imap", "imapHost": "127.0.0.1", "sessionUrl": ""}, "authType"),
    ({"authType": "basic", "password": "pw"}, "authType"),
    ({"oauthTokenUrl": "ftp://tokens.example/token"}, "oauthTokenUrl"),
])  # fmt: skip
def test_bad_oauth_settings_are_refused_by_field(
    mgmt: PortClient, upstream_bob: UpstreamMailbox, token_server: OAuthTokenServer, change: dict[str, Any],
    field: str,
) -> None:
    request = body(upstream=upstream_bob, server=token_server, tokens=token_server.tokens_issue()) | change
    request = {name: value for name, value in request.items() if value is not None}

    refused = mgmt.post_json("/api/accounts", request)

    assert refused.status_code == 422, refused.content
    assert field in refused.json()["fields"]
    assert not Account.objects.filter(accountid="bob").exists()


def test_an_expired_access_token_fails_the_check(
    mgmt: PortClient, upstream_bob: UpstreamMailbox, token_server: OAuthTokenServer
) -> None:
    tokens = token_server.tokens_issue()
    token_server.access_revoke_all()

    refused = mgmt.post_json("/api/accounts", body(upstream=upstream_bob, server=token_server, tokens=tokens))

    assert refused.status_code == 422, refused.content
    assert refused.json()["error"] == "backendCheckFailed" and "401" in refused.json()["detail"]
    assert not Account.objects.filter(accountid="bob").exists()


def test_a_basic_account_still_needs_its_password(mgmt: PortClient, upstream_bob: UpstreamMailbox) -> None:
    refused = mgmt.post_json("/api/accounts", {
        "accountid": "bob", "email": "bob@example.test", "sessionUrl": upstream_bob.proxy.jmap_url + "/session",
    })  # fmt: skip
    assert refused.status_code == 422
    assert refused.json()["fields"] == {"password": "required"}


def _mailbox_get(login_password: str = LOGIN_PASSWORD) -> tuple[str, dict[str, Any]]:
    pair = base64.b64encode(f"bob@example.test:{login_password}".encode()).decode()
    answer = PortClient(port=settings.JMAP_PORT).post("/jmap/", data=json.dumps({
        "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
        "methodCalls": [["Mailbox/get", {"accountId": "bob", "properties": ["name"]}, "0"]],
    }), content_type="application/json", HTTP_AUTHORIZATION=f"Basic {pair}")  # fmt: skip
    assert answer.status_code == 200, answer.content
    name, arguments, _ = answer.json()["methodResponses"][0]
    return name, arguments


def test_after_a_refused_grant_the_operator_patches_new_tokens(
    mgmt: PortClient, upstream_bob: UpstreamMailbox, token_server: OAuthTokenServer
) -> None:
    created = mgmt.post_json("/api/accounts", body(upstream=upstream_bob, server=token_server,
                                                   tokens=token_server.tokens_issue()))  # fmt: skip
    assert created.status_code == 201, created.content
    token_server.access_revoke_all()
    token_server.refresh_revoke_all()
    name, arguments = _mailbox_get()
    assert (name, arguments["type"]) == ("error", "forbidden")
    assert mgmt.get("/api/accounts/bob").json()["oauth"]["refusedForGood"] is True

    # A new token URL alone would send the stored refresh token somewhere new: refused.
    moved = mgmt.patch_json("/api/accounts/bob", {"oauthTokenUrl": "https://elsewhere.example/token"})
    assert moved.status_code == 422 and "oauthRefreshToken" in moved.json()["fields"]

    fresh = token_server.tokens_issue()
    patched = mgmt.patch_json("/api/accounts/bob", {"oauthAccessToken": fresh.access_token,
                                                    "oauthRefreshToken": fresh.refresh_token})  # fmt: skip

    assert patched.status_code == 200, patched.content
    assert fresh.refresh_token not in patched.content.decode()
    assert patched.json()["oauth"]["refusedForGood"] is False
    assert _mailbox_get()[0] == "Mailbox/get"
    # And the new grant refreshes when its token expires.
    token_server.access_revoke_all()
    assert _mailbox_get()[0] == "Mailbox/get"
    assert token_server.grants == 1


def test_oauth_settings_are_refused_on_a_basic_account(mgmt: PortClient, upstream_bob: UpstreamMailbox) -> None:
    created = mgmt.post_json("/api/accounts", {
        "accountid": "bob", "email": "bob@example.test", "sessionUrl": upstream_bob.proxy.jmap_url + "/session",
        "password": "pw", "check": False,
    })  # fmt: skip
    assert created.status_code == 201, created.content
    refused = mgmt.patch_json("/api/accounts/bob", {"oauthAccessToken": "at-1"})
    assert refused.status_code == 422 and "oauthAccessToken" in refused.json()["fields"]
