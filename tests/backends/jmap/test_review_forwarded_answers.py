"""Review findings on forwarded answers (backends.jmap.forward, RFC 8620 §3.4):
whatever an upstream answers, the client gets a JMAP Response (never a 500)
and the calls that run on the proxy are not affected.

alice's login holds a passthrough account on mallory's JMAP server (the
suite's Cyrus behind tests' CyrusFront, which rewrites Cyrus's answers) and
runs local calls (Core/echo) beside the forwarded ones.
"""
from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

from accounts.models import Account, Pool
from backends.jmap.client import upstream_client
from tests.backends.jmap.forward_people import by_call_id, mixed_person
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.backends.jmap.review_servers import CyrusFront, session_state_flapping
from tests.jmapcore.apiclient import api_post
from tests.servers.cyrus import CyrusServer
from tests.servers.dovecot import DovecotServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


class Alice:
    def __init__(self, cyrus: CyrusServer, front: CyrusFront) -> None:
        password = f"alice-{secrets.token_hex(4)}"
        self.pool = Pool.objects.create(login=f"alice-r1f-{secrets.token_hex(3)}@example.test",
                                        password_hash=make_password(password))
        user = cyrus.user("alice-r1-forwarded", "alice-r1-forwarded-pw")
        self.account: Account = passthrough_account_make(accountid=f"alicer1f{secrets.token_hex(3)}", user=user,
                                                         pool=self.pool, session_url=front.session_url)
        upstream_client(self.account).session_refresh()
        self.auth = "Basic " + base64.b64encode(f"{self.pool.login}:{password}".encode()).decode()
        self.client = Client()

    def request(self, calls: list[list[Any]]) -> list[list[Any]]:
        answer = api_post(self.client, self.auth, {"using": [CORE, MAIL], "methodCalls": calls})
        assert answer.status_code == 200, answer.content
        responses: list[list[Any]] = answer.json()["methodResponses"]
        return responses


@pytest.fixture
def alice(cyrus: CyrusServer, mallory_server: CyrusFront) -> Alice:
    return Alice(cyrus, mallory_server)


def _rewrite_responses(edit: Callable[[list[Any]], list[Any]]) -> Callable[[bytes], bytes]:
    def rewrite(data: bytes) -> bytes:
        answer = json.loads(data)
        answer["methodResponses"] = edit(answer["methodResponses"])
        return json.dumps(answer).encode()
    return rewrite


@pytest.mark.parametrize("call_id", ["²", "9" * 5000, "-0", " 0", "0" * 300 + "1x"])
def test_a_strange_upstream_call_id_is_server_fail_not_500(
    alice: Alice, mallory_server: CyrusFront, call_id: str
) -> None:
    mallory_server.api_edit = _rewrite_responses(lambda responses: [[r[0], r[1], call_id] for r in responses])
    responses = alice.request([
        ["Mailbox/get", {"accountId": alice.account.accountid, "ids": []}, "up"],
        ["Core/echo", {"hello": "local"}, "local"],
    ])
    assert [(name, call_id) for name, _, call_id in responses] == [("error", "up"), ("Core/echo", "local")]
    assert responses[0][1]["type"] == "serverFail"
    assert responses[1][1] == {"hello": "local"}


def test_an_upstream_response_size_error_does_not_stop_the_local_calls(
    alice: Alice, mallory_server: CyrusFront
) -> None:
    """The upstream's own response limit is not this Response's: later calls still run."""
    mallory_server.api_edit = _rewrite_responses(lambda responses: [
        ["error", {"type": "requestTooLarge", "limit": "maxSizeResponse"}, r[2]] for r in responses
    ])
    responses = alice.request([
        ["Mailbox/get", {"accountId": alice.account.accountid, "ids": []}, "up"],
        ["Core/echo", {"hello": "local"}, "local"],
    ])
    assert responses[0][0] == "error" and responses[0][2] == "up"
    assert responses[0][1]["type"] == "requestTooLarge"
    assert responses[1] == ["Core/echo", {"hello": "local"}, "local"]


