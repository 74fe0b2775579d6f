"""The pooled IMAP session in every SSL mode of the product README against the
real Dovecot, with STARTTLS really negotiated, and idle connections closed
after JMAP_IDLE_TIMEOUT."""
from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import Account, Pool, SslMode
from backends.imap.pool import imap_pool_close_all, imap_pool_idle_count, imap_pool_reap, imap_session
from tests.servers.dovecot import DovecotServer


@pytest.fixture
def account(db: None, dovecot_tls_trust: DovecotServer) -> Iterator[Account]:
    login = "ssl-modes@example.test"
    password = dovecot_tls_trust.user_add(login)
    pool = Pool.objects.create(login=login)
    yield Account.objects.create(
        accountid="sslmodes", pool=pool, email=login, username=login, password=password,
        imap_host="127.0.0.1", imap_port=dovecot_tls_trust.imap_port, imap_ssl=SslMode.PLAIN,
    )
    imap_pool_close_all()


@pytest.mark.parametrize("mode", [SslMode.PLAIN, SslMode.PLAIN_ALIAS, SslMode.TLS, SslMode.STARTTLS])
def test_every_mode_logs_in(account: Account, dovecot_tls_trust: DovecotServer, mode: int) -> None:
    account.imap_ssl = mode
    implicit_port = dovecot_tls_trust.imaps_port
    assert implicit_port is not None
    account.imap_port = implicit_port if mode == SslMode.TLS else dovecot_tls_trust.imap_port
    with imap_session(account=account) as client:
        encrypted = isinstance(client.socket(), ssl.SSLSocket)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    assert encrypted is (mode in (SslMode.TLS, SslMode.STARTTLS))


def test_sessions_are_reused_then_closed_when_idle(account: Account, settings: SettingsWrapper) -> None:
    settings.JMAP_IDLE_TIMEOUT = 300
    with imap_session(account=account) as first:
        pass
    with imap_session(account=account) as second:
        assert second is first
    assert imap_pool_idle_count(account=account) == 1
    assert imap_pool_reap() == 0
    settings.JMAP_IDLE_TIMEOUT = 1
    import time

    assert imap_pool_reap(now=time.monotonic() + 2) == 1
    assert imap_pool_idle_count(account=account) == 0
    with pytest.raises(Exception):  # noqa: B017 - the reaped connection was logged out
        first.noop()


def test_idle_connections_are_closed_in_the_background(account: Account, settings: SettingsWrapper) -> None:
    """The reaper thread logs idle sessions out by itself (JMAP_IDLE_TIMEOUT=1)."""
    import time

    settings.JMAP_IDLE_TIMEOUT = 1
    with imap_session(account=account):
        pass
    assert imap_pool_idle_count(account=account) == 1
    deadline = time.monotonic() + 10
    while imap_pool_idle_count(account=account) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert imap_pool_idle_count(account=account) == 0
