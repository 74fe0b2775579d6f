"""The per-process memo of UpstreamAccount rows (accounts.upstream_rows).

Against the suite's Cyrus: alice's passthrough Account sees her own upstream
account, and bob's once he shares his INBOX with her. Rows are read from the
database once per version of the Account row; a Session refresh stored
through another Account instance (as another process would store it) is
seen by the next read of the Account, never hidden by the memo.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from pytest_django import DjangoAssertNumQueries

from accounts.auth import pool_accounts
from accounts.models import Account, UpstreamAccount
from accounts.upstream_rows import upstream_rows_forget, upstream_rows_read
from backends.jmap.client import upstream_clients_clear
from backends.jmap.session_store import upstream_session_refresh
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.servers.cyrus import CyrusServer, CyrusUser

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    upstream_clients_clear()
    upstream_rows_forget()
    yield
    upstream_clients_clear()
    upstream_rows_forget()


@pytest.fixture
def alice_cyrus(cyrus: CyrusServer) -> CyrusUser:
    return cyrus.user(f"alice-rows-{secrets.token_hex(3)}", "alice-rows-pw")


@pytest.fixture
def alice(alice_cyrus: CyrusUser) -> Account:
    account = passthrough_account_make(accountid=f"alice{secrets.token_hex(3)}", user=alice_cyrus)
    upstream_session_refresh(account=account)
    return account


def _fresh_read(account: Account) -> Account:
    """The Account as the next request reads it (accounts.auth.pool_accounts)."""
    return pool_accounts(account.pool)[account.accountid]


def test_unchanged_rows_are_read_once(alice: Account, alice_cyrus: CyrusUser,
                                      django_assert_num_queries: DjangoAssertNumQueries) -> None:  # fmt: skip
    current = _fresh_read(alice)
    with django_assert_num_queries(1):
        first = upstream_rows_read(accounts=[current])
    assert [row.upstream_id for row in first[alice.pk]] == [alice_cyrus.login]
    assert first[alice.pk][0].proxy_id == alice.accountid
    again = _fresh_read(alice)
    with django_assert_num_queries(0):
        assert upstream_rows_read(accounts=[again]) == first


def test_a_refresh_stored_elsewhere_is_seen_at_the_next_read(
    alice: Account, alice_cyrus: CyrusUser, cyrus: CyrusServer
) -> None:
    before = upstream_rows_read(accounts=[_fresh_read(alice)])[alice.pk]
    bob = cyrus.user(f"bob-rows-{secrets.token_hex(3)}", "bob-rows-pw")
    cyrus.share(owner=bob.login, sharee=alice_cyrus.login, rights="lr")
    # Another process's refresh: its own Account instance, its own write.
    upstream_session_refresh(account=Account.objects.get(pk=alice.pk))
    after = upstream_rows_read(accounts=[_fresh_read(alice)])[alice.pk]
    assert [row.upstream_id for row in before] == [alice_cyrus.login]
    assert [row.upstream_id for row in after] == [alice_cyrus.login, bob.login]
    stored = UpstreamAccount.objects.get(account=alice, upstream_id=bob.login)
    shared = after[1]
    assert (shared.proxy_id, shared.is_read_only) == (stored.proxy_id, stored.is_read_only)
    assert shared.is_read_only  # "lr": alice may only read bob's INBOX


def test_a_stale_account_instance_still_gets_the_current_rows(alice: Account, alice_cyrus: CyrusUser,
                                                              cyrus: CyrusServer) -> None:  # fmt: skip
    stale = _fresh_read(alice)
    upstream_rows_read(accounts=[stale])
    bob = cyrus.user(f"bob-rows-{secrets.token_hex(3)}", "bob-rows-pw")
    cyrus.share(owner=bob.login, sharee=alice_cyrus.login, rights="lr")
    upstream_session_refresh(account=Account.objects.get(pk=alice.pk))
    # The memo answers the old version for the old Account row; a fresh read moves on.
    assert [row.upstream_id for row in upstream_rows_read(accounts=[stale])[alice.pk]] == [alice_cyrus.login]
    fresh = upstream_rows_read(accounts=[_fresh_read(alice)])[alice.pk]
    assert [row.upstream_id for row in fresh] == [alice_cyrus.login, bob.login]


def test_a_session_state_written_without_updated_at_is_still_noticed(alice: Account) -> None:
    upstream_rows_read(accounts=[_fresh_read(alice)])
    # A direct write that leaves updated_at alone (no code path of the product does this):
    # the upstream Session's state is part of the version too.
    session = {**alice.upstream_session, "state": "another-state"}
    UpstreamAccount.objects.filter(account=alice).delete()
    Account.objects.filter(pk=alice.pk).update(upstream_session=session)
    assert upstream_rows_read(accounts=[_fresh_read(alice)]) == {alice.pk: ()}


def test_only_passthrough_accounts_are_read(alice: Account,
                                            django_assert_num_queries: DjangoAssertNumQueries) -> None:  # fmt: skip
    imap = Account.objects.create(accountid=f"imap{secrets.token_hex(3)}", pool=alice.pool, email="a@example.test",
                                  kind=Account.Kind.IMAP, imap_host="127.0.0.1")  # fmt: skip
    accounts = pool_accounts(alice.pool)
    read = upstream_rows_read(accounts=accounts.values())
    assert list(read) == [alice.pk]
    with django_assert_num_queries(0):
        assert upstream_rows_read(accounts=[accounts[imap.accountid]]) == {}


def test_a_passthrough_account_without_a_session_has_no_rows(alice_cyrus: CyrusUser) -> None:
    late = passthrough_account_make(accountid=f"late{secrets.token_hex(3)}", user=alice_cyrus)
    assert upstream_rows_read(accounts=[_fresh_read(late)]) == {late.pk: ()}
    upstream_session_refresh(account=Account.objects.get(pk=late.pk))
    rows = upstream_rows_read(accounts=[_fresh_read(late)])[late.pk]
    assert [row.upstream_id for row in rows] == [alice_cyrus.login]
