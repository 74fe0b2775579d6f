"""Storing the upstream Session: every upstream account, stable proxy ids (backends.jmap.session_store).

Against a real Cyrus: alice's credentials see her own account and, once bob
shares his INBOX with her by IMAP ACL, bob's account too. The proxy gives
each its own accountId and keeps it while the upstream account stays.
"""
from __future__ import annotations

import hashlib
from typing import Any

import pytest

from accounts.models import Account, Pool, UpstreamAccount
from backends.jmap.client import UpstreamError
from backends.jmap.session_store import (
    proxy_id_candidates,
    upstream_primary_id,
    upstream_session_refresh,
    upstream_session_store,
)
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.servers.cyrus import CyrusServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_upstream_clients")]

MAIL = "urn:ietf:params:jmap:mail"
SIEVE = "https://cyrusimap.org/ns/jmap/sieve"


def _unshare(cyrus: CyrusServer, *, owner: str, sharee: str) -> None:
    connection = cyrus.admin()
    try:
        status, detail = connection.deleteacl(f"user/{owner}", sharee)
        assert status == "OK", detail
    finally:
        connection.logout()


def _rows(account: Account) -> dict[str, str]:
    """upstream id -> proxy id."""
    return dict(UpstreamAccount.objects.filter(account=account).values_list("upstream_id", "proxy_id"))


def test_every_upstream_account_gets_a_row(cyrus: CyrusServer) -> None:
    alice = cyrus.user("alice-q1-store", "alice-store-pw")
    bob = cyrus.user("bob-q1-store", "bob-store-pw")
    cyrus.share(owner=bob.login, sharee=alice.login, rights="lr")  # look, no writes: a read-only account
    account = passthrough_account_make(accountid="alice", user=alice)
    upstream_session_refresh(account=account)
    rows = {row.upstream_id: row for row in UpstreamAccount.objects.filter(account=account)}
    assert set(rows) == {alice.login, bob.login}
    own, shared = rows[alice.login], rows[bob.login]
    # Cyrus's primary account is the Account's own id; the shared one <accountid>-<upstream id>.
    assert own.proxy_id == "alice" and own.position == 0
    assert shared.proxy_id == f"alice-{bob.login}"
    assert own.is_personal and not own.is_read_only
    assert not shared.is_personal and shared.is_read_only
    assert shared.name == bob.login
    assert SIEVE in own.capabilities and MAIL in own.capabilities
    assert MAIL in shared.capabilities
    account.refresh_from_db()
    assert account.upstream_session["apiUrl"] == f"{cyrus.base_url}/jmap/"


def test_a_new_share_is_added_and_a_removed_one_dropped_with_stable_ids(cyrus: CyrusServer) -> None:
    alice = cyrus.user("alice-q1-store2", "alice-store-pw")
    bob = cyrus.user("bob-q1-store2", "bob-store-pw")
    carol = cyrus.user("carol-q1-store2", "carol-store-pw")
    cyrus.share(owner=bob.login, sharee=alice.login, rights="lr")
    account = passthrough_account_make(accountid="alice", user=alice)
    upstream_session_refresh(account=account)
    before = _rows(account)
    assert set(before) == {alice.login, bob.login}

    cyrus.share(owner=carol.login, sharee=alice.login, rights="lr")
    upstream_session_refresh(account=account)
    after = _rows(account)
    assert set(after) == {alice.login, bob.login, carol.login}
    assert {key: after[key] for key in before} == before  # nobody else's id moved
    assert after[carol.login] == f"alice-{carol.login}"

    _unshare(cyrus, owner=bob.login, sharee=alice.login)
    upstream_session_refresh(account=account)
    assert _rows(account) == {alice.login: before[alice.login], carol.login: after[carol.login]}


def test_a_taken_id_is_never_given_twice(cyrus: CyrusServer) -> None:
    alice = cyrus.user("alice-q1-store3", "alice-store-pw")
    bob = cyrus.user("bob-q1-store3", "bob-store-pw")
    cyrus.share(owner=bob.login, sharee=alice.login, rights="lr")
    # mallory's IMAP account already has the id the shared account would get.
    mallory_pool = Pool.objects.create(login="mallory@example.test")
    Account.objects.create(accountid=f"alice-{bob.login}", pool=mallory_pool, email="mallory@example.test",
                           imap_host="127.0.0.1")
    account = passthrough_account_make(accountid="alice", user=alice)
    upstream_session_refresh(account=account)
    digest = hashlib.sha256(bob.login.encode()).hexdigest()[:16]
    assert _rows(account)[bob.login] == f"alice-{digest}"


