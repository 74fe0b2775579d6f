"""Method-level errors (RFC 8620 §3.6.2) through the API endpoint.

A few handlers are registered for the length of one test only (monkeypatch on
the registry), to make the engine meet a crashing handler, a handler that adds
created ids and one that emits an extra response.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client

from jmapcore.context import CallContext
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.protocol.errors import MethodError
from jmapcore.registry import METHODS, MethodSpec
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona

OTHER_CAPABILITY = "urn:ietf:params:jmap:mail"


def register(monkeypatch: pytest.MonkeyPatch, name: str, handler: Any, capability: str = CORE_CAPABILITY) -> None:
    monkeypatch.setitem(METHODS, name, MethodSpec(name=name, capability=capability, handler=handler))


def test_unknown_method(jmap_client: Client, alice: Persona) -> None:
    responses = method_responses(
        api_post(jmap_client, alice.basic, jmap_request(["Nothing/here", {}, "c1"], ["Core/echo", {"a": 1}, "c2"]))
    )
    assert responses[0][0] == "error" and responses[0][1]["type"] == "unknownMethod" and responses[0][2] == "c1"
    assert responses[1] == ["Core/echo", {"a": 1}, "c2"]


def test_method_whose_capability_is_not_in_using_is_unknown(jmap_client: Client, alice: Persona) -> None:
    response = api_post(jmap_client, alice.basic, jmap_request(["Core/echo", {}, "c1"], using=[]))
    [[name, arguments, call_id]] = method_responses(response)
    assert (name, arguments["type"], call_id) == ("error", "unknownMethod", "c1")


def test_registered_method_of_another_capability_needs_it_in_using(
    jmap_client: Client, alice: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(monkeypatch, "Test/mailish", lambda ctx, args: {"ok": True}, capability=OTHER_CAPABILITY)
    [[name, arguments, _]] = method_responses(
        api_post(jmap_client, alice.basic, jmap_request(["Test/mailish", {}, "c"]))
    )
    assert name == "error" and arguments["type"] == "unknownMethod"
    assert OTHER_CAPABILITY in arguments["description"]


def test_method_error_carries_type_description_and_extra(
    jmap_client: Client, alice: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        raise MethodError("invalidArguments", "no thanks", arguments=["x"])

    register(monkeypatch, "Test/refuse", refuse)
    [[name, arguments, call_id]] = method_responses(
        api_post(jmap_client, alice.basic, jmap_request(["Test/refuse", {}, "r"]))
    )
    assert [name, arguments, call_id] == [
        "error",
        {"type": "invalidArguments", "description": "no thanks", "arguments": ["x"]},
        "r",
    ]


def test_crashing_handler_is_server_fail_without_traceback(
    jmap_client: Client, alice: Persona, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def crash(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        raise ZeroDivisionError("secret internal detail")

    register(monkeypatch, "Test/crash", crash)
    with caplog.at_level(logging.ERROR, logger="jmap.engine"):
        response = api_post(jmap_client, alice.basic, jmap_request(["Test/crash", {}, "c1"], ["Core/echo", {}, "c2"]))
    responses = method_responses(response)
    assert responses[0][0] == "error" and responses[0][1]["type"] == "serverFail"
    assert "secret internal detail" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert responses[1] == ["Core/echo", {}, "c2"]  # later calls still run
    assert any("Test/crash" in record.getMessage() and record.exc_info for record in caplog.records)


def test_handler_returning_a_non_object_is_server_fail(
    jmap_client: Client, alice: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(monkeypatch, "Test/list", lambda ctx, args: ["not", "an", "object"])
    [[name, arguments, _]] = method_responses(api_post(jmap_client, alice.basic, jmap_request(["Test/list", {}, "c"])))
    assert name == "error" and arguments["type"] == "serverFail"


def test_unencodable_result_is_server_fail_for_that_call_only(
    jmap_client: Client, alice: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(monkeypatch, "Test/set", lambda ctx, args: {"value": {1, 2}})
    response = api_post(jmap_client, alice.basic, jmap_request(["Test/set", {}, "a"], ["Core/echo", {"k": 1}, "b"]))
    responses = method_responses(response)
    assert responses[0] == ["error", {"type": "serverFail", "description": responses[0][1]["description"]}, "a"]
    assert responses[1] == ["Core/echo", {"k": 1}, "b"]


def test_handlers_share_created_ids_and_can_add_extra_responses(
    jmap_client: Client, alice: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    def create(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        ctx.created_ids[args["creationId"]] = "M" + args["creationId"]
        ctx.extra_responses.append(("Test/implicit", {"seen": sorted(ctx.created_ids)}))
        return {"created": {args["creationId"]: {"id": ctx.created_ids[args["creationId"]]}}}

    register(monkeypatch, "Test/create", create)
    body = jmap_request(
        ["Test/create", {"creationId": "k1"}, "c1"],
        ["Test/create", {"creationId": "k2"}, "c2"],
        ["Core/echo", {"#ids": {"resultOf": "c2", "name": "Test/create", "path": "/created/k2/id"}}, "c3"],
        # RFC 8620 §3.7: only the *first* response of a call id can be referenced.
        ["Core/echo", {"#ids": {"resultOf": "c1", "name": "Test/implicit", "path": "/seen"}}, "c4"],
        createdIds={"k0": "M0"},
    )
    answer = json.loads(api_post(jmap_client, alice.basic, body).content)
    assert answer["createdIds"] == {"k0": "M0", "k1": "Mk1", "k2": "Mk2"}
    responses = answer["methodResponses"]
    names = [r[0] for r in responses]
    assert names == ["Test/create", "Test/implicit", "Test/create", "Test/implicit", "Core/echo", "error"]
    assert [r[2] for r in responses] == ["c1", "c1", "c2", "c2", "c3", "c4"]
    assert responses[1][1] == {"seen": ["k0", "k1"]}
    assert responses[4][1] == {"ids": "Mk2"}
    assert responses[5][1]["type"] == "invalidResultReference"


def test_created_ids_absent_from_response_when_not_sent(
    jmap_client: Client, alice: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    def create(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        ctx.created_ids["k"] = "Mk"
        return {}

    register(monkeypatch, "Test/create", create)
    answer = json.loads(api_post(jmap_client, alice.basic, jmap_request(["Test/create", {}, "c"])).content)
    assert "createdIds" not in answer
