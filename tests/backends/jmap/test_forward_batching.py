"""One request mixing alice's IMAP account and her Cyrus passthrough account
(RFC 8620 §3.3, §3.7): calls for the passthrough account go upstream, in one
upstream request per run of consecutive calls, local calls run locally,
responses come back in the client's order, and result references work across
the two in both directions."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from backends.jmap.client import upstream_clients_clear
from tests.backends.jmap.forward_people import CORE, MAIL, MixedPerson, by_call_id, mixed_person, upstream_requests_sent
from tests.servers.cyrus import CyrusServer
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


def _ref(call_id: str, name: str, path: str) -> dict[str, str]:
    return {"resultOf": call_id, "name": name, "path": path}


def test_mixed_request_keeps_order_and_references(alice: MixedPerson) -> None:
    before = upstream_requests_sent()
    response = alice.request([
        ["Mailbox/get", {"accountId": alice.imap_id, "properties": ["name", "role"]}, "a"],
        ["Mailbox/get", {"accountId": alice.cyrus_id, "properties": ["name", "role"]}, "b"],
        ["Mailbox/query", {"accountId": alice.cyrus_id, "filter": {"role": "inbox"}}, "c"],
        # A reference inside the same upstream batch travels upstream as it is.
        ["Mailbox/get", {"accountId": alice.cyrus_id, "#ids": _ref("c", "Mailbox/query", "/ids"),
                         "properties": ["role"]}, "d"],
        ["Mailbox/query", {"accountId": alice.imap_id, "filter": {"role": "inbox"}}, "e"],
        # A local call reading a forwarded call's result.
        ["Core/echo", {"#roles": _ref("b", "Mailbox/get", "/list/*/role"), "props": ["name"]}, "f"],
        # A forwarded call reading a local call's result and an earlier batch's result (resolved locally).
        ["Mailbox/get", {"accountId": alice.cyrus_id, "#ids": _ref("c", "Mailbox/query", "/ids"),
                         "#properties": _ref("f", "Core/echo", "/props")}, "g"],
    ])
    calls = [(name, call_id) for name, _, call_id in response["methodResponses"]]
    assert calls == [("Mailbox/get", "a"), ("Mailbox/get", "b"), ("Mailbox/query", "c"), ("Mailbox/get", "d"),
                     ("Mailbox/query", "e"), ("Core/echo", "f"), ("Mailbox/get", "g")]
    answers = by_call_id(response)
    # Account ids come back as the pool's, never the upstream's (Cyrus uses the login).
    for call_id in "bcdg":
        assert answers[call_id][1]["accountId"] == alice.cyrus_id
    assert answers["a"][1]["accountId"] == answers["e"][1]["accountId"] == alice.imap_id
    inbox_id = answers["c"][1]["ids"][0]
    assert [box["id"] for box in answers["d"][1]["list"]] == [inbox_id]
    assert answers["d"][1]["list"][0]["role"] == "inbox"
    assert answers["f"][1]["roles"] == [box["role"] for box in answers["b"][1]["list"]]
    # "g" got its ids and properties resolved by the proxy: only the name came back.
    [only] = answers["g"][1]["list"]
    assert only["id"] == inbox_id and set(only) == {"id", "name"}
    # b-d went in one upstream request, g in another.
    assert upstream_requests_sent() - before == 2
    # The IMAP account's inbox is the proxy's own id, not Cyrus's.
    local_inbox = answers["e"][1]["ids"]
    assert len(local_inbox) == 1 and local_inbox[0] != inbox_id


def test_a_long_run_is_split_at_the_upstream_maxcallsinrequest(alice: MixedPerson) -> None:
    limit = alice.passthrough.upstream_session["capabilities"][CORE]["maxCallsInRequest"]
    calls = [["Mailbox/query", {"accountId": alice.cyrus_id}, f"q{i}"] for i in range(limit + 3)]
    # The last call refers back across the split: resolved by the proxy from the first part's answer.
    calls.append(["Mailbox/get", {"accountId": alice.cyrus_id, "#ids": _ref("q0", "Mailbox/query", "/ids")}, "last"])
    before = upstream_requests_sent()
    response = alice.request(calls, using=[CORE, MAIL])
    assert [call_id for _, _, call_id in response["methodResponses"]] == [c[2] for c in calls]
    assert all(name != "error" for name, _, _ in response["methodResponses"]), response
    assert upstream_requests_sent() - before == 2
    last = by_call_id(response)["last"][1]
    assert [box["id"] for box in last["list"]] == by_call_id(response)["q0"][1]["ids"]


def test_a_bad_reference_to_a_local_call_answers_locally_and_the_rest_still_runs(alice: MixedPerson) -> None:
    response = alice.request([
        ["Mailbox/query", {"accountId": alice.cyrus_id}, "a"],
        ["Mailbox/get", {"accountId": alice.cyrus_id, "#ids": _ref("nowhere", "Mailbox/query", "/ids")}, "b"],
        ["Mailbox/get", {"accountId": alice.cyrus_id, "#ids": _ref("a", "Mailbox/query", "/ids")}, "c"],
    ])
    answers = by_call_id(response)
    assert answers["a"][0] == "Mailbox/query"
    assert answers["b"] == ["error", {"type": "invalidResultReference",
                                      "description": answers["b"][1]["description"]}]
    assert answers["c"][0] == "Mailbox/get"
    assert [box["id"] for box in answers["c"][1]["list"]] == answers["a"][1]["ids"]


def test_duplicate_client_call_ids_still_map_each_answer_to_its_call(alice: MixedPerson) -> None:
    response = alice.request([
        ["Mailbox/query", {"accountId": alice.cyrus_id}, "same"],
        ["Mailbox/get", {"accountId": alice.cyrus_id, "ids": [], "properties": ["role"]}, "same"],
    ])
    assert [(name, call_id) for name, _, call_id in response["methodResponses"]] == [
        ("Mailbox/query", "same"), ("Mailbox/get", "same")
    ]
