"""Request-level errors of the API endpoint as RFC 7807 problems (RFC 8620 §3.6.1)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client

from jmapcore.limits import CORE_CAPABILITY, LIMITS
from tests.jmapcore.apiclient import API_PATH, api_post, jmap_request, method_responses, problem
from tests.personas import Persona


def test_unknown_capability(jmap_client: Client, alice: Persona) -> None:
    body = jmap_request(["Core/echo", {}, "c1"], using=[CORE_CAPABILITY, "urn:example:nonexistent"])
    detail = problem(api_post(jmap_client, alice.basic, body), "unknownCapability")["detail"]
    assert "urn:example:nonexistent" in detail


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"null garbage", b"\xc3\x28", b'{"using": [], "methodCalls": [], "x": NaN}', b"[" * 5000],
)
def test_not_json(jmap_client: Client, alice: Persona, raw: bytes) -> None:
    problem(api_post(jmap_client, alice.basic, raw), "notJSON")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"]
)
def test_wrong_content_type_is_not_json(jmap_client: Client, alice: Persona, content_type: str) -> None:
    body = json.dumps(jmap_request(["Core/echo", {}, "c1"]))
    problem(api_post(jmap_client, alice.basic, body, content_type=content_type), "notJSON")


@pytest.mark.parametrize(
    "value",
    [
        [],
        "a string",
        42,
        None,
        {"methodCalls": [["Core/echo", {}, "c1"]]},  # using missing
        {"using": [CORE_CAPABILITY]},  # methodCalls missing
        {"using": CORE_CAPABILITY, "methodCalls": []},  # using not a list
        {"using": [CORE_CAPABILITY], "methodCalls": {"0": ["Core/echo", {}, "c1"]}},  # not a list
        {"using": [CORE_CAPABILITY], "methodCalls": [["Core/echo", {}]]},  # not a 3-array
        {"using": [CORE_CAPABILITY], "methodCalls": [["Core/echo", {}, "c1", 4]]},
        {"using": [CORE_CAPABILITY], "methodCalls": [["Core/echo", {}, 1]]},  # callId not a string
        {"using": [CORE_CAPABILITY], "methodCalls": [["Core/echo", None, "c1"]]},  # arguments not an object
        {"using": [CORE_CAPABILITY], "methodCalls": [[None, {}, "c1"]]},  # name not a string
        {"using": [CORE_CAPABILITY], "methodCalls": [], "createdIds": ["x"]},
        # A JSON string holding a request is still just a string.
        json.dumps({"using": [CORE_CAPABILITY], "methodCalls": []}),
    ],
)
def test_not_request(jmap_client: Client, alice: Persona, value: Any) -> None:
    problem(api_post(jmap_client, alice.basic, json.dumps(value)), "notRequest")


def test_max_calls_in_request(jmap_client: Client, alice: Persona) -> None:
    allowed = [["Core/echo", {}, str(i)] for i in range(LIMITS.maxCallsInRequest)]
    assert len(method_responses(api_post(jmap_client, alice.basic, jmap_request(*allowed)))) == len(allowed)
    too_many = [*allowed, ["Core/echo", {}, "one more"]]
    body = problem(api_post(jmap_client, alice.basic, jmap_request(*too_many)), "limit")
    assert body["limit"] == "maxCallsInRequest"


def test_max_size_request(jmap_client: Client, alice: Persona) -> None:
    envelope = json.dumps(jmap_request(["Core/echo", {"pad": ""}, "c1"]))
    just_fits = envelope.replace('"pad": ""', '"pad": "' + "x" * (LIMITS.maxSizeRequest - len(envelope)) + '"')
    assert len(just_fits.encode()) == LIMITS.maxSizeRequest
    response = api_post(jmap_client, alice.basic, just_fits.encode())
    assert len(method_responses(response)[0][1]["pad"]) == LIMITS.maxSizeRequest - len(envelope)
    too_big = just_fits.replace('"pad": "', '"pad": "x')
    body = problem(api_post(jmap_client, alice.basic, too_big.encode()), "limit")
    assert body["limit"] == "maxSizeRequest"


def test_get_is_not_allowed(jmap_client: Client, alice: Persona) -> None:
    response = jmap_client.get(API_PATH, HTTP_AUTHORIZATION=alice.basic)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_unauthenticated_is_401_with_challenge(jmap_client: Client, alice: Persona) -> None:
    body = jmap_request(["Core/echo", {}, "c1"])
    for auth in (None, "Basic " + "bm9ib2R5Om5vdGhpbmc=", "Bearer not-a-token", "Negotiate abc"):
        response = api_post(jmap_client, auth, body)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="jmap"'
        assert "methodResponses" not in json.loads(response.content)


def test_wrong_password_is_401(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    auth = "Basic " + base64.b64encode(f"{alice.login}:{bob.password}".encode()).decode()
    response = api_post(jmap_client, auth, jmap_request(["Core/echo", {}, "c1"]))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="jmap"'


def test_too_many_failures_is_429_with_retry_after(jmap_client: Client, alice: Persona) -> None:
    auth = "Basic " + base64.b64encode(f"{alice.login}:guess".encode()).decode()
    statuses = [api_post(jmap_client, auth, jmap_request()).status_code for _ in range(50)]
    assert statuses[0] == 401
    assert 429 in statuses, statuses
    limited = api_post(jmap_client, auth, jmap_request())
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
