"""End-to-end fixtures: the real proxy process (`manage.py runproxy`), the
test Dovecot and SMTP server, and two people, alice and bob, whose accounts are
added through the management API exactly as a user adds them.

The proxy is started with the same helper as tests/servers/proxy.py
(`proxy_start`), with the environment these tests need: a short
JMAP_SYNC_INTERVAL so the background sync picks up outside changes quickly, and
JMAP_TLS_CA_FILE so that STARTTLS to the test SMTP server verifies against the
throwaway test CA.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import imapclient
import pytest
from jmap.auth import BasicAuth
from jmap.client import JMAPClient

from tests.servers.dovecot import DovecotServer, lmtp_available
from tests.servers.proxy import ProxyProcess, proxy_start
from tests.servers.require import server_missing
from tests.servers.smtp import SmtpServer

# Seconds; every wait in these tests is bounded by one of these.
SYNC_WAIT = 20.0
HTTP_TIMEOUT = 15.0
POKE_EVERY = 2.0


@pytest.fixture(scope="module")
def e2e_proxy(
    tmp_path_factory: pytest.TempPathFactory, dovecot: DovecotServer, smtp_server: SmtpServer
) -> Iterator[ProxyProcess]:
    """The whole proxy, syncing every 2 s and trusting the test CA; stopped at module end."""
    proxy = proxy_start(
        tmp_path_factory.mktemp("e2e-proxy-data"),
        extra_env={"JMAP_SYNC_INTERVAL": "2", "JMAP_TLS_CA_FILE": str(dovecot.ca_file)},
    )
    try:
        proxy.wait_ready()
        yield proxy
    finally:
        proxy.stop()


@dataclass
class E2EPerson:
    """A Dovecot user with an account in the running proxy."""

    name: str
    login: str  # also the email address and the JMAP login
    password: str
    accountid: str
    proxy: ProxyProcess
    dovecot: DovecotServer

    @property
    def auth(self) -> BasicAuth:
        return BasicAuth(self.login, self.password)

    @property
    def httpx_auth(self) -> tuple[str, str]:
        return (self.login, self.password)

    def client(self) -> JMAPClient:
        """A jmaplib client pointed at /.well-known/jmap (the redirect is followed)."""
        return JMAPClient.connect(self.proxy.jmap_url + "/.well-known/jmap", auth=self.auth, timeout=HTTP_TIMEOUT)

    def sync(self) -> None:
        """Ask the proxy to sync this account now (management API)."""
        url = f"{self.proxy.mgmt_url}/api/accounts/{self.accountid}/sync"
        response = httpx.post(url, json={}, timeout=HTTP_TIMEOUT)  # changes must be declared JSON
        assert response.status_code == 202, response.text

    def imap(self) -> imapclient.IMAPClient:
        """A raw IMAP session as another mail client would open it (use as a context manager)."""
        client = imapclient.IMAPClient(self.dovecot.host, self.dovecot.imap_port, ssl=False, timeout=10)
        client.login(self.login, self.password)
        return client


def account_add(
    *, proxy: ProxyProcess, dovecot: DovecotServer, smtp: SmtpServer, name: str
) -> E2EPerson:
    """Create a Dovecot user and add its account through POST /api/accounts
    (IMAP plain on the test Dovecot, SMTP with STARTTLS on the test SMTP server)."""
    login = f"{name}-{secrets.token_hex(4)}@example.test"
    password = dovecot.user_add(login)
    accountid = f"{name}-{secrets.token_hex(3)}"
    body: dict[str, Any] = {
        "accountid": accountid,
        "email": login,
        "name": name.title(),
        "type": "imap",
        "username": login,
        "password": password,
        "imapHost": dovecot.host,
        "imapPort": dovecot.imap_port,
        "imapSSL": 0,
        "smtpHost": smtp.host,
        "smtpPort": smtp.port,
        "smtpSSL": 3,
    }
    response = httpx.post(proxy.mgmt_url + "/api/accounts", json=body, timeout=60)
    assert response.status_code == 201, f"{response.status_code} {response.text}\n{proxy.log_text()[-3000:]}"
    return E2EPerson(
        name=name, login=login, password=password, accountid=accountid, proxy=proxy, dovecot=dovecot
    )


def wait_for(check: Callable[[], Any], *, timeout: float = SYNC_WAIT, every: float = 0.5,
             poke: Callable[[], None] | None = None, what: str = "condition") -> Any:
    """Call `check` until it returns something truthy, at most `timeout` seconds;
    `poke` (e.g. a sync request) runs before each try."""
    deadline = time.monotonic() + timeout
    last: Any = None
    poked = float("-inf")
    while True:
        # A sync takes a moment; asking again every half second would only queue more of them.
        if poke is not None and time.monotonic() - poked >= POKE_EVERY:
            poke()
            poked = time.monotonic()
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value {last!r}")
        time.sleep(every)


@pytest.fixture(scope="module")
def e2e_alice(e2e_proxy: ProxyProcess, dovecot: DovecotServer, smtp_server: SmtpServer) -> E2EPerson:
    return account_add(proxy=e2e_proxy, dovecot=dovecot, smtp=smtp_server, name="alice")


@pytest.fixture(scope="module")
def e2e_bob(e2e_proxy: ProxyProcess, dovecot: DovecotServer, smtp_server: SmtpServer) -> E2EPerson:
    return account_add(proxy=e2e_proxy, dovecot=dovecot, smtp=smtp_server, name="bob")


@pytest.fixture(scope="module")
def lmtp_delivery() -> None:
    """Delivery from SMTP into Dovecot needs dovecot-lmtpd."""
    if not lmtp_available():
        server_missing("dovecot-lmtpd is not installed: the test SMTP server cannot deliver into Dovecot")
