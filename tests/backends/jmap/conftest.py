"""Fixtures for the passthrough tests that need a jmap-proxy as the upstream
(tests/servers/proxy.py) with an OAuth authorization server in front of it
(tests/servers/oauth_token_server.py)."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from accounts.models import Account, Pool
from accounts.secret_fields import account_secret_set
from tests.servers.dovecot import DovecotServer
from tests.servers.oauth_token_server import IssuedTokens, OAuthTokenServer
from tests.servers.proxy import ProxyProcess, proxy_running


@dataclass(frozen=True)
class UpstreamMailbox:
    """An IMAP account on the upstream proxy: the account the OAuth tokens open."""

    proxy: ProxyProcess
    accountid: str
    login: str


@pytest.fixture(scope="module")
def upstream_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """A second jmap-proxy, run as a user runs it, serving as the native JMAP server."""
    with proxy_running(tmp_path_factory.mktemp("upstream-proxy")) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def upstream_bob(upstream_proxy: ProxyProcess, dovecot: DovecotServer) -> UpstreamMailbox:
    """bob's mail on the suite's Dovecot, as an IMAP account of the upstream proxy."""
    login = f"bob-oauth-{secrets.token_hex(3)}@example.test"
    password = dovecot.user_add(login)
    accountid = f"bob-oauth-{secrets.token_hex(3)}"
    answer = httpx.post(f"{upstream_proxy.mgmt_url}/api/accounts", json={
        "accountid": accountid, "email": login, "type": "imap", "username": login, "password": password,
        "imapHost": dovecot.host, "imapPort": dovecot.imap_port, "imapSSL": 0, "check": False,
    }, timeout=30)  # fmt: skip
    assert answer.status_code == 201, answer.text
    return UpstreamMailbox(proxy=upstream_proxy, accountid=accountid, login=login)


@pytest.fixture
def token_server(upstream_bob: UpstreamMailbox) -> Iterator[OAuthTokenServer]:
    server = OAuthTokenServer(upstream=upstream_bob.proxy, accountid=upstream_bob.accountid,
                              client_id="jmap-proxy-test-client")  # fmt: skip
    try:
        yield server
    finally:
        server.stop()


def oauth_account_make(*, accountid: str, tokens: IssuedTokens, session_url: str, token_url: str,
                       client_id: str) -> Account:  # fmt: skip
    """A passthrough Account with authType oauth, its tokens sealed like real ones."""
    pool, _ = Pool.objects.get_or_create(login=f"{accountid}@example.test")
    account = Account.objects.create(
        accountid=accountid, pool=pool, email=f"{accountid}@example.test", name=accountid,
        kind=Account.Kind.JMAP, session_url=session_url, auth_type=Account.AuthType.OAUTH,
        oauth_token_url=token_url, oauth_client_id=client_id,
    )  # fmt: skip
    account_secret_set(account=account, field="oauth_access_token", value=tokens.access_token)
    account_secret_set(account=account, field="oauth_refresh_token", value=tokens.refresh_token)
    return account
