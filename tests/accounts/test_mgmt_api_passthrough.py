"""POST /api/accounts with a sessionUrl (a JMAP passthrough account) against a real Cyrus.

alice is a Cyrus user; bob shares his INBOX with her by IMAP ACL. Once her
passthrough account is created through the management API, the pool's Session
(fetched on the JMAP port as a client would) lists her account and bob's under
proxy accountIds, with Cyrus's capabilities (vendor ones included); the API
shows the upstream accounts and never a secret.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import Account
from backends.jmap.client import upstream_clients_clear
from tests.accounts.mgmt import PortClient
from tests.servers.cyrus import CyrusServer, CyrusUser
from tests.servers.dovecot import free_port

pytestmark = pytest.mark.django_db

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
SIEVE = "https://cyrusimap.org/ns/jmap/sieve"
ALICE = "alice@example.test"


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    upstream_clients_clear()
    yield
    upstream_clients_clear()


def _body(user: CyrusUser, **extra: object) -> dict[str, object]:
    return {"accountid": "alice", "email": ALICE, "sessionUrl": user.session_url, "username": user.login,
            "password": user.password, "authType": "basic", **extra}


def _session(client: PortClient, *, login: str, password: str) -> dict[str, Any]:
    basic = "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()
    response = client.get("/session", HTTP_AUTHORIZATION=basic)
    assert response.status_code == 200, response.content
    return dict(response.json())


def _unshare(cyrus: CyrusServer, *, owner: str, sharee: str) -> None:
    connection = cyrus.admin()
    try:
        status, detail = connection.deleteacl(f"user/{owner}", sharee)
        assert status == "OK", detail
    finally:
        connection.logout()


def test_the_session_lists_own_and_shared_upstream_accounts(
    cyrus: CyrusServer, mgmt_api: PortClient, jmap_port_client: PortClient
) -> None:
    alice = cyrus.user("alice-q1-mgmt", "alice-mgmt-pw")
    bob = cyrus.user("bob-q1-mgmt", "bob-mgmt-pw")
    cyrus.share(owner=bob.login, sharee=alice.login, rights="lr")

    created = mgmt_api.post_json("/api/accounts", _body(alice))
    assert created.status_code == 201, created.content
    shown = created.json()
    assert shown["type"] == "jmap"
    assert alice.password not in created.content.decode()
    assert shown["upstreamAccounts"] == [
        {"accountId": "alice", "upstreamAccountId": alice.login, "name": alice.login, "isReadOnly": False},
        {"accountId": f"alice-{bob.login}", "upstreamAccountId": bob.login, "name": bob.login, "isReadOnly": True},
    ]

    session = _session(jmap_port_client, login=ALICE, password=alice.password)
    assert set(session["accounts"]) == {"alice", f"alice-{bob.login}"}
    own, shared = session["accounts"]["alice"], session["accounts"][f"alice-{bob.login}"]
    assert own["isPersonal"] and not own["isReadOnly"]
    assert not shared["isPersonal"] and shared["isReadOnly"]
    assert SIEVE in own["accountCapabilities"]  # a vendor capability, carried
    assert MAIL in shared["accountCapabilities"]
    # The vendor capability is in the Session's capabilities too, with Cyrus's session-level value.
    assert session["capabilities"][SIEVE] == {}
    assert CORE in session["capabilities"] and MAIL in session["capabilities"]
    assert session["primaryAccounts"][MAIL] == "alice"
    assert session["primaryAccounts"][SIEVE] == "alice"
    # The proxy's own URLs, never the upstream's.
    assert cyrus.base_url not in json.dumps(session)


def test_refreshing_after_a_new_share_adds_it_and_an_unshare_removes_it(
    cyrus: CyrusServer, mgmt_api: PortClient, jmap_port_client: PortClient
) -> None:
    from accounts.sync import account_sync
    from backends.jmap import session_sync  # noqa: F401 - registers the passthrough syncer

    alice = cyrus.user("alice-q1-mgmt2", "alice-mgmt-pw")
    bob = cyrus.user("bob-q1-mgmt2", "bob-mgmt-pw")
    assert mgmt_api.post_json("/api/accounts", _body(alice)).status_code == 201
    first = _session(jmap_port_client, login=ALICE, password=alice.password)
    assert set(first["accounts"]) == {"alice"}

    cyrus.share(owner=bob.login, sharee=alice.login, rights="lr")
    account_sync(account_id=Account.objects.get(accountid="alice").pk)  # the periodic sync
    second = _session(jmap_port_client, login=ALICE, password=alice.password)
    assert set(second["accounts"]) == {"alice", f"alice-{bob.login}"}
    assert second["accounts"]["alice"] == first["accounts"]["alice"]
    assert second["state"] != first["state"]  # clients learn that the Session changed

    _unshare(cyrus, owner=bob.login, sharee=alice.login)
    account_sync(account_id=Account.objects.get(accountid="alice").pk)
    third = _session(jmap_port_client, login=ALICE, password=alice.password)
    assert set(third["accounts"]) == {"alice"}
    assert third["state"] == first["state"]
    assert Account.objects.get(accountid="alice").last_sync_error == ""


def test_unchecked_with_an_unreachable_upstream_is_saved_with_its_error(
    cyrus: CyrusServer, mgmt_api: PortClient, jmap_port_client: PortClient
) -> None:
    alice = cyrus.user("alice-q1-mgmt3", "alice-mgmt-pw")
    url = f"http://127.0.0.1:{free_port()}/.well-known/jmap"
    created = mgmt_api.post_json("/api/accounts", _body(alice, sessionUrl=url, check=False))
    assert created.status_code == 201, created.content
    assert created.json()["upstreamAccounts"] == []
    assert "connection refused" in created.json()["lastSyncError"]
    # Without the upstream Session, the account offers nothing a client could use.
    assert _session(jmap_port_client, login=ALICE, password=alice.password)["accounts"] == {}

    # The sessionUrl is corrected (with the password, as every change of destination must carry).
    fixed = mgmt_api.patch_json("/api/accounts/alice", {"sessionUrl": alice.session_url, "password": alice.password})
    assert fixed.status_code == 200, fixed.content
    assert [row["accountId"] for row in fixed.json()["upstreamAccounts"]] == ["alice"]
    assert set(_session(jmap_port_client, login=ALICE, password=alice.password)["accounts"]) == {"alice"}


def test_a_checked_create_with_a_wrong_password_stores_nothing(cyrus: CyrusServer, mgmt_api: PortClient) -> None:
    alice = cyrus.user("alice-q1-mgmt4", "alice-mgmt-pw")
    refused = mgmt_api.post_json("/api/accounts", _body(alice, password="not-alices-password"))
    assert refused.status_code == 422, refused.content
    assert "401" in refused.json()["detail"]
    assert "not-alices-password" not in refused.content.decode()
    assert not Account.objects.filter(accountid="alice").exists()


def test_an_accountid_taken_by_an_upstream_account_is_refused(cyrus: CyrusServer, mgmt_api: PortClient) -> None:
    alice = cyrus.user("alice-q1-mgmt5", "alice-mgmt-pw")
    bob = cyrus.user("bob-q1-mgmt5", "bob-mgmt-pw")
    cyrus.share(owner=bob.login, sharee=alice.login, rights="lr")
    assert mgmt_api.post_json("/api/accounts", _body(alice)).status_code == 201
    taken = f"alice-{bob.login}"
    refused = mgmt_api.post_json("/api/accounts", {
        "accountid": taken, "email": "mallory@example.test", "type": "imap", "password": "mallory-pw",
        "imapHost": "127.0.0.1", "check": False,
    })
    assert refused.status_code == 422, refused.content
    assert "accountid" in refused.json()["fields"]
    assert not Account.objects.filter(accountid=taken).exists()


def test_listing_shows_upstream_accounts_without_secrets(cyrus: CyrusServer, mgmt_api: PortClient) -> None:
    alice = cyrus.user("alice-q1-mgmt6", "alice-mgmt-pw")
    assert mgmt_api.post_json("/api/accounts", _body(alice)).status_code == 201
    listed = mgmt_api.get("/api/accounts")
    assert listed.status_code == 200
    (shown,) = listed.json()
    assert shown["upstreamAccounts"][0]["upstreamAccountId"] == alice.login
    assert alice.password not in listed.content.decode()
    assert "upstreamSession" not in shown


def test_turning_into_an_imap_account_drops_the_upstream_accounts(
    cyrus: CyrusServer, mgmt_api: PortClient, jmap_port_client: PortClient
) -> None:
    alice = cyrus.user("alice-q1-mgmt7", "alice-mgmt-pw")
    bob = cyrus.user("bob-q1-mgmt7", "bob-mgmt-pw")
    cyrus.share(owner=bob.login, sharee=alice.login, rights="lr")
    assert mgmt_api.post_json("/api/accounts", _body(alice)).status_code == 201
    changed = mgmt_api.patch_json("/api/accounts/alice", {
        "type": "imap", "imapHost": cyrus.host, "imapPort": cyrus.imap_port, "imapSSL": 0,
        "password": alice.password, "check": False,
    })
    assert changed.status_code == 200, changed.content
    assert changed.json()["upstreamAccounts"] == []
    session = _session(jmap_port_client, login=ALICE, password=alice.password)
    assert set(session["accounts"]) == {"alice"}
    assert SIEVE not in session["capabilities"]
    assert Account.objects.get(accountid="alice").upstream_session == {}
