"""Bearer tokens (RFC 6750) looked up by SHA-256 digest (accounts.auth, accounts.tokens)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import HttpRequest
from django.test import RequestFactory
from django.utils import timezone

from accounts.auth import AuthenticationFailed, authenticate_request, token_hash
from accounts.models import ApiToken, Pool
from accounts.tokens import token_issue, token_revoke, token_revoke_all
from tests.personas import Persona


def bearer(token: str, address: str = "203.0.113.5") -> HttpRequest:
    return RequestFactory().get("/session", HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR=address)


def test_valid_token_records_last_use(alice: Persona) -> None:
    assert authenticate_request(bearer(alice.token)) == alice.pool
    row = ApiToken.objects.get(pool=alice.pool)
    assert row.last_used_ip == "203.0.113.5"
    assert row.last_used_at is not None and timezone.now() - row.last_used_at < timedelta(seconds=10)


def test_last_use_is_written_at_most_once_a_minute(alice: Persona) -> None:
    authenticate_request(bearer(alice.token, "203.0.113.5"))
    first = ApiToken.objects.get(pool=alice.pool)
    authenticate_request(bearer(alice.token, "203.0.113.99"))
    assert ApiToken.objects.get(pool=alice.pool).last_used_at == first.last_used_at
    assert ApiToken.objects.get(pool=alice.pool).last_used_ip == "203.0.113.5"
    ApiToken.objects.filter(pk=first.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    authenticate_request(bearer(alice.token, "203.0.113.99"))
    later = ApiToken.objects.get(pool=alice.pool)
    assert later.last_used_ip == "203.0.113.99"
    assert later.last_used_at is not None and first.last_used_at is not None
    assert later.last_used_at > first.last_used_at


def test_unknown_token(alice: Persona) -> None:
    with pytest.raises(AuthenticationFailed, match="unknown") as caught:
        authenticate_request(bearer(alice.token + "x"))
    assert caught.value.status == 401


def test_revoked_token(alice: Persona) -> None:
    token_revoke(token=ApiToken.objects.get(pool=alice.pool))
    with pytest.raises(AuthenticationFailed, match="revoked"):
        authenticate_request(bearer(alice.token))


def test_expired_token(alice: Persona) -> None:
    row, plaintext = token_issue(pool=alice.pool, name="short", expires_at=timezone.now() + timedelta(hours=1))
    assert authenticate_request(bearer(plaintext)) == alice.pool
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed, match="expired"):
        authenticate_request(bearer(plaintext))


def test_disabled_login_token(alice: Persona) -> None:
    Pool.objects.filter(pk=alice.pool.pk).update(is_active=False)
    with pytest.raises(AuthenticationFailed, match="disabled"):
        authenticate_request(bearer(alice.token))


def test_empty_bearer(alice: Persona) -> None:
    with pytest.raises(AuthenticationFailed):
        authenticate_request(RequestFactory().get("/", HTTP_AUTHORIZATION="Bearer "))


def test_issue_stores_only_a_digest(alice: Persona) -> None:
    row, plaintext = token_issue(pool=alice.pool, name="laptop")
    assert plaintext.startswith("jmap_") and len(plaintext) > 40
    stored = ApiToken.objects.get(pk=row.pk)
    assert stored.token_hash == token_hash(plaintext) and plaintext not in stored.token_hash
    assert stored.prefix == plaintext[:12] and stored.name == "laptop"
    assert authenticate_request(bearer(plaintext)) == alice.pool
    assert token_issue(pool=alice.pool, name="laptop")[1] != plaintext


def test_revoke_is_idempotent(alice: Persona) -> None:
    row = ApiToken.objects.get(pool=alice.pool)
    token_revoke(token=row)
    first = ApiToken.objects.get(pk=row.pk).revoked_at
    token_revoke(token=row)
    assert ApiToken.objects.get(pk=row.pk).revoked_at == first == row.revoked_at


def test_revoke_all_touches_only_that_pool(alice: Persona, bob: Persona) -> None:
    token_issue(pool=alice.pool, name="second")
    assert token_revoke_all(pool=alice.pool) == 2
    assert token_revoke_all(pool=alice.pool) == 0
    with pytest.raises(AuthenticationFailed):
        authenticate_request(bearer(alice.token))
    assert authenticate_request(bearer(bob.token)) == bob.pool


def test_prepared_lookups_build_the_same_instances_as_the_orm(alice: Persona, bob: Persona) -> None:
    """The token and accounts lookups skip re-compiling their SQL (accounts.auth._PreparedSelect);
    what they return must be what the ORM returns, field by field and type by type."""
    from accounts.auth import _POOL_ACCOUNTS, _TOKEN_BY_HASH
    from accounts.models import Account

    Account.objects.create(
        accountid="alice-work", pool=alice.pool, email="a@work.test", imap_host="h", sync_progress={"done": [1, 2]}
    )
    ApiToken.objects.filter(pool=alice.pool).update(last_used_at=timezone.now(), last_used_ip="2001:db8::1")
    for _ in range(2):  # the second call runs the SQL compiled by the first
        accounts = _POOL_ACCOUNTS(alice.pool.pk)
        expected = list(Account.objects.filter(pool=alice.pool).order_by("accountid"))
        assert [a.accountid for a in accounts] == ["alice", "alice-work"]
        for got, want in zip(accounts, expected, strict=True):
            for field in Account._meta.concrete_fields:
                assert getattr(got, field.attname) == getattr(want, field.attname), field.name
                assert type(getattr(got, field.attname)) is type(getattr(want, field.attname)), field.name
            assert got._state.adding is False and got._state.db == "default"
        [token] = _TOKEN_BY_HASH(token_hash(alice.token))
        want_token = ApiToken.objects.select_related("pool").get(pool=alice.pool)
        for field in ApiToken._meta.concrete_fields:
            assert getattr(token, field.attname) == getattr(want_token, field.attname), field.name
        assert token.last_used_at is not None and token.last_used_at.tzinfo is not None
        for field in Pool._meta.concrete_fields:
            assert getattr(token.pool, field.attname) == getattr(alice.pool, field.attname), field.name
    assert _POOL_ACCOUNTS(-1) == [] and _TOKEN_BY_HASH("f" * 64) == []