def test_a_flapping_session_state_through_the_api_costs_one_session_fetch(
    alice: Alice, mallory_server: CyrusFront
) -> None:
    mallory_server.api_edit = session_state_flapping
    before = mallory_server.session_gets
    for _ in range(6):
        responses = alice.request([["Mailbox/get", {"accountId": alice.account.accountid, "ids": []}, "up"]])
        assert responses[0][0] == "Mailbox/get", responses
    assert mallory_server.session_gets - before == 1


def test_an_upstream_cannot_remap_a_local_creation_id(
    dovecot: DovecotServer, cyrus: CyrusServer, mallory_server: CyrusFront
) -> None:
    """A local "#k1" reference after a forwarded call still names what the local call created."""
    person = mixed_person(name="carol", dovecot=dovecot, cyrus=cyrus, session_url=mallory_server.session_url)

    def inject(data: bytes) -> bytes:
        answer = json.loads(data)
        answer["createdIds"] = {**(answer.get("createdIds") or {}), "k1": "Mnot-what-carol-made"}
        return json.dumps(answer).encode()

    mallory_server.api_edit = inject
    response = person.request([
        ["Mailbox/set", {"accountId": person.imap_id, "create": {"k1": {"name": f"r1-{secrets.token_hex(3)}"}}},
         "make"],
        ["Mailbox/get", {"accountId": person.cyrus_id, "ids": []}, "up"],
        ["Mailbox/get", {"accountId": person.imap_id, "#ids": {"resultOf": "make", "name": "Mailbox/set",
                                                                "path": "/created/k1/id"}}, "direct"],
        ["Mailbox/get", {"accountId": person.imap_id, "ids": ["#k1"]}, "byCreationId"],
    ], createdIds={})
    answers = by_call_id(response)
    made = answers["make"][1]["created"]["k1"]["id"]
    assert answers["up"][0] == "Mailbox/get"
    assert [mailbox["id"] for mailbox in answers["byCreationId"][1]["list"]] == [made]
    assert answers["byCreationId"][1]["notFound"] == []
    assert response["createdIds"]["k1"] == made


def test_an_account_the_operator_made_read_only_forwards_only_reads(
    alice: Alice, mallory_server: CyrusFront
) -> None:
    """Vendor methods that write (Cyrus's Backup/restoreMail) must not slip past the proxy's read-only flag."""
    Account.objects.filter(pk=alice.account.pk).update(is_read_only=True)
    responses = alice.request([
        ["Mailbox/get", {"accountId": alice.account.accountid, "ids": []}, "read"],
        ["Backup/restoreMail", {"accountId": alice.account.accountid, "undoPeriod": "P1D"}, "vendor"],
        ["Email/snooze", {"accountId": alice.account.accountid}, "unknown"],
        ["Mailbox/query", {"accountId": alice.account.accountid}, "query"],
    ])
    assert [(name, call_id) for name, _, call_id in responses] == [
        ("Mailbox/get", "read"), ("error", "vendor"), ("error", "unknown"), ("Mailbox/query", "query")
    ]
    assert responses[1][1]["type"] == responses[2][1]["type"] == "accountReadOnly"
    assert mallory_server.api_methods == ["Mailbox/get", "Mailbox/query"]


def test_an_answer_with_far_more_responses_than_calls_is_refused_whole(
    alice: Alice, mallory_server: CyrusFront
) -> None:
    """100,000 tiny responses to one call: refused before any is built, the local call still runs."""
    mallory_server.api_edit = _rewrite_responses(lambda responses: [responses[0]] * 100_000)
    responses = alice.request([
        ["Mailbox/get", {"accountId": alice.account.accountid, "ids": []}, "up"],
        ["Core/echo", {"hello": "local"}, "local"],
    ])
    assert [(name, call_id) for name, _, call_id in responses] == [("error", "up"), ("Core/echo", "local")]
    assert responses[0][1]["type"] == "serverFail"


def test_an_implicit_response_beside_the_call_s_own_is_kept(alice: Alice, mallory_server: CyrusFront) -> None:
    mallory_server.api_edit = _rewrite_responses(lambda responses: [responses[0], responses[0]])
    responses = alice.request([["Mailbox/get", {"accountId": alice.account.accountid, "ids": []}, "up"]])
    assert [(name, call_id) for name, _, call_id in responses] == [("Mailbox/get", "up"), ("Mailbox/get", "up")]
