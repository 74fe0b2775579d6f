"""Every upstream account of a passthrough account is reachable under its own
proxy id: bob shares his Cyrus INBOX with alice (IMAP ACL), so alice's Cyrus
Session lists bob's account too; alice's calls for it go to Cyrus with bob's
upstream id and come back with the proxy's id for it, in the same upstream
request as her own account's calls (same credentials, same server)."""
from __future__ import annotations

import pytest

from accounts.models import UpstreamAccount
from backends.jmap.client import upstream_client
from tests.backends.jmap.forward_people import MixedPerson, by_call_id, upstream_requests_sent
from tests.servers.cyrus import CyrusServer, CyrusUser

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]


@pytest.fixture
def bob_cyrus(cyrus: CyrusServer, mixed_alice: MixedPerson) -> CyrusUser:
    bob = cyrus.user(f"bob-of-{mixed_alice.cyrus_user.login}", "bob-shares-pw")
    cyrus.share(owner=bob.login, sharee=mixed_alice.cyrus_user.login, rights="lrs")
    upstream_client(mixed_alice.passthrough).session_refresh()
    return bob


def test_a_shared_upstream_account_has_its_own_proxy_id(mixed_alice: MixedPerson, bob_cyrus: CyrusUser) -> None:
    row = UpstreamAccount.objects.get(account=mixed_alice.passthrough, upstream_id=bob_cyrus.login)
    shared_id = row.proxy_id
    assert shared_id not in (mixed_alice.cyrus_id, bob_cyrus.login)
    before = upstream_requests_sent()
    response = mixed_alice.request([
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "properties": ["role"]}, "own"],
        ["Mailbox/get", {"accountId": shared_id, "properties": ["role", "myRights"]}, "shared"],
    ])
    assert upstream_requests_sent() - before == 1
    answers = by_call_id(response)
    assert answers["own"][1]["accountId"] == mixed_alice.cyrus_id
    assert answers["shared"][0] == "Mailbox/get", answers["shared"]
    assert answers["shared"][1]["accountId"] == shared_id
    [bobs_inbox] = answers["shared"][1]["list"]
    # "lrs": bob's mailbox is readable but alice may not add to it.
    assert bobs_inbox["myRights"]["mayReadItems"] is True
    assert bobs_inbox["myRights"]["mayAddItems"] is False
    # The upstream's id of bob's account never reaches the client as an account id.
    assert bob_cyrus.login not in {arguments.get("accountId") for _, arguments, _ in response["methodResponses"]}
