"""Whatever alice posts to the API, the answer is JSON: a Response or a problem,
never a 500 (DESIGN.md: bad input of any kind gets a clear JMAP error)."""

from __future__ import annotations

import json
from typing import Any

from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jmapcore.limits import CORE_CAPABILITY
from tests.jmapcore.apiclient import api_post
from tests.personas import Persona

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=30,
)
method_names = st.sampled_from(["Core/echo", "Mailbox/get", "Email/set", "", "error"]) | st.text(max_size=12)
call_ids = st.sampled_from(["c0", "c1", "c2"]) | st.text(max_size=4)
references = (
    st.fixed_dictionaries(
        {"resultOf": call_ids, "name": method_names, "path": st.sampled_from(["", "/", "/a", "/list/*/id", "/*"])}
    )
    | json_values
)
arguments = st.dictionaries(
    st.sampled_from(["a", "#a", "accountId", "#list", "list", "ids"]) | st.text(max_size=5),
    json_values | references,
    max_size=4,
)
calls = st.tuples(method_names, arguments, call_ids).map(list) | json_values
requests = st.fixed_dictionaries(
    {
        "using": st.lists(st.sampled_from([CORE_CAPABILITY, "urn:ietf:params:jmap:mail", "x"]), max_size=2)
        | json_values,
        "methodCalls": st.lists(calls, max_size=5) | json_values,
    },
    optional={"createdIds": st.dictionaries(st.text(max_size=4), st.text(max_size=4)) | json_values},
)


def assert_jmap_answer(response: Any) -> None:
    assert response.status_code != 500, response.content
    assert response["Content-Type"] in ("application/json", "application/problem+json")
    body = json.loads(response.content)
    if response.status_code == 200:
        assert isinstance(body["methodResponses"], list)
        assert isinstance(body["sessionState"], str)
        for name, args, call_id in body["methodResponses"]:
            assert isinstance(name, str) and isinstance(args, dict) and isinstance(call_id, str)
            if name == "error":
                assert isinstance(args["type"], str)
    else:
        assert body["type"].startswith("urn:ietf:params:jmap:error:")
        assert body["status"] == response.status_code


@FUZZ
@given(requests)
def test_request_shaped_values(jmap_client: Client, alice: Persona, value: dict[str, Any]) -> None:
    cache.clear()
    assert_jmap_answer(api_post(jmap_client, alice.basic, value))


@FUZZ
@given(json_values)
def test_arbitrary_json_values(jmap_client: Client, alice: Persona, value: Any) -> None:
    cache.clear()
    assert_jmap_answer(api_post(jmap_client, alice.basic, json.dumps(value)))


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes(jmap_client: Client, alice: Persona, raw: bytes) -> None:
    cache.clear()
    assert_jmap_answer(api_post(jmap_client, alice.basic, raw))
