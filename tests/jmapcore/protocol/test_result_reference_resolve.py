"""Resolving "#" arguments against earlier responses (RFC 8620 §3.7), without HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from jmapcore.protocol.envelope import Invocation
from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.resultref import arguments_resolve, result_reference_resolve

RESPONSES = [
    Invocation(name="Foo/query", arguments={"ids": ["f1", "f2"], "total": 2}, call_id="q"),
    Invocation(name="error", arguments={"type": "serverFail"}, call_id="broken"),
    Invocation(name="Foo/get", arguments={"list": [{"id": "f1"}]}, call_id="q"),  # same call id, later
]


def ref(result_of: str, name: str, path: str) -> dict[str, str]:
    return {"resultOf": result_of, "name": name, "path": path}


def test_resolves_against_the_first_response_with_that_call_id() -> None:
    assert result_reference_resolve(ref("q", "Foo/query", "/ids"), responses=RESPONSES) == ["f1", "f2"]
    with pytest.raises(MethodError) as caught:
        # The first "q" response is Foo/query, so naming the later Foo/get fails.
        result_reference_resolve(ref("q", "Foo/get", "/list/*/id"), responses=RESPONSES)
    assert caught.value.type == "invalidResultReference"


@pytest.mark.parametrize(
    "reference",
    [
        ref("nope", "Foo/query", "/ids"),
        ref("broken", "Foo/query", "/ids"),
        ref("q", "Foo/query", "/missing"),
        ref("q", "Foo/query", "ids"),
        {"resultOf": "q", "name": "Foo/query"},
        {"resultOf": "q", "name": "Foo/query", "path": 3},
        "q",
        None,
    ],
)
def test_bad_references_are_invalid_result_reference(reference: Any) -> None:
    with pytest.raises(MethodError) as caught:
        result_reference_resolve(reference, responses=RESPONSES)
    assert caught.value.type == "invalidResultReference"
    assert caught.value.description


def test_arguments_resolve_replaces_hash_names_and_leaves_input_alone() -> None:
    arguments = {"accountId": "a", "#ids": ref("q", "Foo/query", "/ids")}
    resolved = arguments_resolve(arguments, responses=RESPONSES)
    assert resolved == {"accountId": "a", "ids": ["f1", "f2"]}
    assert "#ids" in arguments


def test_plain_and_referenced_form_together_is_invalid_arguments() -> None:
    with pytest.raises(MethodError) as caught:
        arguments_resolve({"ids": [], "#ids": ref("q", "Foo/query", "/ids")}, responses=RESPONSES)
    assert caught.value.type == "invalidArguments"


def test_arguments_without_references_are_returned_as_is() -> None:
    arguments = {"ids": ["x"]}
    assert arguments_resolve(arguments, responses=[]) is arguments
