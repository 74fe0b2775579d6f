"""The API endpoint reads a Basic login's pool and its accounts in one query
(accounts.auth.authenticate_request_accounts), and every change to either still
takes effect on the very next request: a disabled login, a changed password, a
removed account, a read-only flag. The accounts are exactly pool_accounts's,
and only the caller's own.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings

from accounts.auth import AuthenticationFailed, authenticate_request_accounts, pool_accounts
from accounts.models import Account, Pool
from accounts.password_memo import password_memo_clear
from tests.accounts.test_auth_basic import basic, request_with
from tests.personas import Persona


@pytest.fixture
def fast_hash(settings: Settings, db: None, clean_cache: None) -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    password_memo_clear()
    yield
    password_memo_clear()


@pytest.fixture
def alice_login(fast_hash: None) -> Pool:
    pool = Pool.objects.create(login="alice@example.test", password_hash=make_password("alice-pw"))
    for accountid in ("alice-b", "alice-a"):
        Account.objects.create(accountid=accountid, pool=pool, email=f"{accountid}@example.test", name=accountid)
    return pool


@pytest.fixture
def bob_login(fast_hash: None) -> Pool:
    pool = Pool.objects.create(login="bob@example.test", password_hash=make_password("bob-pw"))
    Account.objects.create(accountid="bob", pool=pool, email="bob@example.test")
    return pool


def _alice() -> tuple[Pool, dict[str, Account]]:
    return authenticate_request_accounts(request_with(basic("alice@example.test", "alice-pw")))


def _fields(account: Account) -> dict[str, object]:
    return {field.attname: getattr(account, field.attname) for field in Account._meta.concrete_fields}


def test_the_accounts_are_pool_accounts_own(alice_login: Pool, bob_login: Pool) -> None:
    _alice()  # the password is checked (and remembered) once
    pool, accounts = _alice()
    assert pool == alice_login
    assert list(accounts) == ["alice-a", "alice-b"]  # accountId order, bob's left out
    expected = pool_accounts(alice_login)
    assert [_fields(account) for account in accounts.values()] == [_fields(a) for a in expected.values()]
    assert all(account.pool is pool for account in accounts.values())
    bob_pool, bob_accounts = authenticate_request_accounts(request_with(basic("bob@example.test", "bob-pw")))
    assert bob_pool == bob_login and list(bob_accounts) == ["bob"]


def test_a_warm_login_reads_pool_and_accounts_in_one_query(alice_login: Pool) -> None:
    _alice()
    with CaptureQueriesContext(connection) as queries:
        _alice()
    tables = (Pool._meta.db_table, Account._meta.db_table)
    reads = [q["sql"] for q in queries.captured_queries if any(table in q["sql"] for table in tables)]
    assert len(reads) == 1, reads


def test_a_login_without_accounts(fast_hash: None) -> None:
    pool = Pool.objects.create(login="carol@example.test", password_hash=make_password("carol-pw"))
    for _ in range(2):
        found, accounts = authenticate_request_accounts(request_with(basic("carol@example.test", "carol-pw")))
        assert found == pool and accounts == {}


def test_unknown_login_and_wrong_password_fail(alice_login: Pool) -> None:
    _alice()
    for login, password in (("nobody@example.test", "alice-pw"), ("alice@example.test", "wrong")):
        with pytest.raises(AuthenticationFailed) as failed:
            authenticate_request_accounts(request_with(basic(login, password)))
        assert failed.value.status == 401


def test_changes_take_effect_on_the_next_request(alice_login: Pool) -> None:
    _alice()
    Account.objects.filter(accountid="alice-a").update(is_read_only=True)
    assert _alice()[1]["alice-a"].is_read_only is True
    Account.objects.filter(accountid="alice-b").delete()
    assert list(_alice()[1]) == ["alice-a"]
    Account.objects.filter(accountid="alice-a").delete()
    assert _alice()[1] == {}
    Account.objects.create(accountid="alice-c", pool=alice_login, email="c@example.test")
    assert list(_alice()[1]) == ["alice-c"]
    Pool.objects.filter(pk=alice_login.pk).update(is_active=False)
    with pytest.raises(AuthenticationFailed, match="disabled"):
        _alice()
    Pool.objects.filter(pk=alice_login.pk).update(is_active=True, password_hash=make_password("new-pw"))
    with pytest.raises(AuthenticationFailed):
        _alice()


def test_a_bearer_login_gets_its_accounts(alice: Persona, bob: Persona) -> None:
    pool, accounts = authenticate_request_accounts(request_with(alice.bearer))
    assert pool == alice.pool
    assert list(accounts) == [alice.account_id]
