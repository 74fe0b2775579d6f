"""The state poll's request and its reading (backends.jmap.push_poll): one
request with a `Foo/get ids: []` per type each upstream account's capabilities
carry (RFC 8620 §5.1), and refused calls left out from then on."""
from __future__ import annotations

from typing import Any

from accounts.models import Account
from backends.jmap.push_poll import MAX_CALLS, StateCall, states_from_response, states_request
from backends.jmap.targets import UpstreamTarget

MAIL = "urn:ietf:params:jmap:mail"
SUBMISSION = "urn:ietf:params:jmap:submission"
CYRUS_CALENDARS = "https://cyrusimap.org/ns/jmap/calendars"
CALENDARS = "urn:ietf:params:jmap:calendars"


def target(upstream_id: str, *capabilities: str) -> UpstreamTarget:
    return UpstreamTarget(account=Account(accountid="alice"), upstream_id=upstream_id, proxy_id=f"p-{upstream_id}",
                          name=upstream_id, is_personal=True, is_read_only=False,
                          capabilities={capability: {} for capability in capabilities})  # fmt: skip


def test_one_get_per_type_of_each_account_in_one_request() -> None:
    request, calls = states_request(targets=[target("alice", MAIL, SUBMISSION), target("bob", MAIL)], refused=set())
    assert request["using"] == ["urn:ietf:params:jmap:core", MAIL, SUBMISSION]
    asked = [(name, args["accountId"], args["ids"]) for name, args, _ in request["methodCalls"]]
    assert asked == [
        ("Mailbox/get", "alice", []), ("Email/get", "alice", []), ("Thread/get", "alice", []),
        ("Identity/get", "alice", []), ("EmailSubmission/get", "alice", []),
        ("Mailbox/get", "bob", []), ("Email/get", "bob", []), ("Thread/get", "bob", []),
    ]  # fmt: skip
    assert [call.call_id for call in calls] == [call_id for _, _, call_id in request["methodCalls"]]


def test_a_type_two_capabilities_define_is_asked_once_and_refused_pairs_not_at_all() -> None:
    request, _ = states_request(targets=[target("alice", CALENDARS, CYRUS_CALENDARS, MAIL)],
                                    refused={("alice", "Thread")})  # fmt: skip
    names = [name for name, _, _ in request["methodCalls"]]
    assert names == ["Mailbox/get", "Email/get", "Calendar/get", "CalendarEvent/get"]
    assert CYRUS_CALENDARS not in request["using"]


def test_an_account_without_known_capabilities_asks_nothing_and_the_size_is_bounded() -> None:
    assert states_request(targets=[target("alice", "urn:example:other")], refused=set())[1] == []
    many = [target(f"a{i}", MAIL, SUBMISSION) for i in range(100)]
    assert len(states_request(targets=many, refused=set())[1]) == MAX_CALLS


def test_states_and_refusals_are_read_and_junk_is_neither() -> None:
    calls = [StateCall("s0", "alice", "Email"), StateCall("s1", "alice", "Mailbox"),
             StateCall("s2", "bob", "Email"), StateCall("s3", "bob", "Thread")]  # fmt: skip
    response: dict[str, Any] = {"methodResponses": [
        ["Email/get", {"accountId": "alice", "state": "J42", "list": []}, "s0"],
        ["error", {"type": "unknownMethod"}, "s1"],
        ["Email/get", {"accountId": "bob", "state": 7}, "s2"],  # not a string: asked again next time
        ["Thread/get", {"state": "T1"}, "s9"],  # no such call
        "junk", ["Thread/get", "junk", "s3"],
    ]}  # fmt: skip
    states, refused = states_from_response(response, calls)
    assert states == {"alice": {"Email": "J42"}}
    assert refused == {("alice", "Mailbox")}
