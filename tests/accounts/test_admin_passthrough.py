"""The dashboard and JMAP passthrough accounts, against a real Cyrus.

An operator adds alice's passthrough account in the admin: once the save
commits, the upstream Session is fetched and her change page lists her
upstream accounts (her own and bob's, shared to her by IMAP ACL). An account
id that an upstream account already uses is refused.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Pool, UpstreamAccount
from backends.jmap.client import upstream_clients_clear
from tests.servers.cyrus import CyrusServer, CyrusUser

OPERATOR_PASSWORD = "operator-password-q1"
CaptureCallbacks = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


def admin_url(name: str, *args: object) -> str:
    return reverse(f"admin:{name}", args=args, urlconf=settings.MGMT_URLCONF)


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    upstream_clients_clear()
    yield
    upstream_clients_clear()


@pytest.fixture
def operator(db: None, mgmt_client: Client) -> Client:
    User.objects.create_superuser("operator", "operator@example.test", OPERATOR_PASSWORD)
    response = mgmt_client.post(admin_url("login"), {"username": "operator", "password": OPERATOR_PASSWORD,
                                                     "next": "/"})
    assert response.status_code == 302
    return mgmt_client


def add_form(*, accountid: str, pool: Pool, user: CyrusUser) -> dict[str, Any]:
    return {
        "accountid": accountid, "pool": pool.pk, "email": "alice@example.test", "name": "Alice",
        "kind": "jmap", "username": user.login, "new_password": user.password, "auth_type": "basic",
        "imap_port": 993, "imap_ssl": 2, "smtp_port": 587, "smtp_ssl": 3, "session_url": user.session_url,
        "_save": "Save",
    }


def test_adding_a_passthrough_account_fetches_its_upstream_accounts(
    cyrus: CyrusServer, operator: Client, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    alice = cyrus.user("alice-q1-admin", "alice-admin-pw")
    bob = cyrus.user("bob-q1-admin", "bob-admin-pw")
    cyrus.share(owner=bob.login, sharee=alice.login, rights="lr")
    pool = Pool.objects.create(login="alice@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(admin_url("accounts_account_add"), add_form(accountid="alice", pool=pool, user=alice))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    account = Account.objects.get(accountid="alice")
    assert dict(UpstreamAccount.objects.filter(account=account).values_list("upstream_id", "proxy_id")) == {
        alice.login: "alice", bob.login: f"alice-{bob.login}"}

    page = operator.get(admin_url("accounts_account_change", account.pk))
    assert page.status_code == 200
    text = page.content.decode()
    assert f"<code>alice-{bob.login}</code>" in text
    assert "https://cyrusimap.org/ns/jmap/sieve" in text
    assert alice.password not in text


def test_an_id_an_upstream_account_uses_is_refused(
    cyrus: CyrusServer, operator: Client, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    alice = cyrus.user("alice-q1-admin2", "alice-admin-pw")
    bob = cyrus.user("bob-q1-admin2", "bob-admin-pw")
    cyrus.share(owner=bob.login, sharee=alice.login, rights="lr")
    pool = Pool.objects.create(login="alice@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(admin_url("accounts_account_add"), add_form(accountid="alice", pool=pool, user=alice))
    taken = f"alice-{bob.login}"
    response = operator.post(admin_url("accounts_account_add"), add_form(accountid=taken, pool=pool, user=bob))
    assert response.status_code == 200
    assert b"Already the account id of an upstream account" in response.content
    assert not Account.objects.filter(accountid=taken).exists()
