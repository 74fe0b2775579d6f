"""Requests shaped to make the server work or allocate far more than their size
answer a JMAP error, never a 500 and never unbounded work: deep JSON, deep
values carried along by result references, hostile result-reference paths,
/get ids past maxObjectsInGet (also when they come from a result reference),
property lists and maxChanges (RFC 8620 §3.6, §3.7, §5.1, §5.2). Through the
real HTTP API; after each, the same login is answered normally."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from jmapcore.limits import CORE_CAPABILITY, LIMITS
from jmapcore.mail.capability import MAIL_CAPABILITY
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses, problem
from tests.personas import Persona

MAIL = [CORE_CAPABILITY, MAIL_CAPABILITY]


def _healthy(client: Client, persona: Persona) -> None:
    response = api_post(client, persona.basic, jmap_request(["Core/echo", {"still": "here"}, "h"]))
    assert method_responses(response) == [["Core/echo", {"still": "here"}, "h"]]


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"n": value}
    return value


@pytest.mark.parametrize(
    "raw",
    [
        b'{"using":[],"methodCalls":[["Core/echo",' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b',"c"]]}',
        b'{"using":[],"methodCalls":[["Core/echo",{"a":' + b"[" * 200_000 + b"]" * 200_000 + b'},"c"]]}',
        b'{"using":[],"methodCalls":[["Core/echo",{"a":' + b"[" * 129 + b"]" * 129 + b'},"c"]]}',
    ],
    ids=["objects-100k", "arrays-200k", "arrays-129"],
)
def test_deep_json_is_not_json(jmap_client: Client, alice: Persona, raw: bytes) -> None:
    assert b"Core/echo" in raw
    problem(api_post(jmap_client, alice.basic, raw), "notJSON")
    _healthy(jmap_client, alice)


def test_references_that_deepen_a_deep_value_stay_answerable(jmap_client: Client, alice: Persona) -> None:
    """Each call wraps the last result once more: the responses grow deeper
    than any request may be, and are still measured, copied and encoded."""
    calls: list[list[Any]] = [["Core/echo", {"v": _nested(120)}, "e0"]]
    for i in range(1, LIMITS.maxCallsInRequest):
        calls.append(["Core/echo", {"#w": {"resultOf": f"e{i - 1}", "name": "Core/echo", "path": ""}}, f"e{i}"])
    responses = method_responses(api_post(jmap_client, alice.basic, jmap_request(*calls)))
    assert [r[0] for r in responses] == ["Core/echo"] * len(calls)
    deepest: Any = responses[-1][1]
    for _ in range(LIMITS.maxCallsInRequest - 1):
        deepest = deepest["w"]
    assert deepest == {"v": _nested(120)}
    _healthy(jmap_client, alice)


@pytest.mark.parametrize(
    "path",
    [
        "/a" * 100_000,
        "/" + "x" * 1_000_000,
        "/*" * 5_000,
        "/list/~2",
        "/list/~",
        "list",
        "/list/01",
        "/list/1\n",
    ],
    ids=["many-parts", "long", "many-wildcards", "bad-escape", "lone-tilde", "relative", "leading-zero", "newline"],
)
def test_hostile_reference_paths(jmap_client: Client, alice: Persona, path: str) -> None:
    calls = [
        ["Core/echo", {"list": [[1], [2]]}, "src"],
        ["Core/echo", {"#x": {"resultOf": "src", "name": "Core/echo", "path": path}}, "ref"],
    ]
    responses = method_responses(api_post(jmap_client, alice.basic, jmap_request(*calls)))
    assert responses[1][0] == "error" and responses[1][1]["type"] == "invalidResultReference", responses[1]
    assert len(responses[1][1]["description"]) < 1000
    _healthy(jmap_client, alice)


def _ids(count: int) -> list[str]:
    return [f"M{i:06d}" for i in range(count)]


@pytest.mark.parametrize("method", ["Mailbox/get", "Email/get", "Thread/get", "Identity/get", "SearchSnippet/get"])
@pytest.mark.parametrize("through_reference", [False, True], ids=["plain", "result-reference"])
def test_ids_past_max_objects_in_get(
    jmap_client: Client, alice: Persona, method: str, through_reference: bool
) -> None:
    key = "emailIds" if method == "SearchSnippet/get" else "ids"
    too_many = _ids(LIMITS.maxObjectsInGet + 1)
    calls: list[list[Any]] = []
    arguments: dict[str, Any]
    if through_reference:
        calls.append(["Core/echo", {"found": too_many}, "src"])
        arguments = {f"#{key}": {"resultOf": "src", "name": "Core/echo", "path": "/found"}}
    else:
        arguments = {key: too_many}
    calls.append([method, {"accountId": alice.account_id, **arguments}, "get"])
    body = jmap_request(*calls, using=[*MAIL, "urn:ietf:params:jmap:submission"])
    responses = method_responses(api_post(jmap_client, alice.basic, body))
    assert responses[-1][0] == "error" and responses[-1][1]["type"] == "requestTooLarge", responses[-1]
    _healthy(jmap_client, alice)


def test_a_property_repeated_is_answered_once(jmap_client: Client, alice: Persona) -> None:
    body = jmap_request(["Mailbox/get", {"accountId": alice.account_id, "properties": ["name"] * 300_000}, "g"],
                        using=MAIL)
    [response] = method_responses(api_post(jmap_client, alice.basic, body))
    assert response[0] == "Mailbox/get", response
    assert all(set(box) == {"id", "name"} for box in response[1]["list"])


@pytest.mark.parametrize(
    ("properties", "error"),
    [
        ([f"header:X-Field-{i}:asText" for i in range(300)], "requestTooLarge"),
        (["header:" + "X" * 100_000], "invalidArguments"),
    ],
    ids=["many-headers", "long-name"],
)
def test_hostile_property_lists(jmap_client: Client, alice: Persona, properties: list[str], error: str) -> None:
    body = jmap_request(["Email/get", {"accountId": alice.account_id, "ids": [], "properties": properties}, "g"],
                        using=MAIL)
    [response] = method_responses(api_post(jmap_client, alice.basic, body))
    assert response[0] == "error" and response[1]["type"] == error, response
    _healthy(jmap_client, alice)


@pytest.mark.parametrize(("max_changes", "error"), [(2**53 - 1, None), (2**60, "invalidArguments"),
                                                    (0, "invalidArguments"), (-1, "invalidArguments")])
def test_max_changes(jmap_client: Client, alice: Persona, max_changes: int, error: str | None) -> None:
    state_body = jmap_request(["Mailbox/get", {"accountId": alice.account_id, "ids": []}, "s"], using=MAIL)
    [state_response] = method_responses(api_post(jmap_client, alice.basic, state_body))
    state = state_response[1]["state"]
    arguments = {"accountId": alice.account_id, "sinceState": state, "maxChanges": max_changes}
    body = jmap_request(["Mailbox/changes", arguments, "c"], using=MAIL)
    [response] = method_responses(api_post(jmap_client, alice.basic, body))
    if error is None:
        assert response[0] == "Mailbox/changes" and response[1]["hasMoreChanges"] is False, response
    else:
        assert response[0] == "error" and response[1]["type"] == error, response


def test_a_huge_request_of_small_calls_is_bounded_by_its_size(jmap_client: Client, alice: Persona) -> None:
    """Ids within maxObjectsInGet but repeated in every allowed call: the
    request-size limit bounds the whole, each call answers on its own."""
    calls = [["Mailbox/get", {"accountId": alice.account_id, "ids": _ids(LIMITS.maxObjectsInGet)}, str(i)]
             for i in range(LIMITS.maxCallsInRequest)]
    raw = json.dumps(jmap_request(*calls, using=MAIL)).encode()
    assert len(raw) < LIMITS.maxSizeRequest
    responses = method_responses(api_post(jmap_client, alice.basic, raw))
    assert len(responses) == LIMITS.maxCallsInRequest
    assert all(r[0] == "Mailbox/get" and len(r[1]["notFound"]) == LIMITS.maxObjectsInGet for r in responses)
