"""OAuth 2.0 refresh of a passthrough account's access token (backends.jmap.oauth).

Real parts only: the upstream is a second jmap-proxy (run as `manage.py
runproxy`) holding bob's IMAP account on the suite's Dovecot, which accepts
its API tokens as Bearer; the authorization server is
tests/servers/oauth_token_server.py, an RFC 6749 token endpoint over HTTP
that mints and revokes those API tokens through the upstream's management
API on each grant. Expiry is played by revoking the access token upstream.
"""
from __future__ import annotations

import base64
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.conf import settings as live_settings
from django.contrib.auth.hashers import make_password
from django.test import Client
from pytest_django.fixtures import Settings

from accounts.models import Account
from accounts.secret_fields import account_secret_get, account_secret_set
from backends.base import BackendError
from backends.jmap.client import UpstreamError, upstream_client
from backends.jmap.oauth import access_token_refresh
from backends.models import UpstreamOAuthState
from tests.backends.jmap.conftest import UpstreamMailbox, oauth_account_make
from tests.servers.oauth_token_server import OAuthTokenServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]

CORE = "urn:ietf:params:jmap:core"
ECHO = {"using": [CORE], "methodCalls": [["Core/echo", {"hello": "bob"}, "0"]]}


@pytest.fixture
def bob(token_server: OAuthTokenServer, upstream_bob: UpstreamMailbox) -> Account:
    """bob's passthrough account on the proxy under test, holding a first pair of tokens."""
    return oauth_account_make(
        accountid="bob", tokens=token_server.tokens_issue(),
        session_url=upstream_bob.proxy.jmap_url + "/.well-known/jmap",
        token_url=token_server.token_url, client_id=token_server.client_id,
    )  # fmt: skip


def _token(account: Account, field: str) -> str:
    return account_secret_get(account=account, field=field)


def test_an_expired_access_token_is_refreshed_once_and_the_call_succeeds(
    bob: Account, token_server: OAuthTokenServer
) -> None:
    first_access, first_refresh = _token(bob, "oauth_access_token"), _token(bob, "oauth_refresh_token")
    assert upstream_client(bob).api_post(ECHO)["methodResponses"][0][1] == {"hello": "bob"}
    assert token_server.grants == 0
    token_server.access_revoke_all()

    response = upstream_client(bob).api_post(ECHO)

    assert response["methodResponses"] == [["Core/echo", {"hello": "bob"}, "0"]]
    assert token_server.grants == 1
    stored = Account.objects.get(pk=bob.pk)
    assert _token(stored, "oauth_access_token") not in ("", first_access)
    # The server rotated the refresh token: the new one is stored, sealed.
    assert _token(stored, "oauth_refresh_token") not in ("", first_refresh)
    assert str(stored.oauth_access_token).startswith(("enc1:", "vault:"))
    state = UpstreamOAuthState.objects.get(account=bob)
    assert (state.grants, state.error, state.rejected_digest) == (1, "", "")
    # The next call uses the new token without asking again.
    assert upstream_client(stored).api_post(ECHO)["methodResponses"][0][0] == "Core/echo"
    assert token_server.grants == 1


def test_a_refused_refresh_token_is_recorded_and_not_presented_again(
    bob: Account, token_server: OAuthTokenServer
) -> None:
    token_server.access_revoke_all()
    token_server.refresh_revoke_all()

    with pytest.raises(UpstreamError) as refused:
        upstream_client(bob).api_post(ECHO)

    # The caller sees the upstream's 401 as it is: a permanent authentication failure.
    assert (refused.value.status, refused.value.permanent) == (401, True)
    assert token_server.requests == 1
    bob.refresh_from_db()
    assert "invalid_grant" in bob.last_sync_error
    assert bob.last_sync_error_at is not None
    state = UpstreamOAuthState.objects.get(account=bob)
    assert state.rejected_digest and "invalid_grant" in state.error
    # The operator sees why in the management API.
    shown = Client().get("/api/accounts/bob", SERVER_PORT=str(live_settings.JMAP_MGMT_PORT),
                         REMOTE_ADDR="127.0.0.1").json()  # fmt: skip
    assert shown["oauth"]["refusedForGood"] is True and "invalid_grant" in shown["oauth"]["error"]
    # Stop retrying: the dead grant is not sent again, by this process or another.
    assert access_token_refresh(Account.objects.get(pk=bob.pk)) is False
    with pytest.raises(UpstreamError):
        upstream_client(Account.objects.get(pk=bob.pk)).api_post(ECHO)
    assert token_server.requests == 1


