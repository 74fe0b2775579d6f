"""Helpers for talking to the API endpoint through the Django test client."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.test import Client

from jmapcore.limits import CORE_CAPABILITY

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

API_PATH = "/jmap/"
PROBLEM_PREFIX = "urn:ietf:params:jmap:error:"


def api_post(client: Client, auth: str | None, body: Any, *, content_type: str = "application/json") -> TestResponse:
    """POST `body` (a JSON value, or raw bytes/str sent as is) to the API."""
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.post(API_PATH, data=data, content_type=content_type, **headers)


def jmap_request(*calls: list[Any], using: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"using": using if using is not None else [CORE_CAPABILITY], "methodCalls": list(calls), **extra}


def method_responses(response: TestResponse) -> list[list[Any]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)["methodResponses"]


def problem(response: TestResponse, short_type: str, *, status: int = 400) -> dict[str, Any]:
    """The problem document of a request-level error, checked against RFC 8620 §3.6.1."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["type"] == PROBLEM_PREFIX + short_type, body
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body
