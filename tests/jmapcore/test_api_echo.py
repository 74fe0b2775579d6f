"""Core/echo through the API endpoint, createdIds and sessionState (RFC 8620 §3.3, §3.4, §4)."""

from __future__ import annotations

import json

from django.test import Client

from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona


def test_echo_round_trip(jmap_client: Client, alice: Persona) -> None:
    arguments = {"hello": True, "list": [1, 2.5, "three", None, {"nested": ["ü", "\U0001f600"]}]}
    response = api_post(jmap_client, alice.basic, jmap_request(["Core/echo", arguments, "c1"]))
    assert method_responses(response) == [["Core/echo", arguments, "c1"]]


def test_echo_with_bearer_token(jmap_client: Client, alice: Persona) -> None:
    response = api_post(jmap_client, alice.bearer, jmap_request(["Core/echo", {"n": 1}, "0"]))
    assert method_responses(response) == [["Core/echo", {"n": 1}, "0"]]


def test_calls_answer_in_order_with_their_ids(jmap_client: Client, alice: Persona) -> None:
    calls = [["Core/echo", {"i": i}, f"call-{i}"] for i in range(5)]
    assert method_responses(api_post(jmap_client, alice.basic, jmap_request(*calls))) == calls


def test_empty_method_calls(jmap_client: Client, alice: Persona) -> None:
    body = json.loads(api_post(jmap_client, alice.basic, jmap_request()).content)
    assert body["methodResponses"] == []
    assert isinstance(body["sessionState"], str) and body["sessionState"]
    assert "createdIds" not in body


def test_created_ids_pass_through(jmap_client: Client, alice: Persona) -> None:
    created = {"new1": "Mabc", "new2": "Mdef"}
    response = api_post(jmap_client, alice.basic, jmap_request(["Core/echo", {}, "c1"], createdIds=created))
    assert json.loads(response.content)["createdIds"] == created


def test_session_state_equals_the_session_objects_state(jmap_client: Client, alice: Persona) -> None:
    api_body = json.loads(api_post(jmap_client, alice.basic, jmap_request(["Core/echo", {}, "c1"])).content)
    session = json.loads(jmap_client.get("/session", HTTP_AUTHORIZATION=alice.basic).content)
    assert api_body["sessionState"] == session["state"]


def test_charset_parameter_is_accepted(jmap_client: Client, alice: Persona) -> None:
    response = api_post(
        jmap_client,
        alice.basic,
        jmap_request(["Core/echo", {"x": "é"}, "c1"]),
        content_type="application/json; charset=utf-8",
    )
    assert method_responses(response) == [["Core/echo", {"x": "é"}, "c1"]]


def test_a_bearer_request_costs_two_queries(jmap_client: Client, alice: Persona) -> None:
    """The token (with its pool) and the pool's accounts; no cache traffic in the embedded
    mode (concurrency slots in memory), the last-use update at most once a minute."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api_post(jmap_client, alice.bearer, jmap_request(["Core/echo", {}, "0"]))  # records last use
    with CaptureQueriesContext(connection) as queries:
        response = api_post(jmap_client, alice.bearer, jmap_request(["Core/echo", {"n": 1}, "0"]))
    assert method_responses(response) == [["Core/echo", {"n": 1}, "0"]]
    assert len(queries.captured_queries) == 2, [q["sql"] for q in queries.captured_queries]
