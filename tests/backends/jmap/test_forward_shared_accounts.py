"""Every upstream account of a passthrough account is reachable under its own
proxy id: bob shares his Cyrus INBOX with alice (IMAP ACL), so alice's Cyrus
Session lists bob's account too; alice's calls for it go to Cyrus with bob's
upstream id and come back with the proxy's id for it, in the same upstream
request as her own account's calls (same credentials, same server)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from accounts.models import UpstreamAccount
from backends.jmap.client import upstream_client, upstream_clients_clear
from tests.backends.jmap.forward_people import MixedPerson, by_call_id, mixed_person, upstream_requests_sent
from tests.servers.cyrus import CyrusServer, CyrusUser
from tests.servers.dovecot import DovecotServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    upstream_clients_clear()
    yield
    upstream_clients_clear()


@pytest.fixture
def alice(dovecot: DovecotServer, cyrus: CyrusServer) -> MixedPerson:
    return mixed_person(name="alice", dovecot=dovecot, cyrus=cyrus)


@pytest.fixture
def bob_cyrus(cyrus: CyrusServer, alice: MixedPerson) -> CyrusUser:
    bob = cyrus.user(f"bob-of-{alice.cyrus_user.login}", "bob-shares-pw")
    cyrus.share(owner=bob.login, sharee=alice.cyrus_user.login, rights="lrs")
    upstream_client(alice.passthrough).session_refresh()
    return bob


def test_a_shared_upstream_account_has_its_own_proxy_id(alice: MixedPerson, bob_cyrus: CyrusUser) -> None:
    row = UpstreamAccount.objects.get(account=alice.passthrough, upstream_id=bob_cyrus.login)
    shared_id = row.proxy_id
    assert shared_id not in (alice.cyrus_id, bob_cyrus.login)
    before = upstream_requests_sent()
    response = alice.request([
        ["Mailbox/get", {"accountId": alice.cyrus_id, "properties": ["role"]}, "own"],
        ["Mailbox/get", {"accountId": shared_id, "properties": ["role", "myRights"]}, "shared"],
    ])
    assert upstream_requests_sent() - before == 1
    answers = by_call_id(response)
    assert answers["own"][1]["accountId"] == alice.cyrus_id
    assert answers["shared"][0] == "Mailbox/get", answers["shared"]
    assert answers["shared"][1]["accountId"] == shared_id
    [bobs_inbox] = answers["shared"][1]["list"]
    # "lrs": bob's mailbox is readable but alice may not add to it.
    assert bobs_inbox["myRights"]["mayReadItems"] is True
    assert bobs_inbox["myRights"]["mayAddItems"] is False
    # The upstream's id of bob's account never reaches the client as an account id.
    assert bob_cyrus.login not in {arguments.get("accountId") for _, arguments, _ in response["methodResponses"]}