def test_new_tokens_from_the_operator_end_the_refusal(bob: Account, token_server: OAuthTokenServer) -> None:
    token_server.access_revoke_all()
    token_server.refresh_revoke_all()
    assert access_token_refresh(bob) is False
    fresh = token_server.tokens_issue()
    token_server.access_revoke_all()
    account_secret_set(account=bob, field="oauth_refresh_token", value=fresh.refresh_token)

    assert access_token_refresh(bob) is True

    assert token_server.grants == 1
    bob.refresh_from_db()
    assert bob.last_sync_error == ""
    assert UpstreamOAuthState.objects.get(account=bob).rejected_digest == ""


def test_two_concurrent_refreshes_make_one_grant(
    bob: Account, token_server: OAuthTokenServer, settings: Settings, redis_url: str
) -> None:
    # The lease lives in the shared cache: Redis, as in scale-out, where workers
    # and web processes on several machines hit the same expired token.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    token_server.access_revoke_all()
    # Each grant takes a while, so the second refresh starts while the first is in flight.
    token_server.grant_delay = 0.5
    instances = [Account.objects.get(pk=bob.pk), Account.objects.get(pk=bob.pk)]
    barrier = threading.Barrier(len(instances))

    def refresh(account: Account) -> bool:
        from django.db import connection

        try:
            barrier.wait(timeout=30)
            return access_token_refresh(account)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(instances)) as pool:
        results = list(pool.map(refresh, instances))

    assert results == [True, True]
    assert token_server.grants == 1
    assert token_server.requests == 1
    tokens = {_token(instance, "oauth_access_token") for instance in instances}
    assert tokens == {_token(Account.objects.get(pk=bob.pk), "oauth_access_token")}
    # Both callers hold a token the upstream accepts.
    for instance in instances:
        assert upstream_client(instance).api_post(ECHO)["methodResponses"][0][0] == "Core/echo"
    assert token_server.grants == 1


def test_a_passing_failure_of_the_token_endpoint_is_retried_later(
    bob: Account, token_server: OAuthTokenServer
) -> None:
    token_server.access_revoke_all()
    token_server.fail_next = 1

    with pytest.raises(BackendError) as failed:
        access_token_refresh(bob)

    assert failed.value.permanent is False
    assert "temporarily_unavailable" in failed.value.message
    state = UpstreamOAuthState.objects.get(account=bob)
    assert state.rejected_digest == "" and "temporarily_unavailable" in state.error
    # Nothing was consumed: the next attempt succeeds with the same refresh token.
    assert access_token_refresh(bob) is True
    assert token_server.grants == 1
    assert upstream_client(Account.objects.get(pk=bob.pk)).api_post(ECHO)["methodResponses"][0][0] == "Core/echo"


def test_the_token_url_is_discovered_once_from_the_session_urls_origin(
    token_server: OAuthTokenServer, upstream_bob: UpstreamMailbox, settings: Settings
) -> None:
    # The sessionUrl is on the authorization server's origin, which relays the
    # upstream's Session (RFC 8620 §2.2) and publishes RFC 8414 metadata; the
    # Session's apiUrl is the upstream's, another origin on loopback.
    settings.JMAP_UPSTREAM_ALLOW_PRIVATE = True
    bob = oauth_account_make(accountid="bob", tokens=token_server.tokens_issue(),
                             session_url=token_server.session_url, token_url="",
                             client_id=token_server.client_id)  # fmt: skip
    assert upstream_client(bob).session().api_url.startswith(upstream_bob.proxy.jmap_url)
    token_server.access_revoke_all()

    assert upstream_client(bob).api_post(ECHO)["methodResponses"][0][0] == "Core/echo"

    bob.refresh_from_db()
    assert bob.oauth_token_url == token_server.token_url
    assert token_server.grants == 1


def test_discovered_metadata_cannot_send_the_refresh_token_to_an_internal_address(
    token_server: OAuthTokenServer, upstream_bob: UpstreamMailbox, settings: Settings
) -> None:
    # mallory runs the upstream: her metadata names a token endpoint inside the proxy's network.
    settings.JMAP_UPSTREAM_ALLOW_PRIVATE = False
    token_server.metadata_token_endpoint = upstream_bob.proxy.mgmt_url + "/api/steal"
    bob = oauth_account_make(accountid="bob", tokens=token_server.tokens_issue(),
                             session_url=token_server.session_url, token_url="",
                             client_id=token_server.client_id)  # fmt: skip

    assert access_token_refresh(bob) is False

    bob.refresh_from_db()
    assert bob.oauth_token_url == ""
    state = UpstreamOAuthState.objects.get(account=bob)
    assert "JMAP_UPSTREAM_ALLOW_PRIVATE" in state.error and state.rejected_digest
    assert token_server.requests == 0


