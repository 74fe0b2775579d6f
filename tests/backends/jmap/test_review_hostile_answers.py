"""Review findings 2 and 3: a hostile upstream's answers cost bounded time.

mallory's JMAP server (the suite's Cyrus behind tests' CyrusFront) answers
method calls a byte-range at a time, slower than any client waits (each
piece well within the read timeout, the whole far beyond it), or with a
sessionState that changes on every answer. The proxy must give up on the
dripping answer once the request's timeout has passed as a whole, and must
not fetch the upstream Session again for every request of a flapping one.
"""
from __future__ import annotations

import json
import secrets

import pytest

from accounts.models import Account
from backends.jmap.client import UpstreamError, upstream_client
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.backends.jmap.review_servers import CyrusFront, session_state_flapping
from tests.servers.cyrus import CyrusServer, CyrusUser

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_upstream_clients")]

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
MAILBOX_GET = {"using": [CORE, MAIL], "methodCalls": [["Mailbox/get", {"accountId": "x", "ids": []}, "0"]]}


@pytest.fixture
def alice(cyrus: CyrusServer, mallory_server: CyrusFront) -> Account:
    user: CyrusUser = cyrus.user("alice-r1-hostile", "alice-r1-hostile-pw")
    account = passthrough_account_make(accountid=f"alicer1h{secrets.token_hex(3)}", user=user,
                                       session_url=mallory_server.session_url)
    upstream_client(account).session_refresh()
    return account


def _request(account: Account) -> dict[str, object]:
    upstream_id = next(iter(account.upstream_session["accounts"]))
    return {**MAILBOX_GET, "methodCalls": [["Mailbox/get", {"accountId": upstream_id, "ids": []}, "0"]]}


def test_a_dripping_answer_times_out_as_a_whole(alice: Account, mallory_server: CyrusFront) -> None:
    # 20 pieces 0.4 s apart: every read well within the timeout, the whole answer 8 s.
    mallory_server.api_drip = 0.4
    with pytest.raises(UpstreamError) as caught:
        upstream_client(alice).api_post(_request(alice), timeout=2.0)
    assert caught.value.timed_out
    assert not caught.value.permanent
    assert mallory_server.api_calls == 1


def test_a_flapping_session_state_is_no_refresh_storm(alice: Account, mallory_server: CyrusFront) -> None:
    mallory_server.api_edit = session_state_flapping
    before = mallory_server.session_gets
    client = upstream_client(alice)
    for _ in range(10):
        answer = client.api_post(_request(alice))
        assert answer["methodResponses"][0][0] == "Mailbox/get"
    # The first new state is worth one refresh; it did not match, so the others wait for the pause.
    assert mallory_server.session_gets - before == 1


def test_a_real_session_change_is_still_followed(alice: Account, mallory_server: CyrusFront) -> None:
    """The pause applies only after a refresh that did not reach the answer's state."""
    mallory_server.session_edit = lambda session: {**session, "state": "changed-on-the-upstream"}
    mallory_server.api_edit = lambda data: json.dumps({**json.loads(data),
                                                       "sessionState": "changed-on-the-upstream"}).encode()
    client = upstream_client(alice)
    client.api_post(_request(alice))
    alice.refresh_from_db()
    assert alice.upstream_session["state"] == "changed-on-the-upstream"


DEEP = b"[" * 200_000 + b"]" * 200_000


def test_a_session_nested_too_deep_is_an_upstream_error(cyrus: CyrusServer, mallory_server: CyrusFront) -> None:
    mallory_server.session_raw = DEEP
    user = cyrus.user("bob-r1-hostile", "bob-r1-hostile-pw")
    account = passthrough_account_make(accountid=f"bobr1h{secrets.token_hex(3)}", user=user,
                                       session_url=mallory_server.session_url)
    with pytest.raises(UpstreamError) as caught:
        upstream_client(account).session_refresh()
    assert caught.value.permanent
    account.refresh_from_db()
    assert account.upstream_session == {}


def test_an_answer_nested_too_deep_is_an_upstream_error(alice: Account, mallory_server: CyrusFront) -> None:
    mallory_server.api_edit = lambda data: DEEP
    with pytest.raises(UpstreamError) as caught:
        upstream_client(alice).api_post(_request(alice))
    assert caught.value.status == 200
