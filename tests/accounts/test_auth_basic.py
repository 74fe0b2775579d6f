"""Basic authentication (RFC 7617) against Pool.password_hash (accounts.auth)."""
from __future__ import annotations

import base64

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.http import HttpRequest
from django.test import RequestFactory
from pytest_django.fixtures import Settings

from accounts.auth import AuthenticationFailed, authenticate_request, pool_accounts
from accounts.models import Account, Pool
from tests.accounts.hashers import CountingMD5PasswordHasher
from tests.personas import Persona


def basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def request_with(authorization: str, address: str = "198.51.100.7") -> HttpRequest:
    return RequestFactory().get("/session", HTTP_AUTHORIZATION=authorization, REMOTE_ADDR=address)


def test_right_password(alice: Persona, clean_cache: None) -> None:
    assert authenticate_request(request_with(alice.basic)) == alice.pool


def test_scheme_name_is_case_insensitive(alice: Persona, clean_cache: None) -> None:
    assert authenticate_request(request_with("bAsIc " + alice.basic.split(" ", 1)[1])) == alice.pool


def test_password_with_colons_and_unicode(clean_cache: None) -> None:
    pool = Pool.objects.create(login="carol@example.test", password_hash=make_password("pa:ss:wörd"))
    assert authenticate_request(request_with(basic("carol@example.test", "pa:ss:wörd"))) == pool


@pytest.mark.parametrize("who", ["wrong password", "unknown login"])
def test_failures_look_the_same(alice: Persona, clean_cache: None, who: str) -> None:
    header = basic(alice.login, "not-it") if who == "wrong password" else basic("nobody@example.test", "x")
    with pytest.raises(AuthenticationFailed) as caught:
        authenticate_request(request_with(header))
    assert (caught.value.status, caught.value.detail, caught.value.retry_after) == (
        401,
        "invalid login or password",
        None,
    )


def test_unknown_login_costs_a_hash_too(alice: Persona, clean_cache: None, settings: Settings) -> None:
    settings.PASSWORD_HASHERS = ["tests.accounts.hashers.CountingMD5PasswordHasher"]
    pool = Pool.objects.create(login="dave@example.test", password_hash=make_password("right"))
    for header in (basic("dave@example.test", "wrong"), basic("nobody@example.test", "wrong")):
        before = CountingMD5PasswordHasher.calls
        with pytest.raises(AuthenticationFailed):
            authenticate_request(request_with(header))
        assert CountingMD5PasswordHasher.calls == before + 1, header
    assert pool.password_hash.startswith("counting_md5$")


def test_pool_without_password_never_matches(clean_cache: None) -> None:
    Pool.objects.create(login="empty@example.test", password_hash="")
    with pytest.raises(AuthenticationFailed) as caught:
        authenticate_request(request_with(basic("empty@example.test", "")))
    assert caught.value.status == 401


def test_disabled_login(alice: Persona, clean_cache: None) -> None:
    Pool.objects.filter(pk=alice.pool.pk).update(is_active=False)
    with pytest.raises(AuthenticationFailed) as caught:
        authenticate_request(request_with(alice.basic))
    assert caught.value.status == 401 and "disabled" in caught.value.detail


@pytest.mark.parametrize(
    "header",
    ["Basic", "Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode(),
     "Basic " + base64.b64encode(b":nologin").decode(), "Basic " + base64.b64encode(b"\xff\xfe:x").decode()],
)
def test_malformed_basic(clean_cache: None, header: str) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        authenticate_request(request_with(header))
    assert caught.value.status == 401


def test_other_schemes_and_no_credentials(alice: Persona, clean_cache: None) -> None:
    with pytest.raises(AuthenticationFailed, match="unsupported"):
        authenticate_request(request_with("Digest username=alice"))
    with pytest.raises(AuthenticationFailed, match="authentication required"):
        authenticate_request(RequestFactory().get("/session"))


def test_login_password_is_stored_only_as_a_hash(alice: Persona) -> None:
    pool = Pool.objects.get(pk=alice.pool.pk)
    assert alice.password not in pool.password_hash
    identify_hasher(pool.password_hash)  # a recognised Django hash, not a clear value
    assert check_password(alice.password, pool.password_hash)


def test_pool_accounts_is_the_whole_pool_in_order(alice: Persona, bob: Persona) -> None:
    Account.objects.create(accountid="alice-work", pool=alice.pool, email="alice@work.test")
    Account.objects.create(accountid="a-first", pool=alice.pool, email="alice@first.test")
    accounts = pool_accounts(alice.pool)
    assert list(accounts) == ["a-first", "alice", "alice-work"]
    assert all(a.pool_id == alice.pool.pk for a in accounts.values())
    assert bob.account_id not in accounts
