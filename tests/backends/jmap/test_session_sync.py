"""The sync of a passthrough account is a refresh of its upstream Session (backends.jmap.session_sync).

accounts.sync runs it periodically, on creation and on "sync now"; its
outcome is recorded like any sync's. Against a real Cyrus.
"""
from __future__ import annotations

import pytest

from accounts.models import Account, UpstreamAccount
from accounts.secret_fields import account_secret_set
from accounts.sync import SYNCERS, account_sync
from backends.jmap.session_sync import jmap_account_sync
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.servers.cyrus import CyrusServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_upstream_clients")]


def test_the_jmap_kind_syncs_by_refreshing_its_session() -> None:
    assert SYNCERS[Account.Kind.JMAP] is jmap_account_sync


def test_a_sync_stores_the_upstream_accounts_and_records_success(cyrus: CyrusServer) -> None:
    alice = cyrus.user("alice-q1-sync", "alice-sync-pw")
    account = passthrough_account_make(accountid="alice", user=alice)
    account_sync(account_id=account.pk)
    account.refresh_from_db()
    assert account.last_sync_error == "" and account.last_sync_at is not None
    assert list(UpstreamAccount.objects.filter(account=account).values_list("proxy_id", flat=True)) == ["alice"]


def test_a_refused_login_is_the_sync_error_and_keeps_the_accounts(cyrus: CyrusServer) -> None:
    alice = cyrus.user("alice-q1-sync2", "alice-sync-pw")
    account = passthrough_account_make(accountid="alice", user=alice)
    account_sync(account_id=account.pk)
    account_secret_set(account=account, field="password", value="no-longer-her-password")
    account_sync(account_id=account.pk)
    account.refresh_from_db()
    assert "HTTP 401" in account.last_sync_error
    assert "no-longer-her-password" not in account.last_sync_error
    assert UpstreamAccount.objects.filter(account=account).count() == 1
