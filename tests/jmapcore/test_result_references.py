"""Result references through the API endpoint (RFC 8620 §3.7).

Core/echo answers with its arguments, so an earlier echo is a response of any
shape we like to point into.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona

SOURCE = {
    "accountId": "x",
    "list": [{"id": "a", "keywords": ["k1", "k2"]}, {"id": "b", "keywords": ["k3"]}],
    "nested": [{"items": [{"id": "n1"}, {"id": "n2"}]}, {"items": [{"id": "n3"}]}],
    "a/b": {"~": "escaped"},
}


def ref(path: str, *, result_of: str = "src", name: str = "Core/echo") -> dict[str, str]:
    return {"resultOf": result_of, "name": name, "path": path}


def run(client: Client, persona: Persona, arguments: dict[str, Any]) -> list[Any]:
    responses = method_responses(
        api_post(client, persona.basic, jmap_request(["Core/echo", SOURCE, "src"], ["Core/echo", arguments, "use"]))
    )
    assert responses[0] == ["Core/echo", SOURCE, "src"]
    return responses[1]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/accountId", "x"),
        ("/list/1/id", "b"),
        ("/list/*/id", ["a", "b"]),
        ("/list/*/keywords", ["k1", "k2", "k3"]),
        ("/nested/*/items/*/id", ["n1", "n2", "n3"]),
        ("/a~1b/~0", "escaped"),
        ("", SOURCE),
    ],
)
def test_reference_resolves(jmap_client: Client, alice: Persona, path: str, expected: Any) -> None:
    assert run(jmap_client, alice, {"#value": ref(path), "other": 1}) == [
        "Core/echo",
        {"value": expected, "other": 1},
        "use",
    ]


@pytest.mark.parametrize(
    "reference",
    [
        ref("/list/*/id", result_of="missing"),
        ref("/list/*/id", name="Core/other"),
        ref("/no/such/path"),
        ref("/list/7/id"),
        ref("/list/*/missing"),
        ref("list"),
        {"resultOf": "src", "name": "Core/echo"},
        ["not", "an", "object"],
    ],
)
def test_bad_reference_is_invalid_result_reference(jmap_client: Client, alice: Persona, reference: Any) -> None:
    name, arguments, call_id = run(jmap_client, alice, {"#value": reference})
    assert (name, arguments["type"], call_id) == ("error", "invalidResultReference", "use")


def test_reference_to_a_later_call_fails(jmap_client: Client, alice: Persona) -> None:
    body = jmap_request(["Core/echo", {"#v": ref("/x", result_of="later")}, "first"], ["Core/echo", {"x": 1}, "later"])
    responses = method_responses(api_post(jmap_client, alice.basic, body))
    assert responses[0][1]["type"] == "invalidResultReference"


def test_reference_to_an_error_response_fails(jmap_client: Client, alice: Persona) -> None:
    body = jmap_request(["No/such", {}, "bad"], ["Core/echo", {"#v": ref("/type", result_of="bad")}, "use"])
    responses = method_responses(api_post(jmap_client, alice.basic, body))
    assert responses[1][0] == "error" and responses[1][1]["type"] == "invalidResultReference"


def test_plain_and_hash_forms_together_are_invalid_arguments(jmap_client: Client, alice: Persona) -> None:
    name, arguments, _ = run(jmap_client, alice, {"value": 1, "#value": ref("/accountId")})
    assert (name, arguments["type"]) == ("error", "invalidArguments")


def test_referenced_value_is_a_copy(jmap_client: Client, alice: Persona) -> None:
    """Echoing a referenced value must not alias the earlier response."""
    body = jmap_request(
        ["Core/echo", {"l": [1]}, "a"],
        ["Core/echo", {"#l": ref("/l", result_of="a")}, "b"],
        ["Core/echo", {"#l": ref("/l", result_of="b")}, "c"],
    )
    responses = method_responses(api_post(jmap_client, alice.basic, body))
    assert [r[1] for r in responses] == [{"l": [1]}, {"l": [1]}, {"l": [1]}]
