"""The Cyrus fixture gives a working native JMAP server (tests/servers/cyrus.py)."""
from __future__ import annotations

import httpx

from tests.servers.cyrus import CyrusServer


def test_cyrus_serves_a_jmap_session_with_the_users_inbox(cyrus: CyrusServer) -> None:
    alice = cyrus.user("alice-cyrus-fixture", "alice-pw")
    with httpx.Client(auth=(alice.login, alice.password), follow_redirects=True, timeout=30) as client:
        session = client.get(alice.session_url).json()
        account_id = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
        answer = client.post(cyrus.base_url + session["apiUrl"], json={
            "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
            "methodCalls": [["Mailbox/get", {"accountId": account_id, "properties": ["role"]}, "0"]],
        }).json()
    roles = [mailbox["role"] for mailbox in answer["methodResponses"][0][1]["list"]]
    assert roles == ["inbox"]


def test_cyrus_refuses_a_wrong_password(cyrus: CyrusServer) -> None:
    alice = cyrus.user("alice-cyrus-fixture", "alice-pw")
    answer = httpx.get(alice.session_url, auth=(alice.login, "wrong"), follow_redirects=True, timeout=30)
    assert answer.status_code == 401


def test_a_shared_mailbox_is_another_account_in_the_sharees_session(cyrus: CyrusServer) -> None:
    bob = cyrus.user("bob-cyrus-fixture", "bob-pw")
    carol = cyrus.user("carol-cyrus-fixture", "carol-pw")
    cyrus.share(owner=bob.login, sharee=carol.login, rights="lrs")
    session = httpx.get(carol.session_url, auth=(carol.login, carol.password), follow_redirects=True,
                        timeout=30).json()
    assert set(session["accounts"]) == {carol.login, bob.login}
