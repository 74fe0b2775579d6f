"""The Response is bounded (JMAP_MAX_RESPONSE_SIZE): result references that
double the response with every call end in requestTooLarge, early, instead of
running the web process out of memory (RFC 8620 §3.6.2, §3.7)."""

from __future__ import annotations

import gc
import json
import resource
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from jmapcore.engine import DEFAULT_MAX_RESPONSE_SIZE
from jmapcore.limits import LIMITS
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona

# One error object plus its call id: the most an error response adds.
ERROR_SLACK = 400


def doubling_echoes(count: int, *, seed: Any) -> list[list[Any]]:
    """Core/echo calls, each referencing the whole previous echo twice."""
    calls: list[list[Any]] = [["Core/echo", {"seed": seed}, "e0"]]
    for i in range(1, count):
        reference = {"resultOf": f"e{i - 1}", "name": "Core/echo", "path": ""}
        calls.append(["Core/echo", {"#a": reference, "#b": reference}, f"e{i}"])
    return calls


def _answered(responses: list[list[Any]]) -> tuple[int, list[list[Any]]]:
    """How many calls answered normally before the first error, and the rest."""
    first_error = next(i for i, response in enumerate(responses) if response[0] == "error")
    return first_error, responses[first_error:]


def test_doubling_echoes_stop_at_the_bound(jmap_client: Client, alice: Persona, settings: Any) -> None:
    limit = 64 * 1024
    settings.JMAP_MAX_RESPONSE_SIZE = limit
    calls = doubling_echoes(16, seed="m" * 100)  # without a bound: about 13 MB
    response = api_post(jmap_client, alice.basic, jmap_request(*calls))
    responses = method_responses(response)
    assert len(response.content) <= limit + len(calls) * ERROR_SLACK
    answered, refused = _answered(responses)
    # 100-octet seed, doubling: the running total passes 64 KiB at the 10th call.
    assert answered == 9
    assert [r[2] for r in responses] == [c[2] for c in calls]
    for echoed, call in zip(responses[:answered], calls, strict=False):
        assert echoed[0] == "Core/echo" and echoed[2] == call[2]
    assert responses[answered - 1][1]["a"] == responses[answered - 2][1]
    crossing, *skipped = refused
    assert crossing[1]["type"] == "requestTooLarge"
    assert crossing[1]["limit"] == "maxSizeResponse"
    assert "octets" in crossing[1]["description"]
    assert skipped and all(r[1]["type"] == "requestTooLarge" and "not run" in r[1]["description"] for r in skipped)


def test_the_echoed_created_ids_count_against_the_bound(jmap_client: Client, alice: Persona, settings: Any) -> None:
    """The Response carries the request's createdIds back (RFC 8620 §3.4): they
    take their room in the bound first, so the whole Response stays within it."""
    limit = 64 * 1024
    settings.JMAP_MAX_RESPONSE_SIZE = limit
    created_ids = {f"c{i}": "x" * 100 for i in range(400)}  # about 44 KiB of the 64
    calls = doubling_echoes(16, seed="m" * 100)
    response = api_post(jmap_client, alice.basic, jmap_request(*calls, createdIds=created_ids))
    responses = method_responses(response)
    assert json.loads(response.content)["createdIds"] == created_ids
    assert len(response.content) <= limit + len(calls) * ERROR_SLACK
    answered, refused = _answered(responses)
    assert 0 < answered < 9  # fewer than without the createdIds (9: test above)
    assert all(r[1]["type"] == "requestTooLarge" for r in refused)


def test_calls_after_the_bound_do_not_run(jmap_client: Client, alice: Persona, settings: Any) -> None:
    """A Mailbox/get after the bound is not run; a small call before it answers in full."""
    settings.JMAP_MAX_RESPONSE_SIZE = 4096
    calls = [["Core/echo", {"small": True}, "first"], *doubling_echoes(10, seed="x" * 200)]
    calls.append(["Core/echo", {"tail": 1}, "last"])
    responses = method_responses(api_post(jmap_client, alice.basic, jmap_request(*calls)))
    assert responses[0] == ["Core/echo", {"small": True}, "first"]
    assert responses[-1][0] == "error" and responses[-1][2] == "last"
    assert responses[-1][1]["type"] == "requestTooLarge"


