"""pool_accounts parses a large stored upstream Session once per distinct text.

Every request reads its pool's Accounts (accounts.auth.pool_accounts), and a
passthrough Account carries the upstream's Session (RFC 8620 §2), up to
several MiB of JSON. The parsed document is reused while the column holds
exactly the same text; any other text -- even written without touching
updated_at -- is parsed afresh, and small documents are never shared.
"""
from __future__ import annotations

import secrets
from typing import Any

import pytest

from accounts.auth import pool_accounts
from accounts.models import Account, Pool

pytestmark = pytest.mark.django_db


def _large_session(state: str) -> dict[str, Any]:
    # Well over the memo's threshold, as a real Session with many accounts is.
    accounts = {f"u{n}": {"name": f"shared folder {n}", "isPersonal": False, "isReadOnly": True,
                          "accountCapabilities": {"urn:ietf:params:jmap:mail": {}}} for n in range(40)}  # fmt: skip
    return {"capabilities": {"urn:ietf:params:jmap:core": {"maxCallsInRequest": 16}}, "accounts": accounts,
            "primaryAccounts": {}, "apiUrl": "https://upstream.example.test/jmap/", "state": state}  # fmt: skip


@pytest.fixture
def alice() -> Account:
    pool = Pool.objects.create(login=f"alice-memo-{secrets.token_hex(3)}@example.test")
    return Account.objects.create(accountid=f"alice{secrets.token_hex(3)}", pool=pool, email="alice@example.test",
                                  kind=Account.Kind.JMAP, session_url="https://upstream.example.test/.well-known/jmap",
                                  upstream_session=_large_session("s1"))  # fmt: skip


def _session_read(account: Account) -> Any:
    return pool_accounts(account.pool)[account.accountid].upstream_session


def test_an_unchanged_session_is_parsed_once(alice: Account) -> None:
    first = _session_read(alice)
    assert first == _large_session("s1")
    assert _session_read(alice) is first


def test_a_session_written_without_updated_at_is_read_afresh(alice: Account) -> None:
    first = _session_read(alice)
    Account.objects.filter(pk=alice.pk).update(upstream_session=_large_session("s2"))
    second = _session_read(alice)
    assert second["state"] == "s2"
    assert first["state"] == "s1"  # the earlier reader's document is left as it was


def test_mallorys_identical_session_text_is_equal_but_her_own_after_a_change(alice: Account) -> None:
    mallory_pool = Pool.objects.create(login=f"mallory-memo-{secrets.token_hex(3)}@example.test")
    mallory = Account.objects.create(accountid=f"mallory{secrets.token_hex(3)}", pool=mallory_pool,
                                     email="mallory@example.test", kind=Account.Kind.JMAP,
                                     upstream_session=_large_session("s1"))  # fmt: skip
    assert _session_read(mallory) == _session_read(alice)
    Account.objects.filter(pk=mallory.pk).update(upstream_session=_large_session("mallory"))
    assert _session_read(mallory)["state"] == "mallory"
    assert _session_read(alice)["state"] == "s1"


def test_small_sessions_are_never_shared(alice: Account) -> None:
    bob = Account.objects.create(accountid=f"bob{secrets.token_hex(3)}", pool=alice.pool, email="bob@example.test",
                                 kind=Account.Kind.IMAP, imap_host="127.0.0.1")  # fmt: skip
    first = _session_read(bob)
    assert first == {}
    first["written"] = "by one request"
    assert _session_read(bob) == {}