def test_a_confidential_client_authenticates_with_its_configured_secret(
    upstream_bob: UpstreamMailbox, settings: Settings
) -> None:
    server = OAuthTokenServer(upstream=upstream_bob.proxy, accountid=upstream_bob.accountid,
                              client_id="confidential-app", client_secret="s3cret:with/odd&chars")  # fmt: skip
    try:
        bob = oauth_account_make(accountid="bob", tokens=server.tokens_issue(),
                                 session_url=upstream_bob.proxy.jmap_url + "/.well-known/jmap",
                                 token_url=server.token_url, client_id="confidential-app")  # fmt: skip
        server.access_revoke_all()
        # Without its secret the client is refused (invalid_client, for good) ...
        settings.JMAP_OAUTH_CLIENT_SECRETS = {}
        assert access_token_refresh(bob) is False
        assert "invalid_client" in UpstreamOAuthState.objects.get(account=bob).error
        assert server.requests == 1
        assert access_token_refresh(bob) is False
        assert server.requests == 1
        # ... and once the operator configures the secret, the same grant is tried again.
        settings.JMAP_OAUTH_CLIENT_SECRETS = {"confidential-app": "s3cret:with/odd&chars"}
        assert access_token_refresh(bob) is True
        assert server.grants == 1
    finally:
        server.stop()


def test_no_token_reaches_the_log(
    bob: Account, token_server: OAuthTokenServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    refresh_before = _token(bob, "oauth_refresh_token")
    token_server.access_revoke_all()
    assert upstream_client(bob).api_post(ECHO)["methodResponses"][0][0] == "Core/echo"
    token_server.access_revoke_all()
    token_server.refresh_revoke_all()
    with pytest.raises(UpstreamError):
        upstream_client(Account.objects.get(pk=bob.pk)).api_post(ECHO)
    stored = Account.objects.get(pk=bob.pk)
    secrets_seen = {refresh_before, _token(stored, "oauth_access_token"), _token(stored, "oauth_refresh_token")}
    assert "refreshed" in caplog.text and "invalid_grant" in caplog.text
    for secret in secrets_seen:
        assert secret not in caplog.text
        assert secret not in stored.last_sync_error


def test_an_account_without_oauth_is_not_refreshed(bob: Account) -> None:
    Account.objects.filter(pk=bob.pk).update(auth_type=Account.AuthType.BEARER)
    bob.refresh_from_db()
    assert access_token_refresh(bob) is False
    assert not UpstreamOAuthState.objects.filter(account=bob).exists()


def test_the_upstream_really_refuses_a_revoked_token(bob: Account, token_server: OAuthTokenServer) -> None:
    # The premise of every test here: revoking upstream makes the token fail as an expired one would.
    token = _token(bob, "oauth_access_token")
    session_url = bob.session_url
    assert httpx.get(session_url, headers={"Authorization": f"Bearer {token}"}, follow_redirects=True,
                     timeout=10).status_code == 200  # fmt: skip
    token_server.access_revoke_all()
    assert httpx.get(session_url, headers={"Authorization": f"Bearer {token}"}, follow_redirects=True,
                     timeout=10).status_code == 401  # fmt: skip


def test_a_jmap_client_of_the_proxy_sees_the_refresh_work_and_a_dead_grant_answer_forbidden(
    bob: Account, token_server: OAuthTokenServer, upstream_bob: UpstreamMailbox
) -> None:
    upstream_client(bob).session_refresh()
    bob.pool.password_hash = make_password("bob-login-pw")
    bob.pool.save(update_fields=["password_hash"])
    pair = base64.b64encode(f"{bob.pool.login}:bob-login-pw".encode()).decode()

    def mailboxes() -> tuple[str, dict[str, Any], str]:
        answer = Client().post("/jmap/", data=json.dumps({
            "using": [CORE, "urn:ietf:params:jmap:mail"],
            "methodCalls": [["Mailbox/get", {"accountId": "bob", "properties": ["name"]}, "0"]],
        }), content_type="application/json", HTTP_AUTHORIZATION=f"Basic {pair}",
            SERVER_PORT=str(live_settings.JMAP_PORT))  # fmt: skip
        assert answer.status_code == 200, answer.content
        name, arguments, call_id = answer.json()["methodResponses"][0]
        return name, arguments, call_id

    token_server.access_revoke_all()
    name, arguments, _ = mailboxes()
    assert name == "Mailbox/get" and arguments["accountId"] == "bob"
    assert token_server.grants == 1

    token_server.access_revoke_all()
    token_server.refresh_revoke_all()
    name, arguments, _ = mailboxes()
    assert (name, arguments["type"]) == ("error", "forbidden")
    assert "invalid_grant" in UpstreamOAuthState.objects.get(account=bob).error
    assert Account.objects.get(pk=bob.pk).last_sync_error != ""