def test_one_call_referencing_a_result_many_times_is_refused_before_copying(
    jmap_client: Client, alice: Persona, settings: Any
) -> None:
    """Many references in one call are measured against the room left before any
    copy; the call is refused and, as for any call past the bound, the rest do not run."""
    settings.JMAP_MAX_RESPONSE_SIZE = 256 * 1024
    reference = {"resultOf": "big", "name": "Core/echo", "path": "/pad"}
    fan_out = {f"#r{i}": reference for i in range(50)}  # 50 x 10 KB > 256 KiB
    calls = [["Core/echo", {"pad": "p" * 10_000}, "big"], ["Core/echo", fan_out, "fan"], ["Core/echo", {}, "after"]]
    responses = method_responses(api_post(jmap_client, alice.basic, jmap_request(*calls)))
    assert responses[0][0] == "Core/echo"
    assert responses[1][0] == "error" and responses[1][1]["type"] == "requestTooLarge"
    assert responses[1][1]["limit"] == "maxSizeResponse"
    assert responses[2][0] == "error" and responses[2][2] == "after"
    assert "not run" in responses[2][1]["description"]


def test_referenced_values_are_copies(jmap_client: Client, alice: Persona) -> None:
    """An echo of a reference is equal to, not the same object as, the earlier response."""
    reference = {"resultOf": "one", "name": "Core/echo", "path": "/list"}
    calls = [["Core/echo", {"list": [1, {"k": "v"}]}, "one"], ["Core/echo", {"#list": reference}, "two"]]
    responses = method_responses(api_post(jmap_client, alice.basic, jmap_request(*calls)))
    assert responses[1][1] == {"list": [1, {"k": "v"}]}


def test_a_response_within_the_bound_is_whole(jmap_client: Client, alice: Persona, settings: Any) -> None:
    settings.JMAP_MAX_RESPONSE_SIZE = 64 * 1024
    calls = doubling_echoes(5, seed="s" * 50)
    responses = method_responses(api_post(jmap_client, alice.basic, jmap_request(*calls)))
    assert all(r[0] == "Core/echo" for r in responses)
    assert json.dumps(responses[4][1]["a"]["a"]["a"]["a"]) == json.dumps({"seed": "s" * 50})


@pytest.fixture
def address_space_capped() -> Iterator[int]:
    """Cap this process's address space at its current size plus 1.5 GiB for
    the test: an unbounded echo chain then fails with MemoryError (a
    serverFail, a failed assertion) instead of taking the machine down."""
    with open("/proc/self/status") as status:
        vm_size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm_size + 1536 * 1024 * 1024
    if hard != resource.RLIM_INFINITY and hard < cap:
        cap = hard
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield cap
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def test_all_allowed_calls_of_doubling_echoes_with_the_default_bound(
    jmap_client: Client, alice: Persona, settings: Any, address_space_capped: int
) -> None:
    """The attack of the issue: maxCallsInRequest calls, each echoing the last twice."""
    settings.JMAP_MAX_RESPONSE_SIZE = DEFAULT_MAX_RESPONSE_SIZE
    calls = doubling_echoes(LIMITS.maxCallsInRequest, seed=1)
    response = api_post(jmap_client, alice.basic, jmap_request(*calls))
    assert response.status_code == 200
    # Millions of two-key objects: without the collector running over them
    # at every allocation threshold, decoding takes a fifth of the time.
    gc.disable()
    try:
        responses = json.loads(response.content)["methodResponses"]
    finally:
        gc.enable()
    assert len(responses) == LIMITS.maxCallsInRequest
    assert len(response.content) <= DEFAULT_MAX_RESPONSE_SIZE + len(calls) * ERROR_SLACK
    answered, refused = _answered(responses)
    # e(k) is about 13 * 2**k octets: the running total reaches 32 MiB near k = 21.
    assert 18 <= answered <= 23
    assert all(r[1]["type"] == "requestTooLarge" for r in refused)
    del response, responses
    # The process is healthy: the next request answers normally.
    again = api_post(jmap_client, alice.basic, jmap_request(["Core/echo", {"ok": True}, "c"]))
    assert method_responses(again) == [["Core/echo", {"ok": True}, "c"]]


def test_a_transport_may_bound_the_response_lower(alice: Persona, settings: Any) -> None:
    """A WebSocket message limit below JMAP_MAX_RESPONSE_SIZE applies instead."""
    from jmapcore.engine import request_run

    settings.JMAP_MAX_RESPONSE_SIZE = DEFAULT_MAX_RESPONSE_SIZE
    body = jmap_request(*doubling_echoes(16, seed="m" * 100))
    processed = request_run(pool=alice.pool, body=body, max_size=64 * 1024)
    answered, refused = _answered(processed.to_json()["methodResponses"])
    assert answered == 9 and refused[0][1]["type"] == "requestTooLarge"
    assert len(processed.encode()) <= 64 * 1024 + 16 * ERROR_SLACK
    assert json.loads(processed.encode()) == processed.to_json()