def test_a_failed_refresh_keeps_what_was_stored(cyrus: CyrusServer) -> None:
    alice = cyrus.user("alice-q1-store4", "alice-store-pw")
    account = passthrough_account_make(accountid="alice", user=alice)
    upstream_session_refresh(account=account)
    stored = _rows(account)
    Account.objects.filter(pk=account.pk).update(username="nobody-q1")
    account.refresh_from_db()
    with pytest.raises(UpstreamError):
        upstream_session_refresh(account=account)
    assert _rows(account) == stored


def test_the_read_only_account_makes_every_upstream_account_read_only(cyrus: CyrusServer) -> None:
    alice = cyrus.user("alice-q1-store5", "alice-store-pw")
    account = passthrough_account_make(accountid="alice", user=alice)
    Account.objects.filter(pk=account.pk).update(is_read_only=True)
    account.refresh_from_db()
    upstream_session_refresh(account=account)
    assert UpstreamAccount.objects.get(account=account).is_read_only


# -- the rules, without a server -------------------------------------------------------


def _session(accounts: dict[str, Any], primary: dict[str, str]) -> dict[str, Any]:
    return {"accounts": accounts, "primaryAccounts": primary, "apiUrl": "https://up.example/api",
            "capabilities": {}, "state": "s1"}


def test_candidates() -> None:
    assert proxy_id_candidates(accountid="al", upstream_id="u1", primary=True) == [
        "al", "al-u1", "al-" + hashlib.sha256(b"u1").hexdigest()[:16]]
    # "@" is no JMAP Id character, and 300 characters are too many: only the hash form.
    for upstream_id in ("bob@example.com", "x" * 300):
        assert proxy_id_candidates(accountid="al", upstream_id=upstream_id, primary=False) == [
            "al-" + hashlib.sha256(upstream_id.encode()).hexdigest()[:16]]


def test_primary_is_mail_else_core_else_first() -> None:
    accounts: dict[str, Any] = {"a": {}, "b": {}, "c": {}}
    assert upstream_primary_id(_session(accounts, {MAIL: "b", "urn:ietf:params:jmap:core": "c"})) == "b"
    assert upstream_primary_id(_session(accounts, {"urn:ietf:params:jmap:core": "c"})) == "c"
    assert upstream_primary_id(_session(accounts, {MAIL: "gone"})) == "a"


def test_suffixes_when_every_candidate_is_taken(db: None) -> None:
    pool = Pool.objects.create(login="alice@example.test")
    alice = Account.objects.create(accountid="al", pool=pool, email="alice@example.test", kind=Account.Kind.JMAP,
                                   session_url="https://up.example/jmap")
    digest = hashlib.sha256(b"x@y").hexdigest()[:16]
    for taken in (f"al-{digest}", f"al-{digest}-2"):
        Account.objects.create(accountid=taken, pool=pool, email="alice@example.test", imap_host="h")
    upstream_session_store(account=alice, session=_session(
        {"p": {"name": "P", "accountCapabilities": {MAIL: {}, "urn:ietf:params:jmap:websocket": {}}},
         "x@y": {"name": "X", "accountCapabilities": {MAIL: {}}}},
        {MAIL: "p"}))
    assert _rows(alice) == {"p": "al", "x@y": f"al-{digest}-3"}
    # Transport-only capabilities are not carried.
    assert UpstreamAccount.objects.get(proxy_id="al").capabilities == {MAIL: {}}


def test_a_broken_accounts_object_stores_no_rows(db: None) -> None:
    pool = Pool.objects.create(login="alice@example.test")
    alice = Account.objects.create(accountid="al", pool=pool, email="alice@example.test", kind=Account.Kind.JMAP,
                                   session_url="https://up.example/jmap")
    upstream_session_store(account=alice, session=_session({"ok": {"name": 5}, "bad": "not an object"}, {}))
    assert _rows(alice) == {"ok": "al"}
    assert UpstreamAccount.objects.get(proxy_id="al").name == "ok"

