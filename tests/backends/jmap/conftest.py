"""Fixtures for the passthrough tests: a jmap-proxy as the upstream
(tests/servers/proxy.py) with an OAuth authorization server in front of it
(tests/servers/oauth_token_server.py); the process-wide upstream client cache
emptied around a test (`fresh_upstream_clients`, for the modules that name it
in `pytest.mark.usefixtures`); alice's mixed login (`mixed_alice`); mallory's hostile Cyrus
front; and an internal HTTP service that records what reaches it."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from accounts.models import Account, Pool
from accounts.secret_fields import account_secret_set
from backends.jmap.client import upstream_clients_clear
from tests.backends.jmap.forward_people import MixedPerson, mixed_person
from tests.backends.jmap.review_servers import CyrusFront, RecordingServer
from tests.servers.cyrus import CyrusServer
from tests.servers.dovecot import DovecotServer
from tests.servers.oauth_token_server import IssuedTokens, OAuthTokenServer
from tests.servers.proxy import ProxyProcess, proxy_running


@pytest.fixture
def fresh_upstream_clients() -> Iterator[None]:
    """No cached upstream client (backends.jmap.client) crosses into or out of the test.

    The cache is process-wide and keyed by account pk: a client left by an
    earlier test would carry its Session, credentials and connections into a
    test whose rows were rolled back and re-created. Not autouse: the modules
    of pure functions and those that drive a `runproxy` process never touch
    the cache, so only the modules that do name it (`pytest.mark.usefixtures`).
    """
    upstream_clients_clear()
    yield
    upstream_clients_clear()


@pytest.fixture
def mixed_alice(dovecot: DovecotServer, cyrus: CyrusServer) -> MixedPerson:
    """alice's login: an IMAP account on the suite's Dovecot and a passthrough account on the
    suite's Cyrus (forward_people.mixed_person). Not named `alice`: that is the suite's
    persona (tests/personas.py), which modules here use too."""
    return mixed_person(name="alice", dovecot=dovecot, cyrus=cyrus)


@pytest.fixture
def internal() -> Iterator[RecordingServer]:
    """An internal HTTP service (review_servers.RecordingServer) that answers any request and
    records it: what a policy must keep the proxy (and the credentials it holds) away from."""
    server = RecordingServer()
    yield server
    server.stop()


@dataclass(frozen=True)
class UpstreamMailbox:
    """An IMAP account on the upstream proxy: the account the OAuth tokens open."""

    proxy: ProxyProcess
    accountid: str
    login: str


@pytest.fixture(scope="package")
def upstream_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """A second jmap-proxy, run as a user runs it, serving as the native JMAP server.

    One for this package (tests/backends/jmap/, stopped after its last test):
    starting `runproxy` costs 15-65 s on a loaded machine, and every module
    that uses it adds an account with a login and accountid of its own
    (upstream_bob, test_forward_proxy_upstream's dave), so modules stay
    independent of each other on the shared process.
    """
    with proxy_running(tmp_path_factory.mktemp("upstream-proxy")) as proxy:
        yield proxy


@pytest.fixture(scope="module")  # a fresh login per module on the shared upstream
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


# The settings of the proxy under test in the push relay modules (test_push_poll_cyrus.py,
# test_push_relay_upstream_proxy.py): INFO logs for the failure messages, and a plain-HTTP
# push service on loopback allowed for the PushSubscription test.
PUSH_DOWNSTREAM_ENV = {"JMAP_LOG_LEVEL": "INFO", "JMAP_PUSH_ALLOW_PRIVATE": "1", "JMAP_PUSH_ALLOW_HTTP": "1"}


@pytest.fixture(scope="package")
def push_downstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """The proxy under test of the push relay modules, one for this package (a `runproxy` start
    costs 15-65 s under load). Each test adds its own passthrough login with a random
    accountid (push_helpers.passthrough_person) and looks only at its own relay, so the
    modules stay independent; a test that needs other settings (REDIS_URL) starts its own."""
    with proxy_running(tmp_path_factory.mktemp("push-downstream"), extra_env=PUSH_DOWNSTREAM_ENV) as proxy:
        yield proxy


@pytest.fixture
def mallory_server(cyrus: CyrusServer) -> Iterator[CyrusFront]:
    """mallory's JMAP server: a hostile front to the suite's Cyrus that rewrites what it answers
    (tests/backends/jmap/review_servers.py), stopped after the test."""
    front = CyrusFront(cyrus_base=cyrus.base_url)
    yield front
    front.stop()
