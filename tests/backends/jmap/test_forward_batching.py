"""One request mixing alice's IMAP account and her Cyrus passthrough account
(RFC 8620 §3.3, §3.7): calls for the passthrough account go upstream, in one
upstream request per run of consecutive calls, local calls run locally,
responses come back in the client's order, and result references work across
the two in both directions."""
from __future__ import annotations

import pytest

from tests.backends.jmap.forward_people import CORE, MAIL, MixedPerson, by_call_id, upstream_requests_sent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]


def _ref(call_id: str, name: str, path: str) -> dict[str, str]:
    return {"resultOf": call_id, "name": name, "path": path}


def test_mixed_request_keeps_order_and_references(mixed_alice: MixedPerson) -> None:
    before = upstream_requests_sent()
    response = mixed_alice.request([
        ["Mailbox/get", {"accountId": mixed_alice.imap_id, "properties": ["name", "role"]}, "a"],
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "properties": ["name", "role"]}, "b"],
        ["Mailbox/query", {"accountId": mixed_alice.cyrus_id, "filter": {"role": "inbox"}}, "c"],
        # A reference inside the same upstream batch travels upstream as it is.
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "#ids": _ref("c", "Mailbox/query", "/ids"),
                         "properties": ["role"]}, "d"],
        ["Mailbox/query", {"accountId": mixed_alice.imap_id, "filter": {"role": "inbox"}}, "e"],
        # A local call reading a forwarded call's result.
        ["Core/echo", {"#roles": _ref("b", "Mailbox/get", "/list/*/role"), "props": ["name"]}, "f"],
        # A forwarded call reading a local call's result and an earlier batch's result (resolved locally).
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "#ids": _ref("c", "Mailbox/query", "/ids"),
                         "#properties": _ref("f", "Core/echo", "/props")}, "g"],
    ])
    calls = [(name, call_id) for name, _, call_id in response["methodResponses"]]
    assert calls == [("Mailbox/get", "a"), ("Mailbox/get", "b"), ("Mailbox/query", "c"), ("Mailbox/get", "d"),
                     ("Mailbox/query", "e"), ("Core/echo", "f"), ("Mailbox/get", "g")]
    answers = by_call_id(response)
    # Account ids come back as the pool's, never the upstream's (Cyrus uses the login).
    for call_id in "bcdg":
        assert answers[call_id][1]["accountId"] == mixed_alice.cyrus_id
    assert answers["a"][1]["accountId"] == answers["e"][1]["accountId"] == mixed_alice.imap_id
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


def test_a_long_run_is_split_at_the_upstream_maxcallsinrequest(mixed_alice: MixedPerson) -> None:
    limit = mixed_alice.passthrough.upstream_session["capabilities"][CORE]["maxCallsInRequest"]
    calls = [["Mailbox/query", {"accountId": mixed_alice.cyrus_id}, f"q{i}"] for i in range(limit + 3)]
    # The last call refers back across the split: resolved by the proxy from the first part's answer.
    calls.append(["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "#ids": _ref("q0", "Mailbox/query", "/ids")},
                  "last"])
    before = upstream_requests_sent()
    response = mixed_alice.request(calls, using=[CORE, MAIL])
    assert [call_id for _, _, call_id in response["methodResponses"]] == [c[2] for c in calls]
    assert all(name != "error" for name, _, _ in response["methodResponses"]), response
    assert upstream_requests_sent() - before == 2
    last = by_call_id(response)["last"][1]
    assert [box["id"] for box in last["list"]] == by_call_id(response)["q0"][1]["ids"]


def test_a_bad_reference_to_a_local_call_answers_locally_and_the_rest_still_runs(mixed_alice: MixedPerson) -> None:
    response = mixed_alice.request([
        ["Mailbox/query", {"accountId": mixed_alice.cyrus_id}, "a"],
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "#ids": _ref("nowhere", "Mailbox/query", "/ids")}, "b"],
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "#ids": _ref("a", "Mailbox/query", "/ids")}, "c"],
    ])
    answers = by_call_id(response)
    assert answers["a"][0] == "Mailbox/query"
    assert answers["b"] == ["error", {"type": "invalidResultReference",
                                      "description": answers["b"][1]["description"]}]
    assert answers["c"][0] == "Mailbox/get"
    assert [box["id"] for box in answers["c"][1]["list"]] == answers["a"][1]["ids"]


def test_duplicate_client_call_ids_still_map_each_answer_to_its_call(mixed_alice: MixedPerson) -> None:
    response = mixed_alice.request([
        ["Mailbox/query", {"accountId": mixed_alice.cyrus_id}, "same"],
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "ids": [], "properties": ["role"]}, "same"],
    ])
    assert [(name, call_id) for name, _, call_id in response["methodResponses"]] == [
        ("Mailbox/query", "same"), ("Mailbox/get", "same")
    ]
