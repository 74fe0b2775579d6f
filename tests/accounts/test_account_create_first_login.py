"""Creating an account makes its login's first Basic request as cheap as the
next ones (issue 9: a client connects right after the account is created): the
creating process knows the hash was made from that very password. The memo's
checks stay those of accounts.password_memo: another password is refused."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings

from accounts.auth import AuthenticationFailed, authenticate_request
from accounts.password_memo import password_memo_clear
from accounts.services import account_create
from tests.accounts.hashers import CountingMD5PasswordHasher
from tests.accounts.test_auth_basic import basic, request_with


@pytest.fixture
def counting(settings: Settings, db: None) -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["tests.accounts.hashers.CountingMD5PasswordHasher"]
    password_memo_clear()
    yield
    password_memo_clear()


def test_the_first_login_after_creation_skips_the_hash(counting: None, clean_cache: None) -> None:
    account = account_create(accountid="alice", email="alice@example.test", password="alice-secret",
                             imap_host="127.0.0.1", imap_port=1, imap_ssl=0, check=False)  # fmt: skip
    before = CountingMD5PasswordHasher.calls
    assert authenticate_request(request_with(basic("alice@example.test", "alice-secret"))) == account.pool
    assert CountingMD5PasswordHasher.calls == before


def test_a_separate_login_password_is_the_one_remembered(counting: None, clean_cache: None) -> None:
    account = account_create(accountid="bob", email="bob@example.test", password="imap-secret",
                             login_password="login-secret", imap_host="127.0.0.1", imap_port=1, imap_ssl=0,
                             check=False)  # fmt: skip
    before = CountingMD5PasswordHasher.calls
    assert authenticate_request(request_with(basic("bob@example.test", "login-secret"))) == account.pool
    assert CountingMD5PasswordHasher.calls == before
    with pytest.raises(AuthenticationFailed):
        authenticate_request(request_with(basic("bob@example.test", "imap-secret")))
