"""Basic auth hashes a password once, not on every request (accounts.password_memo),
and a password change anywhere ends the shortcut at once; creating an account
makes its login's first request as cheap as the next ones."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.hashers import make_password
from pytest_django.fixtures import Settings

from accounts.auth import AuthenticationFailed, authenticate_request
from accounts.models import Pool
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


def test_second_request_skips_the_hash(counting: None, clean_cache: None) -> None:
    pool = Pool.objects.create(login="erin@example.test", password_hash=make_password("s3cret"))
    before = CountingMD5PasswordHasher.calls
    assert authenticate_request(request_with(basic(pool.login, "s3cret"))) == pool
    assert CountingMD5PasswordHasher.calls == before + 1
    for _ in range(3):
        assert authenticate_request(request_with(basic(pool.login, "s3cret"))) == pool
    assert CountingMD5PasswordHasher.calls == before + 1


def test_wrong_password_is_never_remembered(counting: None, clean_cache: None) -> None:
    pool = Pool.objects.create(login="frank@example.test", password_hash=make_password("right"))
    assert authenticate_request(request_with(basic(pool.login, "right"))) == pool
    with pytest.raises(AuthenticationFailed):
        authenticate_request(request_with(basic(pool.login, "wrong")))


def test_password_change_ends_the_shortcut(counting: None, clean_cache: None) -> None:
    pool = Pool.objects.create(login="gina@example.test", password_hash=make_password("old"))
    assert authenticate_request(request_with(basic(pool.login, "old"))) == pool
    # Another process changes the password: only the stored hash tells this one.
    Pool.objects.filter(pk=pool.pk).update(password_hash=make_password("new"))
    with pytest.raises(AuthenticationFailed):
        authenticate_request(request_with(basic(pool.login, "old")))
    assert authenticate_request(request_with(basic(pool.login, "new"))).pk == pool.pk


def test_the_first_login_after_creation_skips_the_hash(counting: None, clean_cache: None) -> None:
    """A client connects right after its account is created (issue 9): the creating
    process knows the hash was just made from that very password."""
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
